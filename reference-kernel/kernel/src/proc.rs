//! Processes and CPUs: the process table, per-CPU state, the scheduler,
//! context switching, and the process-level system calls' work (fork, exit,
//! wait, kill, growproc), plus sleep/wakeup. This is xv6's `proc.c` and
//! `proc.h`.
//!
//! Locking, as in xv6:
//! - `p.lock` (a spin lock around `ProcInner`) guards the scheduling state:
//!   state, chan, xstate. It must be held across a context switch.
//! - `WAIT_LOCK` guards every process's `parent`; take it before any p.lock.
//! - `killed` and `pid` are atomics, readable anywhere.
//! - `ProcData` is private to the process: only the process itself touches
//!   it, except its creator (fork) before it first runs and its parent
//!   (wait) after it has become a zombie.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering};

use crate::file::{File, fileclose, filedup};
use crate::fs::{Inode, ROOTINO, fsinit, idup, iget, iput};
use crate::kalloc::{kalloc, kfree};
use crate::log::{begin_op, end_op};
use crate::memlayout::{KSTACK_PAGES, TRAMPOLINE, TRAPFRAME, kstack};
use crate::param::{NCPU, NOFILE, NPROC, ROOTDEV};
use crate::riscv::*;
use crate::spinlock::{Spinlock, SpinlockGuard, pop_off, push_off};
use crate::swtch::swtch;
use crate::trap::usertrapret;
use crate::vm::{
    Pagetable, copyin, copyout, kvmmap, mappages, uvmalloc, uvmcopy, uvmcreate, uvmdealloc,
    uvmfirst, uvmfree, uvmunmap,
};

/// Saved registers for kernel context switches.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Context {
    pub ra: usize,
    pub sp: usize,

    // callee-saved
    pub s0: usize,
    pub s1: usize,
    pub s2: usize,
    pub s3: usize,
    pub s4: usize,
    pub s5: usize,
    pub s6: usize,
    pub s7: usize,
    pub s8: usize,
    pub s9: usize,
    pub s10: usize,
    pub s11: usize,
}

impl Context {
    const fn zero() -> Context {
        Context {
            ra: 0,
            sp: 0,
            s0: 0,
            s1: 0,
            s2: 0,
            s3: 0,
            s4: 0,
            s5: 0,
            s6: 0,
            s7: 0,
            s8: 0,
            s9: 0,
            s10: 0,
            s11: 0,
        }
    }
}

/// Per-CPU state.
pub struct Cpu {
    /// The process running on this cpu, or null.
    pub proc: *const Proc,
    /// swtch() here to enter scheduler().
    pub context: Context,
    /// Depth of push_off() nesting.
    pub noff: i32,
    /// Were interrupts enabled before push_off()?
    pub intena: bool,
}

struct Cpus([UnsafeCell<Cpu>; NCPU]);

// SAFETY: each CPU only touches its own entry, with interrupts off.
unsafe impl Sync for Cpus {}

static CPUS: Cpus = Cpus(
    [const {
        UnsafeCell::new(Cpu {
            proc: core::ptr::null(),
            context: Context::zero(),
            noff: 0,
            intena: false,
        })
    }; NCPU],
);

