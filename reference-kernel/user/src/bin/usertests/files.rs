//! File-system tests: creating, writing, truncating, linking and removing
//! files and directories, alone and from several processes at once, and the
//! corner cases of paths (`.`, `..`, 14-byte names, files used as
//! directories). They are xv6's, with the same sizes and counts unless a
//! comment says otherwise.

use core::fmt::Write;

use user::harness::{run_in_child, wait_for};
use user::{CStrBuf, Dirent, O_CREATE, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, StaticCell, fail, sys};

use crate::probe::open;

// The kernel's block size, largest file (in blocks: 12 direct, 256
// indirect), most blocks one file-system operation may write, and size of the
// in-memory inode table.
use abi::{BSIZE, MAXFILE, MAXOPBLOCKS, NINODE};
/// A buffer larger than a log transaction can carry.
const BUFSZ: usize = (MAXOPBLOCKS + 2) * BSIZE;

/// The tests' big buffer; each test (a process of its own) takes it once.
static BUF: StaticCell<[u8; BUFSZ]> = StaticCell::new([0; BUFSZ]);

/// Writes all of `data` with one write(), or fails the test.
fn write(fd: i32, data: &[u8]) {
    match user::write(fd, data) {
        Ok(n) if n == data.len() => {}
        other => fail!("write of {} bytes returned {other:?}", data.len()),
    }
}

/// read(), with errors as -1 so that results compare like xv6's.
fn read(fd: i32, buf: &mut [u8]) -> isize {
    match user::read(fd, buf) {
        Ok(n) => n as isize,
        Err(e) => e.0,
    }
}

/// Forks, or fails the test.
fn fork() -> i32 {
    match user::fork() {
        Ok(pid) => pid,
        Err(_) => fail!("fork failed"),
    }
}

/// Waits for any child and returns its exit status, or fails the test.
fn wait_status() -> i32 {
    match user::wait() {
        Ok(w) => w.status,
        Err(_) => fail!("wait failed"),
    }
}

/// Fails the test unless `ok`.
fn check(ok: bool, what: &str) {
    if !ok {
        fail!("{what}");
    }
}

/// A short name built at run time.
fn name(args: core::fmt::Arguments<'_>) -> CStrBuf<32> {
    let mut s = CStrBuf::new();
    if s.write_fmt(args).is_err() {
        fail!("name too long");
    }
    s
}

/// O_TRUNC empties a file under descriptors already open on it.
pub fn truncate1() {
    let mut buf = [0u8; 32];
    let _ = user::unlink(c"truncfile");
    let fd1 = open(c"truncfile", O_CREATE | O_WRONLY | O_TRUNC);
    write(fd1, b"abcd");
    let _ = user::close(fd1);

    let fd2 = open(c"truncfile", O_RDONLY);
    let n = read(fd2, &mut buf);
    check(n == 4, "read of a 4-byte file did not return 4");

    let fd1 = open(c"truncfile", O_WRONLY | O_TRUNC);
    let fd3 = open(c"truncfile", O_RDONLY);
    check(
        read(fd3, &mut buf) == 0,
        "truncated file is not empty (new fd)",
    );
    check(
        read(fd2, &mut buf) == 0,
        "truncated file is not empty (old fd)",
    );

    write(fd1, b"abcdef");
    check(
        read(fd3, &mut buf) == 6,
        "read after rewrite did not return 6",
    );
    check(
        read(fd2, &mut buf) == 2,
        "old fd at offset 4 did not read 2 bytes",
    );

    let _ = user::unlink(c"truncfile");
    let _ = user::close(fd1);
    let _ = user::close(fd2);
    let _ = user::close(fd3);
}

