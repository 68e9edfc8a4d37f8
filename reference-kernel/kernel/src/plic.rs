//! The RISC-V Platform Level Interrupt Controller (PLIC), which routes device
//! interrupts (UART, virtio disk) to harts. This is xv6's `plic.c`.

use crate::memlayout::{PLIC, UART0_IRQ, VIRTIO0_IRQ, plic_sclaim, plic_senable, plic_spriority};
use crate::proc::cpuid;

fn write32(addr: usize, v: u32) {
    // SAFETY: addr is a PLIC register, identity-mapped device memory.
    unsafe { (addr as *mut u32).write_volatile(v) }
}

fn read32(addr: usize) -> u32 {
    // SAFETY: as for write32.
    unsafe { (addr as *const u32).read_volatile() }
}

pub fn plicinit() {
    // Set desired IRQ priorities non-zero (otherwise disabled).
    write32(PLIC + UART0_IRQ as usize * 4, 1);
    write32(PLIC + VIRTIO0_IRQ as usize * 4, 1);
}

pub fn plicinithart() {
    let hart = cpuid();
    // Set enable bits for this hart's S-mode for the uart and virtio disk.
    write32(plic_senable(hart), (1 << UART0_IRQ) | (1 << VIRTIO0_IRQ));
    // Set this hart's S-mode priority threshold to 0.
    write32(plic_spriority(hart), 0);
}

/// Ask the PLIC what interrupt we should serve (0 if none).
pub fn plic_claim() -> u32 {
    read32(plic_sclaim(cpuid()))
}

/// Tell the PLIC we've served this IRQ.
pub fn plic_complete(irq: u32) {
    write32(plic_sclaim(cpuid()), irq);
}
