//! Tests of the process's memory: growing and shrinking it with sbrk,
//! running out of it, and faults the kernel must answer by killing the
//! process (kernel memory, addresses beyond MAXVA, the stack's guard page,
//! program text).
//!
//! Several of them run differently on an eager and a lazy kernel: where
//! xv6's sbrk fails for lack of memory, a lazy sbrk succeeds and the process
//! is killed later, by the page fault that finds no free page. Both are
//! accepted where both are correct.

use core::ffi::c_char;
use core::ptr::null_mut;

use user::harness::{PGSIZE, run_in_child};
use user::{O_CREATE, O_RDWR, StaticCell, fail, free, malloc, sys};

use crate::probe::{
    self, KERNBASE, MAXVA, SBRK_FAILED, brk, expect_killed, expect_success, grow, load, sbrk, store,
};

/// Allocates all memory with malloc, frees it, and allocates again. On a
/// lazy kernel malloc never fails; the child is killed when memory runs out,
/// and that is accepted.
pub fn mem() {
    let status = run_in_child(|| {
        let mut head: *mut u8 = null_mut();
        loop {
            let m = malloc(10001);
            if m.is_null() {
                break;
            }
            // SAFETY: `m` is a fresh block of 10001 bytes, 16-byte aligned:
            // room for the link to the previous block, and ours to write.
            unsafe {
                m.cast::<*mut u8>().write(head);
                // Use every page of the block, so that a lazy kernel runs
                // out of memory when malloc has handed out all of it (and
                // not twice the address space later).
                for off in (PGSIZE..10001).step_by(PGSIZE) {
                    m.add(off).write_volatile(1);
                }
                m.add(10000).write_volatile(1);
            }
            head = m;
        }
        while !head.is_null() {
            // SAFETY: every block on the chain starts with the link written
            // above, and is freed only after it has been read.
            unsafe {
                let next = head.cast::<*mut u8>().read();
                free(head);
                head = next;
            }
        }
        let m = malloc(20 * 1024);
        if m.is_null() {
            fail!("couldn't allocate memory after freeing it all");
        }
        // SAFETY: `m` came from malloc.
        unsafe { free(m) };
    });
    match status {
        Ok(0) | Ok(-1) => {}
        other => fail!("child exited with {other:?}"),
    }
}

/// sbrk basics: a request for more memory than the machine has fails or (on
/// a lazy kernel) gets the process killed when it uses it; 5000 one-byte
/// sbrks return consecutive addresses; the break survives fork.
pub fn sbrkbasic() {
    const TOOMUCH: usize = 1024 * 1024 * 1024;
    let status = run_in_child(|| {
        // SAFETY: growing takes nothing away.
        let a = unsafe { sbrk(TOOMUCH as i32) };
        if a == SBRK_FAILED {
            // An eager kernel cannot have a GiB to give.
            sys::exit(0);
        }
        for p in (a..a + TOOMUCH).step_by(PGSIZE) {
            // SAFETY: heap this child just grew.
            unsafe { store(p, 99) };
        }
        // Neither sbrk failed nor did a page fault kill us.
        sys::exit(1);
    });
    match status {
        Ok(0) | Ok(-1) => {}
        Ok(1) => fail!("too much memory allocated!"),
        other => fail!("child exited with {other:?}"),
    }

    let mut a = brk();
    for i in 0..5000 {
        // SAFETY: growing takes nothing away.
        let b = unsafe { sbrk(1) };
        if b != a {
            fail!("sbrk(1) #{i} returned {b:#x}, expected {a:#x}");
        }
        // SAFETY: the byte just grown.
        unsafe { store(b, 1) };
        a = b + 1;
    }
    let pid = match user::fork() {
        Ok(pid) => pid,
        Err(_) => fail!("fork failed"),
    };
    // Both parent and child grow by two bytes from the same break.
    // SAFETY: growing takes nothing away.
    let c = unsafe {
        sbrk(1);
        sbrk(1)
    };
    if c != a + 1 {
        fail!("sbrk after fork returned {c:#x}, expected {:#x}", a + 1);
    }
    if pid == 0 {
        sys::exit(0);
    }
    match probe_wait(pid) {
        0 => {}
        status => fail!("forked child exited with {status}"),
    }
}

