//! wc: counts lines, words and bytes of each named file, or of standard
//! input, printing `lines words bytes name` (the name is empty for stdin).

#![no_std]
#![no_main]

use user::{Args, ByteStr, O_RDONLY, StaticCell, eprintln, println};

user::entry!(main);

/// The read buffer; static because the stack is one page.
static BUF: StaticCell<[u8; 512]> = StaticCell::new([0; 512]);

fn main(args: Args) -> i32 {
    let buf = BUF.take();
    if args.len() < 2 {
        return wc(0, b"", buf);
    }
    for name in args.iter().skip(1) {
        let Ok(fd) = user::open(name, O_RDONLY) else {
            eprintln!("wc: cannot open {}", ByteStr(name.to_bytes()));
            return 1;
        };
        let status = wc(fd, name.to_bytes(), buf);
        let _ = user::close(fd);
        if status != 0 {
            return status;
        }
    }
    0
}

/// Counts `fd` to its end and prints the totals under `name`; returns the
/// exit status.
fn wc(fd: i32, name: &[u8], buf: &mut [u8]) -> i32 {
    let (mut lines, mut words, mut bytes) = (0usize, 0usize, 0usize);
    // Whether the last byte seen was inside a word; carried across reads.
    let mut in_word = false;
    loop {
        let n = match user::read(fd, buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) => {
                eprintln!("wc: read error");
                return 1;
            }
        };
        bytes += n;
        for &b in &buf[..n] {
            if b == b'\n' {
                lines += 1;
            }
            // xv6's separators: no form feed, but NUL (its strchr matches
            // the terminator).
            if matches!(b, b' ' | b'\r' | b'\t' | b'\n' | 0x0b | 0) {
                in_word = false;
            } else if !in_word {
                words += 1;
                in_word = true;
            }
        }
    }
    println!("{lines} {words} {bytes} {}", ByteStr(name));
    0
}