/// A write at an offset beyond the end of a file that was just truncated
/// fails (xv6 does not allow holes) but does not crash.
pub fn truncate2() {
    let _ = user::unlink(c"truncfile");
    let fd1 = open(c"truncfile", O_CREATE | O_TRUNC | O_WRONLY);
    write(fd1, b"abcd");
    let fd2 = open(c"truncfile", O_TRUNC | O_WRONLY);
    let n = user::write(fd1, b"x");
    if n.is_ok() {
        fail!("write beyond the end of a truncated file returned {n:?}, expected -1");
    }
    let _ = user::unlink(c"truncfile");
    let _ = user::close(fd1);
    let _ = user::close(fd2);
}

/// One process truncates a file over and over while another writes and
/// reads it.
pub fn truncate3() {
    let _ = user::close(open(c"truncfile", O_CREATE | O_TRUNC | O_WRONLY));
    let pid = fork();
    if pid == 0 {
        for _ in 0..100 {
            let mut buf = [0u8; 32];
            let fd = open(c"truncfile", O_WRONLY);
            write(fd, b"1234567890");
            let _ = user::close(fd);
            let fd = open(c"truncfile", O_RDONLY);
            let _ = user::read(fd, &mut buf);
            let _ = user::close(fd);
        }
        sys::exit(0);
    }
    for _ in 0..150 {
        let fd = open(c"truncfile", O_CREATE | O_WRONLY | O_TRUNC);
        write(fd, b"xxx");
        let _ = user::close(fd);
    }
    let status = wait_for(pid).map(|w| w.status);
    let _ = user::unlink(c"truncfile");
    check(status == Ok(0), "the writing child failed");
}

/// The error path of open() (a directory opened for writing) must release
/// the inode inside a transaction, even while the directory is removed.
pub fn openiput() {
    check(user::mkdir(c"oidir").is_ok(), "mkdir oidir failed");
    let pid = fork();
    if pid == 0 {
        if user::open(c"oidir", O_RDWR).is_ok() {
            fail!("open directory for write succeeded");
        }
        sys::exit(0);
    }
    let _ = user::sleep(1);
    check(user::unlink(c"oidir").is_ok(), "unlink oidir failed");
    check(wait_for(pid).map(|w| w.status) == Ok(0), "child failed");
}

/// exit() must release the current directory inside a transaction, even
/// when that directory has been removed.
pub fn exitiput() {
    let status = run_in_child(|| {
        check(user::mkdir(c"iputdir").is_ok(), "mkdir failed");
        check(user::chdir(c"iputdir").is_ok(), "child chdir failed");
        check(
            user::unlink(c"../iputdir").is_ok(),
            "unlink ../iputdir failed",
        );
    });
    check(status == Ok(0), "child failed");
}

/// chdir() must release the old directory inside a transaction, even when
/// that directory has been removed.
pub fn iput() {
    check(user::mkdir(c"iputdir").is_ok(), "mkdir failed");
    check(user::chdir(c"iputdir").is_ok(), "chdir iputdir failed");
    check(
        user::unlink(c"../iputdir").is_ok(),
        "unlink ../iputdir failed",
    );
    check(user::chdir(c"/").is_ok(), "chdir / failed");
}

/// Opening an existing file works; opening a missing one fails.
pub fn opentest() {
    let fd = open(c"/echo", O_RDONLY);
    let _ = user::close(fd);
    check(
        user::open(c"doesnotexist", O_RDONLY).is_err(),
        "open doesnotexist succeeded!",
    );
}

/// 200 small writes, then one read of all of it.
pub fn writetest() {
    const N: usize = 100;
    const SZ: usize = 10;
    let buf = BUF.take();
    let fd = open(c"small", O_CREATE | O_RDWR);
    for _ in 0..N {
        write(fd, b"aaaaaaaaaa");
        write(fd, b"bbbbbbbbbb");
    }
    let _ = user::close(fd);
    let fd = open(c"small", O_RDONLY);
    check(
        read(fd, &mut buf[..N * SZ * 2]) == (N * SZ * 2) as isize,
        "read failed",
    );
    let _ = user::close(fd);
    check(user::unlink(c"small").is_ok(), "unlink small failed");
}

