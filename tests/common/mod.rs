//! What the integration tests that boot the real QEMU share: where the
//! repository is, and whether QEMU is here (with `XVLAB_REQUIRE_QEMU` set,
//! as CI sets it, a missing QEMU fails the test instead of skipping it).

use std::path::PathBuf;
use std::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
