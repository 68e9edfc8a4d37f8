//! ls: lists directories (`.` when no argument is given) in xv6's format:
//! for each entry its name padded to 14 columns, then its type, inode number
//! and size. A file argument lists just that file.

#![no_std]
#![no_main]

use core::ffi::CStr;
use core::fmt::Write;

use user::{Args, ByteStr, CStrBuf, DIRSIZ, Dirent, FdWriter, O_RDONLY, Stat, T_DIR, eprintln};

user::entry!(main);

/// Longest `dir/name` path listed; xv6's ls uses the same 512.
const MAX_PATH: usize = 512;

fn main(args: Args) -> i32 {
    if args.len() < 2 {
        return ls(c".");
    }
    let mut status = 0;
    for path in args.iter().skip(1) {
        if ls(path) != 0 {
            status = 1;
        }
    }
    status
}

/// Lists `path`; returns the exit status.
fn ls(path: &CStr) -> i32 {
    let Ok(fd) = user::open(path, O_RDONLY) else {
        eprintln!("ls: cannot open {}", ByteStr(path.to_bytes()));
        return 1;
    };
    let status = match user::fstat(fd) {
        Err(_) => {
            eprintln!("ls: cannot stat {}", ByteStr(path.to_bytes()));
            1
        }
        Ok(st) if st.typ == T_DIR => list_dir(fd, path.to_bytes()),
        Ok(st) => {
            print_entry(path.to_bytes(), &st);
            0
        }
    };
    let _ = user::close(fd);
    status
}

/// Prints every entry of the open directory `fd`, whose path is `dir`.
fn list_dir(fd: i32, dir: &[u8]) -> i32 {
    // Half a KiB of the 4 KiB stack, as in xv6's ls: affordable because ls
    // never recurses and this is its deepest frame.
    let mut path = CStrBuf::<MAX_PATH>::new();
    if dir.len() + 1 + DIRSIZ + 1 > MAX_PATH || path.push(dir).is_err() || path.push(b"/").is_err()
    {
        eprintln!("ls: path too long");
        return 1;
    }
    let prefix = path.len();
    let mut status = 0;
    let mut raw = [0u8; Dirent::SIZE];
    while let Ok(Dirent::SIZE) = user::read(fd, &mut raw) {
        let entry = Dirent::decode(&raw);
        if entry.inum == 0 {
            continue;
        }
        path.truncate(prefix);
        // Cannot fail: the length check above left room for DIRSIZ bytes.
        let _ = path.push(entry.name());
        match user::stat(path.as_cstr()) {
            Ok(st) => print_entry(path.as_bytes(), &st),
            Err(_) => {
                eprintln!("ls: cannot stat {}", ByteStr(path.as_bytes()));
                status = 1;
            }
        }
    }
    status
}

/// Prints one line: the last component of `path` padded to DIRSIZ columns,
/// then type, inode number and size.
fn print_entry(path: &[u8], st: &Stat) {
    let name = match path.iter().rposition(|&b| b == b'/') {
        Some(slash) => &path[slash + 1..],
        None => path,
    };
    let mut out = FdWriter::new(1);
    out.write_bytes(name);
    out.write_repeated(b' ', DIRSIZ.saturating_sub(name.len()));
    let _ = writeln!(out, " {} {} {}", st.typ, st.ino, st.size);
    out.flush();
}
