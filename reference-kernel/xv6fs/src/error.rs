//! Errors of the host-side image builder and reader: [`Error`], and
//! [`Corruption`] for each way an image can be inconsistent. Messages are
//! lowercase fragments meant to follow a caller's "failed to …: ".

use std::fmt;

use crate::dinode::MAXFILE;
use crate::dirent::{DIRSIZ, Dirent};
use crate::layout::{BSIZE, FSMAGIC, LayoutError};

/// Largest file in bytes.
pub(crate) const MAXFILE_BYTES: u64 = (MAXFILE * BSIZE) as u64;

/// Why building or reading an image failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The requested image parameters do not make a usable layout.
    Layout(LayoutError),
    /// A path is empty, or one of its components is `.`, `..` or contains a
    /// NUL byte.
    InvalidName {
        /// The path as given.
        path: String,
    },
    /// A file name is longer than [`DIRSIZ`] bytes.
    NameTooLong {
        /// The offending name (the last path component).
        name: String,
    },
    /// The path to create is already taken.
    AlreadyExists {
        /// The path as given.
        path: String,
    },
    /// A path (or one of its parents) does not exist.
    NotFound {
        /// The path up to the missing component.
        path: String,
    },
    /// A path component that must be a directory is not one.
    NotADirectory {
        /// The path up to that component.
        path: String,
    },
    /// The path names a directory or a device, not a regular file.
    NotAFile {
        /// The path as given.
        path: String,
    },
    /// The contents exceed [`MAXFILE`] blocks.
    FileTooLarge {
        /// The path as given.
        path: String,
        /// Size of the contents in bytes.
        size: u64,
    },
    /// A directory cannot grow past [`MAXFILE`] blocks of entries.
    DirectoryFull {
        /// The directory's path.
        path: String,
    },
    /// Every inode is in use.
    OutOfInodes {
        /// The path that needed an inode.
        path: String,
        /// Inodes in the image.
        ninodes: u32,
    },
    /// Not enough free data blocks.
    OutOfBlocks {
        /// The path that needed the blocks.
        path: String,
        /// Blocks needed (data, indirect, and growth of the parent).
        needed: u64,
        /// Blocks still free.
        free: u64,
    },
    /// The image is shorter than its superblock says.
    Truncated {
        /// Length of the image in bytes.
        len: u64,
        /// Length it needs in bytes.
        needed: u64,
    },
    /// The superblock's magic number is not [`FSMAGIC`].
    BadMagic {
        /// The magic number found.
        magic: u32,
    },
    /// An inode number past the inode table.
    BadInum {
        /// The inode number asked for.
        inum: u32,
        /// Inodes in the image.
        ninodes: u32,
    },
    /// The image's structures contradict each other.
    Corrupt(Corruption),
}

