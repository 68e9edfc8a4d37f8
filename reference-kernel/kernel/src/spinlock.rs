//! Mutual-exclusion spin locks. This is xv6's `spinlock.c`, as a lock that
//! owns the data it protects: `lock()` returns a guard, and dropping the guard
//! releases the lock.
//!
//! As in xv6, interrupts are off on a CPU while it holds any spin lock
//! (`push_off`/`pop_off` count the nesting per CPU), so an interrupt handler
//! can never deadlock against the code it interrupted.

use core::cell::UnsafeCell;
use core::hint::spin_loop;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::proc::{cpuid, mycpu};
use crate::riscv::{intr_get, intr_off, intr_on};

/// `cpu` value when no CPU holds the lock.
const NO_CPU: usize = usize::MAX;

/// A spin lock protecting a `T`.
pub struct Spinlock<T: ?Sized> {
    /// Is the lock held?
    locked: AtomicBool,
    /// Name of lock, for debugging.
    name: &'static str,
    /// The CPU holding the lock (for `holding`), or NO_CPU.
    cpu: AtomicUsize,
    data: UnsafeCell<T>,
}

// SAFETY: the lock serialises all access to `data`.
unsafe impl<T: ?Sized + Send> Sync for Spinlock<T> {}
// SAFETY: moving the lock moves the data; no CPU can hold it meanwhile.
unsafe impl<T: ?Sized + Send> Send for Spinlock<T> {}

/// Proof that the current CPU holds a spin lock; gives access to its data.
pub struct SpinlockGuard<'a, T: ?Sized> {
    lock: &'a Spinlock<T>,
}

impl<T> Spinlock<T> {
    /// A new, unlocked lock around `data`.
    pub const fn new(data: T, name: &'static str) -> Spinlock<T> {
        Spinlock {
            locked: AtomicBool::new(false),
            name,
            cpu: AtomicUsize::new(NO_CPU),
            data: UnsafeCell::new(data),
        }
    }
}

impl<T: ?Sized> Spinlock<T> {
    /// Acquire the lock. Loops (spins) until the lock is acquired.
    pub fn lock(&self) -> SpinlockGuard<'_, T> {
        // Disable interrupts to avoid deadlock.
        push_off();
        if self.holding() {
            panic!("acquire {}", self.name);
        }

        // On RISC-V, compare_exchange turns into an atomic swap; Acquire makes
        // the critical section's memory accesses happen strictly after the
        // lock is taken.
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spin_loop();
        }

        // Record info about lock acquisition for holding() and debugging.
        self.cpu.store(cpuid(), Ordering::Relaxed);
        SpinlockGuard { lock: self }
    }

    /// Check whether this CPU is holding the lock. Interrupts must be off.
    pub fn holding(&self) -> bool {
        self.locked.load(Ordering::Relaxed) && self.cpu.load(Ordering::Relaxed) == cpuid()
    }

    /// Release the lock without a guard.
    ///
    /// # Safety
    /// The current CPU must hold the lock and no guard for it may be used
    /// afterwards. Only the scheduler hand-off (a new process's first run in
    /// `forkret`, which inherits the lock the scheduler took) needs this.
    pub unsafe fn force_unlock(&self) {
        self.release();
    }

    /// The data, without taking the lock.
    ///
    /// # Safety
    /// The caller must ensure no one else accesses the data concurrently:
    /// e.g. during boot on one hart, or after a panic.
    #[expect(clippy::mut_from_ref, reason = "exclusivity is the caller's contract")]
    pub unsafe fn get_mut_unchecked(&self) -> &mut T {
        // SAFETY: the caller promises exclusive access.
        unsafe { &mut *self.data.get() }
    }

    fn release(&self) {
        if !self.holding() {
            panic!("release {}", self.name);
        }
        self.cpu.store(NO_CPU, Ordering::Relaxed);
        // Release makes the critical section's stores visible to the next
        // holder before it sees the lock as free.
        self.locked.store(false, Ordering::Release);
        pop_off();
    }
}

impl<'a, T: ?Sized> SpinlockGuard<'a, T> {
    /// The lock this guard holds (for `sleep`, which releases and re-takes it).
    pub fn lock_ref(this: &Self) -> &'a Spinlock<T> {
        this.lock
    }
}

impl<T: ?Sized> Deref for SpinlockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves this CPU holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for SpinlockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves this CPU holds the lock, and the guard is
        // borrowed mutably, so this is the only reference.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for SpinlockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.release();
    }
}

/// push_off/pop_off are like intr_off()/intr_on() except that they are
/// matched: it takes two pop_off()s to undo two push_off()s. Also, if
/// interrupts are initially off, then push_off, pop_off leaves them off.
pub fn push_off() {
    let old = intr_get();
    intr_off();
    // SAFETY: interrupts are off, so this CPU's struct cannot change hands.
    let c = unsafe { &mut *mycpu() };
    if c.noff == 0 {
        c.intena = old;
    }
    c.noff += 1;
}

/// Undo one `push_off`, re-enabling interrupts when the outermost one had
/// them enabled.
pub fn pop_off() {
    // SAFETY: interrupts are off (checked next), so this CPU's struct is ours.
    let c = unsafe { &mut *mycpu() };
    if intr_get() {
        panic!("pop_off - interruptible");
    }
    if c.noff < 1 {
        panic!("pop_off");
    }
    c.noff -= 1;
    if c.noff == 0 && c.intena {
        intr_on();
    }
}