/// Waits for child `pid`; returns its exit status.
fn probe_wait(pid: i32) -> i32 {
    match user::harness::wait_for(pid) {
        Ok(w) => w.status,
        Err(_) => fail!("wait failed"),
    }
}

/// Grows the address space to 100 MiB and uses every page, gives back a
/// page and gets it again (it must come back zeroed), then shrinks back.
pub fn sbrkmuch() {
    const BIG: usize = 100 * 1024 * 1024;
    let oldbrk = brk();
    let a = brk();
    let amt = BIG - a;
    // SAFETY: growing takes nothing away.
    let p = unsafe { sbrk(amt as i32) };
    if p != a {
        fail!("sbrk failed to grow the address space to 100 MiB (enough memory?)");
    }
    let end = brk();
    for pp in (a..end).step_by(PGSIZE) {
        // SAFETY: heap just grown.
        unsafe { store(pp, 1) };
    }
    let lastaddr = BIG - 1;
    // SAFETY: the last byte of the heap.
    unsafe { store(lastaddr, 99) };

    // Give back the last page.
    let a = brk();
    // SAFETY: nothing lives in the last page but the 99.
    let c = unsafe { sbrk(-(PGSIZE as i32)) };
    if c == SBRK_FAILED {
        fail!("sbrk could not deallocate");
    }
    let c = brk();
    if c != a - PGSIZE {
        fail!("sbrk deallocation produced wrong address, a {a:#x} c {c:#x}");
    }

    // Get it back: it must be a fresh page, not the old one.
    let a = brk();
    // SAFETY: growing takes nothing away.
    let c = unsafe { sbrk(PGSIZE as i32) };
    if c != a || brk() != a + PGSIZE {
        fail!("sbrk re-allocation failed, a {a:#x} c {c:#x}");
    }
    if load(lastaddr) != 0 {
        fail!("sbrk de-allocation didn't really deallocate (old data came back)");
    }

    let a = brk();
    // SAFETY: everything above `oldbrk` is the heap this test grew.
    let c = unsafe { sbrk(-((brk() - oldbrk) as i32)) };
    if c != a {
        fail!("sbrk downsize failed, a {a:#x} c {c:#x}");
    }
}

/// Reading the kernel's memory must get the process killed.
pub fn kernmem() {
    for a in (KERNBASE..KERNBASE + 2_000_000).step_by(50_000) {
        expect_killed(format_args!("load from kernel address {a:#x}"), || {
            let v = load(a);
            fail!("could read {a:#x} = {v:#x}");
        });
    }
}

/// Writing at or above MAXVA must get the process killed (and must not make
/// the kernel walk a page table with such an address).
pub fn maxvaplus() {
    let mut a = MAXVA;
    while a != 0 {
        expect_killed(format_args!("store to {a:#x}"), || {
            // SAFETY: meant to fault; this is a disposable child.
            unsafe { store(a, 99) };
        });
        a <<= 1;
    }
}

/// Children that each try to take 100 MiB, most of them failing: the failed
/// attempts must give back what they had allocated, and a process that runs
/// the machine out of memory (killed on a lazy kernel) must leave it usable.
pub fn sbrkfail() {
    const BIG: usize = 100 * 1024 * 1024;
    const N: usize = 10;
    let (rfd, wfd) = match user::pipe() {
        Ok(fds) => fds,
        Err(_) => fail!("pipe() failed"),
    };
    let mut pids = [-1i32; N];
    for pid in pids.iter_mut() {
        match user::fork() {
            Ok(0) => {
                // SAFETY: growing takes nothing away.
                unsafe { sbrk((BIG - brk()) as i32) };
                let _ = user::write(wfd, b"x");
                // Sit here until killed.
                loop {
                    let _ = user::sleep(1000);
                }
            }
            Ok(child) => {
                *pid = child;
                let mut scratch = [0u8];
                let _ = user::read(rfd, &mut scratch);
            }
            Err(_) => {}
        }
    }
    // If the failed attempts freed what they had, one more page is there.
    // SAFETY: growing takes nothing away.
    let c = unsafe { sbrk(PGSIZE as i32) };
    for &pid in pids.iter().filter(|&&pid| pid > 0) {
        let _ = user::kill(pid);
        let _ = user::wait();
    }
    let _ = user::close(rfd);
    let _ = user::close(wfd);
    if c == SBRK_FAILED {
        fail!("failed sbrk leaked memory");
    }

    // A child that wants 10 times the memory and reads every page: sbrk
    // fails (eager) or the reads run out of memory (lazy); either way it must
    // be killed, not finish.
    expect_killed(format_args!("reading 1000 MiB"), || {
        let a = brk();
        // SAFETY: growing takes nothing away.
        unsafe { sbrk((10 * BIG) as i32) };
        let mut n = 0u32;
        for i in (0..10 * BIG).step_by(PGSIZE) {
            n = n.wrapping_add(u32::from(load(a + i)));
        }
        fail!("allocating 1000 MiB succeeded ({n})");
    });
}

