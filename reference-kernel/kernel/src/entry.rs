//! The first instructions the kernel runs. QEMU's `-kernel` loads the kernel
//! at 0x80000000 and every hart jumps there in machine mode. `_entry` gives
//! each hart its own boot stack (`STACK0`, defined in start.rs) and calls
//! `start()` in Rust. This is xv6's `entry.S`.

core::arch::global_asm!(
    r#"
    .section .text.entry
    .globl _entry
_entry:
    # sp = STACK0 + (hartid + 1) * BOOT_STACK_SIZE
    la sp, {stack0}
    csrr a1, mhartid
    addi a1, a1, 1
    slli a0, a1, {stack_shift}
    add sp, sp, a0
    call {start}
spin:
    j spin
"#,
    stack0 = sym crate::start::STACK0,
    stack_shift = const crate::start::BOOT_STACK_SIZE.trailing_zeros(),
    start = sym crate::start::start,
);
