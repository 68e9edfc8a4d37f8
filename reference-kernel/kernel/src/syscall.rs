//! System-call dispatch and argument fetching. This is xv6's `syscall.c`;
//! the numbers (xv6's `syscall.h`) come from the `abi` crate, which the user
//! library shares, so programs built for xv6's ABI work.
//!
//! The ABI: the number is in a7, arguments in a0..a5, the result goes back
//! in a0; -1 means failure.

use crate::proc::myproc;
use crate::vm::{copyin, copyinstr};

pub use abi::syscall::*;

/// What a system call returns: a value for a0, or failure (-1 in a0).
pub type SysResult = Result<usize, ()>;

/// Fetch the u64 at addr from the current process.
pub fn fetchaddr(addr: usize) -> Result<usize, ()> {
    let p = myproc();
    // SAFETY: we are p, in its own kernel thread.
    let data = unsafe { p.data_mut() };
    // both tests needed, in case of overflow
    if addr >= data.sz || addr.checked_add(8).is_none_or(|end| end > data.sz) {
        return Err(());
    }
    let mut buf = [0u8; 8];
    copyin(data.pagetable, &mut buf, addr)?;
    Ok(usize::from_le_bytes(buf))
}

/// Fetch the nul-terminated string at addr from the current process into
/// buf. Returns the length of the string, not including nul.
pub fn fetchstr(addr: usize, buf: &mut [u8]) -> Result<usize, ()> {
    // SAFETY: we are the current process, in its own kernel thread.
    let pagetable = unsafe { myproc().data_mut().pagetable };
    copyinstr(pagetable, buf, addr)
}

/// The raw value of system-call argument n (0..=5).
fn argraw(n: usize) -> usize {
    // SAFETY: we are the current process, in its own kernel thread.
    let tf = unsafe { myproc().trapframe() };
    match n {
        0 => tf.a0,
        1 => tf.a1,
        2 => tf.a2,
        3 => tf.a3,
        4 => tf.a4,
        5 => tf.a5,
        _ => panic!("argraw"),
    }
}

/// Fetch the nth 32-bit system call argument (a C `int`).
pub fn argint(n: usize) -> i32 {
    argraw(n) as i32
}

/// Retrieve an argument as a pointer. Doesn't check for legality, since
/// copyin/copyout will do that.
pub fn argaddr(n: usize) -> usize {
    argraw(n)
}

/// Fetch the nth word-sized system call argument as a null-terminated
/// string. Copies into buf. Returns string length if OK (including nul), -1
/// if error.
pub fn argstr(n: usize, buf: &mut [u8]) -> Result<usize, ()> {
    let addr = argaddr(n);
    fetchstr(addr, buf)
}

/// Run the system call the current process asked for, and put its result
/// in the process's a0.
pub fn syscall() {
    use crate::sysfile::*;
    use crate::sysproc::*;

    let p = myproc();
    // SAFETY: we are p, in its own kernel thread.
    let tf = unsafe { p.trapframe() };
    let num = tf.a7;
    let result: SysResult = match num {
        SYS_FORK => sys_fork(),
        SYS_EXIT => sys_exit(),
        SYS_WAIT => sys_wait(),
        SYS_PIPE => sys_pipe(),
        SYS_READ => sys_read(),
        SYS_KILL => sys_kill(),
        SYS_EXEC => sys_exec(),
        SYS_FSTAT => sys_fstat(),
        SYS_CHDIR => sys_chdir(),
        SYS_DUP => sys_dup(),
        SYS_GETPID => sys_getpid(),
        SYS_SBRK => sys_sbrk(),
        SYS_SLEEP => sys_sleep(),
        SYS_UPTIME => sys_uptime(),
        SYS_OPEN => sys_open(),
        SYS_WRITE => sys_write(),
        SYS_MKNOD => sys_mknod(),
        SYS_UNLINK => sys_unlink(),
        SYS_LINK => sys_link(),
        SYS_MKDIR => sys_mkdir(),
        SYS_CLOSE => sys_close(),
        _ => {
            // SAFETY: as above.
            let name = unsafe { &p.data_mut().name };
            let len = name.iter().position(|&c| c == 0).unwrap_or(name.len());
            crate::println!(
                "{} {}: unknown sys call {}",
                p.pid(),
                core::str::from_utf8(&name[..len]).unwrap_or("?"),
                num
            );
            Err(())
        }
    };
    // The trapframe may have been replaced by exec; fetch it again.
    // SAFETY: as above.
    let tf = unsafe { p.trapframe() };
    tf.a0 = result.unwrap_or(usize::MAX);
}
