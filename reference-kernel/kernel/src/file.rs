//! Support functions for system calls that involve file descriptors: the
//! system-wide table of open files, and reading, writing and closing them
//! whatever they are (pipe, inode, device). This is xv6's `file.c` and
//! `file.h`.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::console::{consoleread, consolewrite};
use crate::fs::{Inode, ilock, iput, readi, stati, writei};
use crate::log::{begin_op, end_op};
use crate::param::{MAXOPBLOCKS, NDEV, NFILE};
use crate::pipe::{Pipe, pipeclose, piperead, pipewrite};
use crate::proc::myproc;
use crate::spinlock::{Spinlock, SpinlockGuard};
use crate::vm::copyout;
use xv6fs::BSIZE;

/// The console's major device number (shared with user programs, which
/// `mknod` it).
pub use abi::file::CONSOLE;

/// Read and write entry points of a device, by major number.
pub struct Devsw {
    pub read: fn(user_dst: bool, dst: usize, n: usize) -> i32,
    pub write: fn(user_src: bool, src: usize, n: usize) -> i32,
}

/// Map major device number to device functions.
pub static DEVSW: [Option<Devsw>; NDEV] = {
    let mut devsw = [const { None }; NDEV];
    devsw[CONSOLE as usize] = Some(Devsw {
        read: consoleread,
        write: consolewrite,
    });
    devsw
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    None,
    Pipe,
    Inode,
    Device,
}

/// What an open file is. Set by the process that allocates the file, while
/// it alone holds it (ref 1), and read-only afterwards.
#[derive(Clone, Copy)]
pub struct FileInfo {
    pub typ: FileType,
    pub readable: bool,
    pub writable: bool,
    /// FD_PIPE
    pub pipe: Option<&'static Pipe>,
    /// FD_INODE and FD_DEVICE
    pub ip: Option<&'static Inode>,
    /// FD_DEVICE
    pub major: i16,
}

impl FileInfo {
    const NONE: FileInfo = FileInfo {
        typ: FileType::None,
        readable: false,
        writable: false,
        pipe: None,
        ip: None,
        major: 0,
    };
}

/// An open file.
pub struct File {
    /// Reference count; FTABLE must be held when using this.
    refcnt: UnsafeCell<i32>,
    info: UnsafeCell<FileInfo>,
    /// FD_INODE: read/write offset, guarded by the inode's lock.
    off: AtomicU32,
}

// SAFETY: refcnt is only used with FTABLE held; info is written only by the
// file's sole owner before it is shared; off is atomic.
unsafe impl Sync for File {}

impl File {
    /// What this file is.
    pub fn info(&self) -> FileInfo {
        // SAFETY: info is only written while the writer is the file's only
        // user (see set_info), so reading a copy is race-free.
        unsafe { *self.info.get() }
    }

    /// Describe a freshly allocated file.
    ///
    /// # Safety
    /// The caller must have just allocated the file (filealloc) and not
    /// shared it yet.
    pub unsafe fn set_info(&self, info: FileInfo) {
        // SAFETY: the caller is the file's only user.
        unsafe { *self.info.get() = info };
    }

    /// Set the read/write offset (for the inode of a new file).
    pub fn set_off(&self, off: u32) {
        self.off.store(off, Ordering::Relaxed);
    }

    #[expect(clippy::mut_from_ref, reason = "FTABLE serialises access")]
    fn refcnt<'a>(&'a self, _ftable: &SpinlockGuard<'_, ()>) -> &'a mut i32 {
        // SAFETY: the guard proves FTABLE is held, which guards refcnt.
        unsafe { &mut *self.refcnt.get() }
    }
}

static FTABLE: Spinlock<()> = Spinlock::new((), "ftable");

static FILES: [File; NFILE] = [const {
    File {
        refcnt: UnsafeCell::new(0),
        info: UnsafeCell::new(FileInfo::NONE),
        off: AtomicU32::new(0),
    }
}; NFILE];

/// Allocate a file structure.
pub fn filealloc() -> Option<&'static File> {
    let ftable = FTABLE.lock();
    for f in FILES.iter() {
        let refcnt = f.refcnt(&ftable);
        if *refcnt == 0 {
            *refcnt = 1;
            f.off.store(0, Ordering::Relaxed);
            // SAFETY: ref was 0, so no one else uses f.
            unsafe { *f.info.get() = FileInfo::NONE };
            return Some(f);
        }
    }
    None
}

