//! Buffer cache: an in-memory cache of disk blocks, which is also the
//! synchronisation point for them: at most one process at a time uses a
//! block's buffer (its sleep lock), and each block is cached at most once.
//! This is xv6's `bio.c`.
//!
//! Interface:
//! * To get a buffer for a particular disk block, call bread.
//! * After changing buffer data, call bwrite to write it to disk.
//! * When done with the buffer, drop it (xv6's brelse).
//! * Do not use the buffer after dropping it.
//! * Only one process at a time can use a buffer, so do not keep them
//!   longer than necessary.
//!
//! Eviction picks the least recently released buffer that nobody holds,
//! like xv6's most-recently-used list.

use core::ops::{Deref, DerefMut};

use crate::param::NBUF;
use crate::sleeplock::{Sleeplock, SleeplockGuard};
use crate::spinlock::Spinlock;
use crate::virtio_disk::virtio_disk_rw;
use xv6fs::BSIZE;

/// The contents of a cached block, guarded by the buffer's sleep lock.
pub struct BufData {
    /// Has data been read from disk?
    valid: bool,
    pub data: [u8; BSIZE],
}

/// Which block a buffer holds and who uses it, guarded by the cache lock.
#[derive(Clone, Copy)]
struct BufMeta {
    dev: u32,
    blockno: u32,
    refcnt: u32,
    /// When the buffer was last released, for LRU eviction.
    lastuse: u64,
}

struct Bcache {
    meta: [BufMeta; NBUF],
    /// Counts releases, to order them.
    clock: u64,
}

static BCACHE: Spinlock<Bcache> = Spinlock::new(
    Bcache {
        meta: [BufMeta {
            dev: 0,
            blockno: 0,
            refcnt: 0,
            lastuse: 0,
        }; NBUF],
        clock: 0,
    },
    "bcache",
);

/// The buffers. Their data must stay put: the disk reads and writes it by
/// DMA.
struct Bufs([Sleeplock<BufData>; NBUF]);

static BUFS: Bufs = Bufs(
    [const {
        Sleeplock::new(
            BufData {
                valid: false,
                data: [0; BSIZE],
            },
            "buffer",
        )
    }; NBUF],
);

/// A locked buffer holding one disk block. Dropping it releases the buffer.
pub struct Buf {
    index: usize,
    blockno: u32,
    guard: Option<SleeplockGuard<'static, BufData>>,
}

impl Buf {
    /// The block this buffer holds.
    pub fn blockno(&self) -> u32 {
        self.blockno
    }
}

impl Deref for Buf {
    type Target = BufData;
    fn deref(&self) -> &BufData {
        self.guard.as_ref().expect("buffer in use")
    }
}

impl DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut BufData {
        self.guard.as_mut().expect("buffer in use")
    }
}

/// Look through buffer cache for block on device dev. If not found, allocate
/// a buffer. In either case, return a locked buffer.
fn bget(dev: u32, blockno: u32) -> Buf {
    let index = {
        let mut bcache = BCACHE.lock();

        // Is the block already cached?
        // (Unused buffers start out as device 0, which is never a disk.)
        if let Some(i) = bcache
            .meta
            .iter()
            .position(|m| m.dev == dev && m.blockno == blockno)
        {
            bcache.meta[i].refcnt += 1;
            i
        } else {
            // Not cached. Recycle the least recently used unused buffer.
            let Some(i) = (0..NBUF)
                .filter(|&i| bcache.meta[i].refcnt == 0)
                .min_by_key(|&i| bcache.meta[i].lastuse)
            else {
                panic!("bget: no buffers");
            };
            let m = &mut bcache.meta[i];
            m.dev = dev;
            m.blockno = blockno;
            m.refcnt = 1;
            // SAFETY: refcnt was 0, so no process holds or waits for this
            // buffer's sleep lock; the cache lock keeps others away.
            unsafe { BUFS.0[i].get_mut_unchecked().valid = false };
            i
        }
    };

    Buf {
        index,
        blockno,
        guard: Some(BUFS.0[index].lock()),
    }
}

/// Return a locked buffer with the contents of the indicated block.
pub fn bread(dev: u32, blockno: u32) -> Buf {
    let mut b = bget(dev, blockno);
    if !b.valid {
        virtio_disk_rw(&mut b.data, blockno, false);
        b.valid = true;
    }
    b
}

/// Write b's contents to disk.
pub fn bwrite(b: &mut Buf) {
    let blockno = b.blockno;
    virtio_disk_rw(&mut b.data, blockno, true);
}

impl Drop for Buf {
    /// Release a locked buffer (xv6's brelse).
    fn drop(&mut self) {
        // Release the sleep lock first, as xv6 does.
        drop(self.guard.take());

        let mut bcache = BCACHE.lock();
        bcache.clock += 1;
        let clock = bcache.clock;
        let m = &mut bcache.meta[self.index];
        m.refcnt -= 1;
        if m.refcnt == 0 {
            // no one is waiting for it.
            m.lastuse = clock;
        }
    }
}

/// Keep b's block in the cache even after it is released (the log holds it
/// until the transaction is installed).
pub fn bpin(b: &Buf) {
    BCACHE.lock().meta[b.index].refcnt += 1;
}

/// Undo bpin.
pub fn bunpin(b: &Buf) {
    BCACHE.lock().meta[b.index].refcnt -= 1;
}