/// A file of the largest size xv6 supports (direct and indirect blocks),
/// written block by block and read back.
pub fn writebig() {
    let buf = BUF.take();
    let fd = open(c"big", O_CREATE | O_RDWR);
    for i in 0..MAXFILE {
        buf[..4].copy_from_slice(&(i as u32).to_le_bytes());
        if user::write(fd, &buf[..BSIZE]) != Ok(BSIZE) {
            fail!("write of block {i} of a big file failed");
        }
    }
    let _ = user::close(fd);

    let fd = open(c"big", O_RDONLY);
    let mut n = 0;
    loop {
        let i = read(fd, &mut buf[..BSIZE]);
        if i == 0 {
            check(n == MAXFILE, "big file is short");
            break;
        }
        if i != BSIZE as isize {
            fail!("read of block {n} returned {i}");
        }
        let got = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
        if got != n as u32 {
            fail!("block {n} holds {got}");
        }
        n += 1;
    }
    let _ = user::close(fd);
    check(user::unlink(c"big").is_ok(), "unlink big failed");
}

/// Many creates, then as many unlinks.
pub fn createtest() {
    const N: u8 = 52;
    for i in 0..N {
        let n = name(format_args!("a{}", char::from(b'0' + i)));
        let fd = open(n.as_cstr(), O_CREATE | O_RDWR);
        let _ = user::close(fd);
    }
    for i in 0..N {
        let n = name(format_args!("a{}", char::from(b'0' + i)));
        check(user::unlink(n.as_cstr()).is_ok(), "unlink failed");
    }
}

/// mkdir, chdir into it and back, unlink it.
pub fn dirtest() {
    check(user::mkdir(c"dir0").is_ok(), "mkdir failed");
    check(user::chdir(c"dir0").is_ok(), "chdir dir0 failed");
    check(user::chdir(c"..").is_ok(), "chdir .. failed");
    check(user::unlink(c"dir0").is_ok(), "unlink dir0 failed");
}

/// Two processes write through one shared descriptor: the offset is shared,
/// so nothing is overwritten.
pub fn sharedfd() {
    const N: usize = 1000;
    const SZ: usize = 10;
    let _ = user::unlink(c"sharedfd");
    let fd = open(c"sharedfd", O_CREATE | O_RDWR);
    let pid = fork();
    let buf = [if pid == 0 { b'c' } else { b'p' }; SZ];
    for _ in 0..N {
        write(fd, &buf);
    }
    if pid == 0 {
        sys::exit(0);
    }
    check(
        wait_for(pid).map(|w| w.status) == Ok(0),
        "writing child failed",
    );
    let _ = user::close(fd);

    let fd = open(c"sharedfd", O_RDONLY);
    let (mut nc, mut np) = (0, 0);
    let mut buf = [0u8; SZ];
    loop {
        let n = read(fd, &mut buf);
        if n <= 0 {
            break;
        }
        for &b in &buf[..n as usize] {
            nc += usize::from(b == b'c');
            np += usize::from(b == b'p');
        }
    }
    let _ = user::close(fd);
    let _ = user::unlink(c"sharedfd");
    if nc != N * SZ || np != N * SZ {
        fail!("found {nc} c's and {np} p's, expected {} of each", N * SZ);
    }
}

