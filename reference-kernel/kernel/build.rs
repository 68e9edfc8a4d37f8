//! Links the kernel with its linker script (only for the riscv64 target; the
//! host-side unit tests link normally).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("riscv64") {
        println!("cargo:rustc-link-arg-bins=-T{dir}/kernel.ld");
    }
    println!("cargo:rerun-if-changed=kernel.ld");
}
