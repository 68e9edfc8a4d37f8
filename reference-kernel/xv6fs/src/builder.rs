//! Writing an image on the host: [`ImageBuilder`] lays out a fresh file
//! system, adds files, directories and devices, and produces the image bytes,
//! allocating inodes and blocks in the same order as xv6's mkfs so that the
//! same inputs always give byte-identical images.
//!
//! Allocation is sequential: inodes from [`ROOTINO`] up, data blocks from the
//! first data block up, a file's direct blocks first, then its indirect
//! block, then the blocks the indirect block points at. The root directory
//! takes the first data block.

use std::collections::BTreeMap;
use std::fmt;

use crate::dinode::{
    Dinode, MAXFILE, NDIRECT, T_DEVICE, T_DIR, T_FILE, indirect_addr, set_indirect_addr,
};
use crate::dirent::{DIRSIZ, Dirent};
use crate::error::{Error, MAXFILE_BYTES};
use crate::layout::{BSIZE, Layout, ROOTINO, bblock, bitmap_bit, iblock, inode_offset};
use crate::superblock::Superblock;

/// Builds an xv6 file-system image in memory.
///
/// Paths are relative to the root (a leading `/` is optional); every parent
/// must already exist. A failed `add_*` call leaves the builder unchanged.
#[derive(Clone)]
pub struct ImageBuilder {
    sb: Superblock,
    /// The whole image, `sb.size` blocks.
    image: Vec<u8>,
    /// Next inode to allocate.
    next_inum: u32,
    /// Next data block to allocate; everything below it is in use.
    next_block: u32,
    /// Every entry added so far except `.` and `..`: (directory, name) to
    /// inode. Only for lookups; the image holds the real entries.
    names: BTreeMap<(u32, Vec<u8>), u32>,
    /// Directories, whose sizes `finish` rounds up to whole blocks.
    dirs: Vec<u32>,
}

/// What a new inode holds.
enum Contents<'d> {
    File(&'d [u8]),
    Dir,
    Device { major: i16, minor: i16 },
}

impl ImageBuilder {
    /// Starts an image with `layout`: zeroed blocks, the superblock, and a
    /// root directory holding `.` and `..`.
    ///
    /// Allocates the whole image (`layout.size()` blocks) at once.
    pub fn new(layout: Layout) -> Self {
        let sb = layout.superblock();
        let mut builder = ImageBuilder {
            sb,
            image: vec![0; sb.size as usize * BSIZE],
            next_inum: ROOTINO,
            next_block: layout.nmeta(),
            names: BTreeMap::new(),
            dirs: Vec::new(),
        };
        sb.encode(builder.block_mut(1));
        // Layout guarantees an inode and a data block for the root.
        let root = builder.ialloc(T_DIR, 0, 0);
        builder.append(root, &dir_skeleton(root, root));
        builder.dirs.push(root);
        builder
    }

    /// The superblock of the image being built.
    pub fn superblock(&self) -> &Superblock {
        &self.sb
    }

    /// Inodes not yet allocated.
    pub fn free_inodes(&self) -> u32 {
        self.sb.ninodes - self.next_inum
    }

    /// Data blocks not yet allocated.
    pub fn free_blocks(&self) -> u32 {
        self.sb.size - self.next_block
    }

    /// Adds a regular file at `path` holding `data`; returns its inode
    /// number.
    pub fn add_file(&mut self, path: &str, data: &[u8]) -> Result<u32, Error> {
        self.create(path, Contents::File(data))
    }

    /// Adds an empty directory (`.` and `..` only) at `path`; returns its
    /// inode number. The parent's link count grows by one for `..`.
    pub fn add_dir(&mut self, path: &str) -> Result<u32, Error> {
        self.create(path, Contents::Dir)
    }

    /// Adds a device node at `path` (like `mknod`); returns its inode
    /// number.
    pub fn add_device(&mut self, path: &str, major: i16, minor: i16) -> Result<u32, Error> {
        self.create(path, Contents::Device { major, minor })
    }