/// Four processes write four files at once (block allocation under
/// concurrency).
pub fn fourfiles() {
    const N: usize = 12;
    const NCHILD: u8 = 4;
    const SZ: usize = 500;
    for pi in 0..NCHILD {
        let fname = name(format_args!("f{pi}"));
        let _ = user::unlink(fname.as_cstr());
        if fork() == 0 {
            let fd = open(fname.as_cstr(), O_CREATE | O_RDWR);
            let buf = [b'0' + pi; SZ];
            for _ in 0..N {
                write(fd, &buf);
            }
            sys::exit(0);
        }
    }
    for _ in 0..NCHILD {
        check(wait_status() == 0, "a writing child failed");
    }
    let buf = BUF.take();
    for pi in 0..NCHILD {
        let fname = name(format_args!("f{pi}"));
        let fd = open(fname.as_cstr(), O_RDONLY);
        let mut total = 0;
        loop {
            let n = read(fd, &mut buf[..]);
            if n <= 0 {
                break;
            }
            if buf[..n as usize].iter().any(|&b| b != b'0' + pi) {
                fail!("wrong char in {:?}", fname.as_cstr());
            }
            total += n as usize;
        }
        let _ = user::close(fd);
        if total != N * SZ {
            fail!("wrong length {total}");
        }
        let _ = user::unlink(fname.as_cstr());
    }
}

/// Four processes create and delete files in one directory at once.
pub fn createdelete() {
    const N: u8 = 20;
    const NCHILD: u8 = 4;
    for pi in 0..NCHILD {
        if fork() == 0 {
            for i in 0..N {
                let n = name(format_args!(
                    "{}{}",
                    char::from(b'p' + pi),
                    char::from(b'0' + i)
                ));
                let fd = open(n.as_cstr(), O_CREATE | O_RDWR);
                let _ = user::close(fd);
                if i > 0 && i % 2 == 0 {
                    let n = name(format_args!(
                        "{}{}",
                        char::from(b'p' + pi),
                        char::from(b'0' + i / 2)
                    ));
                    check(user::unlink(n.as_cstr()).is_ok(), "unlink failed");
                }
            }
            sys::exit(0);
        }
    }
    for _ in 0..NCHILD {
        check(wait_status() == 0, "a child failed");
    }
    for i in 0..N {
        for pi in 0..NCHILD {
            let n = name(format_args!(
                "{}{}",
                char::from(b'p' + pi),
                char::from(b'0' + i)
            ));
            let exists = user::open(n.as_cstr(), O_RDONLY).map(user::close).is_ok();
            if (i == 0 || i >= N / 2) && !exists {
                fail!("{:?} didn't exist", n.as_cstr());
            }
            if (1..N / 2).contains(&i) && exists {
                fail!("{:?} did exist", n.as_cstr());
            }
        }
    }
    for i in 0..N {
        for pi in 0..NCHILD {
            let n = name(format_args!(
                "{}{}",
                char::from(b'p' + pi),
                char::from(b'0' + i)
            ));
            let _ = user::unlink(n.as_cstr());
        }
    }
}

/// A file stays readable and writable through an open descriptor after it is
/// unlinked, and a new file of the same name is a different file.
pub fn unlinkread() {
    let buf = BUF.take();
    let fd = open(c"unlinkread", O_CREATE | O_RDWR);
    write(fd, b"hello");
    let _ = user::close(fd);

    let fd = open(c"unlinkread", O_RDWR);
    check(
        user::unlink(c"unlinkread").is_ok(),
        "unlink unlinkread failed",
    );
    let fd1 = open(c"unlinkread", O_CREATE | O_RDWR);
    write(fd1, b"yyy");
    let _ = user::close(fd1);

    check(
        read(fd, &mut buf[..]) == 5,
        "read of the unlinked file failed",
    );
    check(buf[0] == b'h', "unlinked file has wrong data");
    write(fd, &buf[..10]);
    let _ = user::close(fd);
    let _ = user::unlink(c"unlinkread");
}

