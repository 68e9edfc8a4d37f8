#!/usr/bin/env bash
# Installs what xvlab needs when it is missing: QEMU (qemu-system-riscv64),
# the Rust target the kernel is built for and, on Linux with apt, bubblewrap
# for the build sandbox; and the test tools junitparser and shellcheck. Safe
# to run again.
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

# Test tools: junitparser (a JUnit consumer the JUnit output is checked
# with) and shellcheck (for the Gradescope bundle's scripts).
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import junitparser' >/dev/null 2>&1; then
    echo "setup: installing junitparser (pip)"
    python3 -m pip install -q --disable-pip-version-check junitparser 2>/dev/null || \
        python3 -m pip install -q --disable-pip-version-check --user --break-system-packages junitparser
fi

if ! command -v shellcheck >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
    echo "setup: installing shellcheck"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
fi
