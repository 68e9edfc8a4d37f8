//! An xv6-style teaching kernel for 64-bit RISC-V (QEMU `virt`), in Rust.
//!
//! Every hart starts in entry.rs, then start.rs (machine mode), then `main`
//! here (supervisor mode). Hart 0 initialises the kernel and starts the
//! first process; the others wait for it and then join the scheduler.
//!
//! The module list below is xv6's file list; each module says which xv6 file
//! it corresponds to. On the host (`cargo test --target <host> --bin
//! kernel`) only the pure modules are compiled, with their unit tests.

#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]
// On the host only the pure modules are built; much of them serves code
// that is not.
#![cfg_attr(test, allow(dead_code, unused_imports))]

mod elf;
mod fcntl;
mod memlayout;
mod param;
mod path;
mod riscv;
mod stat;

#[cfg(not(test))]
mod bio;
#[cfg(not(test))]
mod console;
#[cfg(not(test))]
mod entry;
#[cfg(not(test))]
mod exec;
#[cfg(not(test))]
mod file;
#[cfg(not(test))]
mod fs;
#[cfg(not(test))]
mod initcode;
#[cfg(not(test))]
mod kalloc;
#[cfg(not(test))]
mod kernelvec;
#[cfg(not(test))]
mod log;
#[cfg(not(test))]
mod pipe;
#[cfg(not(test))]
mod plic;
#[cfg(not(test))]
mod printf;
#[cfg(not(test))]
mod proc;
#[cfg(not(test))]
mod sleeplock;
#[cfg(not(test))]
mod spinlock;
#[cfg(not(test))]
mod start;
#[cfg(not(test))]
mod swtch;
#[cfg(not(test))]
mod syscall;
#[cfg(not(test))]
mod sysfile;
#[cfg(not(test))]
mod sysproc;
#[cfg(not(test))]
mod trampoline;
#[cfg(not(test))]
mod trap;
#[cfg(not(test))]
mod uart;
#[cfg(not(test))]
mod virtio_disk;
#[cfg(not(test))]
mod vm;

#[cfg(not(test))]
use core::sync::atomic::{AtomicBool, Ordering};

#[cfg(not(test))]
static STARTED: AtomicBool = AtomicBool::new(false);

/// start() jumps here in supervisor mode on all CPUs.
#[cfg(not(test))]
pub extern "C" fn main() -> ! {
    if proc::cpuid() == 0 {
        console::consoleinit();
        println!();
        println!("xv6 kernel is booting");
        println!();
        kalloc::kinit(); // physical page allocator
        vm::kvminit(); // create kernel page table
        vm::kvminithart(); // turn on paging
        proc::procinit(); // process table
        trap::trapinithart(); // install kernel trap vector
        plic::plicinit(); // set up interrupt controller
        plic::plicinithart(); // ask PLIC for device interrupts
        virtio_disk::virtio_disk_init(); // emulated hard disk
        proc::userinit(); // first user process
        STARTED.store(true, Ordering::Release);
    } else {
        while !STARTED.load(Ordering::Acquire) {
            core::hint::spin_loop();
        }
        println!("hart {} starting", proc::cpuid());
        vm::kvminithart(); // turn on paging
        trap::trapinithart(); // install kernel trap vector
        plic::plicinithart(); // ask PLIC for device interrupts
    }

    proc::scheduler()
}
