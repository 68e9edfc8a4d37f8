//! File system implementation. Five layers:
//!   + Blocks: allocator for raw disk blocks.
//!   + Log: crash recovery for multi-step updates.
//!   + Files: inode allocator, reading, writing, metadata.
//!   + Directories: inode with special contents (list of other inodes!)
//!   + Names: paths like /usr/rtm/xv6/fs.c for convenient naming.
//!
//! This file contains the low-level file system manipulation routines. The
//! (higher-level) system call implementations are in sysfile.rs. This is
//! xv6's `fs.c`; the on-disk format (superblock, dinode, dirent) comes from
//! the `xv6fs` crate, which the host-side image writer shares.
//!
//! Inodes. An inode describes a single unnamed file. The inode disk
//! structure holds metadata: the file's type, its size, the number of links
//! referring to it, and the list of blocks holding the file's content.
//!
//! The kernel keeps a table of in-use inodes in memory to provide a place
//! for synchronizing access to inodes used by multiple processes. The
//! in-memory inodes include book-keeping information that is not stored on
//! disk: the reference count and `valid`.
//!
//! An inode and its in-memory representation go through a sequence of
//! states before they can be used by the rest of the file system code:
//! * Allocation: an inode is allocated if its type (on disk) is non-zero.
//!   ialloc() allocates, and iput() frees if the reference and link counts
//!   have fallen to zero.
//! * Referencing in table: an entry in the inode table is free if its
//!   reference count is zero. Otherwise it tracks the number of in-memory
//!   pointers to the entry (open files and current directories). iget()
//!   finds or creates a table entry and increments its ref; iput()
//!   decrements ref.
//! * Valid: the information (type, size, &c) in an inode table entry is only
//!   correct when `valid` is true. ilock() reads the inode from the disk and
//!   sets `valid`, while iput() clears it if ref has fallen to zero.
//! * Locked: file system code may only examine and modify the information in
//!   an inode and its content if it has first locked the inode: ilock()
//!   returns an `InodeGuard`.
//!
//! Thus a typical sequence is:
//!   let ip = iget(dev, inum);
//!   let mut g = ilock(ip);
//!   ... examine and modify g.xxx ...
//!   drop(g);            // iunlock
//!   iput(ip);
//!
//! ilock() is separate from iget() so that system calls can get a long-term
//! reference to an inode (as for an open file) and only lock it for short
//! periods (e.g., in read()). The separation also helps avoid deadlock and
//! races during pathname lookup. iget() increments ref so that the inode
//! stays in the table and pointers to it remain valid.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU32, Ordering};

use crate::bio::bread;
use crate::log::{initlog, log_write};
use crate::param::{NINODE, ROOTDEV};
use crate::path::skipelem;
use crate::proc::{either_copyin, either_copyout, myproc};
use crate::sleeplock::{Sleeplock, SleeplockGuard};
use crate::spinlock::{Spinlock, SpinlockGuard};
use crate::stat::Stat;
use xv6fs::{
    BPB, BSIZE, DIRSIZ, Dinode, Dirent, IPB, MAXFILE, NDIRECT, NINDIRECT, Superblock, T_DIR,
    bblock, bitmap_bit, iblock, indirect_addr, inode_offset, names_equal, set_indirect_addr,
};

pub use xv6fs::ROOTINO;

/// There should be one superblock per disk device, but we run with only one
/// device.
static SB: Spinlock<Superblock> = Spinlock::new(
    Superblock {
        magic: 0,
        size: 0,
        nblocks: 0,
        ninodes: 0,
        nlog: 0,
        logstart: 0,
        inodestart: 0,
        bmapstart: 0,
    },
    "sb",
);

fn sb() -> Superblock {
    *SB.lock()
}

/// Read the super block.
fn readsb(dev: u32) -> Superblock {
    let bp = bread(dev, 1);
    Superblock::decode(&bp.data)
}

/// Init fs.
pub fn fsinit(dev: u32) {
    let sb = readsb(dev);
    if !sb.has_magic() {
        panic!("invalid file system");
    }
    *SB.lock() = sb;
    initlog(dev, &sb);
}

/// Zero a block.
fn bzero(dev: u32, bno: u32) {
    let mut bp = bread(dev, bno);
    bp.data.fill(0);
    log_write(&bp);
}

// Blocks.

