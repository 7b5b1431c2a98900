#!/usr/bin/env bash
# Rehearse the README's recipe for a GPU node with its own PyTorch and no network, on this CPU.
#
#   benchmarks/offline_rehearsal.sh NODE_PYTHON [DATA_ROOT]
#
# NODE_PYTHON stands in for the node's python3: an interpreter with PyTorch and the node image's
# packages but without papermill or ipykernel. The script copies this working tree, runs the
# recipe's block from README.md ("On a GPU node ...") line by line, its first three lines here
# (with this repository's environment) and its last three in a second copy with NODE_PYTHON first
# on PATH, with the smoke profile, three jobs and one seed in place of the block's own first line.
# It prints each line's wall time, the packed size and the archive's contents.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
node_python="$(command -v "${1:?usage: $0 NODE_PYTHON [DATA_ROOT]}")"
data_root="$(cd "${2:-$repo/../shared/data}" && pwd)"
source "$repo/scripts/ensure_env.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mapfile -t block < <("$PYTHON" - "$repo/README.md" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
section = text.split("### On a GPU node", 1)[1]
print(re.search(r"```bash\n(.*?)```", section, re.S).group(1).strip())
EOF
)
[ ${#block[@]} -eq 6 ] || { echo "error: expected the README's recipe to be 6 lines, found ${#block[@]}" >&2; exit 1; }
node_version="$("$node_python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
settings="NODE_PYTHON=$node_version PROFILE=smoke JOBS=3 SECTIONS=\"vessels ablation cells oct\" SEEDS=1"
echo "Recipe, as in README.md; its first line replaced by: $settings"

copy_tree() {  # the working tree git would keep (tracked and untracked-not-ignored files) to $1
    mkdir -p "$1"
    (cd "$repo" && git ls-files -co --exclude-standard -z | tar cf - --null -T -) | (cd "$1" && tar xf -)
}
timed() {  # folder, PATH prefix, line: run it there and print its wall time
    local folder=$1 prefix=$2 line=$3 start=$SECONDS
    (cd "$folder" && eval "$settings" && PATH="$prefix:$PATH" && eval "${line//..\/shared\/data/$data_root}") >"$work/step.log" 2>&1 \
        || { tail -30 "$work/step.log"; echo "FAILED: $line" >&2; exit 1; }
    printf '%5d s  %s\n' $((SECONDS - start)) "$line"
}

copy_tree "$work/here"
here_path="$(dirname "$PYTHON")"
echo "Here ($PYTHON):"
for line in "${block[@]:1:2}"; do timed "$work/here" "$here_path" "$line"; done
du -sm "$work/here/packed" "$work/here/wheels" | sed 's/^/    MiB /'

copy_tree "$work/node"
cp -r "$work/here/packed" "$work/here/wheels" "$work/node/"
echo "On the node stand-in ($node_python, torch $("$node_python" -c 'import torch; print(torch.__version__)')):"
# Each line of the node's part runs on: its exports must reach the next, so they run in one shell.
start=$SECONDS
(cd "$work/node" && eval "$settings" && PATH="$(dirname "$node_python"):$PATH" && for line in "${block[@]:3:3}"; do
    step=$SECONDS
    eval "$line" >>"$work/node.log" 2>&1 || { tail -40 "$work/node.log"; echo "FAILED: $line" >&2; exit 1; }
    printf '%5d s  %s\n' $((SECONDS - step)) "$line"
done)
echo "Node part in all: $((SECONDS - start)) s"
grep -E "^  [a-z_]+ +smoke|runs:.*finished earlier|Archive|archive" "$work/node.log" | sed 's/^/    /' || true
tar tzf "$work/node/results.tar.gz" | sed -n '1,200p' | awk -F/ '{print $1"/"$2"/"$3}' | sort | uniq -c | sed 's/^/    /'
if tar tzf "$work/node/results.tar.gz" | grep -q '\.pt$'; then echo "error: the archive holds weights" >&2; exit 1; fi
echo "archive: $(du -k "$work/node/results.tar.gz" | cut -f1) KiB, no weights"