/// Per-process data for the trap handling code in trampoline.rs. Sits in a
/// page by itself just under the trampoline page in the user page table. Not
/// specially mapped in the kernel page table. uservec in trampoline.rs saves
/// user registers in the trapframe, then initializes registers from the
/// trapframe's kernel_sp, kernel_hartid, kernel_satp, and jumps to
/// kernel_trap. usertrapret() and userret in trampoline.rs set up the
/// trapframe's kernel_*, restore user registers from the trapframe, switch
/// to the user page table, and enter user space. The trapframe includes
/// callee-saved user registers like s0-s11 because the return-to-user path
/// via usertrapret() doesn't return through the entire kernel call stack.
#[repr(C)]
#[derive(Debug)]
pub struct Trapframe {
    /*   0 */ pub kernel_satp: usize, // kernel page table
    /*   8 */ pub kernel_sp: usize, // top of process's kernel stack
    /*  16 */ pub kernel_trap: usize, // usertrap()
    /*  24 */ pub epc: usize, // saved user program counter
    /*  32 */ pub kernel_hartid: usize, // saved kernel tp
    /*  40 */ pub ra: usize,
    /*  48 */ pub sp: usize,
    /*  56 */ pub gp: usize,
    /*  64 */ pub tp: usize,
    /*  72 */ pub t0: usize,
    /*  80 */ pub t1: usize,
    /*  88 */ pub t2: usize,
    /*  96 */ pub s0: usize,
    /* 104 */ pub s1: usize,
    /* 112 */ pub a0: usize,
    /* 120 */ pub a1: usize,
    /* 128 */ pub a2: usize,
    /* 136 */ pub a3: usize,
    /* 144 */ pub a4: usize,
    /* 152 */ pub a5: usize,
    /* 160 */ pub a6: usize,
    /* 168 */ pub a7: usize,
    /* 176 */ pub s2: usize,
    /* 184 */ pub s3: usize,
    /* 192 */ pub s4: usize,
    /* 200 */ pub s5: usize,
    /* 208 */ pub s6: usize,
    /* 216 */ pub s7: usize,
    /* 224 */ pub s8: usize,
    /* 232 */ pub s9: usize,
    /* 240 */ pub s10: usize,
    /* 248 */ pub s11: usize,
    /* 256 */ pub t3: usize,
    /* 264 */ pub t4: usize,
    /* 272 */ pub t5: usize,
    /* 280 */ pub t6: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcState {
    Unused,
    Used,
    Sleeping,
    Runnable,
    Running,
    Zombie,
}

/// The part of a process guarded by `p.lock`.
pub struct ProcInner {
    /// Process state.
    pub state: ProcState,
    /// If non-zero, sleeping on chan.
    pub chan: usize,
    /// Exit status to be returned to parent's wait.
    pub xstate: i32,
}

/// The part of a process private to it (see the module docs).
pub struct ProcData {
    /// Virtual address of kernel stack.
    pub kstack: usize,
    /// Size of process memory (bytes).
    pub sz: usize,
    /// User page table.
    pub pagetable: Pagetable,
    /// Data page for trampoline.rs.
    pub trapframe: *mut Trapframe,
    /// swtch() here to run process.
    pub context: Context,
    /// Open files.
    pub ofile: [Option<&'static File>; NOFILE],
    /// Current directory.
    pub cwd: Option<&'static Inode>,
    /// Process name (debugging).
    pub name: [u8; 16],
}

/// Per-process state.
pub struct Proc {
    pub lock: Spinlock<ProcInner>,
    /// If true, have been killed.
    killed: AtomicBool,
    /// Process ID.
    pid: AtomicI32,
    /// Parent process; WAIT_LOCK must be held when using this.
    parent: UnsafeCell<*const Proc>,
    data: UnsafeCell<ProcData>,
}

// SAFETY: see the locking rules in the module docs.
unsafe impl Sync for Proc {}

impl Proc {
    const fn new() -> Proc {
        Proc {
            lock: Spinlock::new(
                ProcInner {
                    state: ProcState::Unused,
                    chan: 0,
                    xstate: 0,
                },
                "proc",
            ),
            killed: AtomicBool::new(false),
            pid: AtomicI32::new(0),
            parent: UnsafeCell::new(core::ptr::null()),
            data: UnsafeCell::new(ProcData {
                kstack: 0,
                sz: 0,
                pagetable: Pagetable::NULL,
                trapframe: core::ptr::null_mut(),
                context: Context::zero(),
                ofile: [None; NOFILE],
                cwd: None,
                name: [0; 16],
            }),
        }
    }

    /// The process's private data.
    ///
    /// # Safety
    /// Only the process itself may call this (or its creator before it first
    /// runs, or its parent once it is a zombie), and it must not hold two
    /// such references at once.
    #[expect(clippy::mut_from_ref, reason = "exclusivity is the caller's contract")]
    pub unsafe fn data_mut(&self) -> &mut ProcData {
        // SAFETY: the caller upholds the contract above.
        unsafe { &mut *self.data.get() }
    }

    /// The process's trapframe.
    ///
    /// # Safety
    /// As for `data_mut`.
    #[expect(clippy::mut_from_ref, reason = "exclusivity is the caller's contract")]
    pub unsafe fn trapframe(&self) -> &mut Trapframe {
        // SAFETY: the trapframe page lives as long as the process and, by
        // the caller's contract, only this process uses it.
        unsafe { &mut *(*self.data.get()).trapframe }
    }