/// Allocate a zeroed disk block. Returns 0 if out of disk space.
fn balloc(dev: u32) -> u32 {
    let sb = sb();
    let mut b = 0;
    while b < sb.size {
        let mut bp = bread(dev, bblock(b, &sb));
        let mut bi = 0;
        while bi < BPB as u32 && b + bi < sb.size {
            let (byte, mask) = bitmap_bit(b + bi);
            if bp.data[byte] & mask == 0 {
                // Is block free?
                bp.data[byte] |= mask; // Mark block in use.
                log_write(&bp);
                drop(bp);
                bzero(dev, b + bi);
                return b + bi;
            }
            bi += 1;
        }
        b += BPB as u32;
    }
    crate::println!("balloc: out of blocks");
    0
}

/// Free a disk block.
fn bfree(dev: u32, b: u32) {
    let sb = sb();
    let mut bp = bread(dev, bblock(b, &sb));
    let (byte, mask) = bitmap_bit(b);
    if bp.data[byte] & mask == 0 {
        panic!("freeing free block");
    }
    bp.data[byte] &= !mask;
    log_write(&bp);
}

// Inodes.

/// The in-memory copy of an inode's disk fields, guarded by its sleep lock.
pub struct InodeData {
    /// Has the inode been read from disk?
    valid: bool,
    /// Copy of disk inode.
    pub typ: i16,
    pub major: i16,
    pub minor: i16,
    pub nlink: i16,
    pub size: u32,
    pub addrs: [u32; NDIRECT + 1],
}

/// An in-memory inode.
pub struct Inode {
    /// Device number.
    dev: AtomicU32,
    /// Inode number.
    inum: AtomicU32,
    /// Reference count; ITABLE must be held when using this.
    refcnt: UnsafeCell<i32>,
    /// Protects everything below here.
    lock: Sleeplock<InodeData>,
}

// SAFETY: refcnt is only used with ITABLE held; the rest is atomic or
// behind the sleep lock.
unsafe impl Sync for Inode {}

impl Inode {
    pub fn dev(&self) -> u32 {
        self.dev.load(Ordering::Relaxed)
    }

    pub fn inum(&self) -> u32 {
        self.inum.load(Ordering::Relaxed)
    }

    /// The reference count, given proof that ITABLE is held.
    #[expect(clippy::mut_from_ref, reason = "ITABLE serialises access")]
    fn refcnt<'a>(&'a self, _itable: &SpinlockGuard<'_, ()>) -> &'a mut i32 {
        // SAFETY: the guard proves ITABLE is held, which guards refcnt.
        unsafe { &mut *self.refcnt.get() }
    }
}

/// Guards the inode table's reference counts (and dev/inum assignment).
static ITABLE: Spinlock<()> = Spinlock::new((), "itable");

static INODES: [Inode; NINODE] = [const {
    Inode {
        dev: AtomicU32::new(0),
        inum: AtomicU32::new(0),
        refcnt: UnsafeCell::new(0),
        lock: Sleeplock::new(
            InodeData {
                valid: false,
                typ: 0,
                major: 0,
                minor: 0,
                nlink: 0,
                size: 0,
                addrs: [0; NDIRECT + 1],
            },
            "inode",
        ),
    }
}; NINODE];

/// A locked inode: proof that the current process holds the inode's sleep
/// lock, with access to its fields. Dropping it unlocks (xv6's iunlock).
pub struct InodeGuard {
    ip: &'static Inode,
    data: SleeplockGuard<'static, InodeData>,
}

impl InodeGuard {
    /// The inode this guard locks.
    pub fn inode(&self) -> &'static Inode {
        self.ip
    }

    pub fn dev(&self) -> u32 {
        self.ip.dev()
    }

    pub fn inum(&self) -> u32 {
        self.ip.inum()
    }
}

impl Deref for InodeGuard {
    type Target = InodeData;
    fn deref(&self) -> &InodeData {
        &self.data
    }
}

impl DerefMut for InodeGuard {
    fn deref_mut(&mut self) -> &mut InodeData {
        &mut self.data
    }
}

/// Allocate an inode on device dev. Mark it as allocated by giving it type
/// typ. Returns an unlocked but allocated and referenced inode, or None if
/// there is no free inode.
pub fn ialloc(dev: u32, typ: i16) -> Option<&'static Inode> {
    let sb = sb();
    for inum in 1..sb.ninodes {
        let mut bp = bread(dev, iblock(inum, &sb));
        let off = inode_offset(inum);
        let dip = Dinode::decode(&bp.data[off..off + Dinode::SIZE]);
        if dip.is_free() {
            // a free inode
            let dip = Dinode {
                typ,
                ..Dinode::default()
            };
            dip.encode(&mut bp.data[off..off + Dinode::SIZE]);
            log_write(&bp); // mark it allocated on the disk
            drop(bp);
            return Some(iget(dev, inum));
        }
    }
    crate::println!("ialloc: no inodes");
    None
}

