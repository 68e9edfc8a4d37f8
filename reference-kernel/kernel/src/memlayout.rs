//! Physical memory layout of QEMU's `virt` machine and the kernel's virtual
//! layout. This is xv6's `memlayout.h`.
//!
//! ```text
//! 00001000 -- boot ROM, provided by qemu
//! 02000000 -- CLINT
//! 0C000000 -- PLIC
//! 10000000 -- uart0
//! 10001000 -- virtio disk
//! 80000000 -- boot ROM jumps here in machine mode; -kernel loads the kernel here
//! unused RAM after 80000000.
//! ```
//!
//! The kernel uses physical memory thus:
//! 80000000 -- entry.rs, then kernel text and data;
//! end -- start of kernel page allocation area;
//! PHYSTOP -- end of RAM used by the kernel.

use crate::riscv::PGSIZE;

/// qemu puts UART registers here in physical memory.
pub const UART0: usize = 0x1000_0000;
pub const UART0_IRQ: u32 = 10;

/// virtio mmio interface.
pub const VIRTIO0: usize = 0x1000_1000;
pub const VIRTIO0_IRQ: u32 = 1;

/// Core local interruptor (CLINT), which contains the timer.
pub const CLINT: usize = 0x0200_0000;
/// The timer compare register of `hart`.
pub const fn clint_mtimecmp(hart: usize) -> usize {
    CLINT + 0x4000 + 8 * hart
}
/// Cycles since boot.
pub const CLINT_MTIME: usize = CLINT + 0xBFF8;

/// qemu puts the platform-level interrupt controller (PLIC) here.
pub const PLIC: usize = 0x0c00_0000;
/// Supervisor-mode interrupt enable bits of `hart`.
pub const fn plic_senable(hart: usize) -> usize {
    PLIC + 0x2080 + hart * 0x100
}
/// Supervisor-mode priority threshold of `hart`.
pub const fn plic_spriority(hart: usize) -> usize {
    PLIC + 0x20_1000 + hart * 0x2000
}
/// Supervisor-mode claim/complete register of `hart`.
pub const fn plic_sclaim(hart: usize) -> usize {
    PLIC + 0x20_1004 + hart * 0x2000
}

/// The kernel expects there to be RAM for use by the kernel and user pages
/// from physical address 0x80000000 (KERNBASE) to PHYSTOP.
pub use abi::memlayout::KERNBASE;
pub const PHYSTOP: usize = KERNBASE + 128 * 1024 * 1024;

/// Map the trampoline page to the highest address, in both user and kernel
/// space (MAXVA - PGSIZE).
pub use abi::memlayout::TRAMPOLINE;

/// Pages in each process's kernel stack. (xv6 uses one; optimised Rust
/// needs more headroom.)
pub const KSTACK_PAGES: usize = 4;

/// Map kernel stacks beneath the trampoline, each surrounded by invalid
/// guard pages.
pub const fn kstack(p: usize) -> usize {
    TRAMPOLINE - (p + 1) * (KSTACK_PAGES + 1) * PGSIZE
}

// User memory layout.
// Address zero first:
//   text
//   original data and bss
//   fixed-size stack
//   expandable heap
//   ...
//   TRAPFRAME (p->trapframe, used by the trampoline)
//   TRAMPOLINE (the same page as in the kernel)
// The user side of this layout is the `abi` crate's, shared with user
// programs.
pub use abi::memlayout::TRAPFRAME;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_stacks_do_not_overlap_and_have_guards() {
        // Each stack occupies KSTACK_PAGES pages followed by a guard page.
        for p in 0..crate::param::NPROC {
            let lo = kstack(p);
            let hi = lo + KSTACK_PAGES * PGSIZE;
            assert!(hi < TRAMPOLINE);
            if p > 0 {
                // The next stack down ends a guard page below this one.
                assert_eq!(kstack(p - 1) - hi, PGSIZE);
            }
            assert_eq!(lo % PGSIZE, 0);
        }
        assert_eq!(TRAMPOLINE - (kstack(0) + KSTACK_PAGES * PGSIZE), PGSIZE);
    }

    #[test]
    fn plic_and_clint_registers() {
        assert_eq!(plic_senable(1), 0x0c00_2180);
        assert_eq!(plic_spriority(1), 0x0c20_3000);
        assert_eq!(plic_sclaim(0), 0x0c20_1004);
        assert_eq!(clint_mtimecmp(2), 0x0200_4010);
    }

    #[test]
    fn user_top_pages() {
        assert_eq!(TRAMPOLINE, (1 << 38) - 4096);
        assert_eq!(TRAPFRAME, (1 << 38) - 2 * 4096);
    }
}
