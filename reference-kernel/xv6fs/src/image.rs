//! Reading an image on the host: [`Image`] validates the superblock once,
//! then looks up paths, lists directories and reads files the way xv6's
//! `namei`/`readi` would, but reports every inconsistency it meets as an
//! [`Error`] instead of trusting the disk. The consistency check
//! ([`Image::fsck`]) lives in `fsck.rs`.

use std::fmt;

use crate::dinode::{Dinode, NDIRECT, NINDIRECT, T_DIR, T_FILE, indirect_addr};
use crate::dirent::Dirent;
use crate::error::{Corruption, Error, MAXFILE_BYTES};
use crate::layout::{BPB, BSIZE, IPB, ROOTINO, bblock, bitmap_bit, iblock, inode_offset};
use crate::superblock::Superblock;

/// A read-only view of a whole file-system image.
///
/// [`Image::parse`] checks the superblock and the image length, so every
/// block the superblock describes can be read without panicking; what the
/// inodes and directories say is checked as it is read.
#[derive(Clone, Copy)]
pub struct Image<'a> {
    bytes: &'a [u8],
    sb: Superblock,
}

/// The blocks an inode uses, in file order, as found by
/// [`Image::inode_blocks`].
pub(crate) struct InodeBlocks {
    /// Data blocks, block `fbn` of the file at index `fbn`.
    pub(crate) data: Vec<u32>,
    /// The indirect block, if the file needs one.
    pub(crate) indirect: Option<u32>,
}