    pub fn pid(&self) -> i32 {
        self.pid.load(Ordering::Relaxed)
    }

    pub fn killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }

    pub fn setkilled(&self) {
        self.killed.store(true, Ordering::Relaxed);
    }

    /// The parent pointer, given proof that WAIT_LOCK is held.
    #[expect(clippy::mut_from_ref, reason = "WAIT_LOCK serialises access")]
    fn parent<'a>(&'a self, _wait_lock: &SpinlockGuard<'_, ()>) -> &'a mut *const Proc {
        // SAFETY: the guard proves WAIT_LOCK is held, which guards parent.
        unsafe { &mut *self.parent.get() }
    }
}

static PROCS: [Proc; NPROC] = [const { Proc::new() }; NPROC];

static INITPROC: AtomicPtr<Proc> = AtomicPtr::new(core::ptr::null_mut());

static NEXTPID: AtomicI32 = AtomicI32::new(1);

/// Helps ensure that wakeups of wait()ing parents are not lost. Helps obey
/// the memory model when using p.parent. Must be acquired before any p.lock.
static WAIT_LOCK: Spinlock<()> = Spinlock::new((), "wait_lock");

/// Allocate a page for each process's kernel stack. Map it high in memory,
/// followed by an invalid guard page.
pub fn proc_mapstacks(kpgtbl: Pagetable) {
    for i in 0..NPROC {
        let va = kstack(i);
        for page in 0..KSTACK_PAGES {
            let pa = kalloc().expect("proc_mapstacks: out of memory");
            kvmmap(kpgtbl, va + page * PGSIZE, pa.0, PGSIZE, PTE_R | PTE_W);
        }
    }
}

/// Initialize the proc table.
pub fn procinit() {
    for (i, p) in PROCS.iter().enumerate() {
        // SAFETY: boot, single hart: no process runs yet.
        unsafe { p.data_mut().kstack = kstack(i) };
    }
}

/// Must be called with interrupts disabled, to prevent race with process
/// being moved to a different CPU.
pub fn cpuid() -> usize {
    r_tp()
}

/// Return this CPU's cpu struct. Interrupts must be disabled.
pub fn mycpu() -> *mut Cpu {
    CPUS.0[cpuid()].get()
}

/// Return the current process, or None if the CPU is running the scheduler.
pub fn try_myproc() -> Option<&'static Proc> {
    push_off();
    // SAFETY: interrupts are off, so we stay on this CPU while reading it.
    let p = unsafe { (*mycpu()).proc };
    pop_off();
    // SAFETY: c.proc is null or points into the static process table.
    unsafe { p.as_ref() }
}

/// Return the current process. Panics if called from the scheduler.
pub fn myproc() -> &'static Proc {
    try_myproc().expect("myproc: no process")
}

fn allocpid() -> i32 {
    NEXTPID.fetch_add(1, Ordering::Relaxed)
}

/// Look in the process table for an UNUSED proc. If found, initialize state
/// required to run in the kernel, and return with p.lock held. If there are
/// no free procs, or a memory allocation fails, return None.
fn allocproc() -> Option<(&'static Proc, SpinlockGuard<'static, ProcInner>)> {
    for p in PROCS.iter() {
        let mut inner = p.lock.lock();
        if inner.state != ProcState::Unused {
            continue;
        }
        p.pid.store(allocpid(), Ordering::Relaxed);
        inner.state = ProcState::Used;

        // SAFETY: the process is not running; holding p.lock with state
        // USED makes us its only user.
        let data = unsafe { p.data_mut() };

        // Allocate a trapframe page.
        let Some(tf) = kalloc() else {
            freeproc(p, &mut inner);
            return None;
        };
        data.trapframe = tf.as_mut_ptr();

        // An empty user page table.
        data.pagetable = proc_pagetable(p);
        if data.pagetable.is_null() {
            freeproc(p, &mut inner);
            return None;
        }

        // Set up new context to start executing at forkret, which returns to
        // user space.
        data.context = Context::zero();
        data.context.ra = forkret as *const () as usize;
        data.context.sp = data.kstack + KSTACK_PAGES * PGSIZE;

        return Some((p, inner));
    }
    None
}

