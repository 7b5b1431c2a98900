#!/usr/bin/env bash
# Regenerate Tables I-VI and the figures of the paper: run each section's notebook with papermill.
#
#   ./run_all.sh                               every section; real data where found, else synthetic
#   ./run_all.sh --profile quick --data-root ../shared/data --only vessels lung
#   ./run_all.sh --profile paper --gpus 0,1    sections side by side, one GPU each
#
# Options:
#   --profile smoke|quick|paper   size of the runs (default: quick)
#   --data-root DIR               where the datasets are (default: $CENET_DATA_ROOT or data/)
#   --only SECTION...             optic_disc vessels lung cells oct ablation (default: all)
#   --device auto|cpu|cuda        (default: auto)
#   --seeds N                     seeds 0..N-1 per trained row (default: 1)
#   --encoder-weights W           scratch, imagenet or a ResNet-34 state-dict file (default: scratch);
#                                 the paper's numbers need imagenet
#   --jobs N                      sections run side by side (default: 1)
#   --gpus 0,1,...                one section per GPU at a time (sets --jobs and CUDA_VISIBLE_DEVICES)
#   --out DIR                     results folder (default: results); outputs go to DIR/<profile>/
#   --force                       redo sections (and rows) already finished
set -uo pipefail
cd "$(dirname "$0")"

profile=quick data_root="" device=auto seeds=1 encoder_weights=scratch jobs=1 gpus="" out=results force=false
sections=(optic_disc vessels lung cells oct ablation)
only=()
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile="$2"; shift 2 ;;
        --data-root) data_root="$(cd "$2" && pwd)" || { echo "error: --data-root $2 does not exist" >&2; exit 2; }; shift 2 ;;
        --device) device="$2"; shift 2 ;;
        --seeds) seeds="$2"; shift 2 ;;
        --encoder-weights) encoder_weights="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        --gpus) gpus="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --force) force=true; shift ;;
        --only) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do only+=("$1"); shift; done ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "error: unknown option $1 (see ./run_all.sh --help)" >&2; exit 2 ;;
    esac
done
case "$profile" in smoke|quick|paper) ;; *) echo "error: --profile must be smoke, quick or paper" >&2; exit 2 ;; esac
[ ${#only[@]} -gt 0 ] && sections=("${only[@]}")
declare -A notebook=([optic_disc]=01_optic_disc [vessels]=02_retinal_vessels [lung]=03_lung
                     [cells]=04_cell_contours [oct]=05_oct_layers [ablation]=06_ablations)
for section in "${sections[@]}"; do
    [ -n "${notebook[$section]:-}" ] || { echo "error: unknown section $section; choose from ${!notebook[*]}" >&2; exit 2; }
done

source scripts/ensure_env.sh || exit 1
mkdir -p "$out/$profile"
results="$(cd "$out/$profile" && pwd)"
executed="$results/executed"
mkdir -p "$executed"
seed_list="[$(seq -s, 0 $((seeds - 1)))]"
IFS=, read -r -a gpu_list <<<"$gpus"
[ -n "$gpus" ] && jobs=${#gpu_list[@]}

run_section() {  # section, slot
    local section=$1 slot=$2 name=${notebook[$1]}
    local log="$executed/$name.log" done_marker="$executed/$name.done"
    if [ -f "$done_marker" ] && [ "$force" = false ]; then
        echo "$section: finished earlier ($(cat "$done_marker")); --force redoes it"
        return 0
    fi
    local start=$SECONDS
    local -a environment=(env) parameters=(-p profile "$profile" -p device "$device" -p out_dir "$out_root"
                                           -p encoder_weights "$encoder_weights"
                                           -y "{seeds: $seed_list, force: $force}")
    [ -n "$gpus" ] && environment=(env CUDA_VISIBLE_DEVICES="${gpu_list[$slot]}")
    [ -n "$data_root" ] && parameters+=(-p data_root "$data_root")
    echo "$section: running notebooks/$name.ipynb (log: $log)"
    if "${environment[@]}" "$PYTHON" -m papermill "notebooks/$name.ipynb" "$executed/$name.ipynb" --cwd notebooks \
        "${parameters[@]}" >"$log" 2>&1; then
        echo "ok $((SECONDS - start)) s" >"$done_marker"
        echo "$section: done in $((SECONDS - start)) s"
    else
        echo "failed after $((SECONDS - start)) s" >"$executed/$name.failed"
        echo "$section: FAILED after $((SECONDS - start)) s; see $log"
        return 1
    fi
}

out_root="$(cd "$out" && pwd)"
rm -f "$executed"/*.failed
slot=0
for section in "${sections[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    run_section "$section" $((slot % jobs)) &
    slot=$((slot + 1))
done
wait

"$PYTHON" -m cenet_lib.reporting.summary "$results" >/dev/null
echo
echo "Summary ($profile profile, results in $results):"
failed=0
for section in "${sections[@]}"; do
    name=${notebook[$section]}
    if [ -f "$executed/$name.failed" ]; then
        failed=1
        printf '  %-11s FAILED  %s  log: %s\n' "$section" "$(cat "$executed/$name.failed")" "$executed/$name.log"
    else
        data=$("$PYTHON" -c "import json,sys; from cenet_lib.reporting import SECTIONS; t=SECTIONS['$section'].table; print(json.load(open('$results/tables/table_'+t+'.json'))['dataset'])" 2>/dev/null || echo "?")
        printf '  %-11s %-18s data: %s\n' "$section" "$(cat "$executed/$name.done" 2>/dev/null)" "$data"
    fi
done
echo "Index: $results/README.md; all tables and figures on one page: $results/summary.md"
exit $failed