/// link() makes a second name; the file survives losing the first; links to
/// itself, to missing files and to directories fail.
pub fn linktest() {
    let buf = BUF.take();
    let _ = user::unlink(c"lf1");
    let _ = user::unlink(c"lf2");
    let fd = open(c"lf1", O_CREATE | O_RDWR);
    write(fd, b"hello");
    let _ = user::close(fd);

    check(user::link(c"lf1", c"lf2").is_ok(), "link lf1 lf2 failed");
    let _ = user::unlink(c"lf1");
    check(
        user::open(c"lf1", O_RDONLY).is_err(),
        "unlinked lf1 but it is still there!",
    );

    let fd = open(c"lf2", O_RDONLY);
    check(read(fd, &mut buf[..]) == 5, "read lf2 failed");
    let _ = user::close(fd);

    check(
        user::link(c"lf2", c"lf2").is_err(),
        "link lf2 lf2 succeeded!",
    );
    let _ = user::unlink(c"lf2");
    check(
        user::link(c"lf2", c"lf1").is_err(),
        "link non-existent succeeded!",
    );
    check(user::link(c".", c"lf1").is_err(), "link . lf1 succeeded!");
}

/// Parent and child create, link and unlink the same names at once; the
/// directory must end up with each name exactly once.
pub fn concreate() {
    const N: u8 = 40;
    for i in 0..N {
        let file = name(format_args!("C{}", char::from(b'0' + i)));
        let _ = user::unlink(file.as_cstr());
        let pid = fork();
        // Parent and child race to create the same name, by link or create.
        if (pid != 0 && i % 3 == 1) || (pid == 0 && i % 5 == 1) {
            let _ = user::link(c"C0", file.as_cstr());
        } else {
            let fd = open(file.as_cstr(), O_CREATE | O_RDWR);
            let _ = user::close(fd);
        }
        if pid == 0 {
            sys::exit(0);
        }
        check(wait_status() == 0, "a child failed");
    }

    let mut seen = [false; N as usize];
    let mut n = 0;
    let fd = open(c".", O_RDONLY);
    let mut de = [0u8; Dirent::SIZE];
    while read(fd, &mut de) == Dirent::SIZE as isize {
        let d = Dirent::decode(&de);
        let nm = d.name();
        if d.inum == 0 || nm.len() != 2 || nm[0] != b'C' {
            continue;
        }
        let i = nm[1].wrapping_sub(b'0') as usize;
        if i >= seen.len() {
            fail!("weird file {}", user::ByteStr(nm));
        }
        if seen[i] {
            fail!("duplicate file {}", user::ByteStr(nm));
        }
        seen[i] = true;
        n += 1;
    }
    let _ = user::close(fd);
    check(n == N, "not enough files in the directory listing");

    for i in 0..N {
        let file = name(format_args!("C{}", char::from(b'0' + i)));
        let pid = fork();
        if (i % 3 == 0 && pid == 0) || (i % 3 == 1 && pid != 0) {
            for _ in 0..6 {
                if let Ok(fd) = user::open(file.as_cstr(), O_RDONLY) {
                    let _ = user::close(fd);
                }
            }
        } else {
            for _ in 0..6 {
                let _ = user::unlink(file.as_cstr());
            }
        }
        if pid == 0 {
            sys::exit(0);
        }
        let _ = wait_status();
    }
}

/// Two processes create, link and unlink one name at random, looking for
/// deadlocks.
pub fn linkunlink() {
    let _ = user::unlink(c"x");
    let pid = fork();
    let mut x: u32 = if pid != 0 { 1 } else { 97 };
    for _ in 0..100 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        match x % 3 {
            0 => {
                if let Ok(fd) = user::open(c"x", O_RDWR | O_CREATE) {
                    let _ = user::close(fd);
                }
            }
            1 => {
                let _ = user::link(c"/cat", c"x");
            }
            _ => {
                let _ = user::unlink(c"x");
            }
        }
    }
    if pid == 0 {
        sys::exit(0);
    }
    let _ = wait_status();
    let _ = user::unlink(c"x");
}

