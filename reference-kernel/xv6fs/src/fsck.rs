//! The consistency check of a whole image, [`Image::fsck`], and the
//! [`Usage`] it reports when the image is consistent.
//!
//! The checks run in a fixed order (log, inodes and their blocks, bitmap,
//! directory tree, link counts) and the first problem found is returned, so
//! the same image always yields the same error.

use std::collections::BTreeSet;

use crate::dinode::{Dinode, T_DEVICE, T_DIR};
use crate::error::{Corruption, Error};
use crate::image::Image;
use crate::layout::ROOTINO;
use crate::log::LogHeader;

/// What a consistent image uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Allocated inodes, the root included.
    pub inodes: u32,
    /// Data blocks in use, indirect blocks included.
    pub blocks: u32,
}

impl Image<'_> {
    /// Checks that the image is consistent, as xv6's mkfs leaves it and as
    /// its kernel keeps it:
    ///
    /// - the log is empty (nothing committed but not installed);
    /// - inode 0 is free, the root inode is a directory, every allocated
    ///   inode has a known type;
    /// - every inode has exactly the blocks its size needs, all in the data
    ///   area, and no block is used twice;
    /// - the bitmap marks exactly the metadata blocks and the blocks inodes
    ///   use;
    /// - every directory reachable from the root has a whole number of
    ///   entries, `.` naming itself and `..` naming its parent, no duplicate
    ///   or empty names, and entries only for allocated inodes; no directory
    ///   is reachable twice;
    /// - every allocated inode is named by some entry, and its `nlink`
    ///   equals the number of entries naming it, not counting `.` (xv6's
    ///   rule: a directory gets one link from its parent and one from each
    ///   subdirectory's `..`).
    pub fn fsck(&self) -> Result<Usage, Error> {
        let sb = *self.superblock();
        let log = LogHeader::decode(self.block_at(sb.logstart));
        if log.n != 0 {
            return Err(Corruption::LogNotEmpty { n: log.n }.into());
        }

        let inodes: Vec<Dinode> = (0..sb.ninodes).map(|inum| self.dinode(inum)).collect();
        if !inodes[0].is_free() {
            return Err(Corruption::InodeZeroInUse.into());
        }
        if inodes[ROOTINO as usize].typ != T_DIR {
            return Err(Corruption::RootNotDirectory.into());
        }

        // owner[b] is the inode using block b, 0 if none (inode 0 never
        // owns anything).
        let mut owner = vec![0u32; sb.size as usize];
        let mut usage = Usage::default();
        for (inum, din) in (0u32..).zip(&inodes).skip(1) {
            if din.is_free() {
                continue;
            }
            if !(T_DIR..=T_DEVICE).contains(&din.typ) {
                return Err(Corruption::BadType { inum, typ: din.typ }.into());
            }
            usage.inodes += 1;
            let blocks = self.inode_blocks(inum, din)?;
            for &b in blocks.data.iter().chain(&blocks.indirect) {
                let first = owner[b as usize];
                if first != 0 {
                    return Err(Corruption::BlockReferencedTwice {
                        block: b,
                        first,
                        second: inum,
                    }
                    .into());
                }
                owner[b as usize] = inum;
                usage.blocks += 1;
            }
        }

        let datastart = sb.datastart();
        for (b, &owner) in (0u32..).zip(&owner) {
            let used = b < datastart || owner != 0;
            let marked = self.bitmap_marked(b);
            if marked != used {
                return Err(Corruption::BitmapMismatch { block: b, marked }.into());
            }
        }

        let refs = self.count_references(&inodes)?;

        for (inum, din) in (0u32..).zip(&inodes).skip(1) {
            if din.is_free() {
                continue;
            }
            let refs = refs[inum as usize];
            if refs == 0 {
                return Err(Corruption::Unreachable { inum }.into());
            }
            if i64::from(din.nlink) != i64::from(refs) {
                return Err(Corruption::NlinkMismatch {
                    inum,
                    nlink: din.nlink,
                    refs,
                }
                .into());
            }
        }
        Ok(usage)
    }

    /// Walks the directory tree from the root, checking each directory, and
    /// returns for each inode the number of entries naming it (`.` entries
    /// excluded).
    fn count_references(&self, inodes: &[Dinode]) -> Result<Vec<u32>, Error> {
        let mut refs = vec![0u32; inodes.len()];
        let mut seen = vec![false; inodes.len()];
        seen[ROOTINO as usize] = true;
        // (directory, its parent, its path); the root is its own parent.
        let mut pending = vec![(ROOTINO, ROOTINO, String::from("/"))];
        while let Some((dir, parent, path)) = pending.pop() {
            let bad = |detail| Corruption::BadDirectory {
                path: path.clone(),
                inum: dir,
                detail,
            };
            let entries = self.dir_entries(&path, dir, &inodes[dir as usize])?;
            let mut names = BTreeSet::new();
            let (mut dot, mut dotdot) = (false, false);
            for de in entries.iter().filter(|de| !de.is_free()) {
                let name = de.name();
                let inum = u32::from(de.inum);
                let entry_path = child_path(&path, name);
                if name.is_empty() {
                    return Err(bad("has an entry with an empty name").into());
                }
                if !names.insert(name) {
                    return Err(Corruption::DuplicateName { path: entry_path }.into());
                }
                let Some(target) = inodes.get(inum as usize) else {
                    return Err(Corruption::EntryOutOfRange {
                        path: entry_path,
                        inum,
                    }
                    .into());
                };
                if target.is_free() {
                    return Err(Corruption::EntryToFreeInode {
                        path: entry_path,
                        inum,
                    }
                    .into());
                }
                match name {
                    b"." => {
                        if inum != dir {
                            return Err(bad("has a `.` entry that does not name itself").into());
                        }
                        dot = true;
                    }
                    b".." => {
                        if inum != parent {
                            return Err(
                                bad("has a `..` entry that does not name its parent").into()
                            );
                        }
                        dotdot = true;
                        refs[inum as usize] += 1;
                    }
                    _ => {
                        refs[inum as usize] += 1;
                        if target.typ == T_DIR {
                            if seen[inum as usize] {
                                return Err(Corruption::DirectoryLinkedTwice {
                                    path: entry_path,
                                    inum,
                                }
                                .into());
                            }
                            seen[inum as usize] = true;
                            pending.push((inum, dir, entry_path));
                        }
                    }
                }
            }
            if !dot {
                return Err(bad("has no `.` entry").into());
            }
            if !dotdot {
                return Err(bad("has no `..` entry").into());
            }
        }
        Ok(refs)
    }
}