/// Increment ref count for file f.
pub fn filedup(f: &'static File) -> &'static File {
    let ftable = FTABLE.lock();
    let refcnt = f.refcnt(&ftable);
    if *refcnt < 1 {
        panic!("filedup");
    }
    *refcnt += 1;
    f
}

/// Close file f. (Decrement ref count, close when reaches 0.)
pub fn fileclose(f: &'static File) {
    let ff = {
        let ftable = FTABLE.lock();
        let refcnt = f.refcnt(&ftable);
        if *refcnt < 1 {
            panic!("fileclose");
        }
        *refcnt -= 1;
        if *refcnt > 0 {
            return;
        }
        let ff = f.info();
        // SAFETY: ref fell to 0 with FTABLE held: no one else uses f.
        unsafe { *f.info.get() = FileInfo::NONE };
        ff
    };

    match ff.typ {
        FileType::Pipe => pipeclose(ff.pipe.expect("pipe file"), ff.writable),
        FileType::Inode | FileType::Device => {
            begin_op();
            iput(ff.ip.expect("inode file"));
            end_op();
        }
        FileType::None => {}
    }
}

/// Get metadata about file f. addr is a user virtual address, pointing to a
/// struct stat.
pub fn filestat(f: &File, addr: usize) -> Result<(), ()> {
    let info = f.info();
    match (info.typ, info.ip) {
        (FileType::Inode | FileType::Device, Some(ip)) => {
            let g = ilock(ip);
            let st = stati(&g);
            drop(g);
            // SAFETY: we are the current process, in its own kernel thread.
            let pagetable = unsafe { myproc().data_mut().pagetable };
            copyout(pagetable, addr, &st.to_bytes())
        }
        _ => Err(()),
    }
}

/// Read from file f. addr is a user virtual address.
pub fn fileread(f: &File, addr: usize, n: i32) -> Result<usize, ()> {
    let info = f.info();
    if !info.readable {
        return Err(());
    }
    let n = usize::try_from(n).map_err(|_| ())?;

    match info.typ {
        FileType::Pipe => piperead(info.pipe.expect("pipe file"), addr, n),
        FileType::Device => {
            let dev = DEVSW
                .get(info.major as usize)
                .and_then(Option::as_ref)
                .ok_or(())?;
            let r = (dev.read)(true, addr, n);
            usize::try_from(r).map_err(|_| ())
        }
        FileType::Inode => {
            let mut g = ilock(info.ip.expect("inode file"));
            let off = f.off.load(Ordering::Relaxed);
            let r = readi(&mut g, true, addr, off, n as u32);
            if let Ok(r) = r {
                f.off.store(off + r as u32, Ordering::Relaxed);
            }
            r
        }
        FileType::None => panic!("fileread"),
    }
}

/// Write to file f. addr is a user virtual address.
pub fn filewrite(f: &File, addr: usize, n: i32) -> Result<usize, ()> {
    let info = f.info();
    if !info.writable {
        return Err(());
    }
    let n = usize::try_from(n).map_err(|_| ())?;

    match info.typ {
        FileType::Pipe => pipewrite(info.pipe.expect("pipe file"), addr, n),
        FileType::Device => {
            let dev = DEVSW
                .get(info.major as usize)
                .and_then(Option::as_ref)
                .ok_or(())?;
            let r = (dev.write)(true, addr, n);
            usize::try_from(r).map_err(|_| ())
        }
        FileType::Inode => {
            // write a few blocks at a time to avoid exceeding the maximum
            // log transaction size, including i-node, indirect block,
            // allocation blocks, and 2 blocks of slop for non-aligned
            // writes. this really belongs lower down, since writei() might
            // be writing a device like the console.
            let max = ((MAXOPBLOCKS - 1 - 1 - 2) / 2) * BSIZE;
            let ip = info.ip.expect("inode file");
            let mut i = 0;
            while i < n {
                let n1 = (n - i).min(max);

                begin_op();
                let mut g = ilock(ip);
                let off = f.off.load(Ordering::Relaxed);
                let r = writei(&mut g, true, addr + i, off, n1 as u32);
                if let Ok(r) = r {
                    f.off.store(off + r as u32, Ordering::Relaxed);
                }
                drop(g);
                end_op();

                match r {
                    // error from writei
                    Ok(r) if r == n1 => i += r,
                    _ => break,
                }
            }
            if i == n { Ok(n) } else { Err(()) }
        }
        FileType::None => panic!("filewrite"),
    }
}
