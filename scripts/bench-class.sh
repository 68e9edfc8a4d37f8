#!/usr/bin/env bash
# Benchmark and end-to-end check of class grading (issue: grade a whole
# class) on real QEMU, with public tools only (bash, bc, jq, /proc). Too
# long for CI (about 45 minutes on two cores); run it on a quiet machine.
# It prints, and exits 1 if any check fails:
#   1. class throughput for a 12-submission mix (the reference solution,
#      the starter, six mutants, a refused patch, one that does not build,
#      one that hangs, the solution again as an mbox): `xvlab grade-all`
#      against a serial loop of `xvlab grade`, in submissions per hour, and
#      their ratio, in one run on a warm build cache;
#   2. checks: every gradebook row equals that submission's solo `xvlab
#      grade` (score, status, every test's score); a batch interrupted
#      halfway and run again grades only the rest and writes the same
#      gradebook; three shards run one after another and merged write the
#      same gradebook.csv and summary.json, byte for byte;
#   3. xvlab's own peak memory and the time per submission for a batch of
#      200 cheap distinct submissions (a kernel that panics at boot, each an
#      mbox with its own subject line: distinct hand-ins, one build) against
#      a batch of 10 of them.
# Usage: bash scripts/bench-class.sh [--jobs N]
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in bc jq; do
    if ! command -v "$tool" >/dev/null; then
        echo "bench-class: $tool is missing (Debian/Ubuntu: apt-get install -y $tool)" >&2
        exit 1
    fi
done
JOBS=$(nproc)
if [ "${1-}" = --jobs ]; then JOBS=${2:?--jobs N}; fi
bash scripts/setup.sh
cargo build --release --locked --quiet
XVLAB=$PWD/target/release/xvlab
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
check() { # WHAT COMMAND...: print whether COMMAND succeeds
    local what=$1
    shift
    if "$@"; then echo "check: $what: yes"; else echo "check: $what: NO"; failed=1; fi
}
# shellcheck disable=SC2317 # run through check
some_not_all() { # N TOTAL: 0 < N < TOTAL
    [ "$1" -gt 0 ] && [ "$1" -lt "$2" ]
}

# The 12-submission mix.
mix=$work/mix
mkdir -p "$mix"
cp grading/lazy/solution.patch "$mix/solution.patch"
"$XVLAB" init lazy "$mix/starter" >/dev/null
for m in no-fault-handler no-lazy-copy no-sz-check no-zero no-guard-check \
         no-uvmunmap-fix touches-user does-not-compile hangs-after-boot; do
    cp "grading/lazy/mutants/$m.patch" "$mix/$m.patch"
done
(printf 'Subject: seed\n\n'; cat grading/lazy/solution.patch) >"$mix/resubmitted.mbox"
count=$(find "$mix" -mindepth 1 -maxdepth 1 | wc -l)

