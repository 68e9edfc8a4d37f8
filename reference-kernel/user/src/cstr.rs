//! [`CStrBuf`], a fixed-capacity, NUL-terminated string built at run time
//! (paths such as `dir/name`, numbered file names), needing no heap.

use core::ffi::CStr;
use core::fmt;

/// The text did not fit in the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLong;

/// A C string of at most `N - 1` bytes, stored inline.
///
/// Invariant: `buf[len] == 0`, so [`as_cstr`](CStrBuf::as_cstr) is free. Keep
/// `N` modest for buffers on the 4 KiB stack. A NUL byte pushed into the middle
/// ends the C string there.
#[derive(Clone)]
pub struct CStrBuf<const N: usize> {
    len: usize,
    buf: [u8; N],
}

impl<const N: usize> CStrBuf<N> {
    /// The empty string.
    pub const fn new() -> Self {
        const { assert!(N > 0, "a CStrBuf needs room for the NUL") };
        CStrBuf {
            len: 0,
            buf: [0; N],
        }
    }

    /// A buffer holding `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TooLong> {
        let mut s = Self::new();
        s.push(bytes)?;
        Ok(s)
    }

    /// Appends `bytes`; on `TooLong` the buffer is unchanged.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), TooLong> {
        let end = self.len + bytes.len();
        if end >= N {
            return Err(TooLong);
        }
        self.buf[self.len..end].copy_from_slice(bytes);
        self.buf[end] = 0;
        self.len = end;
        Ok(())
    }

    /// Appends one byte.
    pub fn push_byte(&mut self, byte: u8) -> Result<(), TooLong> {
        self.push(&[byte])
    }

    /// Shortens the string to `len` bytes (no effect if it is shorter).
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            self.len = len;
            self.buf[len] = 0;
        }
    }

    /// Empties the string.
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Length in bytes, without the NUL.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes, without the NUL.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The string for system calls.
    pub fn as_cstr(&self) -> &CStr {
        match CStr::from_bytes_until_nul(&self.buf[..=self.len]) {
            Ok(s) => s,
            // The invariant puts a NUL at `len`; this arm is never taken.
            Err(_) => c"",
        }
    }
}

impl<const N: usize> Default for CStrBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// `write!` into the buffer, e.g. `write!(name, "file{}", i)`; fails (leaving
/// what fitted) when the text is too long.
impl<const N: usize> fmt::Write for CStrBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes()).map_err(|TooLong| fmt::Error)
    }
}

impl<const N: usize> fmt::Debug for CStrBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_cstr(), f)
    }
}
