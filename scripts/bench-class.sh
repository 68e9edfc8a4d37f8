#!/usr/bin/env bash
# Benchmark of class grading (issue: grade a whole class), with public tools
# only (bash, bc, /proc). Run it on a quiet machine; it prints:
#   1. class throughput for a 12-submission mix (the reference solution, the
#      starter, mutants, a refused patch, one that does not build, one that
#      hangs): `xvlab grade-all` against a serial loop of `xvlab grade`, in
#      submissions per hour, and their ratio — both on a warm build cache
#      (each timed twice, the second time reported);
#   2. xvlab's own peak memory and the time per submission for a batch of
#      200 cheap distinct submissions (a kernel that panics at boot, each
#      with its own comment line) against a batch of 10 of them.
# Usage: bash scripts/bench-class.sh [--jobs N]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v bc >/dev/null; then
    echo "bench-class: bc is missing (Debian/Ubuntu: apt-get install -y bc)" >&2
    exit 1
fi
JOBS=$(nproc)
if [ "${1-}" = --jobs ]; then JOBS=${2:?--jobs N}; fi
bash scripts/setup.sh
cargo build --release --locked --quiet
XVLAB=$PWD/target/release/xvlab
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The 12-submission mix.
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

seconds() { # COMMAND...: wall-clock seconds of one run
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
batch() { rm -rf "$work/out"; "$XVLAB" grade-all lazy "$mix" --output "$work/out" --jobs "$JOBS"; }
loop() {
    for f in "$mix"/*; do
        if [ -d "$f" ]; then
            "$XVLAB" grade lazy --tree "$f" --jobs "$JOBS" --format json || true
        else
            "$XVLAB" grade lazy --patch "$f" --jobs "$JOBS" --format json || true
        fi
    done
}
seconds batch >/dev/null   # warm the build cache
b=$(seconds batch)
seconds loop >/dev/null
l=$(seconds loop)
printf '%d submissions, --jobs %d\n' "$count" "$JOBS"
printf 'grade-all:     %6.0f s  %6.1f submissions/hour\n' "$b" "$(echo "$count * 3600 / $b" | bc -l)"
printf 'loop of grade: %6.0f s  %6.1f submissions/hour\n' "$l" "$(echo "$count * 3600 / $l" | bc -l)"
printf 'speed-up:      %6.2fx\n' "$(echo "$l / $b" | bc -l)"

# 2. 200 cheap distinct submissions, then 10: memory and time each.
cheap() { # N: a folder of N variants of the panics-at-boot patch
    local dir=$work/cheap-$1 i
    mkdir -p "$dir"
    for i in $(seq 1 "$1"); do
        (printf 'Subject: variant %d\n\n' "$i"; cat grading/lazy/mutants/panics-at-boot.patch) >"$dir/s$i.mbox"
    done
    echo "$dir"
}
for n in 10 200; do
    dir=$(cheap "$n")
    rm -rf "$work/out-$n"
    start=$(date +%s.%N)
    "$XVLAB" grade-all lazy "$dir" --output "$work/out-$n" --jobs "$JOBS" >/dev/null 2>&1 &
    pid=$!
    # xvlab's own high-water mark (VmHWM: this process alone, not QEMU or
    # cargo), read until it exits.
    hwm=0
    while kill -0 "$pid" 2>/dev/null; do
        now=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        if [ -n "$now" ] && [ "$now" -gt "$hwm" ]; then hwm=$now; fi
        sleep 0.2
    done
    wait "$pid" || true
    end=$(date +%s.%N)
    printf '%3d cheap submissions: %6.1f s/submission, xvlab peak memory %6.1f MiB\n' \
        "$n" "$(echo "($end - $start) / $n" | bc -l)" "$(echo "$hwm / 1024" | bc -l)"
done
