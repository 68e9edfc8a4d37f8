#!/usr/bin/env bash
# The main job: install what is missing, build xvlab, and grade the bundled
# reference solution of the lazy lab end to end (expect 100/100).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked --quiet
exec ./target/release/xvlab grade lazy --patch grading/lazy/solution.patch "$@"
