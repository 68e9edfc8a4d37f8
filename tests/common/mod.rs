//! What the integration tests share: where the repository is, a copy of
//! a tree of it (a lab home), and whether QEMU is here (with
//! `XVLAB_REQUIRE_QEMU` set, as CI sets it, a missing QEMU fails the test
//! instead of skipping it).

// Each test crate includes this module and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copy `from` to `to`, skipping build output (`target/`).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "target" {
            continue;
        }
        let dst = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dst);
        } else {
            std::fs::copy(entry.path(), &dst).unwrap();
        }
    }
}

pub fn qemu_available() -> bool {
    let found = Command::new("qemu-system-riscv64")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("XVLAB_REQUIRE_QEMU").is_none(),
            "qemu-system-riscv64 is required (XVLAB_REQUIRE_QEMU is set)"
        );
        eprintln!("skipping the real-QEMU part: qemu-system-riscv64 is not installed");
    }
    found
}