    /// Finishes the image: rounds directory sizes up to whole blocks (as
    /// mkfs does for the root, leaving free slots) and writes the bitmap,
    /// marking the metadata and every allocated data block in use.
    ///
    /// One deliberate difference from mkfs: a directory whose entries fill
    /// its blocks exactly keeps its size, where mkfs adds a block's worth of
    /// size with no block behind it.
    pub fn finish(mut self) -> Vec<u8> {
        for dir in std::mem::take(&mut self.dirs) {
            let mut din = self.rinode(dir);
            din.size = (din.size as usize).next_multiple_of(BSIZE) as u32;
            self.winode(dir, &din);
        }
        for b in 0..self.next_block {
            let (byte, mask) = bitmap_bit(b);
            let bitmap = bblock(b, &self.sb);
            self.block_mut(bitmap)[byte] |= mask;
        }
        self.image
    }

    /// Checks everything that could fail, then allocates the inode, links it
    /// into its parent and writes its contents, in mkfs's order.
    fn create(&mut self, path: &str, contents: Contents<'_>) -> Result<u32, Error> {
        let (parent, parent_path, name) = self.resolve(path)?;
        let len = match contents {
            Contents::File(data) => data.len(),
            Contents::Dir => 2 * Dirent::SIZE,
            Contents::Device { .. } => 0,
        };
        if len as u64 > MAXFILE_BYTES {
            return Err(Error::FileTooLarge {
                path: path.into(),
                size: len as u64,
            });
        }
        if self.next_inum >= self.sb.ninodes {
            return Err(Error::OutOfInodes {
                path: path.into(),
                ninodes: self.sb.ninodes,
            });
        }
        let pdin = self.rinode(parent);
        let psize = pdin.size as usize;
        if (psize + Dirent::SIZE) as u64 > MAXFILE_BYTES {
            return Err(Error::DirectoryFull { path: parent_path });
        }
        let needed = blocks_for(psize + Dirent::SIZE) - blocks_for(psize) + blocks_for(len);
        let free = self.free_blocks() as usize;
        if needed > free {
            return Err(Error::OutOfBlocks {
                path: path.into(),
                needed: needed as u64,
                free: free as u64,
            });
        }

        let (typ, major, minor) = match contents {
            Contents::File(_) => (T_FILE, 0, 0),
            Contents::Dir => (T_DIR, 0, 0),
            Contents::Device { major, minor } => (T_DEVICE, major, minor),
        };
        let inum = self.ialloc(typ, major, minor);
        let mut entry = [0; Dirent::SIZE];
        // Layout caps ninodes at 65536, so every inode number fits.
        Dirent::new(inum as u16, &name).encode(&mut entry);
        self.append(parent, &entry);
        match contents {
            Contents::File(data) => self.append(inum, data),
            Contents::Dir => {
                self.append(inum, &dir_skeleton(inum, parent));
                // `..` links the parent. A directory holds at most 17152
                // entries, so this never nears i16::MAX.
                let mut pdin = self.rinode(parent);
                pdin.nlink += 1;
                self.winode(parent, &pdin);
                self.dirs.push(inum);
            }
            Contents::Device { .. } => {}
        }
        self.names.insert((parent, name), inum);
        Ok(inum)
    }

    /// Splits `path` into its parent directory (inode and path for
    /// messages) and a valid, unused name.
    fn resolve(&self, path: &str) -> Result<(u32, String, Vec<u8>), Error> {
        let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        let invalid = |c: &&str| *c == "." || *c == ".." || c.contains('\0');
        let Some((name, dirs)) = components.split_last() else {
            return Err(Error::InvalidName { path: path.into() });
        };
        if components.iter().any(invalid) {
            return Err(Error::InvalidName { path: path.into() });
        }
        if name.len() > DIRSIZ {
            return Err(Error::NameTooLong {
                name: (*name).into(),
            });
        }
        let mut parent = ROOTINO;
        let mut walked = String::new();
        for dir in dirs {
            walked.push('/');
            walked.push_str(dir);
            match self.names.get(&(parent, dir.as_bytes().to_vec())) {
                None => return Err(Error::NotFound { path: walked }),
                Some(&inum) if self.rinode(inum).typ != T_DIR => {
                    return Err(Error::NotADirectory { path: walked });
                }
                Some(&inum) => parent = inum,
            }
        }
        let name = name.as_bytes().to_vec();
        if self.names.contains_key(&(parent, name.clone())) {
            return Err(Error::AlreadyExists { path: path.into() });
        }
        if walked.is_empty() {
            walked.push('/');
        }
        Ok((parent, walked, name))
    }