now() { date +%s.%N; }
batch() { # OUT [ARGS...]
    local out=$1
    shift
    "$XVLAB" grade-all lazy "$mix" --output "$out" --jobs "$JOBS" "$@" >"$out.log" 2>&1 || true
}
loop() { # SOLO: each submission graded alone, its JSON report in SOLO/ID.json
    mkdir -p "$1"
    local f id
    for f in "$mix"/*; do
        id=$(basename "$f")
        id=${id%.*}
        if [ -d "$f" ]; then
            "$XVLAB" grade lazy --tree "$f" --jobs "$JOBS" --format json >"$1/$id.json" 2>/dev/null || true
        else
            "$XVLAB" grade lazy --patch "$f" --jobs "$JOBS" --format json >"$1/$id.json" 2>/dev/null || true
        fi
    done
}

batch "$work/warm"   # warms the build cache
start=$(now); batch "$work/out"; b=$(echo "$(now) - $start" | bc)
start=$(now); loop "$work/solo"; l=$(echo "$(now) - $start" | bc)
printf '%d submissions, --jobs %d\n' "$count" "$JOBS"
printf 'grade-all:     %6.0f s  %6.1f submissions/hour\n' "$b" "$(echo "$count * 3600 / $b" | bc -l)"
printf 'loop of grade: %6.0f s  %6.1f submissions/hour\n' "$l" "$(echo "$count * 3600 / $l" | bc -l)"
printf 'speed-up:      %6.2fx\n' "$(echo "$l / $b" | bc -l)"

# Rows against solo grades: what a row and a solo report both say.
same=yes
rows=0
while read -r id; do
    rows=$((rows + 1))
    row=$(jq -c --arg id "$id" '.students[] | select(.id == $id)
        | {score, max_score, status, tests: [.tests[] | {name, score}]}' "$work/out/summary.json")
    solo=$(jq -c '{score, max_score, status, tests: [.tests[] | {name, score}]}' "$work/solo/$id.json" 2>/dev/null || echo none)
    if [ "$row" != "$solo" ]; then
        echo "  $id: gradebook $row"
        echo "  $id: solo      $solo"
        same=no
    fi
done < <(jq -r '.students[].id' "$work/out/summary.json")
check "the gradebook has a row per submission ($rows of $count)" [ "$rows" = "$count" ]
check "every row equals the submission's solo grade" [ "$same" = yes ]
check "a second batch writes the same gradebook" \
    cmp -s "$work/warm/gradebook.csv" "$work/out/gradebook.csv"

# Interrupted halfway (Ctrl-C once half the submissions have results),
# then the same command again.
vms_before=$(pgrep -c -f qemu-system-riscv64 || true)
set -m   # a background job of a script ignores SIGINT without job control
"$XVLAB" grade-all lazy "$mix" --output "$work/resumed" --jobs "$JOBS" >"$work/first.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null \
    && [ "$(find "$work/resumed/kept" -name '*.json' 2>/dev/null | wc -l)" -lt $((count / 2)) ]; do
    sleep 0.5
done
kill -INT "$pid" 2>/dev/null || true
code=0
wait "$pid" || code=$?
set +m
check "the interrupted batch exits 130" [ "$code" = 130 ]
check "no VM is left running" [ "$(pgrep -c -f qemu-system-riscv64 || true)" = "$vms_before" ]
batch "$work/resumed"
graded=$(grep -o '^[0-9]* of [0-9]* graded now' "$work/resumed.log" || true)
echo "  rerun: $graded"
now_graded=${graded%% *}
check "the rerun grades only the rest" some_not_all "${now_graded:-0}" "$count"
check "the resumed gradebook is identical" \
    cmp -s "$work/out/gradebook.csv" "$work/resumed/gradebook.csv"

# Three shards, one after another, merged.
for k in 1 2 3; do batch "$work/shard-$k" --partition "hash:$k/3"; done
"$XVLAB" merge "$work/merged" "$work/shard-1" "$work/shard-2" "$work/shard-3" >/dev/null
check "three shards merged give the same gradebook.csv" \
    cmp -s "$work/out/gradebook.csv" "$work/merged/gradebook.csv"
check "and the same summary.json" \
    cmp -s "$work/out/summary.json" "$work/merged/summary.json"

# 200 cheap distinct submissions, then 10: memory and time each.
cheap() { # N: a folder of N variants of the panics-at-boot patch
    local dir=$work/cheap-$1 i
    mkdir -p "$dir"
    for i in $(seq 1 "$1"); do
        (printf 'Subject: variant %d\n\n' "$i"; cat grading/lazy/mutants/panics-at-boot.patch) >"$dir/s$i.mbox"
    done
    echo "$dir"
}
# Its one build, before either batch is timed.
"$XVLAB" grade lazy --patch grading/lazy/mutants/panics-at-boot.patch >/dev/null 2>&1 || true
for n in 10 200; do
    dir=$(cheap "$n")
    start=$(now)
    "$XVLAB" grade-all lazy "$dir" --output "$work/out-$n" --jobs "$JOBS" >/dev/null 2>&1 &
    pid=$!
    # xvlab's own high-water mark (VmHWM: this process alone, not QEMU or
    # cargo), read until it exits.
    hwm=0
    while kill -0 "$pid" 2>/dev/null; do
        kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        if [ -n "$kb" ] && [ "$kb" -gt "$hwm" ]; then hwm=$kb; fi
        sleep 0.2
    done
    wait "$pid" || true
    printf '%3d cheap submissions: %6.2f s/submission, xvlab peak memory %6.1f MiB\n' \
        "$n" "$(echo "($(now) - $start) / $n" | bc -l)" "$(echo "$hwm / 1024" | bc -l)"
done
exit "$failed"