/// One inconsistency in an image, as found while reading it or by
/// [`crate::Image::fsck`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// The superblock's regions overlap or do not fit.
    Layout {
        /// What is wrong.
        detail: &'static str,
    },
    /// The log header records committed blocks not yet installed.
    LogNotEmpty {
        /// The header's block count.
        n: u32,
    },
    /// Inode 0 is in use; xv6 never allocates it.
    InodeZeroInUse,
    /// The root inode is not a directory.
    RootNotDirectory,
    /// An inode has a type other than free, directory, file or device.
    BadType {
        /// The inode.
        inum: u32,
        /// Its type.
        typ: i16,
    },
    /// An inode's size exceeds the largest possible file.
    SizeTooLarge {
        /// The inode.
        inum: u32,
        /// Its size in bytes.
        size: u32,
    },
    /// A block within an inode's size is not allocated.
    MissingBlock {
        /// The inode.
        inum: u32,
        /// Index of the block within the file.
        fbn: usize,
        /// The inode's size in bytes.
        size: u32,
    },
    /// An inode has a block (or an indirect block) its size does not need.
    BlockPastEnd {
        /// The inode.
        inum: u32,
        /// Index of the block within the file ([`crate::NDIRECT`] for an
        /// unneeded indirect block).
        fbn: usize,
        /// The inode's size in bytes.
        size: u32,
    },
    /// An inode points at a block outside the data area.
    BlockOutOfRange {
        /// The inode.
        inum: u32,
        /// The block it points at.
        block: u32,
        /// First data block.
        datastart: u32,
        /// Blocks in the image.
        size: u32,
    },
    /// Two pointers (in one inode or two) share a block.
    BlockReferencedTwice {
        /// The shared block.
        block: u32,
        /// The inode seen first.
        first: u32,
        /// The inode seen second (may equal `first`).
        second: u32,
    },
    /// The bitmap disagrees with the metadata and the inodes' blocks.
    BitmapMismatch {
        /// The block.
        block: u32,
        /// Whether the bitmap marks it in use.
        marked: bool,
    },
    /// A directory's own structure is wrong.
    BadDirectory {
        /// The directory's path.
        path: String,
        /// Its inode.
        inum: u32,
        /// What is wrong.
        detail: &'static str,
    },
    /// A directory has two entries with the same name.
    DuplicateName {
        /// The path the two entries share.
        path: String,
    },
    /// A directory entry names an inode past the inode table.
    EntryOutOfRange {
        /// The entry's path.
        path: String,
        /// The inode it names.
        inum: u32,
    },
    /// A directory entry names a free inode.
    EntryToFreeInode {
        /// The entry's path.
        path: String,
        /// The inode it names.
        inum: u32,
    },
    /// A directory is reachable through a second entry (a hard link or a
    /// cycle).
    DirectoryLinkedTwice {
        /// The second entry's path.
        path: String,
        /// The directory's inode.
        inum: u32,
    },
    /// An allocated inode is not named by any directory entry.
    Unreachable {
        /// The inode.
        inum: u32,
    },
    /// An inode's link count differs from the entries that name it.
    NlinkMismatch {
        /// The inode.
        inum: u32,
        /// Its `nlink`.
        nlink: i16,
        /// Entries naming it ("." entries excluded).
        refs: u32,
    },
}

impl From<LayoutError> for Error {
    fn from(err: LayoutError) -> Self {
        Error::Layout(err)
    }
}