/// System calls on memory sbrk just returned: write() from it and pipe()
/// into it. (One page each: a kernel that allocates the first page of every
/// sbrk eagerly passes this by luck; the lazy tests cover more pages.)
pub fn sbrkarg() {
    let a = grow(PGSIZE);
    let Ok(fd) = user::open(c"sbrk", O_CREATE | user::O_WRONLY) else {
        fail!("open sbrk failed");
    };
    let _ = user::unlink(c"sbrk");
    // SAFETY: the kernel only reads the page just grown.
    let n = unsafe { sys::write(fd, a as *const u8, PGSIZE as i32) };
    if n != PGSIZE as i32 {
        fail!("write(fd, sbrk'd page, {PGSIZE}) returned {n}");
    }
    let _ = user::close(fd);

    let a = grow(PGSIZE);
    // SAFETY: the kernel writes two ints into the page just grown.
    if unsafe { sys::pipe(a as *mut i32) } != 0 {
        fail!("pipe() into a sbrk'd page failed");
    }
    // SAFETY: pipe() stored the descriptors there.
    let (r, w) = unsafe { ((a as *const i32).read(), (a as *const i32).add(1).read()) };
    if user::close(r).is_err() || user::close(w).is_err() {
        fail!("pipe() stored bad descriptors {r} {w}");
    }
}

/// Uninitialised static data (.bss) must start out zero.
pub fn bsstest() {
    static UNINIT: StaticCell<[u8; 10000]> = StaticCell::new([0; 10000]);
    let uninit = UNINIT.take();
    for (i, b) in uninit.iter().enumerate() {
        // Volatile, so the compiler cannot assume the zeros it put there.
        // SAFETY: `b` is a valid reference into the array.
        if unsafe { core::ptr::read_volatile(b) } != 0 {
            fail!("bss byte {i} is not zero");
        }
    }
}

/// The page below the stack is a guard: reading it must get the process
/// killed.
pub fn stacktest() {
    expect_killed(format_args!("load from the stack guard page"), || {
        let v = load(probe::sp() - PGSIZE);
        fail!("read below the stack: {v}");
    });
}

/// Program text and read-only data are not writable: a store must get the
/// process killed (and a lazy kernel must not map a page over them).
pub fn textwrite() {
    let text = textwrite as fn() as usize;
    let rodata = c"constant".as_ptr() as usize;
    for (what, addr) in [("text at 0", 0), ("text", text), ("read-only data", rodata)] {
        expect_killed(format_args!("store to {what} ({addr:#x})"), || {
            // SAFETY: meant to fault; this is a disposable child.
            unsafe { store(addr, 10) };
        });
    }
}

