//! cat: copies each named file, or standard input when none is named, to
//! standard output.

#![no_std]
#![no_main]

use user::{Args, ByteStr, O_RDONLY, StaticCell, eprintln};

user::entry!(main);

/// The copy buffer; static because the stack is one page.
static BUF: StaticCell<[u8; 512]> = StaticCell::new([0; 512]);

fn main(args: Args) -> i32 {
    let buf = BUF.take();
    if args.len() < 2 {
        return copy(0, buf);
    }
    for name in args.iter().skip(1) {
        let Ok(fd) = user::open(name, O_RDONLY) else {
            eprintln!("cat: cannot open {}", ByteStr(name.to_bytes()));
            return 1;
        };
        let status = copy(fd, buf);
        let _ = user::close(fd);
        if status != 0 {
            return status;
        }
    }
    0
}

/// Copies `fd` to standard output until end of file; returns the exit status.
fn copy(fd: i32, buf: &mut [u8]) -> i32 {
    loop {
        match user::read(fd, buf) {
            Ok(0) => return 0,
            Ok(n) => {
                if user::write_all(1, &buf[..n]).is_err() {
                    eprintln!("cat: write error");
                    return 1;
                }
            }
            Err(_) => {
                eprintln!("cat: read error");
                return 1;
            }
        }
    }
}
