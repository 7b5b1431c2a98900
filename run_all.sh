#!/usr/bin/env bash
# Regenerate Tables I-VI and the figures of the paper: run each section's notebook with papermill.
#
#   ./run_all.sh                               every section: quick on the real data where found,
#                                              else the seconds-long smoke run on a synthetic stand-in
#   ./run_all.sh --data-root ../shared/data    the same, with the datasets in ../shared/data
#   ./run_all.sh --profile smoke               all six sections on synthetic data, about 2 minutes
#   ./run_all.sh --profile paper --gpus 0,1    runs side by side, one per GPU at a time
#
# Options:
#   --profile auto|smoke|quick|paper   size of the runs (default: auto, as above)
#   --data-root DIR               where the datasets are (default: $CENET_DATA_ROOT or data/)
#   --only SECTION...             optic_disc vessels lung cells oct ablation (default: all)
#   --device auto|cpu|cuda        (default: auto)
#   --seeds N                     seeds 0..N-1 per trained row (default: 1)
#   --encoder-weights W           random, imagenet or a ResNet-34 state-dict file (default: random;
#                                 scratch is its older name); the paper's numbers need imagenet
#   --jobs N                      train N runs (row x seed) side by side first, then run the notebooks,
#                                 which reuse them (default: 1, each notebook trains its own rows)
#   --gpus 0,1,...                spread the --jobs workers over these GPUs, taken in turn (default
#                                 --jobs: one per GPU; --jobs 6 --gpus 0,1 puts three on each)
#   --out DIR                     results folder (default: results); outputs go to DIR/<profile>/, or
#                                 DIR/<profile>-synthetic/ on a synthetic stand-in
#   --force                       redo sections (and rows) already finished
#   --archive FILE.tar.gz         then pack the results folder, without weights, into one archive
#   --archive-max-mib M           fail when the archive would pass M MiB (default: 16)
set -uo pipefail
cd "$(dirname "$0")"

