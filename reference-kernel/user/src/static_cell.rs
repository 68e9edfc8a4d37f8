//! [`StaticCell`]: a static that can be borrowed mutably exactly once, for
//! buffers too big for the 4 KiB stack (xv6 programs keep them in global
//! arrays, which live in the data segment rather than the heap).

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// A value in static memory handed out once as `&'static mut`.
///
/// ```ignore
/// static BUF: StaticCell<[u8; 512]> = StaticCell::new([0; 512]);
/// let buf = BUF.take();
/// ```
pub struct StaticCell<T> {
    taken: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: `take` gives out the only reference, once, so the value is never
// shared; moving that reference to another thread needs `T: Send`.
unsafe impl<T: Send> Sync for StaticCell<T> {}

impl<T> StaticCell<T> {
    /// A cell holding `value`.
    pub const fn new(value: T) -> StaticCell<T> {
        StaticCell {
            taken: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, mutably. Panics if called a second time.
    #[expect(
        clippy::mut_from_ref,
        reason = "the flag makes this the only reference ever given out"
    )]
    pub fn take(&'static self) -> &'static mut T {
        if self.taken.swap(true, Ordering::Acquire) {
            panic!("StaticCell taken twice");
        }
        // SAFETY: the flag was clear, so no reference to the value exists,
        // and it is now set, so none will be created again.
        unsafe { &mut *self.value.get() }
    }
}
