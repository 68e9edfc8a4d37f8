//! echo: writes its arguments separated by single spaces, then a newline.

#![no_std]
#![no_main]

use user::{Args, FdWriter};

user::entry!(main);

fn main(args: Args) -> i32 {
    // Buffer the whole line so it normally leaves in one write.
    let mut out = FdWriter::new(1);
    for (i, arg) in args.iter().skip(1).enumerate() {
        if i > 0 {
            out.write_bytes(b" ");
        }
        out.write_bytes(arg.to_bytes());
    }
    out.write_bytes(b"\n");
    out.flush();
    0
}
