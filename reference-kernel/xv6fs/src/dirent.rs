//! Directory entries: the [`Dirent`] type, its 16-byte encoding, and name
//! handling with xv6's semantics (names are at most [`DIRSIZ`] bytes,
//! NUL-padded, and compared like `strncmp(a, b, DIRSIZ)`).
//!
//! A directory's data is an array of these; an entry whose `inum` is 0 is a
//! free slot.

use crate::field::{get_u16, put_u16};

/// Longest file name, in bytes.
pub const DIRSIZ: usize = 14;

/// xv6's `struct dirent`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dirent {
    /// Inode number; 0 marks a free slot.
    pub inum: u16,
    /// The name, NUL-padded; a [`DIRSIZ`]-byte name has no terminating NUL.
    pub name: [u8; DIRSIZ],
}

impl Dirent {
    /// Encoded size in bytes.
    pub const SIZE: usize = 16;

    /// An entry for inode `inum` named `name`, stored as [`Dirent::set_name`]
    /// does (truncated to [`DIRSIZ`] bytes).
    pub fn new(inum: u16, name: &[u8]) -> Self {
        let mut de = Dirent {
            inum,
            name: [0; DIRSIZ],
        };
        de.set_name(name);
        de
    }

    /// Decodes an entry from the start of `buf`.
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`Dirent::SIZE`].
    pub fn decode(buf: &[u8]) -> Self {
        let mut name = [0; DIRSIZ];
        name.copy_from_slice(&buf[2..2 + DIRSIZ]);
        Dirent {
            inum: get_u16(buf, 0),
            name,
        }
    }

    /// Encodes the entry into the first [`Dirent::SIZE`] bytes of `buf`.
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`Dirent::SIZE`].
    pub fn encode(&self, buf: &mut [u8]) {
        put_u16(buf, 0, self.inum);
        buf[2..2 + DIRSIZ].copy_from_slice(&self.name);
    }

    /// The name without its NUL padding.
    pub fn name(&self) -> &[u8] {
        significant(&self.name)
    }

    /// Stores `name` like xv6's `strncpy(de.name, name, DIRSIZ)`: the bytes
    /// before the first NUL, truncated to [`DIRSIZ`], padded with NULs.
    /// Callers that must reject long names check the length themselves.
    pub fn set_name(&mut self, name: &[u8]) {
        let name = significant(name);
        self.name = [0; DIRSIZ];
        self.name[..name.len()].copy_from_slice(name);
    }

    /// Whether this entry is named `name`, in the sense of [`names_equal`].
    pub fn name_eq(&self, name: &[u8]) -> bool {
        names_equal(&self.name, name)
    }

    /// Whether the slot is free (`inum == 0`).
    pub const fn is_free(&self) -> bool {
        self.inum == 0
    }
}

/// Whether two names are the same file name, as xv6's `namecmp` decides:
/// only the bytes before the first NUL and within the first [`DIRSIZ`]
/// count, so a longer name matches its truncation.
pub fn names_equal(a: &[u8], b: &[u8]) -> bool {
    significant(a) == significant(b)
}

/// The part of `name` that xv6 looks at: at most [`DIRSIZ`] bytes, up to the
/// first NUL.
fn significant(name: &[u8]) -> &[u8] {
    let name = &name[..name.len().min(DIRSIZ)];
    match name.iter().position(|&c| c == 0) {
        Some(end) => &name[..end],
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_sit_at_xv6_offsets() {
        let de = Dirent::new(0x0102, b"ls");
        let mut buf = [0xffu8; 18];
        de.encode(&mut buf);
        assert_eq!(&buf[0..2], &[0x02, 0x01]);
        assert_eq!(&buf[2..4], b"ls");
        assert_eq!(&buf[4..16], &[0; 12]);
        assert_eq!(&buf[16..], &[0xff; 2]);
        assert_eq!(Dirent::decode(&buf), de);
    }

    #[test]
    fn full_length_name_has_no_nul() {
        let de = Dirent::new(7, b"abcdefghijklmn");
        let mut buf = [0u8; Dirent::SIZE];
        de.encode(&mut buf);
        assert_eq!(&buf[2..], b"abcdefghijklmn");
        assert_eq!(Dirent::decode(&buf).name(), b"abcdefghijklmn");
    }

    #[test]
    fn set_name_truncates_and_clears_the_old_name() {
        let mut de = Dirent::new(1, b"abcdefghijklmn");
        de.set_name(b"xy");
        assert_eq!(de.name, *b"xy\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(de.name(), b"xy");
        de.set_name(b"0123456789abcdefgh");
        assert_eq!(de.name(), b"0123456789abcd");
        de.set_name(b"ab\0cd");
        assert_eq!(de.name(), b"ab");
        de.set_name(b"");
        assert_eq!(de.name(), b"");
    }

    #[test]
    fn names_compare_like_strncmp_dirsiz() {
        assert!(names_equal(b"ls", b"ls"));
        assert!(!names_equal(b"ls", b"l"));
        assert!(!names_equal(b"l", b"ls"));
        assert!(!names_equal(b"ls", b"sh"));
        assert!(names_equal(b"ls\0junk", b"ls"));
        assert!(names_equal(b"", b"\0"));
        // Only the first DIRSIZ bytes count.
        assert!(names_equal(b"abcdefghijklmnXYZ", b"abcdefghijklmn"));
        assert!(!names_equal(b"abcdefghijklm", b"abcdefghijklmn"));
        let de = Dirent::new(3, b"usertests");
        assert!(de.name_eq(b"usertests"));
        assert!(!de.name_eq(b"usertest"));
        assert!(!de.name_eq(b"usertestsx"));
    }

    #[test]
    fn inum_zero_is_a_free_slot() {
        assert!(Dirent::decode(&[0u8; Dirent::SIZE]).is_free());
        assert!(!Dirent::new(1, b".").is_free());
    }
}