/// Free a proc structure and the data hanging from it, including user
/// pages. p.lock must be held.
fn freeproc(p: &Proc, inner: &mut ProcInner) {
    // SAFETY: the process is not running (a zombie, or never ran), and
    // p.lock is held.
    let data = unsafe { p.data_mut() };
    if !data.trapframe.is_null() {
        kfree(PhysAddr(data.trapframe as usize));
    }
    data.trapframe = core::ptr::null_mut();
    if !data.pagetable.is_null() {
        proc_freepagetable(data.pagetable, data.sz);
    }
    data.pagetable = Pagetable::NULL;
    data.sz = 0;
    p.pid.store(0, Ordering::Relaxed);
    data.name = [0; 16];
    inner.chan = 0;
    p.killed.store(false, Ordering::Relaxed);
    inner.xstate = 0;
    inner.state = ProcState::Unused;
}

/// Create a user page table for a given process, with no user memory, but
/// with trampoline and trapframe pages. Returns NULL if out of memory.
pub fn proc_pagetable(p: &Proc) -> Pagetable {
    // An empty page table.
    let Some(pagetable) = uvmcreate() else {
        return Pagetable::NULL;
    };

    // map the trampoline code (for system call return) at the highest user
    // virtual address. only the supervisor uses it, on the way to/from user
    // space, so not PTE_U.
    let trampoline = PhysAddr(crate::trampoline::trampoline_pa());
    if mappages(
        pagetable,
        VirtAddr(TRAMPOLINE),
        PGSIZE,
        trampoline,
        PTE_R | PTE_X,
    )
    .is_err()
    {
        uvmfree(pagetable, 0);
        return Pagetable::NULL;
    }

    // map the trapframe page just below the trampoline page, for
    // trampoline.rs.
    // SAFETY: called by allocproc, which owns p.
    let tf = unsafe { p.data_mut().trapframe };
    if mappages(
        pagetable,
        VirtAddr(TRAPFRAME),
        PGSIZE,
        PhysAddr(tf as usize),
        PTE_R | PTE_W,
    )
    .is_err()
    {
        uvmunmap(pagetable, VirtAddr(TRAMPOLINE), 1, false);
        uvmfree(pagetable, 0);
        return Pagetable::NULL;
    }

    pagetable
}

/// Free a process's page table, and free the physical memory it refers to.
pub fn proc_freepagetable(pagetable: Pagetable, sz: usize) {
    uvmunmap(pagetable, VirtAddr(TRAMPOLINE), 1, false);
    uvmunmap(pagetable, VirtAddr(TRAPFRAME), 1, false);
    uvmfree(pagetable, sz);
}

/// Copy a name into a process-name buffer, truncated, NUL-terminated.
pub fn set_name(dst: &mut [u8; 16], name: &[u8]) {
    let n = name.len().min(dst.len() - 1);
    dst.fill(0);
    dst[..n].copy_from_slice(&name[..n]);
}

/// Set up first user process.
pub fn userinit() {
    let (p, mut inner) = allocproc().expect("userinit: no process");
    INITPROC.store(p as *const Proc as *mut Proc, Ordering::Release);

    // SAFETY: the process is not running yet and we hold p.lock.
    let data = unsafe { p.data_mut() };

    // allocate one user page and copy initcode's instructions and data into
    // it.
    uvmfirst(data.pagetable, crate::initcode::initcode());
    data.sz = PGSIZE;

    // prepare for the very first "return" from kernel to user.
    // SAFETY: as above.
    let tf = unsafe { p.trapframe() };
    tf.epc = 0; // user program counter
    tf.sp = PGSIZE; // user stack pointer

    set_name(&mut data.name, b"initcode");
    // iget only takes a slot in the inode table; the inode is read from
    // disk later, in process context.
    data.cwd = Some(iget(ROOTDEV, ROOTINO));

    inner.state = ProcState::Runnable;
}

