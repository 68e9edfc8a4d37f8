//! Traps: system calls, exceptions and device interrupts, from user space
//! (`usertrap`, and `usertrapret` back) and from the kernel (`kerneltrap`).
//! Also the clock. This is xv6's `trap.c`.

use crate::kernelvec::kernelvec;
use crate::memlayout::{KSTACK_PAGES, TRAMPOLINE, UART0_IRQ, VIRTIO0_IRQ};
use crate::plic::{plic_claim, plic_complete};
use crate::printf::freeze_if_panicked;
use crate::proc::{ProcState, cpuid, exit, myproc, try_myproc, wakeup, yield_};
use crate::riscv::*;
use crate::spinlock::Spinlock;
use crate::syscall::syscall;
use crate::trampoline::{userret_offset, uservec_offset};
use crate::uart::uartintr;
use crate::virtio_disk::virtio_disk_intr;

/// Timer ticks since boot (about 10 a second).
pub static TICKS: Spinlock<u32> = Spinlock::new(0, "time");

/// The channel `sleep` system calls wait on for the next tick.
pub fn ticks_chan() -> usize {
    &TICKS as *const _ as usize
}

/// What devintr() found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intr {
    /// Not a device interrupt: an exception, or a system call.
    NotDevice,
    /// A device interrupt (UART, disk), now handled.
    Device,
    /// A timer tick.
    Timer,
}

/// Set up to take exceptions and traps while in the kernel.
pub fn trapinithart() {
    // SAFETY: kernelvec is a 4-byte aligned trap vector that saves and
    // restores all registers around kerneltrap.
    unsafe { w_stvec(kernelvec as *const () as usize) };
}

/// Handle an interrupt, exception, or system call from user space. Called
/// from trampoline.rs (uservec).
pub extern "C" fn usertrap() -> ! {
    if r_sstatus() & SSTATUS_SPP != 0 {
        panic!("usertrap: not from user mode");
    }

    // send interrupts and exceptions to kerneltrap(), since we're now in the
    // kernel.
    trapinithart();

    let p = myproc();
    // SAFETY: we are p, in its own kernel thread.
    let tf = unsafe { p.trapframe() };

    // save user program counter.
    tf.epc = r_sepc();

    let scause = r_scause();
    let mut which_dev = Intr::NotDevice;
    if scause == SCAUSE_ECALL_U {
        // system call

        if p.killed() {
            exit(-1);
        }

        // sepc points to the ecall instruction, but we want to return to the
        // next instruction.
        tf.epc += 4;

        // an interrupt will change sepc, scause, and sstatus, so enable only
        // now that we're done with those registers.
        intr_on();

        syscall();
    } else {
        which_dev = devintr();
        if which_dev == Intr::NotDevice {
            crate::println!(
                "usertrap(): unexpected scause {:#018x} pid={}",
                scause,
                p.pid()
            );
            crate::println!(
                "            sepc={:#018x} stval={:#018x}",
                r_sepc(),
                r_stval()
            );
            p.setkilled();
        }
    }

    if p.killed() {
        exit(-1);
    }

    // give up the CPU if this is a timer interrupt.
    if which_dev == Intr::Timer {
        yield_();
    }

    usertrapret();
}

