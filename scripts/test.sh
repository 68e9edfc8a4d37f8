#!/usr/bin/env bash
# The whole test suite: formatting and lints of both workspaces, unit and
# integration tests (including end-to-end grading under QEMU), the kernel's
# host-side unit tests, and the lab self-test that grades the starter, the
# reference solution and every known-bad submission against their expected
# results, for both labs (lazy and cow), and the mutation analysis of both
# rubrics (`xvlab mutants lazy`, `xvlab mutants cow`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test

HOST=$(rustc -vV | sed -n 's/^host: //p')
step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all --check
(cd reference-kernel && cargo fmt --all --check)

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
(cd reference-kernel && cargo clippy --all-targets --locked -- -D warnings)

step "examples (bash -n, shellcheck, actionlint)"
bash scripts/lint-examples.sh

step "kernel unit tests (host)"
(cd reference-kernel && cargo test --locked --target "$HOST" --bin kernel)

step "xvlab, abi, xv6fs and seal tests"
cargo test --workspace --locked

step "lab self-test"
cargo build --release --locked --quiet
./target/release/xvlab self-test lazy
./target/release/xvlab self-test cow

step "mutation analysis (every mutant of the solution killed or listed equivalent)"
./target/release/xvlab mutants lazy
./target/release/xvlab mutants cow