impl<'a> Image<'a> {
    /// Checks that `bytes` hold an xv6 file system whose superblock
    /// describes non-overlapping regions that fit in the image.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let len = bytes.len() as u64;
        let header = 2 * BSIZE as u64;
        if len < header {
            return Err(Error::Truncated {
                len,
                needed: header,
            });
        }
        let sb = Superblock::decode(&bytes[BSIZE..]);
        if !sb.has_magic() {
            return Err(Error::BadMagic { magic: sb.magic });
        }
        let needed = u64::from(sb.size) * BSIZE as u64;
        if len < needed {
            return Err(Error::Truncated { len, needed });
        }
        check_layout(&sb)?;
        Ok(Image { bytes, sb })
    }

    /// The superblock.
    pub fn superblock(&self) -> &Superblock {
        &self.sb
    }

    /// Block `b`, or `None` past the end of the file system.
    pub fn block(&self, b: u32) -> Option<&'a [u8]> {
        (b < self.sb.size).then(|| self.block_at(b))
    }

    /// The on-disk inode `inum`.
    pub fn inode(&self, inum: u32) -> Result<Dinode, Error> {
        if inum >= self.sb.ninodes {
            return Err(Error::BadInum {
                inum,
                ninodes: self.sb.ninodes,
            });
        }
        Ok(self.dinode(inum))
    }

    /// Resolves `path` from the root directory, like xv6's `namei`: empty
    /// components are skipped, so `""` and `"/"` name the root, and `.`/`..`
    /// are ordinary directory entries. Returns the inode number.
    pub fn lookup(&self, path: &str) -> Result<u32, Error> {
        let mut inum = ROOTINO;
        let mut walked = String::new();
        for name in path.split('/').filter(|c| !c.is_empty()) {
            let din = self.inode(inum)?;
            if din.typ != T_DIR {
                return Err(Error::NotADirectory {
                    path: display_path(&walked),
                });
            }
            let entries = self.dir_entries(&display_path(&walked), inum, &din)?;
            walked.push('/');
            walked.push_str(name);
            match entries
                .iter()
                .find(|de| !de.is_free() && de.name_eq(name.as_bytes()))
            {
                Some(de) => inum = u32::from(de.inum),
                None => return Err(Error::NotFound { path: walked }),
            }
        }
        Ok(inum)
    }

    /// The entries in use of the directory at `path`, in on-disk order
    /// (`.` and `..` included).
    pub fn read_dir(&self, path: &str) -> Result<Vec<Dirent>, Error> {
        let inum = self.lookup(path)?;
        let din = self.inode(inum)?;
        if din.typ != T_DIR {
            return Err(Error::NotADirectory { path: path.into() });
        }
        let mut entries = self.dir_entries(path, inum, &din)?;
        entries.retain(|de| !de.is_free());
        Ok(entries)
    }

    /// The contents of the regular file at `path`.
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>, Error> {
        let inum = self.lookup(path)?;
        let din = self.inode(inum)?;
        if din.typ != T_FILE {
            return Err(Error::NotAFile { path: path.into() });
        }
        self.contents(inum, &din)
    }

    /// The contents of inode `inum`, whatever its type.
    pub fn read_data(&self, inum: u32) -> Result<Vec<u8>, Error> {
        let din = self.inode(inum)?;
        self.contents(inum, &din)
    }

    /// Whether the bitmap marks block `b` in use. `b` must be below
    /// `sb.size`.
    pub(crate) fn bitmap_marked(&self, b: u32) -> bool {
        let (byte, mask) = bitmap_bit(b);
        self.block_at(bblock(b, &self.sb))[byte] & mask != 0
    }

    /// Inode `inum` without the range check: `inum` must be below
    /// `sb.ninodes`.
    pub(crate) fn dinode(&self, inum: u32) -> Dinode {
        Dinode::decode(&self.block_at(iblock(inum, &self.sb))[inode_offset(inum)..])
    }

    /// Block `b` without the range check: `b` must be below `sb.size`.
    pub(crate) fn block_at(&self, b: u32) -> &'a [u8] {
        let start = b as usize * BSIZE;
        &self.bytes[start..start + BSIZE]
    }

    /// The blocks `din` (inode `inum`) uses, checking that exactly the blocks
    /// its size needs are allocated and that all of them are data blocks.
    pub(crate) fn inode_blocks(&self, inum: u32, din: &Dinode) -> Result<InodeBlocks, Corruption> {
        if u64::from(din.size) > MAXFILE_BYTES {
            return Err(Corruption::SizeTooLarge {
                inum,
                size: din.size,
            });
        }
        let nb = (din.size as usize).div_ceil(BSIZE);
        let mut data = Vec::with_capacity(nb);
        for (fbn, &addr) in din.addrs[..NDIRECT].iter().enumerate() {
            self.check_pointer(inum, din, fbn, addr, nb)?;
            if fbn < nb {
                data.push(addr);
            }
        }
        let ind = din.addrs[NDIRECT];
        if nb <= NDIRECT {
            if ind != 0 {
                return Err(Corruption::BlockPastEnd {
                    inum,
                    fbn: NDIRECT,
                    size: din.size,
                });
            }
            return Ok(InodeBlocks {
                data,
                indirect: None,
            });
        }
        self.check_pointer(inum, din, NDIRECT, ind, nb)?;
        let block = self.block_at(ind);
        for i in 0..NINDIRECT {
            let addr = indirect_addr(block, i);
            let fbn = NDIRECT + i;
            self.check_pointer(inum, din, fbn, addr, nb)?;
            if fbn < nb {
                data.push(addr);
            }
        }
        Ok(InodeBlocks {
            data,
            indirect: Some(ind),
        })
    }

    /// Checks one block pointer of a file with `nb` blocks: present and in
    /// the data area if `fbn < nb`, absent otherwise.
    fn check_pointer(
        &self,
        inum: u32,
        din: &Dinode,
        fbn: usize,
        addr: u32,
        nb: usize,
    ) -> Result<(), Corruption> {
        let size = din.size;
        match (fbn < nb, addr) {
            (true, 0) => Err(Corruption::MissingBlock { inum, fbn, size }),
            (false, 0) => Ok(()),
            (false, _) => Err(Corruption::BlockPastEnd { inum, fbn, size }),
            (true, block) => {
                let datastart = self.sb.datastart();
                if block < datastart || block >= self.sb.size {
                    Err(Corruption::BlockOutOfRange {
                        inum,
                        block,
                        datastart,
                        size: self.sb.size,
                    })
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The bytes of inode `inum`.
    fn contents(&self, inum: u32, din: &Dinode) -> Result<Vec<u8>, Error> {
        let blocks = self.inode_blocks(inum, din)?;
        let mut data = Vec::with_capacity(blocks.data.len() * BSIZE);
        for &b in &blocks.data {
            data.extend_from_slice(self.block_at(b));
        }
        data.truncate(din.size as usize);
        Ok(data)
    }

    /// Every slot of directory `din` (inode `inum`, at `path`), free ones
    /// included.
    pub(crate) fn dir_entries(
        &self,
        path: &str,
        inum: u32,
        din: &Dinode,
    ) -> Result<Vec<Dirent>, Error> {
        let data = self.contents(inum, din)?;
        if !data.len().is_multiple_of(Dirent::SIZE) {
            return Err(Corruption::BadDirectory {
                path: path.into(),
                inum,
                detail: "has a size that is not a whole number of entries",
            }
            .into());
        }
        Ok(data
            .chunks_exact(Dirent::SIZE)
            .map(Dirent::decode)
            .collect())
    }
}

impl fmt::Debug for Image<'_> {
    /// Shows the superblock, not the megabytes of image.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("len", &self.bytes.len())
            .field("sb", &self.sb)
            .finish()
    }
}

/// The path `walked` as shown in messages: `/` for the root.
fn display_path(walked: &str) -> String {
    if walked.is_empty() {
        "/".into()
    } else {
        walked.into()
    }
}

/// Checks that the superblock's regions are in xv6's order, do not overlap
/// and fit in the image, so that every block it names can be read.
fn check_layout(sb: &Superblock) -> Result<(), Corruption> {
    let size = u64::from(sb.size);
    let nblocks = u64::from(sb.nblocks);
    let ninodes = u64::from(sb.ninodes);
    let nlog = u64::from(sb.nlog);
    let logstart = u64::from(sb.logstart);
    let inodestart = u64::from(sb.inodestart);
    let bmapstart = u64::from(sb.bmapstart);
    let detail = if nblocks > size {
        "there are more data blocks than blocks"
    } else if logstart < 2 {
        "the log overlaps the boot block or the superblock"
    } else if nlog == 0 {
        "there is no log header"
    } else if logstart + nlog > inodestart {
        "the log overlaps the inode blocks"
    } else if ninodes <= u64::from(ROOTINO) {
        "there is no root inode"
    } else if inodestart + ninodes.div_ceil(IPB as u64) > bmapstart {
        "the inode blocks overlap the bitmap"
    } else if bmapstart + size.div_ceil(BPB as u64) > size - nblocks {
        "the bitmap overlaps the data blocks"
    } else {
        return Ok(());
    };
    Err(Corruption::Layout { detail })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::ImageBuilder;
    use crate::layout::Layout;

    fn sample() -> Vec<u8> {
        let mut builder = ImageBuilder::default();
        builder.add_file("README", b"read me").unwrap();
        builder.add_dir("bin").unwrap();
        builder.add_file("bin/ls", b"ls").unwrap();
        builder.add_file("abcdefghijklmn", b"long").unwrap();
        builder.finish()
    }

    /// `sample()` with its superblock changed by `edit`.
    fn with_superblock(edit: impl FnOnce(&mut Superblock)) -> Vec<u8> {
        let mut bytes = sample();
        let mut sb = Superblock::decode(&bytes[BSIZE..]);
        edit(&mut sb);
        sb.encode(&mut bytes[BSIZE..]);
        bytes
    }

    fn layout_error(bytes: &[u8]) -> &'static str {
        match Image::parse(bytes) {
            Err(Error::Corrupt(Corruption::Layout { detail })) => detail,
            other => panic!("expected a layout error, got {other:?}"),
        }
    }

    #[test]
    fn short_images_are_truncated() {
        assert_eq!(
            Image::parse(&[]).unwrap_err(),
            Error::Truncated {
                len: 0,
                needed: 2048
            }
        );
        let bytes = sample();
        assert_eq!(
            Image::parse(&bytes[..bytes.len() - 1]).unwrap_err(),
            Error::Truncated {
                len: 2000 * 1024 - 1,
                needed: 2000 * 1024
            }
        );
        // Trailing bytes past the file system are ignored.
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0xee; 100]);
        Image::parse(&longer).unwrap().fsck().unwrap();
    }

    #[test]
    fn a_zero_superblock_has_bad_magic() {
        assert_eq!(
            Image::parse(&[0; 4096]).unwrap_err(),
            Error::BadMagic { magic: 0 }
        );
    }

    #[test]
    fn overlapping_regions_are_rejected() {
        assert_eq!(
            layout_error(&with_superblock(|sb| sb.nblocks = 2001)),
            "there are more data blocks than blocks"
        );
        assert_eq!(
            layout_error(&with_superblock(|sb| sb.logstart = 1)),
            "the log overlaps the boot block or the superblock"
        );
        assert_eq!(
            layout_error(&with_superblock(|sb| sb.nlog = 0)),
            "there is no log header"
        );
        assert_eq!(
            layout_error(&with_superblock(|sb| sb.nlog = 31)),
            "the log overlaps the inode blocks"
        );
        assert_eq!(
            layout_error(&with_superblock(|sb| sb.ninodes = 1)),
            "there is no root inode"
        );
        assert_eq!(
            layout_error(&with_superblock(|sb| sb.ninodes = 209)),
            "the inode blocks overlap the bitmap"
        );
        assert_eq!(
            layout_error(&with_superblock(|sb| sb.nblocks = 1955)),
            "the bitmap overlaps the data blocks"
        );
        // Extremes must not overflow.
        assert_eq!(
            layout_error(&with_superblock(|sb| {
                sb.nlog = u32::MAX;
                sb.inodestart = u32::MAX;
            })),
            "the log overlaps the inode blocks"
        );
        assert!(matches!(
            Image::parse(&with_superblock(|sb| sb.size = u32::MAX)),
            Err(Error::Truncated { .. })
        ));
        // 208 inodes still fit in 13 blocks.
        Image::parse(&with_superblock(|sb| sb.ninodes = 208)).unwrap();
    }

    #[test]
    fn debug_output_leaves_out_the_bytes() {
        let bytes = sample();
        let img = format!("{:?}", Image::parse(&bytes).unwrap());
        assert!(
            img.starts_with("Image { len: 2048000, sb: Superblock {"),
            "{img}"
        );
        assert!(img.len() < 300, "{img}");
        let builder = format!("{:?}", ImageBuilder::default());
        assert!(
            builder.contains("next_inum: 2, next_block: 47"),
            "{builder}"
        );
        assert!(builder.len() < 300, "{builder}");
    }

    #[test]
    fn blocks_and_inodes_are_range_checked() {
        let bytes = sample();
        let img = Image::parse(&bytes).unwrap();
        assert_eq!(img.block(1).unwrap().len(), BSIZE);
        assert_eq!(img.block(1999).unwrap().len(), BSIZE);
        assert_eq!(img.block(2000), None);
        assert!(img.inode(199).unwrap().is_free());
        assert_eq!(
            img.inode(200),
            Err(Error::BadInum {
                inum: 200,
                ninodes: 200
            })
        );
    }

    #[test]
    fn lookup_walks_from_the_root() {
        let bytes = sample();
        let img = Image::parse(&bytes).unwrap();
        assert_eq!(img.lookup(""), Ok(ROOTINO));
        assert_eq!(img.lookup("/"), Ok(ROOTINO));
        assert_eq!(img.lookup(".."), Ok(ROOTINO));
        assert_eq!(img.lookup("README"), Ok(2));
        assert_eq!(img.lookup("/bin/ls"), Ok(4));
        assert_eq!(img.lookup("bin/.."), Ok(ROOTINO));
        // Like xv6, only the first DIRSIZ bytes of a name count.
        assert_eq!(img.lookup("abcdefghijklmnopq"), Ok(5));
        assert_eq!(img.read_file("abcdefghijklmnopq").unwrap(), b"long");
    }

    #[test]
    fn lookup_failures_name_the_component() {
        let bytes = sample();
        let img = Image::parse(&bytes).unwrap();
        assert_eq!(
            img.lookup("bin/cat"),
            Err(Error::NotFound {
                path: "/bin/cat".into()
            })
        );
        assert_eq!(
            img.lookup("usr/bin/cat"),
            Err(Error::NotFound {
                path: "/usr".into()
            })
        );
        assert_eq!(
            img.lookup("README/x"),
            Err(Error::NotADirectory {
                path: "/README".into()
            })
        );
        assert_eq!(
            img.read_dir("README"),
            Err(Error::NotADirectory {
                path: "README".into()
            })
        );
        assert_eq!(
            img.read_file("/bin"),
            Err(Error::NotAFile {
                path: "/bin".into()
            })
        );
    }

    #[test]
    fn read_data_reads_any_inode() {
        let bytes = sample();
        let img = Image::parse(&bytes).unwrap();
        let root = img.read_data(ROOTINO).unwrap();
        assert_eq!(root.len(), BSIZE);
        assert_eq!(Dirent::decode(&root[32..]), Dirent::new(2, b"README"));
        assert_eq!(img.read_data(2).unwrap(), b"read me");
        assert_eq!(img.read_data(100).unwrap(), b"");
        assert!(matches!(img.read_data(500), Err(Error::BadInum { .. })));
    }

    #[test]
    fn reading_through_a_bad_pointer_is_an_error() {
        let mut bytes = sample();
        let sb = Layout::DEFAULT.superblock();
        let off = iblock(2, &sb) as usize * BSIZE + inode_offset(2);
        let mut din = Dinode::decode(&bytes[off..]);
        din.addrs[0] = 3;
        din.encode(&mut bytes[off..]);
        let img = Image::parse(&bytes).unwrap();
        assert_eq!(
            img.read_file("README"),
            Err(Error::Corrupt(Corruption::BlockOutOfRange {
                inum: 2,
                block: 3,
                datastart: 46,
                size: 2000
            }))
        );
    }
}
