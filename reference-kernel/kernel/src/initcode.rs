//! The first user program: `exec("/init", {"/init", 0})`, and exit if that
//! fails. userinit() copies these bytes to address 0 of the first process.
//! This is xv6's `initcode.S`; the code is position-independent (auipc), so
//! it runs at address 0 although it is linked into the kernel.

use crate::syscall::{SYS_EXEC, SYS_EXIT};

core::arch::global_asm!(
    r#"
    .section .rodata.initcode, "a"
    .globl initcode_start
    .globl initcode_end
    .balign 8
initcode_start:
    # exec(init, argv)
    lla a0, init_path
    lla a1, init_argv
    # argv[0] must hold init_path's user address, known only at run time.
    sd a0, 0(a1)
    li a7, {sys_exec}
    ecall

    # for(;;) exit();
exit_loop:
    li a7, {sys_exit}
    ecall
    j exit_loop

    # char init[] = "/init\0";
    .balign 8
init_path:
    .string "/init"

    # char *argv[] = {{ init, 0 }};
    .balign 8
init_argv:
    .dword 0
    .dword 0
initcode_end:
"#,
    sys_exec = const SYS_EXEC,
    sys_exit = const SYS_EXIT,
);

unsafe extern "C" {
    static initcode_start: u8;
    static initcode_end: u8;
}

/// The machine code of the first user program.
pub fn initcode() -> &'static [u8] {
    // SAFETY: the two symbols delimit the bytes assembled above, which live
    // in the kernel's read-only data for ever.
    unsafe {
        let start = &raw const initcode_start;
        let len = &raw const initcode_end as usize - start as usize;
        core::slice::from_raw_parts(start, len)
    }
}