/// Copy a modified in-memory inode to disk. Must be called after every
/// change to an inode field that lives on disk. Caller must hold the inode
/// lock (the guard).
pub fn iupdate(ip: &InodeGuard) {
    let sb = sb();
    let mut bp = bread(ip.dev(), iblock(ip.inum(), &sb));
    let off = inode_offset(ip.inum());
    let dip = Dinode {
        typ: ip.typ,
        major: ip.major,
        minor: ip.minor,
        nlink: ip.nlink,
        size: ip.size,
        addrs: ip.addrs,
    };
    dip.encode(&mut bp.data[off..off + Dinode::SIZE]);
    log_write(&bp);
}

/// Find the inode with number inum on device dev and return the in-memory
/// copy. Does not lock the inode and does not read it from disk.
pub fn iget(dev: u32, inum: u32) -> &'static Inode {
    let itable = ITABLE.lock();

    // Is the inode already in the table?
    let mut empty = None;
    for ip in INODES.iter() {
        let refcnt = ip.refcnt(&itable);
        if *refcnt > 0 && ip.dev() == dev && ip.inum() == inum {
            *refcnt += 1;
            return ip;
        }
        if empty.is_none() && *refcnt == 0 {
            // Remember empty slot.
            empty = Some(ip);
        }
    }

    // Recycle an inode entry.
    let Some(ip) = empty else {
        panic!("iget: no inodes");
    };
    ip.dev.store(dev, Ordering::Relaxed);
    ip.inum.store(inum, Ordering::Relaxed);
    *ip.refcnt(&itable) = 1;
    // SAFETY: refcnt was 0, so no process holds or waits for the inode's
    // lock, and ITABLE keeps anyone from finding it meanwhile.
    unsafe { ip.lock.get_mut_unchecked().valid = false };
    ip
}