/// Subdirectories: nested creation, `..` in paths, links across them, and
/// everything that must fail when a path goes through a file or a missing
/// directory.
pub fn subdir() {
    let buf = BUF.take();
    let _ = user::unlink(c"ff");
    check(user::mkdir(c"dd").is_ok(), "mkdir dd failed");

    let fd = open(c"dd/ff", O_CREATE | O_RDWR);
    write(fd, b"ff");
    let _ = user::close(fd);
    check(
        user::unlink(c"dd").is_err(),
        "unlink dd (non-empty dir) succeeded!",
    );
    check(user::mkdir(c"/dd/dd").is_ok(), "mkdir dd/dd failed");

    let fd = open(c"dd/dd/ff", O_CREATE | O_RDWR);
    write(fd, b"FF");
    let _ = user::close(fd);

    let fd = open(c"dd/dd/../ff", O_RDONLY);
    let cc = read(fd, &mut buf[..]);
    check(cc == 2 && buf[0] == b'f', "dd/dd/../ff wrong content");
    let _ = user::close(fd);

    check(
        user::link(c"dd/dd/ff", c"dd/dd/ffff").is_ok(),
        "link dd/dd/ff dd/dd/ffff failed",
    );
    check(user::unlink(c"dd/dd/ff").is_ok(), "unlink dd/dd/ff failed");
    check(
        user::open(c"dd/dd/ff", O_RDONLY).is_err(),
        "open (unlinked) dd/dd/ff succeeded",
    );

    check(user::chdir(c"dd").is_ok(), "chdir dd failed");
    check(
        user::chdir(c"dd/../../dd").is_ok(),
        "chdir dd/../../dd failed",
    );
    check(
        user::chdir(c"dd/../../../dd").is_ok(),
        "chdir dd/../../../dd failed",
    );
    check(user::chdir(c"./..").is_ok(), "chdir ./.. failed");

    let fd = open(c"dd/dd/ffff", O_RDONLY);
    check(read(fd, &mut buf[..]) == 2, "read dd/dd/ffff wrong len");
    let _ = user::close(fd);
    check(
        user::open(c"dd/dd/ff", O_RDONLY).is_err(),
        "open (unlinked) dd/dd/ff succeeded!",
    );

    check(
        user::open(c"dd/ff/ff", O_CREATE | O_RDWR).is_err(),
        "create dd/ff/ff succeeded!",
    );
    check(
        user::open(c"dd/xx/ff", O_CREATE | O_RDWR).is_err(),
        "create dd/xx/ff succeeded!",
    );
    check(user::open(c"dd", O_CREATE).is_err(), "create dd succeeded!");
    check(
        user::open(c"dd", O_RDWR).is_err(),
        "open dd rdwr succeeded!",
    );
    check(
        user::open(c"dd", O_WRONLY).is_err(),
        "open dd wronly succeeded!",
    );
    check(
        user::link(c"dd/ff/ff", c"dd/dd/xx").is_err(),
        "link dd/ff/ff dd/dd/xx succeeded!",
    );
    check(
        user::link(c"dd/xx/ff", c"dd/dd/xx").is_err(),
        "link dd/xx/ff dd/dd/xx succeeded!",
    );
    check(
        user::link(c"dd/ff", c"dd/dd/ffff").is_err(),
        "link dd/ff dd/dd/ffff succeeded!",
    );
    check(
        user::mkdir(c"dd/ff/ff").is_err(),
        "mkdir dd/ff/ff succeeded!",
    );
    check(
        user::mkdir(c"dd/xx/ff").is_err(),
        "mkdir dd/xx/ff succeeded!",
    );
    check(
        user::mkdir(c"dd/dd/ffff").is_err(),
        "mkdir dd/dd/ffff succeeded!",
    );
    check(
        user::unlink(c"dd/xx/ff").is_err(),
        "unlink dd/xx/ff succeeded!",
    );
    check(
        user::unlink(c"dd/ff/ff").is_err(),
        "unlink dd/ff/ff succeeded!",
    );
    check(user::chdir(c"dd/ff").is_err(), "chdir dd/ff succeeded!");
    check(user::chdir(c"dd/xx").is_err(), "chdir dd/xx succeeded!");

    check(
        user::unlink(c"dd/dd/ffff").is_ok(),
        "unlink dd/dd/ffff failed",
    );
    check(user::unlink(c"dd/ff").is_ok(), "unlink dd/ff failed");
    check(
        user::unlink(c"dd").is_err(),
        "unlink non-empty dd succeeded!",
    );
    check(user::unlink(c"dd/dd").is_ok(), "unlink dd/dd failed");
    check(user::unlink(c"dd").is_ok(), "unlink dd failed");
}

