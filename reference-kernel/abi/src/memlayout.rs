//! The shape of a user address space, from xv6's `riscv.h` and
//! `memlayout.h`: the page size, and the two pages at the top that every
//! process has mapped without user access. The heap (`sbrk`) may grow up to
//! [`TRAPFRAME`] and no further.

/// Bytes per page.
pub const PGSIZE: usize = 4096;

/// One beyond the highest possible virtual address. MAXVA is actually one
/// bit less than the max allowed by Sv39, to avoid having to sign-extend
/// virtual addresses that have the high bit set.
pub const MAXVA: usize = 1 << (9 + 9 + 9 + 12 - 1);

/// The trampoline page, mapped at the highest address in both user and
/// kernel space.
pub const TRAMPOLINE: usize = MAXVA - PGSIZE;

/// The process's trap frame, just below the trampoline.
pub const TRAPFRAME: usize = TRAMPOLINE - PGSIZE;

/// Where the kernel's RAM starts (physical and, in the kernel's page table,
/// virtual): an address no user pointer may reach.
pub const KERNBASE: usize = 0x8000_0000;
