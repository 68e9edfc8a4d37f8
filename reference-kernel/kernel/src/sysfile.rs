//! File-system system calls. Mostly argument checking, since we don't trust
//! user code, and calls into file.rs and fs.rs. This is xv6's `sysfile.c`.

use crate::exec::exec;
use crate::fcntl::{O_CREATE, O_RDWR, O_TRUNC, O_WRONLY};
use crate::file::{
    File, FileInfo, FileType, filealloc, fileclose, filedup, fileread, filestat, filewrite,
};
use crate::fs::{
    InodeGuard, dirlink, dirlookup, ialloc, ilock, iput, itrunc, iunlock, iunlockput, iupdate,
    namei, nameiparent, readi, writei,
};
use crate::kalloc::{kalloc, kfree};
use crate::log::{begin_op, end_op};
use crate::param::{MAXARG, MAXPATH, NDEV, NOFILE};
use crate::pipe::pipealloc;
use crate::proc::myproc;
use crate::riscv::{PGSIZE, PhysAddr};
use crate::stat::{T_DEVICE, T_DIR, T_FILE};
use crate::syscall::{SysResult, argaddr, argint, argstr, fetchaddr, fetchstr};
use crate::vm::copyout;
use xv6fs::{DIRSIZ, Dirent, names_equal};

/// Fetch the nth word-sized system call argument as a file descriptor and
/// return both the descriptor and the corresponding struct file.
fn argfd(n: usize) -> Result<(usize, &'static File), ()> {
    let fd = argint(n);
    let fd = usize::try_from(fd).map_err(|_| ())?;
    if fd >= NOFILE {
        return Err(());
    }
    // SAFETY: we are the current process, in its own kernel thread.
    let f = unsafe { myproc().data_mut().ofile[fd] }.ok_or(())?;
    Ok((fd, f))
}

/// Allocate a file descriptor for the given file. Takes over file reference
/// from caller on success.
fn fdalloc(f: &'static File) -> Result<usize, ()> {
    // SAFETY: we are the current process, in its own kernel thread.
    let data = unsafe { myproc().data_mut() };
    let fd = data.ofile.iter().position(Option::is_none).ok_or(())?;
    data.ofile[fd] = Some(f);
    Ok(fd)
}

/// A path argument: the buffer and the string's length.
fn argpath(n: usize, buf: &mut [u8; MAXPATH]) -> Result<&[u8], ()> {
    let len = argstr(n, buf)?;
    Ok(&buf[..len])
}

pub fn sys_dup() -> SysResult {
    let (_, f) = argfd(0)?;
    let fd = fdalloc(f)?;
    filedup(f);
    Ok(fd)
}

pub fn sys_read() -> SysResult {
    let p = argaddr(1);
    let n = argint(2);
    let (_, f) = argfd(0)?;
    fileread(f, p, n)
}

pub fn sys_write() -> SysResult {
    let p = argaddr(1);
    let n = argint(2);
    let (_, f) = argfd(0)?;
    filewrite(f, p, n)
}

pub fn sys_close() -> SysResult {
    let (fd, f) = argfd(0)?;
    // SAFETY: we are the current process, in its own kernel thread.
    unsafe { myproc().data_mut().ofile[fd] = None };
    fileclose(f);
    Ok(0)
}

pub fn sys_fstat() -> SysResult {
    let st = argaddr(1); // user pointer to struct stat
    let (_, f) = argfd(0)?;
    filestat(f, st).map(|()| 0)
}

/// Create the path new as a link to the same inode as old.
pub fn sys_link() -> SysResult {
    let mut new_buf = [0u8; MAXPATH];
    let mut old_buf = [0u8; MAXPATH];
    let old = argpath(0, &mut old_buf)?;
    let new = argpath(1, &mut new_buf)?;

    begin_op();
    let Some(ip) = namei(old) else {
        end_op();
        return Err(());
    };

    let mut g = ilock(ip);
    if g.typ == T_DIR {
        iunlockput(g);
        end_op();
        return Err(());
    }

    g.nlink += 1;
    iupdate(&g);
    iunlock(g);

    let mut name = [0u8; DIRSIZ];
    let linked = nameiparent(new, &mut name).ok_or(()).and_then(|dp| {
        let mut dg = ilock(dp);
        if dg.dev() != ip.dev() || dirlink(&mut dg, &name, ip.inum()).is_err() {
            iunlockput(dg);
            return Err(());
        }
        iunlockput(dg);
        Ok(())
    });

    if linked.is_err() {
        let mut g = ilock(ip);
        g.nlink -= 1;
        iupdate(&g);
        iunlockput(g);
        end_op();
        return Err(());
    }

    iput(ip);
    end_op();
    Ok(0)
}

