//! The RISC-V machine, as the kernel sees it: control and status registers
//! (CSRs), Sv39 page-table entries and address arithmetic. This is xv6's
//! `riscv.h`.
//!
//! The address arithmetic at the top is pure and unit-tested on the host; the
//! register accessors exist only when compiling for riscv64.

use core::ops::{Add, Sub};

/// Bytes per page (defined in the `abi` crate, which user programs share).
pub use abi::memlayout::PGSIZE;
/// Bits of offset within a page.
pub const PGSHIFT: usize = 12;

/// Round `a` up to a multiple of the page size.
pub const fn pgroundup(a: usize) -> usize {
    a.wrapping_add(PGSIZE - 1) & !(PGSIZE - 1)
}

/// Round `a` down to a multiple of the page size.
pub const fn pgrounddown(a: usize) -> usize {
    a & !(PGSIZE - 1)
}

// Page-table entry flag bits.
/// Valid.
pub const PTE_V: usize = 1 << 0;
/// Readable.
pub const PTE_R: usize = 1 << 1;
/// Writable.
pub const PTE_W: usize = 1 << 2;
/// Executable.
pub const PTE_X: usize = 1 << 3;
/// Accessible in user mode.
pub const PTE_U: usize = 1 << 4;

/// Shift a physical address into the physical-page-number field of a PTE.
pub const fn pa2pte(pa: usize) -> usize {
    (pa >> 12) << 10
}

/// The physical address a PTE points at.
pub const fn pte2pa(pte: usize) -> usize {
    (pte >> 10) << 12
}

/// The flag bits of a PTE.
pub const fn pte_flags(pte: usize) -> usize {
    pte & 0x3FF
}

/// Mask for one 9-bit page-table index.
pub const PXMASK: usize = 0x1FF;

/// Where the index for page-table `level` starts in a virtual address.
pub const fn pxshift(level: usize) -> usize {
    PGSHIFT + 9 * level
}

/// The index into the page-table page at `level` (2 = root) for `va`.
pub const fn px(level: usize, va: usize) -> usize {
    (va >> pxshift(level)) & PXMASK
}

/// One beyond the highest possible virtual address: one bit less than Sv39
/// allows (defined in the `abi` crate, which user programs share).
pub use abi::memlayout::MAXVA;

/// The satp mode field for Sv39 paging.
pub const SATP_SV39: usize = 8 << 60;

/// The satp value that selects the page table whose root page is at `pagetable`.
pub const fn make_satp(pagetable: usize) -> usize {
    SATP_SV39 | (pagetable >> 12)
}

/// A physical address (the kernel maps physical memory one to one, so a
/// physical address is also a kernel virtual address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PhysAddr(pub usize);

/// A virtual address in some address space (a process's, or the kernel's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct VirtAddr(pub usize);

impl PhysAddr {
    /// The address as a raw pointer (valid because of the identity mapping).
    pub const fn as_mut_ptr<T>(self) -> *mut T {
        self.0 as *mut T
    }
}

impl VirtAddr {
    /// The start of the page containing this address.
    pub const fn pgrounddown(self) -> VirtAddr {
        VirtAddr(pgrounddown(self.0))
    }

    /// The index into the page-table page at `level` for this address.
    pub const fn px(self, level: usize) -> usize {
        px(level, self.0)
    }

    /// The byte offset within its page.
    pub const fn page_offset(self) -> usize {
        self.0 & (PGSIZE - 1)
    }
}

impl Add<usize> for VirtAddr {
    type Output = VirtAddr;
    fn add(self, rhs: usize) -> VirtAddr {
        VirtAddr(self.0 + rhs)
    }
}

impl Sub<usize> for VirtAddr {
    type Output = VirtAddr;
    fn sub(self, rhs: usize) -> VirtAddr {
        VirtAddr(self.0 - rhs)
    }
}

impl Add<usize> for PhysAddr {
    type Output = PhysAddr;
    fn add(self, rhs: usize) -> PhysAddr {
        PhysAddr(self.0 + rhs)
    }
}

/// A page-table entry: a physical page number and flag bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct Pte(pub usize);

impl Pte {
    /// An entry pointing at physical page `pa` with flag bits `flags`.
    pub const fn new(pa: PhysAddr, flags: usize) -> Pte {
        Pte(pa2pte(pa.0) | flags)
    }

    /// Is the valid bit set?
    pub const fn is_valid(self) -> bool {
        self.0 & PTE_V != 0
    }

    /// The physical address this entry points at.
    pub const fn pa(self) -> PhysAddr {
        PhysAddr(pte2pa(self.0))
    }

    /// The flag bits.
    pub const fn flags(self) -> usize {
        pte_flags(self.0)
    }

    /// Does this entry point at a next-level page table rather than a page?
    /// (A valid entry with none of R, W, X.)
    pub const fn is_table(self) -> bool {
        self.is_valid() && self.0 & (PTE_R | PTE_W | PTE_X) == 0
    }
}

