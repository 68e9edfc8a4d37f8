#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image:
# it installs QEMU, bubblewrap and git, Rust (rustup, stable, the kernel's
# target) and xvlab itself, built from the sources shipped in this bundle
# (xvlab/), with their lab material built in.
set -euo pipefail

SOURCE="${XVLAB_AUTOGRADER_SOURCE:-/autograder/source}"
TARGET=riscv64gc-unknown-none-elf
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
apt-get install -y -qq qemu-system-misc bubblewrap git curl ca-certificates build-essential >/dev/null

if ! command -v rustup >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/rustup" ]; then
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
        sh -s -- -y --profile minimal --default-toolchain stable
fi
export PATH="$HOME/.cargo/bin:$PATH"
rustup toolchain install stable --profile minimal
rustup default stable
rustup target add "$TARGET"

cargo install --locked --path "$SOURCE/xvlab" --root /usr/local
xvlab doctor