/// Return to user space.
pub fn usertrapret() -> ! {
    let p = myproc();

    // we're about to switch the destination of traps from kerneltrap() to
    // usertrap(), so turn off interrupts until we're back in user space,
    // where usertrap() is correct.
    intr_off();

    // send syscalls, interrupts, and exceptions to uservec in trampoline.rs
    let trampoline_uservec = TRAMPOLINE + uservec_offset();
    // SAFETY: uservec is mapped at this address in every user page table and
    // in the kernel's, and interrupts are off until sret.
    unsafe { w_stvec(trampoline_uservec) };

    // SAFETY: we are p, in its own kernel thread.
    let (tf, data) = unsafe { (p.trapframe(), p.data_mut()) };

    // set up trapframe values that uservec will need when the process next
    // traps into the kernel.
    tf.kernel_satp = r_satp(); // kernel page table
    tf.kernel_sp = data.kstack + KSTACK_PAGES * PGSIZE; // process's kernel stack
    tf.kernel_trap = usertrap as *const () as usize;
    tf.kernel_hartid = r_tp(); // hartid for cpuid()

    // set up the registers that trampoline.rs's sret will use to get to user
    // space.

    // set S Previous Privilege mode to User.
    let mut x = r_sstatus();
    x &= !SSTATUS_SPP; // clear SPP to 0 for user mode
    x |= SSTATUS_SPIE; // enable interrupts in user mode
    // SAFETY: these take effect only at sret, which enters user mode.
    unsafe {
        w_sstatus(x);
        // set S Exception Program Counter to the saved user pc.
        w_sepc(tf.epc);
    }

    // tell trampoline.rs the user page table to switch to.
    let satp = make_satp(data.pagetable.pa().0);

    // jump to userret in trampoline.rs at the top of memory, which switches
    // to the user page table, restores user registers, and switches to user
    // mode with sret.
    let trampoline_userret = TRAMPOLINE + userret_offset();
    // SAFETY: userret is mapped at this address in the kernel page table,
    // takes the user satp in a0 and never returns.
    unsafe {
        let userret: extern "C" fn(usize) -> ! = core::mem::transmute(trampoline_userret);
        userret(satp)
    }
}

/// Interrupts and exceptions from kernel code go here via kernelvec, on
/// whatever the current kernel stack is.
pub extern "C" fn kerneltrap() {
    let sepc = r_sepc();
    let sstatus = r_sstatus();
    let scause = r_scause();

    if sstatus & SSTATUS_SPP == 0 {
        panic!("kerneltrap: not from supervisor mode");
    }
    if intr_get() {
        panic!("kerneltrap: interrupts enabled");
    }

    let which_dev = devintr();
    if which_dev == Intr::NotDevice {
        crate::println!("scause {:#018x}", scause);
        crate::println!("sepc={:#018x} stval={:#018x}", r_sepc(), r_stval());
        panic!("kerneltrap");
    }

    // give up the CPU if this is a timer interrupt.
    if which_dev == Intr::Timer
        && let Some(p) = try_myproc()
    {
        let running = p.lock.lock().state == ProcState::Running;
        if running {
            yield_();
        }
    }

    // the yield() may have caused some traps to occur, so restore trap
    // registers for use by kernelvec's sepc instruction.
    // SAFETY: restoring the values this trap arrived with.
    unsafe {
        w_sepc(sepc);
        w_sstatus(sstatus);
    }
}

fn clockintr() {
    let mut ticks = TICKS.lock();
    *ticks = ticks.wrapping_add(1);
    wakeup(ticks_chan());
}

/// Check if it's an external interrupt or software interrupt, and handle it.
pub fn devintr() -> Intr {
    let scause = r_scause();

    if scause == SCAUSE_SEI {
        // this is a supervisor external interrupt, via PLIC.

        // irq indicates which device interrupted.
        let irq = plic_claim();

        if irq == UART0_IRQ {
            uartintr();
        } else if irq == VIRTIO0_IRQ {
            virtio_disk_intr();
        } else if irq != 0 {
            crate::println!("unexpected interrupt irq={}", irq);
        }

        // the PLIC allows each device to raise at most one interrupt at a
        // time; tell the PLIC the device is now allowed to interrupt again.
        if irq != 0 {
            plic_complete(irq);
        }

        Intr::Device
    } else if scause == SCAUSE_SSI {
        // software interrupt from a machine-mode timer interrupt, forwarded
        // by timervec in kernelvec.rs.

        // A panic on any hart stops all of them.
        freeze_if_panicked();

        if cpuid() == 0 {
            clockintr();
        }

        // acknowledge the software interrupt by clearing the SSIP bit in
        // sip.
        // SAFETY: clearing our own pending bit.
        unsafe { w_sip(r_sip() & !2) };

        Intr::Timer
    } else {
        Intr::NotDevice
    }
}