// Machine status register, mstatus.
pub const MSTATUS_MPP_MASK: usize = 3 << 11;
pub const MSTATUS_MPP_S: usize = 1 << 11;
pub const MSTATUS_MIE: usize = 1 << 3;

// Supervisor status register, sstatus.
/// Previous mode, 1=Supervisor, 0=User.
pub const SSTATUS_SPP: usize = 1 << 8;
/// Supervisor previous interrupt enable.
pub const SSTATUS_SPIE: usize = 1 << 5;
/// Supervisor interrupt enable.
pub const SSTATUS_SIE: usize = 1 << 1;

// Supervisor interrupt enable register, sie.
/// External.
pub const SIE_SEIE: usize = 1 << 9;
/// Timer.
pub const SIE_STIE: usize = 1 << 5;
/// Software.
pub const SIE_SSIE: usize = 1 << 1;

/// Machine-mode timer interrupt enable, in mie.
pub const MIE_MTIE: usize = 1 << 7;

// scause values the kernel cares about. The page-fault causes are for the
// lab's page-fault handler, so the starter kernel does not use them yet.
/// Interrupt bit of scause.
pub const SCAUSE_INTERRUPT: usize = 1 << 63;
/// Supervisor software interrupt (forwarded timer tick), with the interrupt bit.
pub const SCAUSE_SSI: usize = SCAUSE_INTERRUPT | 1;
/// Supervisor external interrupt (from the PLIC), with the interrupt bit.
pub const SCAUSE_SEI: usize = SCAUSE_INTERRUPT | 9;
/// Environment call from user mode (a system call).
pub const SCAUSE_ECALL_U: usize = 8;
/// Instruction page fault.
#[allow(dead_code)]
pub const SCAUSE_INSTRUCTION_PAGE_FAULT: usize = 12;
/// Load page fault.
#[allow(dead_code)]
pub const SCAUSE_LOAD_PAGE_FAULT: usize = 13;
/// Store/AMO page fault.
#[allow(dead_code)]
pub const SCAUSE_STORE_PAGE_FAULT: usize = 15;

#[cfg(target_arch = "riscv64")]
pub use self::regs::*;

/// Register accessors. Reading a CSR has no memory-safety consequences, so
/// readers are safe; writers that change translation, trap vectors or
/// privilege state are `unsafe`.
#[cfg(target_arch = "riscv64")]
mod regs {
    use core::arch::asm;

