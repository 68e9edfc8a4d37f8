#!/usr/bin/env bash
# Whole gradings of the lazy lab's reference solution by this checkout's
# xvlab and by xvlab at an earlier commit, alternating in one run, so that a
# noisy machine slows both alike: the figure behind "a change costs at most
# N % of grading time". Each side grades with its own rubric, test programs
# and solution (what that commit shipped), warm (one untimed grading each
# first), default `--jobs`. Prints each run's wall time and score, the
# medians and their ratio (this checkout over the other).
# Usage: bash scripts/bench-against.sh REV [ROUNDS]   (ROUNDS defaults to 5)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: bash scripts/bench-against.sh REV [ROUNDS]" >&2
    exit 2
fi
REV=$1
ROUNDS=${2:-5}
if ! [[ $ROUNDS =~ ^[1-9][0-9]*$ ]]; then
    echo "bench-against: ROUNDS must be a positive number, not '$ROUNDS'" >&2
    exit 2
fi
if ! git rev-parse --verify --quiet "$REV^{commit}" >/dev/null; then
    echo "bench-against: '$REV' is no commit of this repository" >&2
    exit 2
fi
bash scripts/setup.sh
cargo build --release --locked --quiet

WORK=$(mktemp -d)
cleanup() {
    git worktree remove --force "$WORK/old" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
git worktree add --quiet --detach "$WORK/old" "$REV"
echo "building xvlab at $(git log --oneline -1 "$REV")"
(cd "$WORK/old" && CARGO_TARGET_DIR=$WORK/old-target cargo build --release --locked --quiet)
export XVLAB_CACHE=$WORK/cache

# grade DIR BINARY: one warm grading in DIR; prints "seconds score".
grade() {
    local start end
    start=$(date +%s.%N)
    (cd "$1" && "$2" grade lazy --format json --patch grading/lazy/solution.patch >"$WORK/report.json" 2>/dev/null) || true
    end=$(date +%s.%N)
    python3 - "$start" "$end" "$WORK/report.json" <<'PY'
import json, sys
start, end, path = sys.argv[1:]
try:
    r = json.load(open(path))
    score = f"{r['score']}/{r['max_score']}"
except (OSError, ValueError, KeyError):
    score = "no-report"
print(f"{float(end) - float(start):.1f} {score}")
PY
}

NEW=$PWD/target/release/xvlab
OLD=$WORK/old-target/release/xvlab
grade "$PWD" "$NEW" >/dev/null
grade "$WORK/old" "$OLD" >/dev/null
new=()
old=()
for i in $(seq "$ROUNDS"); do
    old+=("$(grade "$WORK/old" "$OLD")")
    new+=("$(grade "$PWD" "$NEW")")
    echo "round $i: $REV ${old[-1]}, this checkout ${new[-1]}"
done
python3 - "$REV" "$(IFS=,; echo "${old[*]}")" "$(IFS=,; echo "${new[*]}")" <<'PY'
import statistics, sys
rev, old, new = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
secs = lambda runs: [float(r.split()[0]) for r in runs]
o, n = statistics.median(secs(old)), statistics.median(secs(new))
runs = lambda runs: " / ".join(f"{x:.1f}" for x in secs(runs))
print(f"{rev}: {runs(old)} s (median {o:.1f} s)")
print(f"this checkout: {runs(new)} s (median {n:.1f} s)")
print(f"ratio of medians (this checkout / {rev}): {n / o:.2f}x")
PY