impl From<Corruption> for Error {
    fn from(c: Corruption) -> Self {
        Error::Corrupt(c)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Layout(err) => err.fmt(f),
            Error::InvalidName { path } => write!(
                f,
                "`{path}` is not a valid path: names must be non-empty, not `.` or `..`, and free of NUL bytes"
            ),
            Error::NameTooLong { name } => write!(
                f,
                "file name `{name}` is {} bytes, longer than the {DIRSIZ}-byte maximum",
                name.len()
            ),
            Error::AlreadyExists { path } => write!(f, "`{path}` already exists"),
            Error::NotFound { path } => write!(f, "`{path}` does not exist"),
            Error::NotADirectory { path } => write!(f, "`{path}` is not a directory"),
            Error::NotAFile { path } => write!(f, "`{path}` is not a regular file"),
            Error::FileTooLarge { path, size } => write!(
                f,
                "file `{path}` is too large: {} > {} maximum",
                Kib(*size),
                Kib(MAXFILE_BYTES)
            ),
            Error::DirectoryFull { path } => write!(
                f,
                "directory `{path}` is full: it holds at most {} entries",
                MAXFILE_BYTES / Dirent::SIZE as u64
            ),
            Error::OutOfInodes { path, ninodes } => write!(
                f,
                "no free inode for `{path}`: all {ninodes} inodes are in use"
            ),
            Error::OutOfBlocks { path, needed, free } => write!(
                f,
                "no room for `{path}`: it needs {needed} blocks but only {free} are free"
            ),
            Error::Truncated { len, needed } => write!(
                f,
                "image is truncated: it has {len} bytes but needs {needed}"
            ),
            Error::BadMagic { magic } => write!(
                f,
                "not an xv6 file system: magic is {magic:#010x}, expected {FSMAGIC:#010x}"
            ),
            Error::BadInum { inum, ninodes } => write!(
                f,
                "inode {inum} does not exist: the image has {ninodes} inodes"
            ),
            Error::Corrupt(c) => c.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corruption::Layout { detail } => write!(f, "superblock layout is invalid: {detail}"),
            Corruption::LogNotEmpty { n } => write!(
                f,
                "log holds {n} committed blocks that were never installed"
            ),
            Corruption::InodeZeroInUse => {
                write!(f, "inode 0 is in use, but xv6 never allocates it")
            }
            Corruption::RootNotDirectory => write!(f, "root inode 1 is not a directory"),
            Corruption::BadType { inum, typ } => write!(f, "inode {inum} has unknown type {typ}"),
            Corruption::SizeTooLarge { inum, size } => write!(
                f,
                "inode {inum} has size {size}, more than the {MAXFILE_BYTES}-byte maximum"
            ),
            Corruption::MissingBlock { inum, fbn, size } => write!(
                f,
                "inode {inum} has no block {fbn} although its size is {size}"
            ),
            Corruption::BlockPastEnd { inum, fbn, size } => {
                write!(f, "inode {inum} has block {fbn} beyond its size {size}")
            }
            Corruption::BlockOutOfRange {
                inum,
                block,
                datastart,
                size,
            } => write!(
                f,
                "inode {inum} points at block {block}, outside the data blocks {datastart}..{size}"
            ),
            Corruption::BlockReferencedTwice {
                block,
                first,
                second,
            } => {
                if first == second {
                    write!(f, "block {block} is used twice by inode {first}")
                } else {
                    write!(
                        f,
                        "block {block} is used by both inode {first} and inode {second}"
                    )
                }
            }
            Corruption::BitmapMismatch {
                block,
                marked: true,
            } => write!(
                f,
                "block {block} is marked in use in the bitmap but nothing uses it"
            ),
            Corruption::BitmapMismatch {
                block,
                marked: false,
            } => write!(f, "block {block} is in use but free in the bitmap"),
            Corruption::BadDirectory { path, inum, detail } => {
                write!(f, "directory `{path}` (inode {inum}) {detail}")
            }
            Corruption::DuplicateName { path } => {
                write!(f, "`{path}` appears twice in its directory")
            }
            Corruption::EntryOutOfRange { path, inum } => {
                write!(f, "entry `{path}` names inode {inum}, past the inode table")
            }
            Corruption::EntryToFreeInode { path, inum } => {
                write!(f, "entry `{path}` names free inode {inum}")
            }
            Corruption::DirectoryLinkedTwice { path, inum } => write!(
                f,
                "entry `{path}` is a second link to directory inode {inum}"
            ),
            Corruption::Unreachable { inum } => {
                write!(f, "inode {inum} is in use but no directory entry names it")
            }
            Corruption::NlinkMismatch { inum, nlink, refs } => write!(
                f,
                "inode {inum} has nlink {nlink} but {refs} directory entries name it"
            ),
        }
    }
}

/// A byte count shown in KiB, rounded up to a tenth so that anything over a
/// limit never prints as equal to it.
struct Kib(u64);