    /// Allocates the next inode with one link and no contents.
    fn ialloc(&mut self, typ: i16, major: i16, minor: i16) -> u32 {
        let inum = self.next_inum;
        self.next_inum += 1;
        let din = Dinode {
            typ,
            major,
            minor,
            nlink: 1,
            ..Dinode::default()
        };
        self.winode(inum, &din);
        inum
    }

    /// Appends `data` to inode `inum`, allocating blocks as it goes. The
    /// caller has checked that the blocks exist and the file stays within
    /// MAXFILE.
    fn append(&mut self, inum: u32, mut data: &[u8]) {
        let mut din = self.rinode(inum);
        let mut off = din.size as usize;
        while !data.is_empty() {
            let b = self.bmap(&mut din, off / BSIZE);
            let within = off % BSIZE;
            let n = data.len().min(BSIZE - within);
            self.block_mut(b)[within..within + n].copy_from_slice(&data[..n]);
            off += n;
            data = &data[n..];
        }
        din.size = off as u32;
        self.winode(inum, &din);
    }

    /// The block holding block `fbn` of the file `din`, allocated (with the
    /// indirect block, if needed) if the file has none yet.
    fn bmap(&mut self, din: &mut Dinode, fbn: usize) -> u32 {
        debug_assert!(fbn < MAXFILE);
        if fbn < NDIRECT {
            if din.addrs[fbn] == 0 {
                din.addrs[fbn] = self.balloc();
            }
            return din.addrs[fbn];
        }
        if din.addrs[NDIRECT] == 0 {
            din.addrs[NDIRECT] = self.balloc();
        }
        let ind = din.addrs[NDIRECT];
        let mut addr = indirect_addr(self.block(ind), fbn - NDIRECT);
        if addr == 0 {
            addr = self.balloc();
            set_indirect_addr(self.block_mut(ind), fbn - NDIRECT, addr);
        }
        addr
    }

    /// Allocates the next data block (already zero).
    fn balloc(&mut self) -> u32 {
        let b = self.next_block;
        self.next_block += 1;
        b
    }

    fn rinode(&self, inum: u32) -> Dinode {
        Dinode::decode(&self.block(iblock(inum, &self.sb))[inode_offset(inum)..])
    }

    fn winode(&mut self, inum: u32, din: &Dinode) {
        let b = iblock(inum, &self.sb);
        din.encode(&mut self.block_mut(b)[inode_offset(inum)..]);
    }

    fn block(&self, b: u32) -> &[u8] {
        let start = b as usize * BSIZE;
        &self.image[start..start + BSIZE]
    }

    fn block_mut(&mut self, b: u32) -> &mut [u8] {
        let start = b as usize * BSIZE;
        &mut self.image[start..start + BSIZE]
    }
}

impl fmt::Debug for ImageBuilder {
    /// Shows the allocation state, not the megabytes of image.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageBuilder")
            .field("sb", &self.sb)
            .field("next_inum", &self.next_inum)
            .field("next_block", &self.next_block)
            .finish_non_exhaustive()
    }
}

impl Default for ImageBuilder {
    /// A builder for xv6's default layout ([`Layout::DEFAULT`]).
    fn default() -> Self {
        ImageBuilder::new(Layout::DEFAULT)
    }
}

/// Blocks a file of `size` bytes occupies, its indirect block included.
fn blocks_for(size: usize) -> usize {
    let nb = size.div_ceil(BSIZE);
    nb + usize::from(nb > NDIRECT)
}

