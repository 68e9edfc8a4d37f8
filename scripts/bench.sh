#!/usr/bin/env bash
# Benchmarks of a full `xvlab grade` of the lazy lab, with public tools only
# (bash, GNU time). Prints wall-clock time, the build time xvlab measured, the
# score, the peak resident memory of the largest process (xvlab, cargo or one
# QEMU VM; GNU time reports the biggest of a process and its children) and
# that of xvlab alone:
#   - the reference solution with a cold build cache, then warm;
#   - the unmodified starter, warm;
#   - the solution with one kernel file changed (rebuild time);
#   - a kernel that panics at boot, warm;
#   - a kernel that boots and then hangs in every command, warm (the
#     deadlines scaled from the reference's durations at work);
#   - the in-run baseline: the serial time of the same tests in one VM on
#     one hart (`xvlab run lazy --patch solution.patch -- lazytests
#     usertests`), three times, alternating with three warm gradings of the
#     solution and three with `--snapshots`, and the ratios of their
#     medians (on two cores the ideal is about 0.5: every
#     test in its own VM, two at a time).
# With --defaults it then grades the solution (warm) with 1, 2 and 3 VMs at
# once and with 2 harts per VM, the measurements behind the defaults of
# `--jobs` and the rubric's `cpus`.
# With --noise it grades the solution (warm) three more times and prints,
# per run, how far each VM's duration strayed from the reference durations
# the deadlines scale from (grading/lazy/durations.toml): the measurement
# behind the rubric's `deadline_margin`.
# Usage: bash scripts/bench.sh [--defaults | --noise] [--jobs N]
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in /usr/bin/time pgrep python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "bench: $tool is missing (Debian/Ubuntu: apt-get install -y time procps python3)" >&2
        exit 1
    fi
done
bash scripts/setup.sh
cargo build --release --locked --quiet
XV=$PWD/target/release/xvlab
DEFAULTS=0
NOISE=0
if [[ ${1:-} == --defaults ]]; then
    DEFAULTS=1
    shift
elif [[ ${1:-} == --noise ]]; then
    NOISE=1
    shift
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export XVLAB_CACHE=$WORK/cache
GRADING=$PWD/grading/lazy

# The solution with one comment changed in one kernel file (vm.rs).
sed -e 's|^+/// Lazy allocation:|+/// Lazy allocation (benchmark edit):|' "$GRADING/solution.patch" >"$WORK/edited.patch"
if cmp -s "$GRADING/solution.patch" "$WORK/edited.patch"; then
    echo "bench: could not make the edited solution" >&2
    exit 1
fi

run() {
    local label=$1
    shift
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f '%M' -o "$WORK/mem" "$XV" grade lazy --format json "$@" >"$WORK/report.json" 2>/dev/null &
    local timer=$! xvlab_kib=0 pid kib
    # xvlab's own high-water mark, sampled while it runs (GNU time's figure
    # is the largest of xvlab and its children).
    while kill -0 "$timer" 2>/dev/null; do
        for pid in $(pgrep -P "$timer" -x xvlab || true); do
            kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
            if [[ -n $kib && $kib -gt $xvlab_kib ]]; then
                xvlab_kib=$kib
            fi
        done
        sleep 0.2
    done
    wait "$timer" || true
    end=$(date +%s.%N)
    python3 - "$label" "$start" "$end" "$WORK/report.json" "$WORK/mem" "$xvlab_kib" <<'PY'
import json, sys
label, start, end, path, mem, xvlab_kib = sys.argv[1:]
r = json.load(open(path))
build = r.get("build", {})
print(f"{label:<38} {float(end) - float(start):6.1f} s   build {float(build.get('duration', 0)):5.1f} s"
      f"   score {r['score']:>3}/{r['max_score']}   peak RSS: largest process {int(open(mem).read().split()[-1]) // 1024} MiB,"
      f" xvlab {int(xvlab_kib) // 1024} MiB")
PY
}

