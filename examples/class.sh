#!/usr/bin/env bash
# Grade a class in shards and merge them: the two commands the GitHub
# Actions workflow (examples/github-actions/) and the Slurm job array
# (examples/slurm/) run, in one place so that they cannot drift apart
# (tests/class.rs runs them too).
#
#   class.sh shard K N CLASS OUT   grade shard K of N of the submissions
#                                  in CLASS into OUT/shard-K
#   class.sh merge OUT             merge OUT/shard-* into OUT/class
#
# XVLAB names the xvlab binary (default: xvlab on PATH), LAB the lab
# (default: lazy), JOBS the VMs per shard (default: the host's CPUs).
# Exit codes are xvlab's: 116 when some submission hit a grader fault.
set -euo pipefail

XVLAB=${XVLAB:-xvlab}
LAB=${LAB:-lazy}

usage() {
    echo "usage: class.sh shard K N CLASS OUT | class.sh merge OUT" >&2
    exit 2
}

case ${1-} in
shard)
    [ $# -eq 5 ] || usage
    k=$2 n=$3 class=$4 out=$5
    jobs=()
    if [ -n "${JOBS-}" ]; then jobs=(--jobs "$JOBS"); fi
    "$XVLAB" grade-all "$LAB" "$class" --output "$out/shard-$k" \
        --partition "hash:$k/$n" "${jobs[@]}"
    ;;
merge)
    [ $# -eq 2 ] || usage
    out=$2
    shards=("$out"/shard-*)
    "$XVLAB" merge "$out/class" "${shards[@]}"
    ;;
*)
    usage
    ;;
esac