    macro_rules! csr_read {
        ($(#[$doc:meta])* $name:ident, $csr:literal) => {
            $(#[$doc])*
            #[inline(always)]
            pub fn $name() -> usize {
                let x: usize;
                // SAFETY: reading this CSR has no side effects.
                unsafe { asm!(concat!("csrr {}, ", $csr), out(reg) x) };
                x
            }
        };
    }

    macro_rules! csr_write {
        ($(#[$doc:meta])* $name:ident, $csr:literal) => {
            $(#[$doc])*
            ///
            /// # Safety
            /// Changes machine state the rest of the kernel relies on; the
            /// caller must know the new value is right for this point of boot
            /// or of the trap path.
            #[inline(always)]
            pub unsafe fn $name(x: usize) {
                // SAFETY: the caller upholds this function's contract.
                unsafe { asm!(concat!("csrw ", $csr, ", {}"), in(reg) x) };
            }
        };
    }

    csr_read!(/// Which hart (core) is this? Machine mode only.
        r_mhartid, "mhartid");
    csr_read!(r_mstatus, "mstatus");
    csr_write!(w_mstatus, "mstatus");
    csr_write!(/// Machine exception program counter: where `mret` goes.
        w_mepc, "mepc");
    csr_read!(r_sstatus, "sstatus");
    csr_write!(w_sstatus, "sstatus");
    csr_read!(/// Supervisor interrupt pending.
        r_sip, "sip");
    csr_write!(w_sip, "sip");
    csr_read!(/// Supervisor interrupt enable.
        r_sie, "sie");
    csr_write!(w_sie, "sie");
    csr_read!(/// Machine-mode interrupt enable.
        r_mie, "mie");
    csr_write!(w_mie, "mie");
    csr_read!(/// Supervisor exception program counter: where `sret` goes.
        r_sepc, "sepc");
    csr_write!(w_sepc, "sepc");
    csr_write!(/// Machine exception delegation.
        w_medeleg, "medeleg");
    csr_write!(/// Machine interrupt delegation.
        w_mideleg, "mideleg");
    csr_write!(/// Supervisor trap-vector base address.
        w_stvec, "stvec");
    csr_write!(/// Machine-mode trap vector.
        w_mtvec, "mtvec");
    csr_write!(/// Physical memory protection configuration.
        w_pmpcfg0, "pmpcfg0");
    csr_write!(w_pmpaddr0, "pmpaddr0");
    csr_read!(/// Supervisor address translation and protection: the page table.
        r_satp, "satp");
    csr_write!(w_satp, "satp");
    csr_write!(/// Machine-mode scratch register.
        w_mscratch, "mscratch");
    csr_read!(/// Supervisor trap cause.
        r_scause, "scause");
    csr_read!(/// Supervisor trap value: the faulting address for page faults.
        r_stval, "stval");

    /// Enable device interrupts.
    #[inline(always)]
    pub fn intr_on() {
        // SAFETY: setting SIE only lets interrupts in; every trap path is
        // installed before the first call.
        unsafe { w_sstatus(r_sstatus() | super::SSTATUS_SIE) };
    }

    /// Disable device interrupts.
    #[inline(always)]
    pub fn intr_off() {
        // SAFETY: clearing SIE cannot break any invariant.
        unsafe { w_sstatus(r_sstatus() & !super::SSTATUS_SIE) };
    }

    /// Are device interrupts enabled?
    #[inline(always)]
    pub fn intr_get() -> bool {
        r_sstatus() & super::SSTATUS_SIE != 0
    }

    /// Read the thread pointer, which holds this hart's id (see start.rs).
    #[inline(always)]
    pub fn r_tp() -> usize {
        let x: usize;
        // SAFETY: reading a register has no side effects.
        unsafe { asm!("mv {}, tp", out(reg) x) };
        x
    }

    /// Set the thread pointer.
    ///
    /// # Safety
    /// `tp` must hold this hart's id for `cpuid()` to work.
    #[inline(always)]
    pub unsafe fn w_tp(x: usize) {
        // SAFETY: the caller passes this hart's id.
        unsafe { asm!("mv tp, {}", in(reg) x) };
    }

    /// Flush the whole TLB.
    #[inline(always)]
    pub fn sfence_vma() {
        // SAFETY: flushing stale translations is always allowed.
        // The zero, zero operands mean flush all TLB entries.
        unsafe { asm!("sfence.vma zero, zero") };
    }

    /// Wait for an interrupt (a hint: may return at any time).
    #[inline(always)]
    pub fn wfi() {
        // SAFETY: wfi has no architectural side effects.
        unsafe { asm!("wfi") };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_rounding() {
        assert_eq!(pgroundup(0), 0);
        assert_eq!(pgroundup(1), PGSIZE);
        assert_eq!(pgroundup(PGSIZE), PGSIZE);
        assert_eq!(pgroundup(PGSIZE + 1), 2 * PGSIZE);
        assert_eq!(pgrounddown(PGSIZE - 1), 0);
        assert_eq!(pgrounddown(3 * PGSIZE + 17), 3 * PGSIZE);
        assert_eq!(VirtAddr(0x1234).pgrounddown(), VirtAddr(0x1000));
        assert_eq!(VirtAddr(0x1234).page_offset(), 0x234);
    }

    #[test]
    fn page_table_indices() {
        // 0x8000_0000 = 2 GiB: root index 2, others 0.
        assert_eq!(px(2, 0x8000_0000), 2);
        assert_eq!(px(1, 0x8000_0000), 0);
        assert_eq!(px(0, 0x8000_0000), 0);
        // The highest page below MAXVA uses the last index at every level.
        let top = MAXVA - PGSIZE;
        assert_eq!(px(2, top), 255);
        assert_eq!(px(1, top), 511);
        assert_eq!(px(0, top), 511);
        // One page, one 2 MiB region, one 1 GiB region.
        assert_eq!(px(0, 0x1000), 1);
        assert_eq!(px(1, 0x20_0000), 1);
        assert_eq!(px(2, 0x4000_0000), 1);
        assert_eq!(VirtAddr(0x4020_1000).px(2), 1);
        assert_eq!(VirtAddr(0x4020_1000).px(1), 1);
        assert_eq!(VirtAddr(0x4020_1000).px(0), 1);
    }

    #[test]
    fn pte_encoding() {
        let pa = 0x8765_4000;
        let pte = Pte::new(PhysAddr(pa), PTE_R | PTE_W | PTE_V);
        assert_eq!(pte.0, (pa >> 12) << 10 | 0b111);
        assert_eq!(pte.pa(), PhysAddr(pa));
        assert_eq!(pte.flags(), PTE_R | PTE_W | PTE_V);
        assert!(pte.is_valid());
        assert!(!pte.is_table());
        assert!(Pte::new(PhysAddr(pa), PTE_V).is_table());
        assert!(!Pte(0).is_valid());
        assert_eq!(pte2pa(pa2pte(pa)), pa);
    }

    #[test]
    fn satp_and_maxva() {
        assert_eq!(MAXVA, 1 << 38);
        assert_eq!(make_satp(0x8000_1000), (8 << 60) | 0x80001);
    }
}