/// Grow or shrink user memory by n bytes. Fails (leaving memory as it was)
/// if memory runs out, or the new size would be negative or reach the
/// trapframe at the top of the address space.
pub fn growproc(n: i32) -> Result<(), ()> {
    let p = myproc();
    // SAFETY: we are p, in its own kernel thread.
    let data = unsafe { p.data_mut() };
    let mut sz = data.sz;
    if n > 0 {
        let newsz = sz
            .checked_add(n as usize)
            .filter(|&newsz| newsz <= TRAPFRAME)
            .ok_or(())?;
        sz = uvmalloc(data.pagetable, sz, newsz, PTE_W)?;
    } else if n < 0 {
        let newsz = sz.checked_sub(n.unsigned_abs() as usize).ok_or(())?;
        sz = uvmdealloc(data.pagetable, sz, newsz);
    }
    data.sz = sz;
    Ok(())
}

/// Create a new process, copying the parent. Sets up child kernel stack to
/// return as if from fork() system call. Returns the child's pid.
pub fn fork() -> Result<i32, ()> {
    let p = myproc();
    // SAFETY: we are p, in its own kernel thread.
    let data = unsafe { p.data_mut() };

    // Allocate process.
    let (np, mut ninner) = allocproc().ok_or(())?;
    // SAFETY: np is not running yet and we hold np.lock.
    let ndata = unsafe { np.data_mut() };

    // Copy user memory from parent to child.
    if uvmcopy(data.pagetable, ndata.pagetable, data.sz).is_err() {
        freeproc(np, &mut ninner);
        return Err(());
    }
    ndata.sz = data.sz;

    // copy saved user registers.
    // SAFETY: both trapframes are live pages; np's is not in use yet.
    unsafe {
        let tf = p.trapframe();
        let ntf = np.trapframe();
        core::ptr::copy_nonoverlapping(tf as *const Trapframe, ntf as *mut Trapframe, 1);
        // Cause fork to return 0 in the child.
        ntf.a0 = 0;
    }

    // increment reference counts on open file descriptors.
    for (i, f) in data.ofile.iter().enumerate() {
        ndata.ofile[i] = f.map(filedup);
    }
    ndata.cwd = data.cwd.map(idup);

    ndata.name = data.name;

    let pid = np.pid();

    drop(ninner);

    {
        let wait_lock = WAIT_LOCK.lock();
        *np.parent(&wait_lock) = p;
    }

    np.lock.lock().state = ProcState::Runnable;

    Ok(pid)
}

/// Pass p's abandoned children to init. Caller must hold WAIT_LOCK.
fn reparent(p: &Proc, wait_lock: &SpinlockGuard<'_, ()>) {
    let initproc = INITPROC.load(Ordering::Acquire) as *const Proc;
    for pp in PROCS.iter() {
        let parent = pp.parent(wait_lock);
        if core::ptr::eq(*parent, p) {
            *parent = initproc;
            wakeup(initproc as usize);
        }
    }
}

/// Exit the current process. Does not return. An exited process remains in
/// the zombie state until its parent calls wait().
pub fn exit(status: i32) -> ! {
    let p = myproc();

    if core::ptr::eq(p, INITPROC.load(Ordering::Acquire)) {
        panic!("init exiting");
    }

    // SAFETY: we are p, in its own kernel thread.
    let data = unsafe { p.data_mut() };

    // Close all open files.
    for f in data.ofile.iter_mut() {
        if let Some(file) = f.take() {
            fileclose(file);
        }
    }

    begin_op();
    if let Some(cwd) = data.cwd.take() {
        iput(cwd);
    }
    end_op();

    let wait_lock = WAIT_LOCK.lock();

    // Give any children to init.
    reparent(p, &wait_lock);

    // Parent might be sleeping in wait().
    wakeup(*p.parent(&wait_lock) as usize);

    let mut inner = p.lock.lock();
    inner.xstate = status;
    inner.state = ProcState::Zombie;

    drop(wait_lock);

    // Jump into the scheduler, never to return.
    sched(p, &mut inner);
    panic!("zombie exit");
}

