//! Process tests: exec, pipes, kill, preemption, and fork/exit/wait under
//! load, looking for races in exit, wait and the handing of orphans to init,
//! and for a fork that fails gracefully when the process table is full.

use user::harness::{NPROC, run_in_child, spare_processes, wait_for};
use user::{O_CREATE, O_RDONLY, O_RDWR, O_WRONLY, StaticCell, fail, sys};

/// Forks, or fails the test.
fn fork() -> i32 {
    match user::fork() {
        Ok(pid) => pid,
        Err(_) => fail!("fork failed"),
    }
}

/// exec replaces the process with echo, whose output lands in the file the
/// child opened as its standard output.
pub fn exectest() {
    let _ = user::unlink(c"echo-ok");
    let status = run_in_child(|| {
        let _ = user::close(1);
        match user::open(c"echo-ok", O_CREATE | O_WRONLY) {
            Ok(1) => {}
            Ok(fd) => fail!("open gave fd {fd}, not 1"),
            Err(_) => fail!("create failed"),
        }
        let _ = user::exec(c"/echo", &[c"echo", c"OK"]);
        fail!("exec echo failed");
    });
    if status != Ok(0) {
        fail!("child exited with {status:?}");
    }
    let Ok(fd) = user::open(c"echo-ok", O_RDONLY) else {
        fail!("open echo-ok failed");
    };
    let mut buf = [0u8; 3];
    let n = user::read(fd, &mut buf);
    let _ = user::close(fd);
    let _ = user::unlink(c"echo-ok");
    if n != Ok(3) || &buf != b"OK\n" {
        fail!("wrong output from echo: {n:?} {:?}", user::ByteStr(&buf));
    }
}

/// A child writes a numbered byte stream into a pipe; the parent reads it in
/// growing pieces and checks every byte.
pub fn pipe1() {
    const N: usize = 5;
    const SZ: usize = 1033;
    static BUF: StaticCell<[u8; 2048]> = StaticCell::new([0; 2048]);
    let buf = BUF.take();
    let (rfd, wfd) = match user::pipe() {
        Ok(fds) => fds,
        Err(_) => fail!("pipe() failed"),
    };
    let pid = fork();
    let mut seq: u8 = 0;
    if pid == 0 {
        let _ = user::close(rfd);
        for _ in 0..N {
            for b in &mut buf[..SZ] {
                *b = seq;
                seq = seq.wrapping_add(1);
            }
            if user::write(wfd, &buf[..SZ]) != Ok(SZ) {
                fail!("pipe write failed");
            }
        }
        sys::exit(0);
    }
    let _ = user::close(wfd);
    let mut total = 0;
    let mut cc = 1;
    loop {
        let n = match user::read(rfd, &mut buf[..cc]) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b != seq {
                fail!("wrong byte {b} in the stream, expected {seq}");
            }
            seq = seq.wrapping_add(1);
        }
        total += n;
        cc = (cc * 2).min(buf.len());
    }
    if total != N * SZ {
        fail!("read {total} bytes, expected {}", N * SZ);
    }
    let _ = user::close(rfd);
    if wait_for(pid).map(|w| w.status) != Ok(0) {
        fail!("writer failed");
    }
}

/// A killed process exits with status -1, whether it was killed while
/// running or before it ever ran.
pub fn killstatus() {
    for i in 0..20 {
        let pid = fork();
        if pid == 0 {
            loop {
                user::getpid();
            }
        }
        if i % 2 == 0 {
            let _ = user::sleep(1);
        }
        let _ = user::kill(pid);
        match user::wait() {
            Ok(w) if w.pid == pid && w.status == -1 => {}
            other => fail!("killed child: {other:?}, expected status -1"),
        }
    }
}

/// Timer preemption: with two children spinning forever, a third can still
/// run and write to a pipe, and the parent can still read it and kill them
/// all.
pub fn preempt() {
    let pid1 = fork();
    if pid1 == 0 {
        loop {
            core::hint::spin_loop();
        }
    }
    let pid2 = fork();
    if pid2 == 0 {
        loop {
            core::hint::spin_loop();
        }
    }
    let (rfd, wfd) = match user::pipe() {
        Ok(fds) => fds,
        Err(_) => fail!("pipe() failed"),
    };
    let pid3 = fork();
    if pid3 == 0 {
        let _ = user::close(rfd);
        if user::write(wfd, b"x") != Ok(1) {
            fail!("preempt write error");
        }
        let _ = user::close(wfd);
        loop {
            core::hint::spin_loop();
        }
    }
    let _ = user::close(wfd);
    let mut buf = [0u8; 16];
    if user::read(rfd, &mut buf) != Ok(1) {
        fail!("preempt read error");
    }
    let _ = user::close(rfd);
    for pid in [pid1, pid2, pid3] {
        let _ = user::kill(pid);
    }
    for _ in 0..3 {
        match user::wait() {
            Ok(w) if w.status == -1 => {}
            other => fail!("a spinning child was not killed: {other:?}"),
        }
    }
}