/// Is the directory dp empty except for "." and ".." ?
fn isdirempty(dp: &mut InodeGuard) -> bool {
    let mut off = 2 * Dirent::SIZE as u32;
    while off < dp.size {
        let mut buf = [0u8; Dirent::SIZE];
        if readi(
            dp,
            false,
            buf.as_mut_ptr() as usize,
            off,
            Dirent::SIZE as u32,
        ) != Ok(Dirent::SIZE)
        {
            panic!("isdirempty: readi");
        }
        if !Dirent::decode(&buf).is_free() {
            return false;
        }
        off += Dirent::SIZE as u32;
    }
    true
}

pub fn sys_unlink() -> SysResult {
    let mut path_buf = [0u8; MAXPATH];
    let path = argpath(0, &mut path_buf)?;

    begin_op();
    let mut name = [0u8; DIRSIZ];
    let Some(dp) = nameiparent(path, &mut name) else {
        end_op();
        return Err(());
    };

    let mut dg = ilock(dp);

    // Cannot unlink "." or "..".
    if names_equal(&name, b".") || names_equal(&name, b"..") {
        iunlockput(dg);
        end_op();
        return Err(());
    }

    let Some((ip, off)) = dirlookup(&mut dg, &name) else {
        iunlockput(dg);
        end_op();
        return Err(());
    };
    let mut g = ilock(ip);

    if g.nlink < 1 {
        panic!("unlink: nlink < 1");
    }
    if g.typ == T_DIR && !isdirempty(&mut g) {
        iunlockput(g);
        iunlockput(dg);
        end_op();
        return Err(());
    }

    let mut de = [0u8; Dirent::SIZE];
    Dirent::default().encode(&mut de);
    if writei(
        &mut dg,
        false,
        de.as_ptr() as usize,
        off,
        Dirent::SIZE as u32,
    ) != Ok(Dirent::SIZE)
    {
        panic!("unlink: writei");
    }
    if g.typ == T_DIR {
        dg.nlink -= 1;
        iupdate(&dg);
    }
    iunlockput(dg);

    g.nlink -= 1;
    iupdate(&g);
    iunlockput(g);

    end_op();

    Ok(0)
}

/// Create a new inode of type typ at path, and return it locked. If a file
/// already exists there and a plain file is wanted, return that instead.
fn create(path: &[u8], typ: i16, major: i16, minor: i16) -> Option<InodeGuard> {
    let mut name = [0u8; DIRSIZ];
    let dp = nameiparent(path, &mut name)?;

    let mut dg = ilock(dp);

    if let Some((ip, _)) = dirlookup(&mut dg, &name) {
        iunlockput(dg);
        let g = ilock(ip);
        if typ == T_FILE && (g.typ == T_FILE || g.typ == T_DEVICE) {
            return Some(g);
        }
        iunlockput(g);
        return None;
    }

    let Some(ip) = ialloc(dg.dev(), typ) else {
        iunlockput(dg);
        return None;
    };

    let mut g = ilock(ip);
    g.major = major;
    g.minor = minor;
    g.nlink = 1;
    iupdate(&g);

    let linked = (|| {
        if typ == T_DIR {
            // Create . and .. entries. No ip->nlink++ for ".": avoid cyclic
            // ref count.
            dirlink(&mut g, b".", ip.inum())?;
            dirlink(&mut g, b"..", dp.inum())?;
        }
        dirlink(&mut dg, &name, ip.inum())
    })();

    if linked.is_err() {
        // something went wrong. de-allocate ip.
        g.nlink = 0;
        iupdate(&g);
        iunlockput(g);
        iunlockput(dg);
        return None;
    }

    if typ == T_DIR {
        // now that success is guaranteed:
        dg.nlink += 1; // for ".."
        iupdate(&dg);
    }

    iunlockput(dg);

    Some(g)
}

pub fn sys_open() -> SysResult {
    let omode = argint(1);
    let mut path_buf = [0u8; MAXPATH];
    let path = argpath(0, &mut path_buf)?;

    begin_op();

    let g = if omode & O_CREATE != 0 {
        match create(path, T_FILE, 0, 0) {
            Some(g) => g,
            None => {
                end_op();
                return Err(());
            }
        }
    } else {
        let Some(ip) = namei(path) else {
            end_op();
            return Err(());
        };
        let g = ilock(ip);
        if g.typ == T_DIR && omode != 0 {
            iunlockput(g);
            end_op();
            return Err(());
        }
        g
    };

    if g.typ == T_DEVICE && (g.major < 0 || g.major as usize >= NDEV) {
        iunlockput(g);
        end_op();
        return Err(());
    }

    let Some(f) = filealloc() else {
        iunlockput(g);
        end_op();
        return Err(());
    };
    let Ok(fd) = fdalloc(f) else {
        fileclose(f);
        iunlockput(g);
        end_op();
        return Err(());
    };

    let mut g = g;
    let ip = g.inode();
    let info = FileInfo {
        typ: if g.typ == T_DEVICE {
            FileType::Device
        } else {
            FileType::Inode
        },
        readable: omode & O_WRONLY == 0,
        writable: (omode & O_WRONLY) != 0 || (omode & O_RDWR) != 0,
        pipe: None,
        ip: Some(ip),
        major: g.major,
    };
    // SAFETY: f was just allocated; only this process can see it.
    unsafe { f.set_info(info) };
    f.set_off(0);

    if omode & O_TRUNC != 0 && g.typ == T_FILE {
        itrunc(&mut g);
    }

    iunlock(g);
    end_op();

    Ok(fd)
}