/// Wait for a child process to exit and return its pid. Copies the exit
/// status to user address `addr` unless it is 0. Returns Err if this
/// process has no children (or is killed while waiting).
pub fn wait(addr: usize) -> Result<i32, ()> {
    let p = myproc();
    // SAFETY: we are p, in its own kernel thread.
    let pagetable = unsafe { p.data_mut().pagetable };

    let mut wait_lock = WAIT_LOCK.lock();

    loop {
        // Scan through table looking for exited children.
        let mut havekids = false;
        for pp in PROCS.iter() {
            if !core::ptr::eq(*pp.parent(&wait_lock), p) {
                continue;
            }
            // make sure the child isn't still in exit() or swtch().
            let mut inner = pp.lock.lock();

            havekids = true;
            if inner.state == ProcState::Zombie {
                // Found one.
                let pid = pp.pid();
                if addr != 0 && copyout(pagetable, addr, &inner.xstate.to_le_bytes()).is_err() {
                    return Err(());
                }
                freeproc(pp, &mut inner);
                *pp.parent(&wait_lock) = core::ptr::null();
                return Ok(pid);
            }
        }

        // No point waiting if we don't have any children.
        if !havekids || p.killed() {
            return Err(());
        }

        // Wait for a child to exit.
        wait_lock = sleep(p as *const Proc as usize, wait_lock);
    }
}

/// Per-CPU process scheduler. Each CPU calls scheduler() after setting
/// itself up. Scheduler never returns. It loops, doing:
///  - choose a process to run.
///  - swtch to start running that process.
///  - eventually that process transfers control via swtch back to the
///    scheduler.
pub fn scheduler() -> ! {
    let c = mycpu();
    // SAFETY: this CPU's struct; only this CPU touches it.
    unsafe { (*c).proc = core::ptr::null() };

    loop {
        // The most recent process to run may have had interrupts turned off;
        // enable them to avoid a deadlock if all processes are waiting, and
        // let any pending device interrupt in now.
        intr_on();
        // Then scan with interrupts off, so that an interrupt that makes a
        // process runnable cannot slip in between the scan and the wfi
        // below (it stays pending, and wfi returns at once).
        intr_off();

        let mut found = false;
        for p in PROCS.iter() {
            let mut inner = p.lock.lock();
            if inner.state == ProcState::Runnable {
                // Switch to chosen process. It is the process's job to
                // release its lock and then reacquire it before jumping back
                // to us.
                inner.state = ProcState::Running;
                // SAFETY: this CPU's struct, with interrupts off (we hold a
                // spin lock); p's context is only switched to by the CPU
                // holding p.lock.
                unsafe {
                    (*c).proc = p;
                    swtch(&mut (*c).context, &p.data_mut().context);
                    // Process is done running for now. It should have
                    // changed its p->state before coming back.
                    (*c).proc = core::ptr::null();
                }
                found = true;
            }
            drop(inner);
        }
        if !found {
            // Nothing to run: stop this hart until an interrupt arrives,
            // rather than spinning and stealing host CPU time from QEMU.
            // wfi wakes for a pending interrupt even with interrupts off.
            wfi();
        }
    }
}

/// Switch to scheduler. Must hold only p.lock and have changed proc.state.
/// Saves and restores intena because intena is a property of this kernel
/// thread, not this CPU. It should be proc.intena and proc.noff, but that
/// would break in the few places where a lock is held but there's no
/// process.
fn sched(p: &Proc, inner: &mut SpinlockGuard<'_, ProcInner>) {
    if !p.lock.holding() {
        panic!("sched p->lock");
    }
    let c = mycpu();
    // SAFETY: interrupts are off (we hold p.lock), so c is this CPU's.
    unsafe {
        if (*c).noff != 1 {
            panic!("sched locks");
        }
    }
    if inner.state == ProcState::Running {
        panic!("sched running");
    }
    if intr_get() {
        panic!("sched interruptible");
    }

    // SAFETY: as above; and p's context belongs to this kernel thread.
    unsafe {
        let intena = (*c).intena;
        swtch(&mut p.data_mut().context, &(*c).context);
        // We may be on another CPU now.
        (*mycpu()).intena = intena;
    }
}

/// Give up the CPU for one scheduling round.
pub fn yield_() {
    let p = myproc();
    let mut inner = p.lock.lock();
    inner.state = ProcState::Runnable;
    sched(p, &mut inner);
}

static FIRST: AtomicBool = AtomicBool::new(true);