/// Races between exit and wait: each child's pid and status come back
/// right.
pub fn exitwait() {
    for i in 0..100 {
        let pid = fork();
        if pid == 0 {
            sys::exit(i);
        }
        match user::wait() {
            Ok(w) if w.pid == pid && w.status == i => {}
            other => fail!("wait returned {other:?}, expected pid {pid} status {i}"),
        }
    }
}

/// Races in handing orphans to init: a child forks a grandchild and exits
/// at once, 200 times.
pub fn reparent() {
    let master = user::getpid();
    for _ in 0..200 {
        let pid = fork();
        if pid == 0 {
            if user::fork().is_err() {
                let _ = user::kill(master);
                sys::exit(1);
            }
            sys::exit(0);
        }
        match user::wait() {
            Ok(w) if w.pid == pid => {}
            other => fail!("wait returned {other:?}, expected pid {pid}"),
        }
    }
}

/// Two children exiting at the same time, 1000 times.
pub fn twochildren() {
    for _ in 0..1000 {
        if fork() == 0 {
            sys::exit(0);
        }
        if fork() == 0 {
            sys::exit(0);
        }
        let _ = user::wait();
        let _ = user::wait();
    }
}

/// Two processes fork, exit and wait concurrently, 200 times each.
pub fn forkfork() {
    const N: usize = 2;
    for _ in 0..N {
        if fork() == 0 {
            for _ in 0..200 {
                match user::fork() {
                    Ok(0) => sys::exit(0),
                    Ok(_) => {
                        let _ = user::wait();
                    }
                    Err(_) => sys::exit(1),
                }
            }
            sys::exit(0);
        }
    }
    for _ in 0..N {
        match user::wait() {
            Ok(w) if w.status == 0 => {}
            other => fail!("fork in child failed: {other:?}"),
        }
    }
}

/// A fork bomb: processes fork until the table is full and exit when a file
/// appears; the kernel must survive it and every slot must come back.
pub fn forkforkfork() {
    let _ = user::unlink(c"stopforking");
    // Slots free before the bomb (this process's own child excluded).
    let before = spare_processes(NPROC);
    let pid = fork();
    if pid == 0 {
        loop {
            if let Ok(fd) = user::open(c"stopforking", O_RDONLY) {
                let _ = user::close(fd);
                sys::exit(0);
            }
            // The table is full: tell everyone to stop.
            if user::fork().is_err()
                && let Ok(fd) = user::open(c"stopforking", O_CREATE | O_RDWR)
            {
                let _ = user::close(fd);
            }
        }
    }
    // One second of bombing (xv6 waits two).
    let _ = user::sleep(10);
    match user::open(c"stopforking", O_CREATE | O_RDWR) {
        Ok(fd) => {
            let _ = user::close(fd);
        }
        Err(_) => fail!("cannot create stopforking"),
    }
    let _ = wait_for(pid);
    // The bomb's orphans belong to init now: wait until they are gone.
    let settled = user::harness::settle(before, 100);
    let _ = user::unlink(c"stopforking");
    if !settled {
        fail!("the fork bomb's processes did not all exit");
    }
}

/// Regression test from xv6: exit handing children to init while init waits
/// used to deadlock or panic. Each child forks twice (four processes) and
/// exits, 800 times.
pub fn reparent2() {
    for _ in 0..800 {
        let pid1 = fork();
        if pid1 == 0 {
            let _ = user::fork();
            let _ = user::fork();
            sys::exit(0);
        }
        let _ = user::wait();
    }
}

/// fork fails gracefully when no process slot is left, and wait reaps
/// exactly the children there are.
pub fn forktest() {
    const N: usize = 1000;
    let mut n = 0;
    while n < N {
        match user::fork() {
            Ok(0) => sys::exit(0),
            Ok(_) => n += 1,
            Err(_) => break,
        }
    }
    if n == 0 {
        fail!("no fork at all!");
    }
    if n == N {
        fail!("fork claimed to work {N} times!");
    }
    for _ in 0..n {
        if user::wait().is_err() {
            fail!("wait stopped early");
        }
    }
    if user::wait().is_ok() {
        fail!("wait got too many");
    }
}
