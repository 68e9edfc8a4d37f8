//! Machine-mode boot: `start()` runs on every hart straight from entry.rs,
//! sets up what only machine mode can (delegation of traps to supervisor
//! mode, physical memory protection, the timer), then drops to supervisor
//! mode in `main()`. This is xv6's `start.c`.

use core::arch::asm;
use core::cell::UnsafeCell;

use crate::kernelvec::timervec;
use crate::memlayout::{CLINT_MTIME, clint_mtimecmp};
use crate::param::NCPU;
use crate::riscv::*;

/// Bytes of boot stack per hart; the scheduler keeps running on it.
pub const BOOT_STACK_SIZE: usize = 16 * 1024;
const _: () = assert!(BOOT_STACK_SIZE.is_power_of_two());

/// Boot stacks for all harts; entry.rs points each hart's `sp` into it.
#[repr(C, align(16))]
pub struct BootStacks(UnsafeCell<[u8; BOOT_STACK_SIZE * NCPU]>);

// SAFETY: each hart only ever touches its own slice, through `sp`.
unsafe impl Sync for BootStacks {}

pub static STACK0: BootStacks = BootStacks(UnsafeCell::new([0; BOOT_STACK_SIZE * NCPU]));

/// Timer interrupt interval in cycles of the CLINT clock: about 1/10th of a
/// second in QEMU. This is the length of a tick (`sleep`, `uptime`).
const TIMER_INTERVAL: usize = 1_000_000;

/// Per-hart scratch area for timervec: three saved registers, the address
/// of this hart's MTIMECMP and the interval.
struct TimerScratch(UnsafeCell<[[usize; 5]; NCPU]>);

// SAFETY: each hart's timervec only touches its own row, through mscratch.
unsafe impl Sync for TimerScratch {}

static TIMER_SCRATCH: TimerScratch = TimerScratch(UnsafeCell::new([[0; 5]; NCPU]));

/// entry.rs jumps here in machine mode on the boot stack.
///
/// # Safety
/// Only entry.rs may call this, once per hart, in machine mode.
pub unsafe extern "C" fn start() -> ! {
    // SAFETY: we are in machine mode at boot; nothing else runs on this hart.
    unsafe {
        // Set M Previous Privilege mode to Supervisor, for mret.
        let mut x = r_mstatus();
        x &= !MSTATUS_MPP_MASK;
        x |= MSTATUS_MPP_S;
        w_mstatus(x);

        // Set M Exception Program Counter to main, for mret.
        w_mepc(crate::main as *const () as usize);

        // Disable paging for now.
        w_satp(0);

        // Delegate all interrupts and exceptions to supervisor mode.
        w_medeleg(0xffff);
        w_mideleg(0xffff);
        w_sie(r_sie() | SIE_SEIE | SIE_STIE | SIE_SSIE);

        // Configure Physical Memory Protection to give supervisor mode
        // access to all of physical memory.
        w_pmpaddr0(0x3f_ffff_ffff_ffff);
        w_pmpcfg0(0xf);

        // Ask for clock interrupts.
        timerinit();

        // Keep each CPU's hartid in its tp register, for cpuid().
        w_tp(r_mhartid());

        // Switch to supervisor mode and jump to main().
        asm!("mret", options(noreturn));
    }
}

/// Arrange to receive timer interrupts. They arrive in machine mode at
/// timervec in kernelvec.rs, which turns them into software interrupts for
/// trap.rs's devintr().
///
/// # Safety
/// Machine mode, once per hart, during boot.
unsafe fn timerinit() {
    let id = r_mhartid();

    // SAFETY: the CLINT registers are device memory at fixed addresses, and
    // this hart's scratch row is touched by no one else.
    unsafe {
        // Ask the CLINT for a timer interrupt.
        let mtime = CLINT_MTIME as *const usize;
        let mtimecmp = clint_mtimecmp(id) as *mut usize;
        mtimecmp.write_volatile(mtime.read_volatile() + TIMER_INTERVAL);

        // Prepare information in scratch[] for timervec:
        // scratch[0..3]: space for timervec to save registers.
        // scratch[3]: address of CLINT MTIMECMP register.
        // scratch[4]: desired interval (in cycles) between timer interrupts.
        let scratch = &mut (*TIMER_SCRATCH.0.get())[id];
        scratch[3] = clint_mtimecmp(id);
        scratch[4] = TIMER_INTERVAL;
        w_mscratch(scratch.as_mut_ptr() as usize);

        // Set the machine-mode trap handler.
        w_mtvec(timervec as *const () as usize);

        // Enable machine-mode interrupts.
        w_mstatus(r_mstatus() | MSTATUS_MIE);

        // Enable machine-mode timer interrupts.
        w_mie(r_mie() | MIE_MTIE);
    }
}