profile=auto data_root="" device=auto seeds=1 encoder_weights=random jobs="" gpus="" out=results force=false
archive="" archive_max_mib=16
sections=(optic_disc vessels lung cells oct ablation)
only=()
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile="$2"; shift 2 ;;
        --data-root) data_root="$(cd "$2" 2>/dev/null && pwd)" || { echo "error: --data-root $2 does not exist" >&2; exit 2; }; shift 2 ;;
        --device) device="$2"; shift 2 ;;
        --seeds) seeds="$2"; shift 2 ;;
        --encoder-weights) encoder_weights="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        --gpus) gpus="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --force) force=true; shift ;;
        --archive) archive="$2"; shift 2 ;;
        --archive-max-mib) archive_max_mib="$2"; shift 2 ;;
        --only) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do only+=("$1"); shift; done
                [ ${#only[@]} -gt 0 ] || { echo "error: --only needs section names: optic_disc vessels lung cells oct ablation" >&2; exit 2; } ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "error: unknown option $1 (see ./run_all.sh --help)" >&2; exit 2 ;;
    esac
done
case "$profile" in auto|smoke|quick|paper) ;; *) echo "error: --profile must be auto, smoke, quick or paper" >&2; exit 2 ;; esac
[ ${#only[@]} -gt 0 ] && sections=("${only[@]}")
declare -A notebook=([optic_disc]=01_optic_disc [vessels]=02_retinal_vessels [lung]=03_lung
                     [cells]=04_cell_contours [oct]=05_oct_layers [ablation]=06_ablations)
for section in "${sections[@]}"; do
    [ -n "${notebook[$section]:-}" ] || { echo "error: unknown section $section; choose from ${!notebook[*]}" >&2; exit 2; }
done

source scripts/ensure_env.sh || exit 1
mkdir -p "$out"
out_root="$(cd "$out" && pwd)"

# The plan: each section's profile, results folder and expected duration, said before anything runs.
plan_arguments=(--profile "$profile" --device "$device" --out "$out_root")
[ -n "$data_root" ] && plan_arguments+=(--data-root "$data_root")
plan="$("$PYTHON" -m cenet_lib.reporting.plan "${plan_arguments[@]}" "${sections[@]}")" || exit 2
declare -A section_profile=() section_out=() section_get_data=()
echo "Plan:"
while IFS=$'\t' read -r section chosen folder get_data message; do
    section_profile[$section]=$chosen
    section_out[$section]=$folder
    section_get_data[$section]=$get_data
    echo "  $message"
done <<<"$plan"
echo

seed_list="[$(seq -s, 0 $((seeds - 1)))]"
IFS=, read -r -a gpu_list <<<"$gpus"
[ -z "$jobs" ] && jobs=$([ -n "$gpus" ] && echo ${#gpu_list[@]} || echo 1)
train_force=$force

# With --jobs N, every run of every section is trained first, N side by side (cenet_lib/reporting/schedule.py);
# a section with a failed run is marked failed, and the other sections' notebooks reuse the runs.
declare -A run_failed=()
if [ "$jobs" -gt 1 ] || [ -n "$gpus" ]; then
    failed_list="$(mktemp)"
    schedule_arguments=(--jobs "$jobs" --device "$device" --seeds "$seeds" --encoder-weights "$encoder_weights"
                        --out "$out_root" --failed "$failed_list")
    [ -n "$gpus" ] && schedule_arguments+=(--gpus "$gpus")
    [ -n "$data_root" ] && schedule_arguments+=(--data-root "$data_root")
    [ "$force" = true ] && schedule_arguments+=(--force)
    pairs=()
    for section in "${sections[@]}"; do pairs+=("$section:${section_profile[$section]}"); done
    echo "Training the sections' runs, $jobs side by side; then the notebooks, which reuse them."
    "$PYTHON" -m cenet_lib.reporting.schedule "${schedule_arguments[@]}" "${pairs[@]}"
    while read -r section; do [ -n "$section" ] && run_failed[$section]=1; done <"$failed_list"
    rm -f "$failed_list"
    train_force=false  # the runs were just trained (again, with --force)
    echo
fi

run_section() {  # section
    local section=$1 name=${notebook[$1]}
    local executed="${section_out[$1]}/executed"
    local log="$executed/$name.log" done_marker="$executed/$name.done"
    mkdir -p "$executed"
    rm -f "$executed/$name.failed"
    if [ -n "${run_failed[$section]:-}" ]; then
        echo "a run failed while training side by side (its log is beside its folder in runs/)" >"$executed/$name.failed"
        echo "$section: FAILED: a run failed while training side by side; no table"
        return 1
    fi
    if [ -f "$done_marker" ] && [ "$force" = false ]; then
        echo "$section: finished earlier ($(cat "$done_marker")); --force redoes it"
        return 0
    fi
    local start=$SECONDS
    local -a environment=(env CENET_PROGRESS_FILE="$executed/$name.progress")
    local -a parameters=(-p profile "${section_profile[$section]}" -p device "$device" -p out_dir "$out_root"
                         -p encoder_weights "$encoder_weights" -y "{seeds: $seed_list, force: $train_force}")
    [ -n "$gpus" ] && environment+=(CUDA_VISIBLE_DEVICES="${gpu_list[0]}")
    [ -n "$data_root" ] && parameters+=(-p data_root "$data_root")
    echo "$section: running notebooks/$name.ipynb (log: $log)"
    if "${environment[@]}" "$PYTHON" -m papermill "notebooks/$name.ipynb" "$executed/$name.ipynb" --cwd notebooks \
        "${parameters[@]}" >"$log" 2>&1; then
        echo "ok $((SECONDS - start)) s" >"$done_marker"
        echo "$section: done in $((SECONDS - start)) s"
    else
        echo "failed after $((SECONDS - start)) s" >"$executed/$name.failed"
        echo "$section: FAILED after $((SECONDS - start)) s; the error is at the end of $log"
        return 1
    fi
    rm -f "$executed/$name.progress"
}

show_progress() {  # every 10 s, each running section's row, step, total and time left, when it changed
    local -A last=()
    while sleep 10; do
        for section in "${sections[@]}"; do
            local file="${section_out[$section]}/executed/${notebook[$section]}.progress" line
            [ -f "$file" ] && line="$(cat "$file" 2>/dev/null)" || continue
            if [ -n "$line" ] && [ "${last[$section]:-}" != "$line" ]; then
                echo "  $line"
                last[$section]=$line
            fi
        done
    done
}

show_progress &
monitor=$!
trap 'kill $monitor 2>/dev/null' EXIT
for section in "${sections[@]}"; do
    run_section "$section"
done
kill $monitor 2>/dev/null

echo
echo "Summary:"
failed=0
declare -A folders=()
for section in "${sections[@]}"; do
    name=${notebook[$section]} folder=${section_out[$section]}
    folders[$folder]=1
    if [ -f "$folder/executed/$name.failed" ]; then
        failed=1
        printf '  %-11s FAILED  %s  log: %s\n' "$section" "$(cat "$folder/executed/$name.failed")" "$folder/executed/$name.log"
    else
        data=$("$PYTHON" -c "import json,sys; from cenet_lib.reporting import SECTIONS; t=SECTIONS['$section'].table; print(json.load(open('$folder/tables/table_'+t+'.json'))['dataset'])" 2>/dev/null || echo "?")
        printf '  %-11s %-6s %-14s data: %s  -> %s\n' "$section" "${section_profile[$section]}" "$(cat "$folder/executed/$name.done" 2>/dev/null)" "$data" "${folder#"$PWD"/}"
    fi
done
for folder in "${!folders[@]}"; do
    "$PYTHON" -m cenet_lib.reporting.summary "$folder" >/dev/null
    echo "Index: $folder/README.md; all tables and figures on one page: $folder/summary.md"
done
if grep -q "no real data" <<<"$plan"; then
    echo "Sections without their real data ran on synthetic stand-ins: their numbers mean nothing. To get the data:"
    for section in "${sections[@]}"; do
        [ "${section_get_data[$section]}" != "-" ] && echo "  $section: ${section_get_data[$section]}"
    done
fi
if [ -n "$archive" ]; then
    "$PYTHON" -m cenet_lib.reporting.archive "$out_root" --out "$archive" --max-mib "$archive_max_mib" || failed=1
fi
exit $failed
