//! Links every user program with the user address-space linker script.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("riscv64") {
        println!("cargo:rustc-link-arg-bins=-T{dir}/user.ld");
        // Programs live on a small xv6 file system: keep symbols, drop DWARF,
        // and drop the thousands of assembler-temporary `.L` labels the debug
        // info leaves in the symbol table (they would quadruple a file's size).
        println!("cargo:rustc-link-arg-bins=--strip-debug");
        println!("cargo:rustc-link-arg-bins=--discard-locals");
    }
    println!("cargo:rerun-if-changed=user.ld");
}