/// The path of entry `name` in the directory at `dir`.
fn child_path(dir: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::ImageBuilder;
    use crate::dinode::{NDIRECT, T_FILE, set_indirect_addr};
    use crate::dirent::Dirent;
    use crate::layout::{BSIZE, Layout, bblock, bitmap_bit, iblock, inode_offset};
    use crate::superblock::Superblock;

    // The sample image: inodes and the blocks they own.
    const README: u32 = 2; // blocks 47, 48
    const BIG: u32 = 3; // blocks 49..=60, indirect 61, then 62
    const EMPTY: u32 = 4; // no blocks
    const BIN: u32 = 5; // block 63
    const LS: u32 = 6; // block 64
    const ROOT_BLOCK: usize = 46;
    const BIN_BLOCK: usize = 63;

    fn sample() -> Vec<u8> {
        let mut builder = ImageBuilder::default();
        assert_eq!(builder.add_file("README", &[b'r'; 2000]), Ok(README));
        assert_eq!(
            builder.add_file("big", &[b'b'; NDIRECT * BSIZE + 5]),
            Ok(BIG)
        );
        assert_eq!(builder.add_file("empty", b""), Ok(EMPTY));
        assert_eq!(builder.add_dir("bin"), Ok(BIN));
        assert_eq!(builder.add_file("bin/ls", &[b'l'; 100]), Ok(LS));
        builder.finish()
    }

    fn fsck(bytes: &[u8]) -> Result<Usage, Error> {
        Image::parse(bytes)?.fsck()
    }

    fn corruption(bytes: &[u8]) -> Corruption {
        match fsck(bytes) {
            Err(Error::Corrupt(c)) => c,
            other => panic!("expected a corruption, got {other:?}"),
        }
    }

    fn edit_inode(bytes: &mut [u8], inum: u32, edit: impl FnOnce(&mut Dinode)) {
        let sb = Layout::DEFAULT.superblock();
        let off = iblock(inum, &sb) as usize * BSIZE + inode_offset(inum);
        let mut din = Dinode::decode(&bytes[off..]);
        edit(&mut din);
        din.encode(&mut bytes[off..]);
    }

    fn set_bitmap(bytes: &mut [u8], b: u32, in_use: bool) {
        let sb = Layout::DEFAULT.superblock();
        let (byte, mask) = bitmap_bit(b);
        let at = bblock(b, &sb) as usize * BSIZE + byte;
        if in_use {
            bytes[at] |= mask;
        } else {
            bytes[at] &= !mask;
        }
    }

    /// Writes `de` into slot `slot` of the directory block `block`.
    fn put_entry(bytes: &mut [u8], block: usize, slot: usize, de: Dirent) {
        de.encode(&mut bytes[block * BSIZE + slot * Dirent::SIZE..]);
    }

    /// The root's first free slot: `.`, `..`, README, big, empty, bin.
    const ROOT_FREE_SLOT: usize = 6;

    #[test]
    fn a_built_image_is_consistent() {
        assert_eq!(
            fsck(&sample()),
            Ok(Usage {
                inodes: 6,
                blocks: 1 + 2 + (NDIRECT as u32 + 2) + 1 + 1
            })
        );
    }

    #[test]
    fn sample_allocation_is_as_documented() {
        let bytes = sample();
        let img = Image::parse(&bytes).unwrap();
        assert_eq!(img.inode(README).unwrap().addrs[..2], [47, 48]);
        assert_eq!(img.inode(BIG).unwrap().addrs[NDIRECT], 61);
        assert_eq!(img.inode(BIN).unwrap().addrs[0], BIN_BLOCK as u32);
        assert_eq!(img.inode(LS).unwrap().addrs[0], 64);
        assert_eq!(img.inode(ROOTINO).unwrap().addrs[0], ROOT_BLOCK as u32);
        assert_eq!(img.read_dir("/").unwrap().len(), ROOT_FREE_SLOT);
    }

    #[test]
    fn used_block_free_in_the_bitmap() {
        let mut bytes = sample();
        set_bitmap(&mut bytes, 48, false);
        assert_eq!(
            corruption(&bytes),
            Corruption::BitmapMismatch {
                block: 48,
                marked: false
            }
        );
    }

    #[test]
    fn unused_block_marked_in_the_bitmap() {
        let mut bytes = sample();
        set_bitmap(&mut bytes, 100, true);
        assert_eq!(
            corruption(&bytes),
            Corruption::BitmapMismatch {
                block: 100,
                marked: true
            }
        );
    }

    #[test]
    fn metadata_block_free_in_the_bitmap() {
        let mut bytes = sample();
        set_bitmap(&mut bytes, 10, false);
        assert_eq!(
            corruption(&bytes),
            Corruption::BitmapMismatch {
                block: 10,
                marked: false
            }
        );
    }

    #[test]
    fn block_shared_by_two_inodes() {
        let mut bytes = sample();
        edit_inode(&mut bytes, LS, |din| din.addrs[0] = 47);
        assert_eq!(
            corruption(&bytes),
            Corruption::BlockReferencedTwice {
                block: 47,
                first: README,
                second: LS
            }
        );
    }

    #[test]
    fn block_used_twice_by_one_inode() {
        let mut bytes = sample();
        edit_inode(&mut bytes, README, |din| din.addrs[1] = 47);
        assert_eq!(
            corruption(&bytes),
            Corruption::BlockReferencedTwice {
                block: 47,
                first: README,
                second: README
            }
        );
    }

    #[test]
    fn indirect_entry_duplicating_a_block() {
        let mut bytes = sample();
        set_indirect_addr(&mut bytes[61 * BSIZE..62 * BSIZE], 0, 49);
        assert_eq!(
            corruption(&bytes),
            Corruption::BlockReferencedTwice {
                block: 49,
                first: BIG,
                second: BIG
            }
        );
    }

    #[test]
    fn indirect_entry_past_the_size() {
        let mut bytes = sample();
        set_indirect_addr(&mut bytes[61 * BSIZE..62 * BSIZE], 1, 100);
        assert_eq!(
            corruption(&bytes),
            Corruption::BlockPastEnd {
                inum: BIG,
                fbn: NDIRECT + 1,
                size: (NDIRECT * BSIZE + 5) as u32
            }
        );
    }

    #[test]
    fn pointers_into_metadata_or_past_the_end() {
        for bad in [0, 1, 45, 2000, u32::MAX] {
            let mut bytes = sample();
            edit_inode(&mut bytes, README, |din| din.addrs[0] = bad);
            let expected = if bad == 0 {
                Corruption::MissingBlock {
                    inum: README,
                    fbn: 0,
                    size: 2000,
                }
            } else {
                Corruption::BlockOutOfRange {
                    inum: README,
                    block: bad,
                    datastart: 46,
                    size: 2000,
                }
            };
            assert_eq!(corruption(&bytes), expected, "block {bad}");
        }
    }

    #[test]
    fn size_larger_than_the_blocks() {
        let mut bytes = sample();
        edit_inode(&mut bytes, README, |din| din.size = 2049);
        assert_eq!(
            corruption(&bytes),
            Corruption::MissingBlock {
                inum: README,
                fbn: 2,
                size: 2049
            }
        );
    }

    #[test]
    fn size_smaller_than_the_blocks() {
        let mut bytes = sample();
        edit_inode(&mut bytes, README, |din| din.size = 1024);
        assert_eq!(
            corruption(&bytes),
            Corruption::BlockPastEnd {
                inum: README,
                fbn: 1,
                size: 1024
            }
        );
    }

    #[test]
    fn indirect_block_the_size_does_not_need() {
        let mut bytes = sample();
        edit_inode(&mut bytes, BIG, |din| din.size = (NDIRECT * BSIZE) as u32);
        assert_eq!(
            corruption(&bytes),
            Corruption::BlockPastEnd {
                inum: BIG,
                fbn: NDIRECT,
                size: (NDIRECT * BSIZE) as u32
            }
        );
    }

    #[test]
    fn size_beyond_maxfile() {
        let mut bytes = sample();
        edit_inode(&mut bytes, EMPTY, |din| din.size = u32::MAX);
        assert_eq!(
            corruption(&bytes),
            Corruption::SizeTooLarge {
                inum: EMPTY,
                size: u32::MAX
            }
        );
    }

    #[test]
    fn entry_naming_a_free_inode() {
        let mut bytes = sample();
        edit_inode(&mut bytes, EMPTY, |din| *din = Dinode::default());
        assert_eq!(
            corruption(&bytes),
            Corruption::EntryToFreeInode {
                path: "/empty".into(),
                inum: EMPTY
            }
        );
    }

    #[test]
    fn entry_past_the_inode_table() {
        let mut bytes = sample();
        put_entry(
            &mut bytes,
            ROOT_BLOCK,
            ROOT_FREE_SLOT,
            Dirent::new(300, b"x"),
        );
        assert_eq!(
            corruption(&bytes),
            Corruption::EntryOutOfRange {
                path: "/x".into(),
                inum: 300
            }
        );
    }

    #[test]
    fn file_nlink_too_high() {
        let mut bytes = sample();
        edit_inode(&mut bytes, README, |din| din.nlink = 2);
        assert_eq!(
            corruption(&bytes),
            Corruption::NlinkMismatch {
                inum: README,
                nlink: 2,
                refs: 1
            }
        );
    }

    #[test]
    fn second_link_to_a_file_without_nlink() {
        let mut bytes = sample();
        put_entry(
            &mut bytes,
            BIN_BLOCK,
            3,
            Dirent::new(README as u16, b"readme"),
        );
        assert_eq!(
            corruption(&bytes),
            Corruption::NlinkMismatch {
                inum: README,
                nlink: 1,
                refs: 2
            }
        );
        // With the link count raised, a hard link is consistent.
        edit_inode(&mut bytes, README, |din| din.nlink = 2);
        fsck(&bytes).unwrap();
    }

    #[test]
    fn parent_nlink_must_count_subdirectories() {
        let mut bytes = sample();
        edit_inode(&mut bytes, ROOTINO, |din| din.nlink = 1);
        assert_eq!(
            corruption(&bytes),
            Corruption::NlinkMismatch {
                inum: ROOTINO,
                nlink: 1,
                refs: 2
            }
        );
    }

    #[test]
    fn inode_no_entry_names() {
        let mut bytes = sample();
        // Free the root's entry for `empty` (slot 4).
        put_entry(&mut bytes, ROOT_BLOCK, 4, Dirent::default());
        assert_eq!(corruption(&bytes), Corruption::Unreachable { inum: EMPTY });
    }

    #[test]
    fn allocated_inode_with_no_links_is_unreachable() {
        let mut bytes = sample();
        edit_inode(&mut bytes, 7, |din| din.typ = T_FILE);
        assert_eq!(corruption(&bytes), Corruption::Unreachable { inum: 7 });
    }

    #[test]
    fn unknown_inode_type() {
        let mut bytes = sample();
        edit_inode(&mut bytes, EMPTY, |din| din.typ = 9);
        assert_eq!(
            corruption(&bytes),
            Corruption::BadType {
                inum: EMPTY,
                typ: 9
            }
        );
    }

    #[test]
    fn root_must_be_a_directory() {
        let mut bytes = sample();
        edit_inode(&mut bytes, ROOTINO, |din| din.typ = T_FILE);
        assert_eq!(corruption(&bytes), Corruption::RootNotDirectory);
    }

    #[test]
    fn inode_zero_must_stay_free() {
        let mut bytes = sample();
        edit_inode(&mut bytes, 0, |din| din.typ = T_FILE);
        assert_eq!(corruption(&bytes), Corruption::InodeZeroInUse);
    }

    #[test]
    fn log_must_be_empty() {
        let mut bytes = sample();
        let mut header = LogHeader {
            n: 1,
            ..LogHeader::default()
        };
        header.block[0] = 47;
        header.encode(&mut bytes[2 * BSIZE..]);
        assert_eq!(corruption(&bytes), Corruption::LogNotEmpty { n: 1 });
    }

    #[test]
    fn directory_linked_twice() {
        let mut bytes = sample();
        put_entry(
            &mut bytes,
            ROOT_BLOCK,
            ROOT_FREE_SLOT,
            Dirent::new(BIN as u16, b"again"),
        );
        assert_eq!(
            corruption(&bytes),
            Corruption::DirectoryLinkedTwice {
                path: "/again".into(),
                inum: BIN
            }
        );
    }

    #[test]
    fn directory_cycle() {
        let mut bytes = sample();
        put_entry(&mut bytes, BIN_BLOCK, 3, Dirent::new(1, b"loop"));
        assert_eq!(
            corruption(&bytes),
            Corruption::DirectoryLinkedTwice {
                path: "/bin/loop".into(),
                inum: ROOTINO
            }
        );
    }

    #[test]
    fn dot_must_name_the_directory() {
        let mut bytes = sample();
        put_entry(&mut bytes, BIN_BLOCK, 0, Dirent::new(1, b"."));
        assert_eq!(
            corruption(&bytes),
            Corruption::BadDirectory {
                path: "/bin".into(),
                inum: BIN,
                detail: "has a `.` entry that does not name itself"
            }
        );
    }

    #[test]
    fn dotdot_must_name_the_parent() {
        let mut bytes = sample();
        put_entry(&mut bytes, BIN_BLOCK, 1, Dirent::new(BIN as u16, b".."));
        assert_eq!(
            corruption(&bytes),
            Corruption::BadDirectory {
                path: "/bin".into(),
                inum: BIN,
                detail: "has a `..` entry that does not name its parent"
            }
        );
    }

    #[test]
    fn missing_dot_and_dotdot() {
        let mut bytes = sample();
        put_entry(&mut bytes, BIN_BLOCK, 1, Dirent::default());
        assert_eq!(
            corruption(&bytes),
            Corruption::BadDirectory {
                path: "/bin".into(),
                inum: BIN,
                detail: "has no `..` entry"
            }
        );
        put_entry(&mut bytes, BIN_BLOCK, 0, Dirent::default());
        assert_eq!(
            corruption(&bytes),
            Corruption::BadDirectory {
                path: "/bin".into(),
                inum: BIN,
                detail: "has no `.` entry"
            }
        );
    }

    #[test]
    fn duplicate_names() {
        let mut bytes = sample();
        put_entry(
            &mut bytes,
            ROOT_BLOCK,
            ROOT_FREE_SLOT,
            Dirent::new(EMPTY as u16, b"README"),
        );
        assert_eq!(
            corruption(&bytes),
            Corruption::DuplicateName {
                path: "/README".into()
            }
        );
    }

    #[test]
    fn empty_names() {
        let mut bytes = sample();
        put_entry(
            &mut bytes,
            ROOT_BLOCK,
            ROOT_FREE_SLOT,
            Dirent::new(EMPTY as u16, b""),
        );
        assert_eq!(
            corruption(&bytes),
            Corruption::BadDirectory {
                path: "/".into(),
                inum: ROOTINO,
                detail: "has an entry with an empty name"
            }
        );
    }

    #[test]
    fn directory_size_must_be_whole_entries() {
        let mut bytes = sample();
        edit_inode(&mut bytes, BIN, |din| din.size = 1000);
        assert_eq!(
            corruption(&bytes),
            Corruption::BadDirectory {
                path: "/bin".into(),
                inum: BIN,
                detail: "has a size that is not a whole number of entries"
            }
        );
    }

    #[test]
    fn superblock_errors_surface_through_fsck() {
        let mut bytes = sample();
        let mut sb = Superblock::decode(&bytes[BSIZE..]);
        sb.magic = 0;
        sb.encode(&mut bytes[BSIZE..]);
        assert_eq!(fsck(&bytes), Err(Error::BadMagic { magic: 0 }));
    }

    #[test]
    fn mangled_metadata_never_panics() {
        // Overwrite metadata and directory bytes one at a time with
        // pseudo-random values: parse and fsck must return, Ok or Err.
        let pristine = sample();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut failures = 0;
        for _ in 0..3000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let r = (state >> 33) as usize;
            let region = [
                BSIZE..BSIZE + 32,
                32 * BSIZE..33 * BSIZE,
                45 * BSIZE..46 * BSIZE,
                ROOT_BLOCK * BSIZE..(ROOT_BLOCK + 1) * BSIZE,
                BIN_BLOCK * BSIZE..(BIN_BLOCK + 1) * BSIZE,
                61 * BSIZE..62 * BSIZE,
            ];
            let range = &region[r % region.len()];
            let at = range.start + (r / region.len()) % range.len();
            let mut bytes = pristine.clone();
            let value = (state >> 17) as u8;
            if bytes[at] == value {
                continue;
            }
            bytes[at] = value;
            if fsck(&bytes).is_err() {
                failures += 1;
            }
        }
        // Many bytes do not matter (free inodes apart from their type, names
        // in free directory slots, bitmap bits past the image's end), but
        // the rest must be caught.
        assert!(failures > 1000, "only {failures} corruptions caught");
    }
}
