//! grep: prints the lines of the named files (or of standard input) that
//! match a pattern, using Kernighan and Pike's tiny regular expressions:
//! literal bytes, `.` (any byte), `c*` (zero or more of `c`), and `^`/`$`
//! anchors.

#![no_std]
#![no_main]

use user::{Args, ByteStr, O_RDONLY, StaticCell, eprintln};

user::entry!(main);

/// Line buffer; static because the stack is one page. A longer line is
/// matched in buffer-sized pieces.
static BUF: StaticCell<[u8; 1024]> = StaticCell::new([0; 1024]);

fn main(args: Args) -> i32 {
    let Some(pattern) = args.get_bytes(1) else {
        eprintln!("usage: grep pattern [file ...]");
        return 1;
    };
    let buf = BUF.take();
    if args.len() < 3 {
        grep(pattern, 0, buf);
        return 0;
    }
    for name in args.iter().skip(2) {
        let Ok(fd) = user::open(name, O_RDONLY) else {
            eprintln!("grep: cannot open {}", ByteStr(name.to_bytes()));
            return 1;
        };
        grep(pattern, fd, buf);
        let _ = user::close(fd);
    }
    0
}

/// Prints the lines of `fd` that match `pattern`, each in one write.
fn grep(pattern: &[u8], fd: i32, buf: &mut [u8]) {
    // buf[..kept] holds the start of a line whose end has not been read yet.
    let mut kept = 0;
    loop {
        let n = match user::read(fd, &mut buf[kept..]) {
            Ok(n) if n > 0 => n,
            // End of input (or an error): a last line without a newline still
            // counts.
            _ => {
                if kept > 0 && matches(pattern, &buf[..kept]) {
                    print_line(&buf[..kept], true);
                }
                return;
            }
        };
        let filled = kept + n;
        let mut start = 0;
        while let Some(len) = buf[start..filled].iter().position(|&b| b == b'\n') {
            let line = &buf[start..start + len];
            if matches(pattern, line) {
                // Include the newline so the line leaves in one write.
                print_line(&buf[start..=start + len], false);
            }
            start += len + 1;
        }
        if start == 0 && filled == buf.len() {
            // A full buffer without a newline: treat it as a line of its own
            // rather than stall.
            if matches(pattern, &buf[..filled]) {
                print_line(&buf[..filled], true);
            }
            start = filled;
        }
        buf.copy_within(start..filled, 0);
        kept = filled - start;
    }
}

fn print_line(line: &[u8], add_newline: bool) {
    let mut out = user::FdWriter::new(1);
    out.write_bytes(line);
    if add_newline {
        out.write_bytes(b"\n");
    }
    out.flush();
}

/// Whether `re` matches anywhere in `text`.
fn matches(re: &[u8], text: &[u8]) -> bool {
    if let [b'^', anchored @ ..] = re {
        return match_here(anchored, text);
    }
    // Every start position, the empty tail included (so `$` or `x*` match).
    (0..=text.len()).any(|start| match_here(re, &text[start..]))
}

/// Whether `re` matches at the beginning of `text`.
fn match_here(mut re: &[u8], mut text: &[u8]) -> bool {
    // Literal steps loop instead of recursing: the stack is one page.
    loop {
        match re {
            [] => return true,
            [c, b'*', rest @ ..] => return match_star(*c, rest, text),
            [b'$'] => return text.is_empty(),
            [c, rest @ ..] => match text {
                [t, text_rest @ ..] if *c == b'.' || c == t => {
                    re = rest;
                    text = text_rest;
                }
                _ => return false,
            },
        }
    }
}

/// Whether `c*` followed by `re` matches at the beginning of `text`; tries
/// the shortest run of `c` first.
fn match_star(c: u8, re: &[u8], mut text: &[u8]) -> bool {
    loop {
        if match_here(re, text) {
            return true;
        }
        match text {
            [t, rest @ ..] if c == b'.' || *t == c => text = rest,
            _ => return false,
        }
    }
}
