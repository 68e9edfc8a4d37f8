//! The parts of xv6's `fs.h` that user programs see through system calls:
//! a directory's data, as `read` returns it, is an array of [`Dirent`]s,
//! and a file or a file-system operation is limited by the block sizes.
//! The on-disk format crate defines them; see its docs for the encoding.

pub use xv6fs::{BSIZE, DIRSIZ, Dirent, MAXFILE, MAXOPBLOCKS};
