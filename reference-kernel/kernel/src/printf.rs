//! Formatted output to the console (`print!`, `println!`) and the kernel's
//! panic handler. This is xv6's `printf.c`.
//!
//! A panic prints `panic: <message>` and freezes this hart; the other harts
//! freeze at their next timer interrupt (see trap.rs), and the UART refuses
//! further output, so `panic:` is the last thing the console shows.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::console::consputc;
use crate::spinlock::Spinlock;

/// Set once any hart has panicked; everyone else stops when they see it.
pub static PANICKED: AtomicBool = AtomicBool::new(false);

/// Serialises whole `print!` calls so lines from different harts do not mix.
static PR: Spinlock<()> = Spinlock::new((), "pr");

/// Whether `print!` takes `PR`: turned off by a panic, which may happen while
/// `PR` is held.
static LOCKING: AtomicBool = AtomicBool::new(true);

struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.bytes() {
            consputc(c);
        }
        Ok(())
    }
}

/// Print to the console; used by `print!` and `println!`.
pub fn _print(args: fmt::Arguments<'_>) {
    if LOCKING.load(Ordering::Relaxed) {
        let _pr = PR.lock();
        // Console::write_str never fails.
        let _ = Console.write_fmt(args);
    } else {
        let _ = Console.write_fmt(args);
    }
}

/// Print to the console, like xv6's `printf`.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::printf::_print(format_args!($($arg)*)));
}

/// Print a line to the console.
#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::print!("{}\n", format_args!($($arg)*)));
}

/// Stop this hart for good if some hart has panicked. Called on every timer
/// interrupt so that a panic stops all harts.
pub fn freeze_if_panicked() {
    if PANICKED.load(Ordering::Relaxed) {
        freeze();
    }
}

fn freeze() -> ! {
    #[cfg(target_arch = "riscv64")]
    crate::riscv::intr_off();
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    LOCKING.store(false, Ordering::Relaxed);
    crate::println!("panic: {}", info.message());
    if let Some(location) = info.location() {
        crate::println!("       at {}:{}", location.file(), location.line());
    }
    // Freeze uart output from other CPUs.
    PANICKED.store(true, Ordering::Relaxed);
    freeze()
}
