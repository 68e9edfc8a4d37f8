//! Long-term locks for processes: a holder may sleep (wait for the disk)
//! while holding one, and waiters sleep instead of spinning. This is xv6's
//! `sleeplock.c`, as a lock that owns its data and hands out guards.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};

use crate::proc::{myproc, sleep, wakeup};
use crate::spinlock::Spinlock;

struct State {
    /// Is the lock held?
    locked: bool,
    /// Process holding lock.
    pid: i32,
}

/// A sleeping lock protecting a `T`.
pub struct Sleeplock<T> {
    /// Spinlock protecting this sleep lock.
    lk: Spinlock<State>,
    data: UnsafeCell<T>,
}

// SAFETY: the lock serialises all access to `data`.
unsafe impl<T: Send> Sync for Sleeplock<T> {}

/// Proof that the current process holds a sleep lock.
pub struct SleeplockGuard<'a, T> {
    lock: &'a Sleeplock<T>,
}

impl<T> Sleeplock<T> {
    pub const fn new(data: T, name: &'static str) -> Sleeplock<T> {
        Sleeplock {
            lk: Spinlock::new(
                State {
                    locked: false,
                    pid: 0,
                },
                name,
            ),
            data: UnsafeCell::new(data),
        }
    }

    fn chan(&self) -> usize {
        self as *const Self as usize
    }

    /// Acquire the lock, sleeping while another process holds it.
    pub fn lock(&self) -> SleeplockGuard<'_, T> {
        let mut st = self.lk.lock();
        while st.locked {
            st = sleep(self.chan(), st);
        }
        st.locked = true;
        st.pid = myproc().pid();
        SleeplockGuard { lock: self }
    }

    /// The data, without taking the lock.
    ///
    /// # Safety
    /// No process may hold the lock or take it while the result is used
    /// (e.g. the buffer cache's bookkeeping of a buffer with no users).
    #[expect(clippy::mut_from_ref, reason = "exclusivity is the caller's contract")]
    pub unsafe fn get_mut_unchecked(&self) -> &mut T {
        // SAFETY: the caller promises exclusive access.
        unsafe { &mut *self.data.get() }
    }
}

impl<T> Deref for SleeplockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the current process holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SleeplockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves the current process holds the lock, and
        // it is borrowed mutably, so this is the only reference.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SleeplockGuard<'_, T> {
    fn drop(&mut self) {
        let mut st = self.lock.lk.lock();
        st.locked = false;
        st.pid = 0;
        wakeup(self.lock.chan());
    }
}