/// Regression tests from xv6: shrinking the break to zero, into the first
/// page, or by less than a page must not panic the kernel.
pub fn sbrkbugs() {
    // Free all memory, text and stack included: the child dies by the fault
    // on its next instruction.
    let status = run_in_child(|| {
        let sz = brk();
        // SAFETY: this child never returns to code that needs the memory;
        // it is meant to die.
        unsafe { sbrk(-(sz as i32)) };
        sys::exit(0);
    });
    if status != Ok(-1) {
        fail!("child that freed all its memory was not killed ({status:?})");
    }
    // Break somewhere in the very first page: the child may well lose the
    // code it runs and be killed; the kernel must just survive it.
    let status = run_in_child(|| {
        let sz = brk();
        // SAFETY: as above.
        unsafe { sbrk(-((sz - 3500) as i32)) };
        sys::exit(0);
    });
    if !matches!(status, Ok(0) | Ok(-1)) {
        fail!("child that shrank into its first page: {status:?}");
    }
    // Break in the middle of a page, then lowered by 10 bytes, which frees
    // no page.
    expect_success(format_args!("break in mid-page"), || {
        let target = probe::align_brk() + 10 * PGSIZE + 2048;
        // SAFETY: growing takes nothing away.
        unsafe { sbrk((target - brk()) as i32) };
        // SAFETY: the 10 bytes given back hold nothing.
        unsafe { sbrk(-10) };
    });
}

/// After growing past a page boundary and shrinking back below it, the
/// kernel must still read and write the last page (copyin and copyout).
pub fn sbrklast() {
    probe::align_brk();
    grow(4096);
    grow(10);
    // SAFETY: the 20 bytes given back hold nothing.
    unsafe { sbrk(-20) };
    let top = brk();
    let p = top - 64;
    // SAFETY: heap this test grew.
    unsafe {
        store(p, b'x');
        store(p + 1, 0);
    }
    // SAFETY: `p` is the NUL-terminated name "x" in our heap.
    let fd = unsafe { sys::open(p as *const c_char, O_RDWR | O_CREATE) };
    if fd < 0 {
        fail!("open(\"x\" in the last page) failed");
    }
    // SAFETY: the kernel reads one byte of our heap.
    unsafe { sys::write(fd, p as *const u8, 1) };
    let _ = user::close(fd);
    // SAFETY: as above.
    let fd = unsafe { sys::open(p as *const c_char, O_RDWR) };
    // SAFETY: heap this test grew.
    unsafe { store(p, 0) };
    // SAFETY: the kernel writes one byte of our heap.
    let n = unsafe { sys::read(fd, p as *mut u8, 1) };
    let _ = user::close(fd);
    let _ = user::unlink(c"x");
    if n != 1 || load(p) != b'x' {
        fail!("read back from the last page got {n} bytes, {:#x}", load(p));
    }
}

/// sbrk(0x80000004) is a negative int: it must fail without touching the
/// break, and the process must still use its memory.
pub fn sbrk8000() {
    grow(PGSIZE);
    let before = brk();
    // SAFETY: if it succeeded it would shrink; the kernel must refuse.
    let r = unsafe { sbrk(0x8000_0004_u32 as i32) };
    if r != SBRK_FAILED {
        fail!("sbrk(0x80000004) returned {r:#x}");
    }
    if brk() != before {
        fail!("failed sbrk moved the break");
    }
    let top = brk();
    // SAFETY: the last byte of the heap grown above.
    unsafe { store(top - 1, load(top - 1).wrapping_add(1)) };
}

/// exec when memory is nearly exhausted: a child takes all the memory it
/// can, then tries exec, giving back a page after each failure. Every
/// failure point of exec must clean up (no panic, no leak); on a lazy kernel
/// the child is normally killed while taking memory, which is fine.
pub fn execout() {
    let status = run_in_child(|| {
        let mut chunk = 256;
        loop {
            // SAFETY: growing takes nothing away.
            let a = unsafe { sbrk((chunk * PGSIZE) as i32) };
            if a == SBRK_FAILED {
                if chunk == 1 {
                    break;
                }
                chunk /= 2;
                continue;
            }
            for page in 0..chunk {
                // SAFETY: heap just grown.
                unsafe { store(a + page * PGSIZE + PGSIZE - 1, 1) };
            }
        }
        let _ = user::close(1);
        for _ in 0..64 {
            let _ = user::exec(c"/echo", &[c"echo", c"x"]);
            // SAFETY: gives back a page of the heap just grown, unused.
            unsafe { sbrk(-(PGSIZE as i32)) };
        }
        fail!("exec never succeeded, even with 64 pages free");
    });
    match status {
        Ok(0) | Ok(-1) => {}
        other => fail!("child exited with {other:?}"),
    }
}
