//! The process runtime: what runs before and after a program's `main`
//! ([`entry!`](crate::entry) and [`run`]), the program's name for messages,
//! and the panic handler.
//!
//! `exec` jumps to `_start` with a0 = argc, a1 = argv and a 16-byte-aligned
//! stack, and there is nothing to return to, so `_start` ends in `exit`.

use core::ffi::{CStr, c_char};
use core::fmt::{self, Write};
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::args::Args;
use crate::print::FdWriter;
use crate::sys;

/// `argv[0]`, for messages; null until `run` sets it.
static PROGRAM_NAME: AtomicPtr<c_char> = AtomicPtr::new(core::ptr::null_mut());

/// Declares a program's entry point, `fn main(args: Args) -> i32`, whose
/// result becomes the exit status:
///
/// ```ignore
/// #![no_std]
/// #![no_main]
/// use user::{Args, println};
/// user::entry!(main);
/// fn main(args: Args) -> i32 {
///     println!("{} arguments", args.len());
///     0
/// }
/// ```
///
/// It defines `_start` (the ELF entry) in section `.text.entry`, which the
/// linker script places first, at address 0.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// The ELF entry point: exec jumps here with a0 = argc and a1 = argv.
        ///
        /// # Safety
        ///
        /// Only the kernel calls it, with the argument vector exec built.
        #[unsafe(no_mangle)]
        #[unsafe(link_section = ".text.entry")]
        unsafe extern "C" fn _start(argc: usize, argv: *const *const ::core::ffi::c_char) -> ! {
            let main: fn($crate::Args) -> i32 = $main;
            // SAFETY: exec put `argc` pointers to NUL-terminated strings at
            // `argv`, on the stack page above this frame, where they stay.
            unsafe { $crate::runtime::run(argc, argv, main) }
        }
    };
}

/// Runs `main` with the arguments and exits with its result. `_start` calls it.
///
/// # Safety
///
/// As [`Args::from_raw`]: `argv` holds `argc` valid strings for the life of
/// the program.
pub unsafe fn run(argc: usize, argv: *const *const c_char, main: fn(Args) -> i32) -> ! {
    // SAFETY: forwarded from the caller.
    let args = unsafe { Args::from_raw(argc, argv) };
    if let Some(name) = args.get(0) {
        PROGRAM_NAME.store(name.as_ptr().cast_mut(), Ordering::Relaxed);
    }
    sys::exit(main(args))
}

/// The name this program was started under (`argv[0]`), or `?`.
pub fn program_name() -> &'static CStr {
    let p = PROGRAM_NAME.load(Ordering::Relaxed);
    if p.is_null() {
        return c"?";
    }
    // SAFETY: `run` stored argv[0], a NUL-terminated string that lives for the
    // rest of the program.
    unsafe { CStr::from_ptr(p) }
}

/// Reports a panic as one line on fd 2, `NAME: fatal error: MESSAGE
/// (FILE:LINE)`, and exits with status 1.
///
/// Newlines in the message become spaces: the grader reads a line starting
/// with `panic:` as a kernel panic, so user output must never be able to
/// produce one.
#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let mut out = OneLine(FdWriter::new(2));
    let _ = write!(
        out,
        "{}: fatal error: {}",
        crate::text::ByteStr(program_name().to_bytes()),
        info.message()
    );
    if let Some(location) = info.location() {
        let _ = write!(out, " ({}:{})", location.file(), location.line());
    }
    out.0.write_bytes(b"\n");
    out.0.flush();
    sys::exit(crate::harness::FAILED_STATUS)
}

/// A writer that turns line breaks into spaces.
struct OneLine(FdWriter);

impl Write for OneLine {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for piece in s.split_inclusive(['\n', '\r']) {
            match piece.strip_suffix(['\n', '\r']) {
                Some(text) => {
                    self.0.write_bytes(text.as_bytes());
                    self.0.write_bytes(b" ");
                }
                None => self.0.write_bytes(piece.as_bytes()),
            }
        }
        Ok(())
    }
}
