//! Simple logging that allows concurrent FS system calls. This is xv6's
//! `log.c`.
//!
//! A log transaction contains the updates of multiple FS system calls. The
//! logging system only commits when there are no FS system calls active.
//! Thus there is never any reasoning required about whether a commit might
//! write an uncommitted system call's updates to disk.
//!
//! A system call should call begin_op()/end_op() to mark its start and end.
//! Usually begin_op() just increments the count of in-progress FS system
//! calls and returns. But if it thinks the log is close to running out, it
//! sleeps until the last outstanding end_op() commits.
//!
//! The log is a physical re-do log containing disk blocks. The on-disk log
//! format:
//!   header block, containing block #s for block A, B, C, ...
//!   block A
//!   block B
//!   block C
//!   ...
//! Log appends are synchronous.

use crate::bio::{Buf, bpin, bread, bunpin, bwrite};
use crate::param::{LOGSIZE, MAXOPBLOCKS};
use crate::proc::{sleep, wakeup};
use crate::spinlock::Spinlock;
use xv6fs::{LogHeader, Superblock};

struct Log {
    start: u32,
    size: u32,
    /// How many FS sys calls are executing.
    outstanding: usize,
    /// In commit(), please wait.
    committing: bool,
    dev: u32,
    lh: LogHeader,
}

static LOG: Spinlock<Log> = Spinlock::new(
    Log {
        start: 0,
        size: 0,
        outstanding: 0,
        committing: false,
        dev: 0,
        lh: LogHeader {
            n: 0,
            block: [0; LOGSIZE],
        },
    },
    "log",
);

fn log_chan() -> usize {
    &LOG as *const _ as usize
}

pub fn initlog(dev: u32, sb: &Superblock) {
    {
        let mut log = LOG.lock();
        log.start = sb.logstart;
        log.size = sb.nlog;
        log.dev = dev;
    }
    recover_from_log();
}

/// Copy committed blocks from log to their home location.
fn install_trans(recovering: bool) {
    let (dev, start, lh) = {
        let log = LOG.lock();
        (log.dev, log.start, log.lh)
    };
    for tail in 0..lh.n {
        let lbuf = bread(dev, start + tail + 1); // read log block
        let mut dbuf = bread(dev, lh.block[tail as usize]); // read dst
        dbuf.data = lbuf.data; // copy block to dst
        bwrite(&mut dbuf); // write dst to disk
        if !recovering {
            bunpin(&dbuf);
        }
    }
}

/// Read the log header from disk into the in-memory log header.
fn read_head() {
    let (dev, start) = {
        let log = LOG.lock();
        (log.dev, log.start)
    };
    let buf = bread(dev, start);
    let lh = LogHeader::decode(&buf.data);
    drop(buf);
    LOG.lock().lh = lh;
}

/// Write in-memory log header to disk. This is the true point at which the
/// current transaction commits.
fn write_head() {
    let (dev, start, lh) = {
        let log = LOG.lock();
        (log.dev, log.start, log.lh)
    };
    let mut buf = bread(dev, start);
    lh.encode(&mut buf.data);
    bwrite(&mut buf);
}

fn recover_from_log() {
    read_head();
    install_trans(true); // if committed, copy from log to disk
    LOG.lock().lh.n = 0;
    write_head(); // clear the log
}

/// Called at the start of each FS system call.
pub fn begin_op() {
    let mut log = LOG.lock();
    loop {
        if log.committing || log.lh.n as usize + (log.outstanding + 1) * MAXOPBLOCKS > LOGSIZE {
            // Wait for the commit to finish, or for space in the log: this
            // op might exhaust log space.
            log = sleep(log_chan(), log);
        } else {
            log.outstanding += 1;
            break;
        }
    }
}

/// Called at the end of each FS system call. Commits if this was the last
/// outstanding operation.
pub fn end_op() {
    let do_commit = {
        let mut log = LOG.lock();
        log.outstanding -= 1;
        if log.committing {
            panic!("log.committing");
        }
        if log.outstanding == 0 {
            log.committing = true;
            true
        } else {
            // begin_op() may be waiting for log space, and decrementing
            // log.outstanding has decreased the amount of reserved space.
            wakeup(log_chan());
            false
        }
    };

    if do_commit {
        // call commit w/o holding locks, since not allowed to sleep with
        // locks.
        commit();
        let mut log = LOG.lock();
        log.committing = false;
        wakeup(log_chan());
    }
}

/// Copy modified blocks from cache to log.
fn write_log() {
    let (dev, start, lh) = {
        let log = LOG.lock();
        (log.dev, log.start, log.lh)
    };
    for tail in 0..lh.n {
        let mut to = bread(dev, start + tail + 1); // log block
        let from = bread(dev, lh.block[tail as usize]); // cache block
        to.data = from.data;
        bwrite(&mut to); // write the log
    }
}

fn commit() {
    if LOG.lock().lh.n > 0 {
        write_log(); // Write modified blocks from cache to log
        write_head(); // Write header to disk -- the real commit
        install_trans(false); // Now install writes to home locations
        LOG.lock().lh.n = 0;
        write_head(); // Erase the transaction from the log
    }
}

/// Caller has modified b.data and is done with the buffer. Record the block
/// number and pin in the cache by increasing refcnt. commit()/write_log()
/// will do the disk write.
///
/// log_write() replaces bwrite(); a typical use is:
///   let mut bp = bread(...);
///   modify bp.data
///   log_write(&bp);
///   drop(bp);
pub fn log_write(b: &Buf) {
    let mut log = LOG.lock();
    if log.lh.n as usize >= LOGSIZE || log.lh.n + 1 >= log.size {
        panic!("too big a transaction");
    }
    if log.outstanding < 1 {
        panic!("log_write outside of trans");
    }

    let n = log.lh.n as usize;
    // log absorption
    let i = log.lh.block[..n]
        .iter()
        .position(|&blk| blk == b.blockno())
        .unwrap_or(n);
    log.lh.block[i] = b.blockno();
    if i == n {
        // Add new block to log
        bpin(b);
        log.lh.n += 1;
    }
}