/// Writes larger than one log transaction, in many sizes.
pub fn bigwrite() {
    let buf = BUF.take();
    let _ = user::unlink(c"bigwrite");
    let mut sz = 499;
    while sz < BUFSZ {
        let fd = open(c"bigwrite", O_CREATE | O_RDWR);
        for _ in 0..2 {
            match user::write(fd, &buf[..sz]) {
                Ok(n) if n == sz => {}
                other => fail!("write({sz}) returned {other:?}"),
            }
        }
        let _ = user::close(fd);
        let _ = user::unlink(c"bigwrite");
        sz += 471;
    }
}

/// A file written in 600-byte pieces and read back in 300-byte ones.
pub fn bigfile() {
    const N: usize = 20;
    const SZ: usize = 600;
    let buf = BUF.take();
    let _ = user::unlink(c"bigfile.dat");
    let fd = open(c"bigfile.dat", O_CREATE | O_RDWR);
    for i in 0..N {
        buf[..SZ].fill(i as u8);
        write(fd, &buf[..SZ]);
    }
    let _ = user::close(fd);

    let fd = open(c"bigfile.dat", O_RDONLY);
    let mut total = 0;
    let mut i = 0;
    loop {
        let cc = read(fd, &mut buf[..SZ / 2]);
        if cc < 0 {
            fail!("read bigfile failed");
        }
        if cc == 0 {
            break;
        }
        check(cc == (SZ / 2) as isize, "short read of bigfile");
        check(
            buf[0] == (i / 2) as u8 && buf[SZ / 2 - 1] == (i / 2) as u8,
            "read bigfile wrong data",
        );
        total += cc as usize;
        i += 1;
    }
    let _ = user::close(fd);
    check(total == N * SZ, "read bigfile wrong total");
    let _ = user::unlink(c"bigfile.dat");
}

/// Names are cut at DIRSIZ (14) bytes: a 15-byte name means its 14-byte
/// prefix.
pub fn fourteen() {
    check(
        user::mkdir(c"12345678901234").is_ok(),
        "mkdir 12345678901234 failed",
    );
    check(
        user::mkdir(c"12345678901234/123456789012345").is_ok(),
        "mkdir 12345678901234/123456789012345 failed",
    );
    let fd = open(c"123456789012345/123456789012345/123456789012345", O_CREATE);
    let _ = user::close(fd);
    let fd = open(c"12345678901234/12345678901234/12345678901234", O_RDONLY);
    let _ = user::close(fd);
    check(
        user::mkdir(c"12345678901234/12345678901234").is_err(),
        "mkdir 12345678901234/12345678901234 succeeded!",
    );
    check(
        user::mkdir(c"123456789012345/12345678901234").is_err(),
        "mkdir 123456789012345/12345678901234 succeeded!",
    );
    let _ = user::unlink(c"123456789012345/12345678901234");
    let _ = user::unlink(c"12345678901234/12345678901234");
    let _ = user::unlink(c"12345678901234/12345678901234/12345678901234");
    let _ = user::unlink(c"123456789012345/123456789012345/123456789012345");
    let _ = user::unlink(c"12345678901234/123456789012345");
    let _ = user::unlink(c"12345678901234");
}