echo "host: $(nproc) CPUs; $(qemu-system-riscv64 --version | head -1)"
run "solution, cold build cache" --patch "$GRADING/solution.patch" "$@"
run "solution, warm" --patch "$GRADING/solution.patch" "$@"
run "starter (unmodified), warm" --tree reference-kernel "$@"
run "solution, one kernel file changed" --patch "$WORK/edited.patch" "$@"
run "kernel that panics at boot, warm" --patch "$GRADING/mutants/panics-at-boot.patch" "$@"
run "kernel that hangs after boot, warm" --patch "$GRADING/mutants/hangs-after-boot.patch" "$@"

seconds() { # COMMAND...: wall-clock seconds of one run, its output dropped
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$start" "$end"
}
graded=()
snapped=()
serial=()
for i in 1 2 3; do
    graded+=("$(seconds "$XV" grade lazy --format json --patch "$GRADING/solution.patch" "$@")")
    snapped+=("$(seconds "$XV" grade lazy --format json --snapshots --patch "$GRADING/solution.patch" "$@")")
    serial+=("$(seconds "$XV" run lazy --patch "$GRADING/solution.patch" -- lazytests usertests)")
done
python3 - "${graded[*]}" "${snapped[*]}" "${serial[*]}" <<'PY'
import statistics, sys
graded, snapped, serial = ([float(x) for x in arg.split()] for arg in sys.argv[1:])
g, n, s = (statistics.median(x) for x in (graded, snapped, serial))
runs = lambda xs: ' / '.join(f'{x:.1f}' for x in xs)
print(f"solution, warm, 3 runs: {runs(graded)} s (median {g:.1f} s)")
print(f"solution, warm, --snapshots, 3 runs: {runs(snapped)} s (median {n:.1f} s)")
print(f"serial baseline (one VM, one hart, lazytests usertests), 3 runs: {runs(serial)} s (median {s:.1f} s)")
print(f"full grade / serial baseline: {g / s:.2f}x; with --snapshots: {n / s:.2f}x; "
      f"--snapshots / without: {n / g:.2f}x")
PY

if [[ $DEFAULTS == 1 ]]; then
    for jobs in 1 2 3; do
        run "solution, warm, --jobs $jobs, 1 hart" --patch "$GRADING/solution.patch" --jobs "$jobs"
    done
    # The same grading material with every VM given 2 harts.
    mkdir -p "$WORK/home"
    tar -c --exclude=target labs grading reference-kernel | tar -x -C "$WORK/home"
    sed -i 's/^cpus = 1$/cpus = 2/' "$WORK/home/grading/lazy/rubric.toml"
    if ! grep -q '^cpus = 2$' "$WORK/home/grading/lazy/rubric.toml"; then
        echo "bench: could not set cpus = 2 in the rubric copy" >&2
        exit 1
    fi
    export XVLAB_HOME=$WORK/home
    run "solution, warm, --jobs 2, 2 harts" --patch "$GRADING/solution.patch" --jobs 2
    unset XVLAB_HOME
fi

if [[ $NOISE == 1 ]]; then
    for i in 1 2 3; do
        "$XV" grade lazy --format json --patch "$GRADING/solution.patch" "$@" >"$WORK/noise.json" 2>/dev/null || true
        python3 - "$WORK/noise.json" "$GRADING/durations.toml" "$i" <<'PY'
import json, re, sys, tomllib
report, refs_path, run = sys.argv[1:]
refs = tomllib.load(open(refs_path, "rb"))["sessions"]
def seconds(text):
    units = {"ms": 0.001, "s": 1, "m": 60}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)(ms|s|m)", text))
ratios = sorted(s["duration"] / seconds(refs[s["name"]])
                for s in json.load(open(report))["sessions"] if s["name"] in refs)
mid = ratios[len(ratios) // 2]
print(f"noise run {run}: VM duration / reference: min {ratios[0]:.2f}, median {mid:.2f}, max {ratios[-1]:.2f}")
PY
    done
fi