pub fn sys_mkdir() -> SysResult {
    let mut path_buf = [0u8; MAXPATH];
    begin_op();
    let Ok(path) = argpath(0, &mut path_buf) else {
        end_op();
        return Err(());
    };
    let Some(g) = create(path, T_DIR, 0, 0) else {
        end_op();
        return Err(());
    };
    iunlockput(g);
    end_op();
    Ok(0)
}

pub fn sys_mknod() -> SysResult {
    let mut path_buf = [0u8; MAXPATH];
    begin_op();
    let major = argint(1) as i16;
    let minor = argint(2) as i16;
    let Ok(path) = argpath(0, &mut path_buf) else {
        end_op();
        return Err(());
    };
    let Some(g) = create(path, T_DEVICE, major, minor) else {
        end_op();
        return Err(());
    };
    iunlockput(g);
    end_op();
    Ok(0)
}

pub fn sys_chdir() -> SysResult {
    let p = myproc();
    let mut path_buf = [0u8; MAXPATH];

    begin_op();
    let Ok(path) = argpath(0, &mut path_buf) else {
        end_op();
        return Err(());
    };
    let Some(ip) = namei(path) else {
        end_op();
        return Err(());
    };
    let g = ilock(ip);
    if g.typ != T_DIR {
        iunlockput(g);
        end_op();
        return Err(());
    }
    iunlock(g);
    // SAFETY: we are p, in its own kernel thread.
    let data = unsafe { p.data_mut() };
    if let Some(old) = data.cwd.replace(ip) {
        iput(old);
    }
    end_op();
    Ok(0)
}

/// The argument pages sys_exec copies strings into; freed on drop.
struct ArgPages {
    pages: [Option<PhysAddr>; MAXARG],
    lens: [usize; MAXARG],
    argc: usize,
}

impl Drop for ArgPages {
    fn drop(&mut self) {
        for pa in self.pages.iter().flatten() {
            kfree(*pa);
        }
    }
}

pub fn sys_exec() -> SysResult {
    let mut path_buf = [0u8; MAXPATH];
    let path = argpath(0, &mut path_buf)?;
    let uargv = argaddr(1);

    let mut args = ArgPages {
        pages: [None; MAXARG],
        lens: [0; MAXARG],
        argc: 0,
    };
    loop {
        let i = args.argc;
        if i >= MAXARG {
            return Err(());
        }
        let uarg = fetchaddr(uargv.checked_add(8 * i).ok_or(())?)?;
        if uarg == 0 {
            break;
        }
        let page = kalloc().ok_or(())?;
        args.pages[i] = Some(page);
        // SAFETY: page is a fresh page owned by args until it is dropped.
        let buf = unsafe { core::slice::from_raw_parts_mut(page.as_mut_ptr::<u8>(), PGSIZE) };
        args.lens[i] = fetchstr(uarg, buf)?;
        args.argc += 1;
    }

    let mut argv: [&[u8]; MAXARG] = [&[]; MAXARG];
    for (arg, (page, &len)) in argv
        .iter_mut()
        .zip(args.pages.iter().zip(&args.lens))
        .take(args.argc)
    {
        let page = page.expect("argument page");
        // SAFETY: the page holds the string fetched above and lives until
        // args is dropped, after exec returns.
        *arg = unsafe { core::slice::from_raw_parts(page.as_mut_ptr::<u8>(), len) };
    }

    exec(path, &argv[..args.argc])
}

pub fn sys_pipe() -> SysResult {
    let fdarray = argaddr(0); // user pointer to array of two integers
    let p = myproc();

    let (rf, wf) = pipealloc()?;
    let Ok(fd0) = fdalloc(rf) else {
        fileclose(rf);
        fileclose(wf);
        return Err(());
    };
    let Ok(fd1) = fdalloc(wf) else {
        // SAFETY: we are p, in its own kernel thread.
        unsafe { p.data_mut().ofile[fd0] = None };
        fileclose(rf);
        fileclose(wf);
        return Err(());
    };

    // SAFETY: as above.
    let data = unsafe { p.data_mut() };
    if copyout(data.pagetable, fdarray, &(fd0 as i32).to_le_bytes()).is_err()
        || copyout(data.pagetable, fdarray + 4, &(fd1 as i32).to_le_bytes()).is_err()
    {
        data.ofile[fd0] = None;
        data.ofile[fd1] = None;
        fileclose(rf);
        fileclose(wf);
        return Err(());
    }
    Ok(0)
}
