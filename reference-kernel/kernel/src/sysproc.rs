//! Process-related system calls: exit, getpid, fork, wait, sbrk, sleep,
//! kill, uptime. This is xv6's `sysproc.c`; argument fetching is in
//! syscall.rs and the work itself in proc.rs.

use crate::proc::{exit, fork, growproc, kill, myproc, sleep, wait};
use crate::syscall::{SysResult, argaddr, argint};
use crate::trap::{TICKS, ticks_chan};

pub fn sys_exit() -> SysResult {
    let n = argint(0);
    exit(n)
}

pub fn sys_getpid() -> SysResult {
    Ok(myproc().pid() as usize)
}

pub fn sys_fork() -> SysResult {
    fork().map(|pid| pid as usize)
}

pub fn sys_wait() -> SysResult {
    let p = argaddr(0);
    wait(p).map(|pid| pid as usize)
}

/// Grow (or shrink) the process's memory by n bytes; return the old size,
/// which is the start of the new memory.
pub fn sys_sbrk() -> SysResult {
    let n = argint(0);
    // SAFETY: we are the current process, in its own kernel thread.
    let addr = unsafe { myproc().data_mut().sz };
    growproc(n)?;
    Ok(addr)
}

/// Sleep for n clock ticks (a tick is about 1/10 s).
pub fn sys_sleep() -> SysResult {
    let n = argint(0).max(0) as u32;
    let mut ticks = TICKS.lock();
    let ticks0 = *ticks;
    while ticks.wrapping_sub(ticks0) < n {
        if myproc().killed() {
            return Err(());
        }
        ticks = sleep(ticks_chan(), ticks);
    }
    Ok(0)
}

pub fn sys_kill() -> SysResult {
    let pid = argint(0);
    kill(pid).map(|()| 0)
}

/// Return how many clock tick interrupts have occurred since start.
pub fn sys_uptime() -> SysResult {
    Ok(*TICKS.lock() as usize)
}