/// `.` and `..` cannot be unlinked, from inside the directory or through a
/// path.
pub fn rmdot() {
    check(user::mkdir(c"dots").is_ok(), "mkdir dots failed");
    check(user::chdir(c"dots").is_ok(), "chdir dots failed");
    check(user::unlink(c".").is_err(), "rm . worked!");
    check(user::unlink(c"..").is_err(), "rm .. worked!");
    check(user::chdir(c"/").is_ok(), "chdir / failed");
    check(user::unlink(c"dots/.").is_err(), "unlink dots/. worked!");
    check(user::unlink(c"dots/..").is_err(), "unlink dots/.. worked!");
    check(user::unlink(c"dots").is_ok(), "unlink dots failed!");
}

/// A file is not a directory: paths through it fail; a directory cannot be
/// opened for writing.
pub fn dirfile() {
    let fd = open(c"dirfile", O_CREATE);
    let _ = user::close(fd);
    check(user::chdir(c"dirfile").is_err(), "chdir dirfile succeeded!");
    check(
        user::open(c"dirfile/xx", O_RDONLY).is_err(),
        "open dirfile/xx succeeded!",
    );
    check(
        user::open(c"dirfile/xx", O_CREATE).is_err(),
        "create dirfile/xx succeeded!",
    );
    check(
        user::mkdir(c"dirfile/xx").is_err(),
        "mkdir dirfile/xx succeeded!",
    );
    check(
        user::unlink(c"dirfile/xx").is_err(),
        "unlink dirfile/xx succeeded!",
    );
    check(
        user::link(c"/echo", c"dirfile/xx").is_err(),
        "link to dirfile/xx succeeded!",
    );
    check(user::unlink(c"dirfile").is_ok(), "unlink dirfile failed!");

    check(
        user::open(c".", O_RDWR).is_err(),
        "open . for writing succeeded!",
    );
    let fd = open(c".", O_RDONLY);
    check(user::write(fd, b"x").is_err(), "write . succeeded!");
    let _ = user::close(fd);
}

/// Path lookup must release every inode it takes (NINODE + 1 nested
/// directories would run out otherwise); empty names fail harmlessly.
pub fn iref() {
    for _ in 0..NINODE + 1 {
        check(user::mkdir(c"irefd").is_ok(), "mkdir irefd failed");
        check(user::chdir(c"irefd").is_ok(), "chdir irefd failed");
        let _ = user::mkdir(c"");
        let _ = user::link(c"/echo", c"");
        if let Ok(fd) = user::open(c"", O_CREATE) {
            let _ = user::close(fd);
        }
        if let Ok(fd) = user::open(c"xx", O_CREATE) {
            let _ = user::close(fd);
        }
        let _ = user::unlink(c"xx");
    }
    for _ in 0..NINODE + 1 {
        let _ = user::chdir(c"..");
        let _ = user::unlink(c"irefd");
    }
    let _ = user::chdir(c"/");
}

/// A directory big enough to need several blocks: 150 links to one file
/// (2400 bytes of entries), then 150 unlinks. (xv6 makes 500, which takes
/// 15 seconds under emulation.)
pub fn bigdir() {
    const N: usize = 150;
    let _ = user::unlink(c"bd");
    let fd = open(c"bd", O_CREATE);
    let _ = user::close(fd);
    let entry = |i: usize| {
        name(format_args!(
            "x{}{}",
            char::from(b'0' + (i / 64) as u8),
            char::from(b'0' + (i % 64) as u8)
        ))
    };
    for i in 0..N {
        let n = entry(i);
        if user::link(c"bd", n.as_cstr()).is_err() {
            fail!("link(bd, {:?}) failed", n.as_cstr());
        }
    }
    let _ = user::unlink(c"bd");
    for i in 0..N {
        let n = entry(i);
        if user::unlink(n.as_cstr()).is_err() {
            fail!("unlink({:?}) failed", n.as_cstr());
        }
    }
}