/// The `.` and `..` entries of a new directory.
fn dir_skeleton(dir: u32, parent: u32) -> [u8; 2 * Dirent::SIZE] {
    let mut data = [0; 2 * Dirent::SIZE];
    Dirent::new(dir as u16, b".").encode(&mut data[..Dirent::SIZE]);
    Dirent::new(parent as u16, b"..").encode(&mut data[Dirent::SIZE..]);
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dinode::NINDIRECT;
    use crate::error::Corruption;
    use crate::fsck::Usage;
    use crate::image::Image;
    use crate::layout::BPB;

    /// Bytes that differ from block to block and within a block, so that a
    /// misplaced block shows.
    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ (i >> 10) as u8 ^ seed)
            .collect()
    }

    fn build(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = ImageBuilder::default();
        for (path, data) in files {
            builder.add_file(path, data).unwrap();
        }
        builder.finish()
    }

    fn names(entries: &[Dirent]) -> Vec<(String, u16)> {
        entries
            .iter()
            .map(|de| (String::from_utf8_lossy(de.name()).into_owned(), de.inum))
            .collect()
    }

    #[test]
    fn empty_image_holds_only_the_root() {
        let bytes = ImageBuilder::default().finish();
        assert_eq!(bytes.len(), 2000 * BSIZE);
        let img = Image::parse(&bytes).unwrap();
        assert_eq!(*img.superblock(), Layout::DEFAULT.superblock());
        let root = img.inode(ROOTINO).unwrap();
        assert_eq!(root.typ, T_DIR);
        assert_eq!(root.nlink, 1);
        // mkfs rounds the root's 32 bytes of entries up to a whole block.
        assert_eq!(root.size, BSIZE as u32);
        assert_eq!(root.addrs[0], 46);
        assert_eq!(&root.addrs[1..], &[0; NDIRECT]);
        assert_eq!(
            names(&img.read_dir("/").unwrap()),
            [(".".into(), 1), ("..".into(), 1)]
        );
        assert_eq!(
            img.fsck(),
            Ok(Usage {
                inodes: 1,
                blocks: 1
            })
        );
        // Blocks 0..=46 are in use: five full bytes and seven bits.
        let bitmap = img.block(45).unwrap();
        assert_eq!(&bitmap[..5], &[0xff; 5]);
        assert_eq!(bitmap[5], 0x7f);
        assert!(bitmap[6..].iter().all(|&b| b == 0));
        // Boot block and log stay zero; the superblock is alone in block 1.
        assert!(bytes[..BSIZE].iter().all(|&b| b == 0));
        assert!(
            bytes[BSIZE + Superblock::SIZE..32 * BSIZE]
                .iter()
                .all(|&b| b == 0)
        );
    }

    #[test]
    fn first_file_follows_mkfs_allocation() {
        let readme = pattern(2000, 1);
        let bytes = build(&[("README", &readme)]);
        let img = Image::parse(&bytes).unwrap();
        assert_eq!(img.lookup("README"), Ok(2));
        let din = img.inode(2).unwrap();
        assert_eq!((din.typ, din.nlink, din.size), (T_FILE, 1, 2000));
        assert_eq!(&din.addrs[..3], &[47, 48, 0]);
        // The entry sits in the root's block right after `.` and `..`.
        let root_block = img.block(46).unwrap();
        assert_eq!(
            Dirent::decode(&root_block[32..48]),
            Dirent::new(2, b"README")
        );
        // The file's bytes are where its block pointers say.
        assert_eq!(&bytes[47 * BSIZE..48 * BSIZE], &readme[..BSIZE]);
        assert_eq!(&bytes[48 * BSIZE..48 * BSIZE + 976], &readme[BSIZE..]);
        assert!(bytes[48 * BSIZE + 976..49 * BSIZE].iter().all(|&b| b == 0));
        assert_eq!(img.read_file("/README").unwrap(), readme);
        assert_eq!(img.fsck().unwrap().blocks, 3);
    }

    #[test]
    fn empty_file_has_no_blocks() {
        let bytes = build(&[("empty", b"")]);
        let img = Image::parse(&bytes).unwrap();
        let din = img.inode(2).unwrap();
        assert_eq!(din.size, 0);
        assert_eq!(din.addrs, [0; NDIRECT + 1]);
        assert_eq!(img.read_file("empty").unwrap(), b"");
        assert_eq!(img.fsck().unwrap().blocks, 1);
    }

    #[test]
    fn file_of_ndirect_blocks_needs_no_indirect_block() {
        let data = pattern(NDIRECT * BSIZE, 2);
        let bytes = build(&[("twelve", &data)]);
        let img = Image::parse(&bytes).unwrap();
        let din = img.inode(2).unwrap();
        let expected: Vec<u32> = (47..47 + NDIRECT as u32).collect();
        assert_eq!(&din.addrs[..NDIRECT], &expected[..]);
        assert_eq!(din.addrs[NDIRECT], 0);
        assert_eq!(img.read_file("twelve").unwrap(), data);
        assert_eq!(img.fsck().unwrap().blocks, 1 + NDIRECT as u32);
    }

    #[test]
    fn one_byte_past_ndirect_uses_the_indirect_block() {
        let data = pattern(NDIRECT * BSIZE + 1, 3);
        let bytes = build(&[("thirteen", &data)]);
        let img = Image::parse(&bytes).unwrap();
        let din = img.inode(2).unwrap();
        // Direct blocks 47..=58, then the indirect block, then its first
        // data block.
        assert_eq!(din.addrs[NDIRECT - 1], 58);
        assert_eq!(din.addrs[NDIRECT], 59);
        let indirect = img.block(59).unwrap();
        assert_eq!(indirect_addr(indirect, 0), 60);
        assert!((1..NINDIRECT).all(|i| indirect_addr(indirect, i) == 0));
        assert_eq!(bytes[60 * BSIZE], data[NDIRECT * BSIZE]);
        assert_eq!(img.read_file("thirteen").unwrap(), data);
        assert_eq!(img.fsck().unwrap().blocks, 1 + NDIRECT as u32 + 2);
    }

    #[test]
    fn largest_file_round_trips() {
        let data = pattern(MAXFILE * BSIZE, 4);
        let bytes = build(&[("max", &data), ("after", b"x")]);
        let img = Image::parse(&bytes).unwrap();
        let din = img.inode(2).unwrap();
        assert_eq!(din.size as usize, MAXFILE * BSIZE);
        let indirect = img.block(din.addrs[NDIRECT]).unwrap();
        assert_eq!(indirect_addr(indirect, NINDIRECT - 1), 47 + MAXFILE as u32);
        assert_eq!(img.read_file("max").unwrap(), data);
        assert_eq!(img.read_file("after").unwrap(), b"x");
        assert_eq!(
            img.fsck(),
            Ok(Usage {
                inodes: 3,
                blocks: 1 + MAXFILE as u32 + 1 + 1
            })
        );
    }

    #[test]
    fn one_byte_more_than_maxfile_is_too_large() {
        let mut builder = ImageBuilder::default();
        let err = builder
            .add_file("usertests", &vec![0; MAXFILE * BSIZE + 1])
            .unwrap_err();
        assert_eq!(
            err,
            Error::FileTooLarge {
                path: "usertests".into(),
                size: (MAXFILE * BSIZE + 1) as u64
            }
        );
        assert_eq!(
            err.to_string(),
            "file `usertests` is too large: 268.1 KiB > 268 KiB maximum"
        );
    }

    #[test]
    fn images_are_deterministic() {
        let files: [(&str, &[u8]); 3] = [
            ("README", b"hello"),
            ("sh", &pattern(40_000, 5)),
            ("cat", &pattern(9_000, 6)),
        ];
        assert_eq!(build(&files), build(&files));
    }

    #[test]
    fn directories_nest_and_link_their_parents() {
        let mut builder = ImageBuilder::default();
        assert_eq!(builder.add_dir("bin"), Ok(2));
        assert_eq!(builder.add_file("bin/ls", b"ls!"), Ok(3));
        assert_eq!(builder.add_dir("/bin/sub/"), Ok(4));
        assert_eq!(builder.add_file("/bin/sub/deep", b"deep"), Ok(5));
        let bytes = builder.finish();
        let img = Image::parse(&bytes).unwrap();

        assert_eq!(img.inode(ROOTINO).unwrap().nlink, 2);
        let bin = img.inode(2).unwrap();
        assert_eq!((bin.typ, bin.nlink, bin.size), (T_DIR, 2, BSIZE as u32));
        assert_eq!(
            names(&img.read_dir("/bin").unwrap()),
            [
                (".".into(), 2),
                ("..".into(), 1),
                ("ls".into(), 3),
                ("sub".into(), 4)
            ]
        );
        assert_eq!(
            names(&img.read_dir("bin/sub").unwrap()),
            [(".".into(), 4), ("..".into(), 2), ("deep".into(), 5)]
        );
        assert_eq!(img.read_file("bin/ls").unwrap(), b"ls!");
        assert_eq!(img.read_file("//bin///ls").unwrap(), b"ls!");
        assert_eq!(img.read_file("/bin/sub/../ls").unwrap(), b"ls!");
        assert_eq!(img.read_file("/bin/./sub/deep").unwrap(), b"deep");
        assert_eq!(
            img.fsck(),
            Ok(Usage {
                inodes: 5,
                blocks: 5
            })
        );
    }

    #[test]
    fn devices_have_no_blocks() {
        let mut builder = ImageBuilder::default();
        assert_eq!(builder.add_device("console", 1, 7), Ok(2));
        let bytes = builder.finish();
        let img = Image::parse(&bytes).unwrap();
        let din = img.inode(2).unwrap();
        assert_eq!(
            (din.typ, din.major, din.minor, din.nlink),
            (T_DEVICE, 1, 7, 1)
        );
        assert_eq!((din.size, din.addrs), (0, [0; NDIRECT + 1]));
        assert_eq!(
            img.read_file("console"),
            Err(Error::NotAFile {
                path: "console".into()
            })
        );
        assert_eq!(img.fsck().unwrap().inodes, 2);
    }

    #[test]
    fn full_length_names_round_trip() {
        let bytes = build(&[("abcdefghijklmn", b"14")]);
        let img = Image::parse(&bytes).unwrap();
        let root_block = img.block(46).unwrap();
        assert_eq!(&root_block[34..48], b"abcdefghijklmn");
        assert_eq!(img.read_file("abcdefghijklmn").unwrap(), b"14");
        img.fsck().unwrap();

        let err = ImageBuilder::default()
            .add_file("bin/abcdefghijklmno", b"15")
            .unwrap_err();
        assert_eq!(
            err,
            Error::NameTooLong {
                name: "abcdefghijklmno".into()
            }
        );
    }

    #[test]
    fn invalid_paths_are_rejected() {
        let mut builder = ImageBuilder::default();
        builder.add_dir("a").unwrap();
        for path in ["", "/", "//", ".", "..", "a/.", "a/./b", "../b", "a\0b"] {
            assert_eq!(
                builder.add_file(path, b""),
                Err(Error::InvalidName { path: path.into() }),
                "{path:?}"
            );
        }
    }

    #[test]
    fn existing_paths_are_rejected() {
        let mut builder = ImageBuilder::default();
        builder.add_file("ls", b"1").unwrap();
        builder.add_dir("bin").unwrap();
        assert_eq!(
            builder.add_file("ls", b"2"),
            Err(Error::AlreadyExists { path: "ls".into() })
        );
        assert_eq!(
            builder.add_dir("/bin"),
            Err(Error::AlreadyExists {
                path: "/bin".into()
            })
        );
        assert_eq!(
            builder.add_device("ls", 1, 0),
            Err(Error::AlreadyExists { path: "ls".into() })
        );
        // The same name in another directory is fine.
        builder.add_file("bin/ls", b"3").unwrap();
    }

    #[test]
    fn parents_must_be_existing_directories() {
        let mut builder = ImageBuilder::default();
        builder.add_file("ls", b"").unwrap();
        builder.add_dir("bin").unwrap();
        assert_eq!(
            builder.add_file("usr/bin/ls", b""),
            Err(Error::NotFound {
                path: "/usr".into()
            })
        );
        assert_eq!(
            builder.add_file("bin/x/ls", b""),
            Err(Error::NotFound {
                path: "/bin/x".into()
            })
        );
        assert_eq!(
            builder.add_file("ls/x", b""),
            Err(Error::NotADirectory { path: "/ls".into() })
        );
    }

    #[test]
    fn running_out_of_inodes_is_an_error() {
        let mut builder = ImageBuilder::new(Layout::new(2000, 4, 30).unwrap());
        assert_eq!(builder.free_inodes(), 3 - 1);
        builder.add_file("a", b"").unwrap();
        builder.add_file("b", b"").unwrap();
        assert_eq!(builder.free_inodes(), 0);
        let err = builder.add_file("c", b"").unwrap_err();
        assert_eq!(
            err,
            Error::OutOfInodes {
                path: "c".into(),
                ninodes: 4
            }
        );
        assert_eq!(
            err.to_string(),
            "no free inode for `c`: all 4 inodes are in use"
        );
        Image::parse(&builder.finish()).unwrap().fsck().unwrap();
    }

    #[test]
    fn running_out_of_blocks_is_an_error() {
        // 60 blocks: 46 of metadata, the root's block, 13 free.
        let mut builder = ImageBuilder::new(Layout::with_size(60).unwrap());
        assert_eq!(builder.free_blocks(), 13);
        // 13 data blocks need an indirect block too.
        let err = builder.add_file("big", &[1; 13 * BSIZE]).unwrap_err();
        assert_eq!(
            err,
            Error::OutOfBlocks {
                path: "big".into(),
                needed: 14,
                free: 13
            }
        );
        assert_eq!(
            err.to_string(),
            "no room for `big`: it needs 14 blocks but only 13 are free"
        );
        builder.add_file("twelve", &[1; 12 * BSIZE]).unwrap();
        builder.add_file("one", b"1").unwrap();
        builder.add_file("empty", b"").unwrap();
        assert_eq!(builder.free_blocks(), 0);
        assert!(matches!(
            builder.add_file("more", b"2"),
            Err(Error::OutOfBlocks {
                needed: 1,
                free: 0,
                ..
            })
        ));
        assert!(matches!(
            builder.add_dir("dir"),
            Err(Error::OutOfBlocks { needed: 1, .. })
        ));
        let bytes = builder.finish();
        let img = Image::parse(&bytes).unwrap();
        assert_eq!(img.fsck().unwrap().blocks, 14);
        // Every bit of the bitmap is set.
        assert_eq!(
            &img.block(45).unwrap()[..8],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]
        );
    }

    #[test]
    fn a_growing_directory_needs_blocks_too() {
        // One data block, taken by the root: empty files fit until the
        // root's block is full (64 entries, `.` and `..` included).
        let mut builder = ImageBuilder::new(Layout::with_size(47).unwrap());
        for i in 0..62 {
            builder.add_file(&format!("f{i}"), b"").unwrap();
        }
        assert_eq!(
            builder.add_file("f62", b""),
            Err(Error::OutOfBlocks {
                path: "f62".into(),
                needed: 1,
                free: 0
            })
        );
        let bytes = builder.finish();
        let img = Image::parse(&bytes).unwrap();
        assert_eq!(img.read_dir("/").unwrap().len(), 64);
        assert_eq!(img.inode(ROOTINO).unwrap().size, BSIZE as u32);
        img.fsck().unwrap();
    }

    #[test]
    fn root_spills_into_a_second_block_like_mkfs() {
        let mut builder = ImageBuilder::default();
        for i in 0..62 {
            builder.add_file(&format!("f{i}"), b"x").unwrap();
        }
        // Files f0..f61 took blocks 47..=108; the 65th entry needs a second
        // root block before the new file's data.
        builder.add_file("g", b"y").unwrap();
        let bytes = builder.finish();
        let img = Image::parse(&bytes).unwrap();
        let root = img.inode(ROOTINO).unwrap();
        assert_eq!(&root.addrs[..3], &[46, 109, 0]);
        assert_eq!(root.size, 2 * BSIZE as u32);
        assert_eq!(img.inode(64).unwrap().addrs[0], 110);
        assert_eq!(img.read_file("g").unwrap(), b"y");
        img.fsck().unwrap();
    }

    #[test]
    fn a_directory_holds_at_most_maxfile_blocks_of_entries() {
        let max_entries = MAXFILE * BSIZE / Dirent::SIZE;
        let mut builder = ImageBuilder::new(Layout::new(2000, 17_200, 30).unwrap());
        for i in 0..max_entries - 2 {
            builder.add_file(&format!("f{i}"), b"").unwrap();
        }
        assert_eq!(
            builder.add_file("full", b""),
            Err(Error::DirectoryFull { path: "/".into() })
        );
        let bytes = builder.finish();
        let img = Image::parse(&bytes).unwrap();
        assert_eq!(img.inode(ROOTINO).unwrap().size as usize, MAXFILE * BSIZE);
        assert_eq!(img.read_dir("/").unwrap().len(), max_entries);
        assert_eq!(img.lookup("f17149"), Ok(17_151));
        assert_eq!(
            img.fsck(),
            Ok(Usage {
                inodes: max_entries as u32 - 1,
                blocks: MAXFILE as u32 + 1
            })
        );
    }

    #[test]
    fn a_failed_add_leaves_the_builder_unchanged() {
        let mut builder = ImageBuilder::new(Layout::with_size(60).unwrap());
        builder.add_dir("bin").unwrap();
        let before = builder.clone();
        assert!(builder.add_file("bin/big", &[1; 13 * BSIZE]).is_err());
        assert!(builder.add_file("bin/../x", b"").is_err());
        assert!(builder.add_file("bin", b"").is_err());
        assert_eq!(builder.free_blocks(), before.free_blocks());
        assert_eq!(builder.free_inodes(), before.free_inodes());
        assert_eq!(builder.finish(), before.finish());
    }

    #[test]
    fn images_of_a_given_size() {
        let mut builder = ImageBuilder::new(Layout::with_size(4096).unwrap());
        builder.add_file("a", &pattern(5000, 7)).unwrap();
        assert_eq!(builder.superblock().size, 4096);
        let bytes = builder.finish();
        assert_eq!(bytes.len(), 4096 * BSIZE);
        let img = Image::parse(&bytes).unwrap();
        assert_eq!(img.superblock().nblocks, 4096 - 46);
        assert_eq!(img.read_file("a").unwrap(), pattern(5000, 7));
        img.fsck().unwrap();
    }

    #[test]
    fn bitmap_spans_several_blocks_in_large_images() {
        // 9000 blocks need two bitmap blocks; 33 maximal files push the
        // allocation past block 8192.
        let layout = Layout::with_size(9000).unwrap();
        assert_eq!(layout.nbitmap(), 2);
        let mut builder = ImageBuilder::new(layout);
        for i in 0..33 {
            builder
                .add_file(&format!("f{i}"), &pattern(MAXFILE * BSIZE, i as u8))
                .unwrap();
        }
        let used = layout.nmeta() + 1 + 33 * (MAXFILE as u32 + 1);
        assert!(used > BPB as u32);
        assert_eq!(builder.free_blocks(), 9000 - used);
        let bytes = builder.finish();
        let img = Image::parse(&bytes).unwrap();
        assert_eq!(
            img.fsck(),
            Ok(Usage {
                inodes: 34,
                blocks: used - layout.nmeta()
            })
        );
        assert_eq!(img.read_file("f32").unwrap(), pattern(MAXFILE * BSIZE, 32));
        // The last used block's bit lives in the second bitmap block.
        let (byte, mask) = bitmap_bit(used - 1);
        assert_eq!(bblock(used - 1, img.superblock()), layout.bmapstart() + 1);
        let second = img.block(layout.bmapstart() + 1).unwrap();
        assert_ne!(second[byte] & mask, 0);
        let (byte, mask) = bitmap_bit(used);
        assert_eq!(second[byte] & mask, 0);
    }

    #[test]
    fn one_wrong_byte_in_a_built_image_fails_fsck() {
        let mut bytes = build(&[("README", b"hi")]);
        Image::parse(&bytes).unwrap().fsck().unwrap();
        bytes[46 * BSIZE + 32] = 9;
        assert_eq!(
            Image::parse(&bytes).unwrap().fsck(),
            Err(Error::Corrupt(Corruption::EntryToFreeInode {
                path: "/README".into(),
                inum: 9
            }))
        );
    }
}
