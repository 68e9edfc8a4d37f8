//! Pipes: a 512-byte ring buffer between a read file and a write file,
//! living in a page of its own. This is xv6's `pipe.c`.

use crate::file::{File, FileInfo, FileType, filealloc, fileclose};
use crate::kalloc::{kalloc, kfree};
use crate::proc::{myproc, sleep, wakeup};
use crate::riscv::{PGSIZE, PhysAddr};
use crate::spinlock::Spinlock;
use crate::vm::{copyin, copyout};

const PIPESIZE: usize = 512;

struct PipeInner {
    data: [u8; PIPESIZE],
    /// number of bytes read
    nread: usize,
    /// number of bytes written
    nwrite: usize,
    /// read fd is still open
    readopen: bool,
    /// write fd is still open
    writeopen: bool,
}

pub struct Pipe {
    lock: Spinlock<PipeInner>,
}

// A pipe must fit in the page kalloc gives it.
const _: () = assert!(core::mem::size_of::<Pipe>() <= PGSIZE);

impl Pipe {
    /// Readers sleep here, waiting for data.
    fn read_chan(&self) -> usize {
        self as *const Pipe as usize
    }

    /// Writers sleep here, waiting for room.
    fn write_chan(&self) -> usize {
        self as *const Pipe as usize + 1
    }
}

/// Create a pipe: a read-only file and a write-only file.
pub fn pipealloc() -> Result<(&'static File, &'static File), ()> {
    let f0 = filealloc().ok_or(())?;
    let Some(f1) = filealloc() else {
        fileclose(f0);
        return Err(());
    };
    let Some(page) = kalloc() else {
        fileclose(f0);
        fileclose(f1);
        return Err(());
    };

    let pi = page.as_mut_ptr::<Pipe>();
    // SAFETY: the page is freshly allocated, large and aligned enough for a
    // Pipe, and ours until pipeclose frees it.
    let pi: &'static Pipe = unsafe {
        pi.write(Pipe {
            lock: Spinlock::new(
                PipeInner {
                    data: [0; PIPESIZE],
                    nread: 0,
                    nwrite: 0,
                    readopen: true,
                    writeopen: true,
                },
                "pipe",
            ),
        });
        &*pi
    };

    let info = FileInfo {
        typ: FileType::Pipe,
        readable: true,
        writable: false,
        pipe: Some(pi),
        ip: None,
        major: 0,
    };
    // SAFETY: both files were just allocated and are not shared yet.
    unsafe {
        f0.set_info(info);
        f1.set_info(FileInfo {
            readable: false,
            writable: true,
            ..info
        });
    }
    Ok((f0, f1))
}

/// Close one end of the pipe; free it when both ends are closed.
pub fn pipeclose(pi: &'static Pipe, writable: bool) {
    let mut inner = pi.lock.lock();
    if writable {
        inner.writeopen = false;
        wakeup(pi.read_chan());
    } else {
        inner.readopen = false;
        wakeup(pi.write_chan());
    }
    if !inner.readopen && !inner.writeopen {
        drop(inner);
        kfree(PhysAddr(pi as *const Pipe as usize));
    }
}

/// Write n bytes from user address addr into the pipe, sleeping while it is
/// full. Returns the number of bytes written.
pub fn pipewrite(pi: &Pipe, addr: usize, n: usize) -> Result<usize, ()> {
    let p = myproc();
    // SAFETY: we are p, in its own kernel thread.
    let pagetable = unsafe { p.data_mut().pagetable };

    let mut inner = pi.lock.lock();
    let mut i = 0;
    while i < n {
        if !inner.readopen || p.killed() {
            return Err(());
        }
        if inner.nwrite == inner.nread + PIPESIZE {
            // pipewrite-full
            wakeup(pi.read_chan());
            inner = sleep(pi.write_chan(), inner);
        } else {
            let mut ch = [0u8; 1];
            if copyin(pagetable, &mut ch, addr + i).is_err() {
                break;
            }
            let w = inner.nwrite;
            inner.data[w % PIPESIZE] = ch[0];
            inner.nwrite += 1;
            i += 1;
        }
    }
    wakeup(pi.read_chan());
    Ok(i)
}

/// Read up to n bytes from the pipe into user address addr, sleeping until
/// there is data or no writer. Returns the number of bytes read (0 at end
/// of file).
pub fn piperead(pi: &Pipe, addr: usize, n: usize) -> Result<usize, ()> {
    let p = myproc();
    // SAFETY: we are p, in its own kernel thread.
    let pagetable = unsafe { p.data_mut().pagetable };

    let mut inner = pi.lock.lock();
    while inner.nread == inner.nwrite && inner.writeopen {
        // pipe-empty
        if p.killed() {
            return Err(());
        }
        inner = sleep(pi.read_chan(), inner);
    }
    let mut i = 0;
    while i < n {
        // piperead-copy
        if inner.nread == inner.nwrite {
            break;
        }
        let ch = inner.data[inner.nread % PIPESIZE];
        if copyout(pagetable, addr + i, &[ch]).is_err() {
            break;
        }
        inner.nread += 1;
        i += 1;
    }
    wakeup(pi.write_chan()); // piperead-wakeup
    Ok(i)
}