/// A fork child's very first scheduling by scheduler() will swtch to
/// forkret.
extern "C" fn forkret() {
    let p = myproc();
    // Still holding p.lock from scheduler.
    // SAFETY: the scheduler took p.lock before switching to us; there is no
    // guard for it in this kernel thread.
    unsafe { p.lock.force_unlock() };

    if FIRST.swap(false, Ordering::AcqRel) {
        // File system initialization must be run in the context of a regular
        // process (e.g., because it calls sleep), and thus cannot be run
        // from main().
        fsinit(ROOTDEV);
    }

    usertrapret();
}

/// Atomically release lock and sleep on chan. Reacquires lock when awakened.
pub fn sleep<'a, T>(chan: usize, lk: SpinlockGuard<'a, T>) -> SpinlockGuard<'a, T> {
    let p = myproc();
    let lock = SpinlockGuard::lock_ref(&lk);

    // Must acquire p.lock in order to change p.state and then call sched.
    // Once we hold p.lock, we can be guaranteed that we won't miss any
    // wakeup (wakeup locks p.lock), so it's okay to release lk.
    let mut inner = p.lock.lock();
    drop(lk);

    // Go to sleep.
    inner.chan = chan;
    inner.state = ProcState::Sleeping;

    sched(p, &mut inner);

    // Tidy up.
    inner.chan = 0;

    // Reacquire original lock.
    drop(inner);
    lock.lock()
}

/// Wake up all processes sleeping on chan. Must be called without any p.lock.
pub fn wakeup(chan: usize) {
    let me = try_myproc();
    for p in PROCS.iter() {
        if me.is_some_and(|me| core::ptr::eq(me, p)) {
            continue;
        }
        let mut inner = p.lock.lock();
        if inner.state == ProcState::Sleeping && inner.chan == chan {
            inner.state = ProcState::Runnable;
        }
    }
}

/// Kill the process with the given pid. The victim won't exit until it
/// tries to return to user space (see usertrap() in trap.rs).
pub fn kill(pid: i32) -> Result<(), ()> {
    for p in PROCS.iter() {
        let mut inner = p.lock.lock();
        if p.pid() == pid && inner.state != ProcState::Unused {
            p.setkilled();
            if inner.state == ProcState::Sleeping {
                // Wake process from sleep().
                inner.state = ProcState::Runnable;
            }
            return Ok(());
        }
    }
    Err(())
}

/// Copy to either a user address, or kernel address, depending on user_dst.
pub fn either_copyout(user_dst: bool, dst: usize, src: &[u8]) -> Result<(), ()> {
    if user_dst {
        // SAFETY: we are the current process, in its own kernel thread.
        let pagetable = unsafe { myproc().data_mut().pagetable };
        copyout(pagetable, dst, src)
    } else {
        // SAFETY: kernel callers pass a kernel address with room for src.
        unsafe { core::ptr::copy(src.as_ptr(), dst as *mut u8, src.len()) };
        Ok(())
    }
}

/// Copy from either a user address, or kernel address, depending on
/// user_src.
pub fn either_copyin(dst: &mut [u8], user_src: bool, src: usize) -> Result<(), ()> {
    if user_src {
        // SAFETY: we are the current process, in its own kernel thread.
        let pagetable = unsafe { myproc().data_mut().pagetable };
        copyin(pagetable, dst, src)
    } else {
        // SAFETY: kernel callers pass a kernel address holding dst.len()
        // bytes.
        unsafe { core::ptr::copy(src as *const u8, dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }
}

/// Print a process listing to console. For debugging. Runs when user types
/// ^P on console. No lock to avoid wedging a stuck machine further.
pub fn procdump() {
    crate::println!();
    for p in PROCS.iter() {
        // SAFETY: a racy read for debugging output only, as in xv6.
        let (state, name) = unsafe { (p.lock.get_mut_unchecked().state, &p.data_mut().name) };
        if state == ProcState::Unused {
            continue;
        }
        let state = match state {
            ProcState::Unused => "unused",
            ProcState::Used => "used",
            ProcState::Sleeping => "sleep ",
            ProcState::Runnable => "runble",
            ProcState::Running => "run   ",
            ProcState::Zombie => "zombie",
        };
        let len = name.iter().position(|&c| c == 0).unwrap_or(name.len());
        let name = core::str::from_utf8(&name[..len]).unwrap_or("???");
        crate::println!("{} {} {}", p.pid(), state, name);
    }
}