impl fmt::Display for Kib {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenths = self.0.saturating_mul(10).div_ceil(1024);
        if tenths.is_multiple_of(10) {
            write!(f, "{} KiB", tenths / 10)
        } else {
            write!(f, "{}.{} KiB", tenths / 10, tenths % 10)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kib_rounds_up_to_a_tenth() {
        assert_eq!(Kib(0).to_string(), "0 KiB");
        assert_eq!(Kib(1).to_string(), "0.1 KiB");
        assert_eq!(Kib(1024).to_string(), "1 KiB");
        assert_eq!(Kib(1025).to_string(), "1.1 KiB");
        assert_eq!(Kib(1536).to_string(), "1.5 KiB");
        assert_eq!(Kib(MAXFILE_BYTES).to_string(), "268 KiB");
    }

    #[test]
    fn file_too_large_reads_well() {
        let err = Error::FileTooLarge {
            path: "usertests".into(),
            size: 300 * 1024,
        };
        assert_eq!(
            err.to_string(),
            "file `usertests` is too large: 300 KiB > 268 KiB maximum"
        );
        let err = Error::FileTooLarge {
            path: "big".into(),
            size: MAXFILE_BYTES + 1,
        };
        assert_eq!(
            err.to_string(),
            "file `big` is too large: 268.1 KiB > 268 KiB maximum"
        );
    }

    #[test]
    fn messages_are_lowercase_fragments() {
        let errors = [
            Error::Layout(LayoutError::LogTooSmall { nlog: 1 }),
            Error::InvalidName {
                path: "a/..".into(),
            },
            Error::NameTooLong {
                name: "abcdefghijklmno".into(),
            },
            Error::AlreadyExists { path: "ls".into() },
            Error::NotFound { path: "bin".into() },
            Error::NotADirectory { path: "ls".into() },
            Error::NotAFile { path: "bin".into() },
            Error::DirectoryFull { path: "/".into() },
            Error::OutOfInodes {
                path: "ls".into(),
                ninodes: 200,
            },
            Error::OutOfBlocks {
                path: "ls".into(),
                needed: 3,
                free: 2,
            },
            Error::Truncated {
                len: 10,
                needed: 2048,
            },
            Error::BadMagic { magic: 0 },
            Error::BadInum {
                inum: 300,
                ninodes: 200,
            },
            Error::Corrupt(Corruption::RootNotDirectory),
        ];
        for err in errors {
            let msg = err.to_string();
            let first = msg.chars().next().unwrap();
            assert!(!first.is_uppercase(), "{msg}");
            assert!(!msg.ends_with('.'), "{msg}");
        }
        assert_eq!(
            Error::NameTooLong {
                name: "abcdefghijklmno".into()
            }
            .to_string(),
            "file name `abcdefghijklmno` is 15 bytes, longer than the 14-byte maximum"
        );
        assert_eq!(
            Error::BadMagic { magic: 0x1234 }.to_string(),
            "not an xv6 file system: magic is 0x00001234, expected 0x10203040"
        );
        assert_eq!(
            Error::DirectoryFull { path: "/".into() }.to_string(),
            "directory `/` is full: it holds at most 17152 entries"
        );
    }

    #[test]
    fn corruption_messages_name_the_culprit() {
        let c = Corruption::BitmapMismatch {
            block: 47,
            marked: false,
        };
        assert_eq!(c.to_string(), "block 47 is in use but free in the bitmap");
        assert_eq!(
            Error::from(c).to_string(),
            "block 47 is in use but free in the bitmap"
        );
        assert_eq!(
            Corruption::BlockReferencedTwice {
                block: 50,
                first: 2,
                second: 3
            }
            .to_string(),
            "block 50 is used by both inode 2 and inode 3"
        );
        assert_eq!(
            Corruption::BlockReferencedTwice {
                block: 50,
                first: 2,
                second: 2
            }
            .to_string(),
            "block 50 is used twice by inode 2"
        );
        assert_eq!(
            Corruption::NlinkMismatch {
                inum: 4,
                nlink: 2,
                refs: 1
            }
            .to_string(),
            "inode 4 has nlink 2 but 1 directory entries name it"
        );
    }

    #[test]
    fn layout_errors_convert() {
        let err: Error = LayoutError::TooSmall { size: 1, min: 47 }.into();
        assert_eq!(
            err.to_string(),
            "an image of 1 blocks is too small: its metadata and root directory need 47"
        );
    }
}