/// Increment reference count for ip. Returns ip to enable ip = idup(ip1)
/// idiom.
pub fn idup(ip: &'static Inode) -> &'static Inode {
    let itable = ITABLE.lock();
    *ip.refcnt(&itable) += 1;
    ip
}

/// Lock the given inode. Reads the inode from disk if necessary.
pub fn ilock(ip: &'static Inode) -> InodeGuard {
    {
        let itable = ITABLE.lock();
        if *ip.refcnt(&itable) < 1 {
            panic!("ilock");
        }
    }

    let mut g = InodeGuard {
        ip,
        data: ip.lock.lock(),
    };

    if !g.valid {
        let sb = sb();
        let bp = bread(ip.dev(), iblock(ip.inum(), &sb));
        let off = inode_offset(ip.inum());
        let dip = Dinode::decode(&bp.data[off..off + Dinode::SIZE]);
        drop(bp);
        g.typ = dip.typ;
        g.major = dip.major;
        g.minor = dip.minor;
        g.nlink = dip.nlink;
        g.size = dip.size;
        g.addrs = dip.addrs;
        g.valid = true;
        if g.typ == 0 {
            panic!("ilock: no type");
        }
    }
    g
}

/// Unlock the given inode.
pub fn iunlock(ip: InodeGuard) {
    drop(ip);
}

/// Drop a reference to an in-memory inode. If that was the last reference,
/// the inode table entry can be recycled. If that was the last reference and
/// the inode has no links to it, free the inode (and its content) on disk.
/// All calls to iput() must be inside a transaction in case it has to free
/// the inode.
pub fn iput(ip: &'static Inode) {
    let mut itable = ITABLE.lock();

    // SAFETY: with ITABLE held and refcnt == 1 (checked first), no other
    // process has a reference, so none holds or waits for the inode lock.
    let last_unlinked = *ip.refcnt(&itable) == 1
        && unsafe { ip.lock.get_mut_unchecked() }.valid
        && unsafe { ip.lock.get_mut_unchecked() }.nlink == 0;

    if last_unlinked {
        // inode has no links and no other references: truncate and free.

        // ip.refcnt == 1 means no other process can have ip locked, so this
        // lock() won't block (or deadlock).
        let mut g = InodeGuard {
            ip,
            data: ip.lock.lock(),
        };

        drop(itable);

        itrunc(&mut g);
        g.typ = 0;
        iupdate(&g);
        g.valid = false;

        drop(g);

        itable = ITABLE.lock();
    }

    *ip.refcnt(&itable) -= 1;
}

/// Common idiom: unlock, then put.
pub fn iunlockput(ip: InodeGuard) {
    let inode = ip.inode();
    drop(ip);
    iput(inode);
}

// Inode content
//
// The content (data) associated with each inode is stored in blocks on the
// disk. The first NDIRECT block numbers are listed in addrs[]. The next
// NINDIRECT blocks are listed in block addrs[NDIRECT].

/// Return the disk block address of the nth block in inode ip. If there is
/// no such block, bmap allocates one. Returns 0 if out of disk space.
fn bmap(ip: &mut InodeGuard, bn: u32) -> u32 {
    let dev = ip.dev();
    let mut bn = bn as usize;

    if bn < NDIRECT {
        let mut addr = ip.addrs[bn];
        if addr == 0 {
            addr = balloc(dev);
            if addr == 0 {
                return 0;
            }
            ip.addrs[bn] = addr;
        }
        return addr;
    }
    bn -= NDIRECT;

    if bn < NINDIRECT {
        // Load indirect block, allocating if necessary.
        let mut iaddr = ip.addrs[NDIRECT];
        if iaddr == 0 {
            iaddr = balloc(dev);
            if iaddr == 0 {
                return 0;
            }
            ip.addrs[NDIRECT] = iaddr;
        }
        let mut bp = bread(dev, iaddr);
        let mut addr = indirect_addr(&bp.data, bn);
        if addr == 0 {
            addr = balloc(dev);
            if addr != 0 {
                set_indirect_addr(&mut bp.data, bn, addr);
                log_write(&bp);
            }
        }
        return addr;
    }

    panic!("bmap: out of range");
}

/// Truncate inode (discard contents). Caller must hold the inode lock.
pub fn itrunc(ip: &mut InodeGuard) {
    let dev = ip.dev();
    for i in 0..NDIRECT {
        if ip.addrs[i] != 0 {
            bfree(dev, ip.addrs[i]);
            ip.addrs[i] = 0;
        }
    }

    if ip.addrs[NDIRECT] != 0 {
        let bp = bread(dev, ip.addrs[NDIRECT]);
        for j in 0..NINDIRECT {
            let a = indirect_addr(&bp.data, j);
            if a != 0 {
                bfree(dev, a);
            }
        }
        drop(bp);
        bfree(dev, ip.addrs[NDIRECT]);
        ip.addrs[NDIRECT] = 0;
    }

    ip.size = 0;
    iupdate(ip);
}

/// Copy stat information from inode. Caller must hold the inode lock.
pub fn stati(ip: &InodeGuard) -> Stat {
    Stat {
        dev: ip.dev() as i32,
        ino: ip.inum(),
        typ: ip.typ,
        nlink: ip.nlink,
        size: ip.size as u64,
    }
}

/// Read data from inode. Caller must hold the inode lock. If user_dst is
/// true, then dst is a user virtual address; otherwise, dst is a kernel
/// address. Returns the number of bytes read, or Err if copying to dst
/// failed.
pub fn readi(
    ip: &mut InodeGuard,
    user_dst: bool,
    dst: usize,
    off: u32,
    n: u32,
) -> Result<usize, ()> {
    let mut n = n;
    if off > ip.size || off.checked_add(n).is_none() {
        return Ok(0);
    }
    if off + n > ip.size {
        n = ip.size - off;
    }

    let mut tot: u32 = 0;
    let mut off = off;
    let mut dst = dst;
    while tot < n {
        let addr = bmap(ip, off / BSIZE as u32);
        if addr == 0 {
            break;
        }
        let bp = bread(ip.dev(), addr);
        let start = off as usize % BSIZE;
        let m = (n - tot).min((BSIZE - start) as u32);
        if either_copyout(user_dst, dst, &bp.data[start..start + m as usize]).is_err() {
            return Err(());
        }
        tot += m;
        off += m;
        dst += m as usize;
    }
    Ok(tot as usize)
}

/// Write data to inode. Caller must hold the inode lock. If user_src is
/// true, then src is a user virtual address; otherwise, src is a kernel
/// address. Returns the number of bytes successfully written. If the return
/// value is less than the requested n, there was an error of some kind.
pub fn writei(
    ip: &mut InodeGuard,
    user_src: bool,
    src: usize,
    off: u32,
    n: u32,
) -> Result<usize, ()> {
    if off > ip.size || off.checked_add(n).is_none() {
        return Err(());
    }
    if off as usize + n as usize > MAXFILE * BSIZE {
        return Err(());
    }

    let mut tot: u32 = 0;
    let mut off = off;
    let mut src = src;
    while tot < n {
        let addr = bmap(ip, off / BSIZE as u32);
        if addr == 0 {
            break;
        }
        let mut bp = bread(ip.dev(), addr);
        let start = off as usize % BSIZE;
        let m = (n - tot).min((BSIZE - start) as u32);
        if either_copyin(&mut bp.data[start..start + m as usize], user_src, src).is_err() {
            break;
        }
        log_write(&bp);
        drop(bp);
        tot += m;
        off += m;
        src += m as usize;
    }

    if off > ip.size {
        ip.size = off;
    }

    // write the i-node back to disk even if the size didn't change because
    // the loop above might have called bmap() and added a new block to
    // ip.addrs[].
    iupdate(ip);

    Ok(tot as usize)
}

// Directories

/// Read the directory entry at byte offset `off` of directory `dp`.
fn read_dirent(dp: &mut InodeGuard, off: u32) -> Dirent {
    let mut buf = [0u8; Dirent::SIZE];
    if readi(
        dp,
        false,
        buf.as_mut_ptr() as usize,
        off,
        Dirent::SIZE as u32,
    ) != Ok(Dirent::SIZE)
    {
        panic!("dirlookup read");
    }
    Dirent::decode(&buf)
}

/// Look for a directory entry in a directory. If found, return the inode
/// (unlocked, referenced) and the byte offset of the entry.
pub fn dirlookup(dp: &mut InodeGuard, name: &[u8]) -> Option<(&'static Inode, u32)> {
    if dp.typ != T_DIR {
        panic!("dirlookup not DIR");
    }

    let mut off = 0;
    while off < dp.size {
        let de = read_dirent(dp, off);
        if !de.is_free() && names_equal(&de.name, name) {
            // entry matches path element
            return Some((iget(dp.dev(), de.inum as u32), off));
        }
        off += Dirent::SIZE as u32;
    }

    None
}

/// Write a new directory entry (name, inum) into the directory dp. Fails if
/// the name is already present, or the disk is full.
pub fn dirlink(dp: &mut InodeGuard, name: &[u8], inum: u32) -> Result<(), ()> {
    // Check that name is not present.
    if let Some((ip, _)) = dirlookup(dp, name) {
        iput(ip);
        return Err(());
    }

    // Look for an empty dirent.
    let mut off = 0;
    while off < dp.size {
        if read_dirent(dp, off).is_free() {
            break;
        }
        off += Dirent::SIZE as u32;
    }

    let de = Dirent::new(inum as u16, name);
    let mut buf = [0u8; Dirent::SIZE];
    de.encode(&mut buf);
    if writei(dp, false, buf.as_ptr() as usize, off, Dirent::SIZE as u32) != Ok(Dirent::SIZE) {
        return Err(());
    }
    Ok(())
}

// Paths

/// Look up and return the inode for a path name. If parent is true, return
/// the inode for the parent and copy the final path element into name,
/// which must have room for DIRSIZ bytes. Must be called inside a
/// transaction since it calls iput().
fn namex(path: &[u8], nameiparent: bool, name: &mut [u8; DIRSIZ]) -> Option<&'static Inode> {
    let mut ip = if path.first() == Some(&b'/') {
        iget(ROOTDEV, ROOTINO)
    } else {
        // SAFETY: we are the current process, in its own kernel thread.
        let cwd = unsafe { myproc().data_mut().cwd };
        idup(cwd.expect("namex: no cwd"))
    };

    let mut path = path;
    while let Some(rest) = skipelem(path, name) {
        path = rest;
        let mut g = ilock(ip);
        if g.typ != T_DIR {
            iunlockput(g);
            return None;
        }
        if nameiparent && path.is_empty() {
            // Stop one level early.
            iunlock(g);
            return Some(ip);
        }
        let Some((next, _)) = dirlookup(&mut g, name) else {
            iunlockput(g);
            return None;
        };
        iunlockput(g);
        ip = next;
    }
    if nameiparent {
        iput(ip);
        return None;
    }
    Some(ip)
}

/// The inode named by path.
pub fn namei(path: &[u8]) -> Option<&'static Inode> {
    let mut name = [0u8; DIRSIZ];
    namex(path, false, &mut name)
}

/// The inode of path's parent directory; the last element goes in name.
pub fn nameiparent(path: &[u8], name: &mut [u8; DIRSIZ]) -> Option<&'static Inode> {
    namex(path, true, name)
}

// The inode layout must fit whole inodes in a block, as mkfs assumes.
const _: () = assert!(IPB * Dinode::SIZE == BSIZE);
