//! [`Args`], a program's view of the argument vector `exec` built on its stack.

use core::ffi::{CStr, c_char};
use core::slice;

/// The program's arguments, `argv[0]` (the program name) included.
///
/// The strings live on the process's stack page above `main`'s frame and stay
/// there until the process exits, hence `'static`.
#[derive(Clone, Copy)]
pub struct Args {
    argv: &'static [*const c_char],
}

impl Args {
    /// Wraps the `argc`/`argv` pair the kernel passed to `_start`.
    ///
    /// # Safety
    ///
    /// `argv` must point to `argc` pointers, each null or pointing to a
    /// NUL-terminated string, all of which stay valid and unchanged for the
    /// rest of the program. `argv` may be null only if `argc` is 0.
    pub unsafe fn from_raw(argc: usize, argv: *const *const c_char) -> Args {
        if argv.is_null() || argc == 0 {
            return Args { argv: &[] };
        }
        // SAFETY: the caller guarantees `argc` readable pointers at `argv`.
        let argv = unsafe { slice::from_raw_parts(argv, argc) };
        Args { argv }
    }

    /// Number of arguments (C's `argc`).
    pub fn len(&self) -> usize {
        self.argv.len()
    }

    /// Whether there are no arguments at all (not even a program name).
    pub fn is_empty(&self) -> bool {
        self.argv.is_empty()
    }

    /// Argument `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<&'static CStr> {
        self.argv.get(i).map(|&p| arg(p))
    }

    /// Argument `i` as bytes, without the NUL.
    pub fn get_bytes(&self, i: usize) -> Option<&'static [u8]> {
        self.get(i).map(CStr::to_bytes)
    }

    /// All arguments, `argv[0]` first.
    pub fn iter(&self) -> ArgsIter {
        ArgsIter {
            inner: self.argv.iter(),
        }
    }
}

impl IntoIterator for Args {
    type Item = &'static CStr;
    type IntoIter = ArgsIter;

    fn into_iter(self) -> ArgsIter {
        self.iter()
    }
}

/// Iterator over [`Args`].
pub struct ArgsIter {
    inner: slice::Iter<'static, *const c_char>,
}

impl Iterator for ArgsIter {
    type Item = &'static CStr;

    fn next(&mut self) -> Option<&'static CStr> {
        self.inner.next().map(|&p| arg(p))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl DoubleEndedIterator for ArgsIter {
    fn next_back(&mut self) -> Option<&'static CStr> {
        self.inner.next_back().map(|&p| arg(p))
    }
}

impl ExactSizeIterator for ArgsIter {}

/// One argument string; a null entry (which a correct kernel never passes)
/// reads as the empty string rather than crashing.
fn arg(p: *const c_char) -> &'static CStr {
    if p.is_null() {
        return c"";
    }
    // SAFETY: `Args::from_raw`'s contract: non-null entries are NUL-terminated
    // strings that live for the rest of the program.
    unsafe { CStr::from_ptr(p) }
}
