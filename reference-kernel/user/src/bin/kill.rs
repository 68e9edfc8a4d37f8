//! kill: asks the kernel to kill each process whose id is given.

#![no_std]
#![no_main]

use user::{Args, ByteStr, atoi, eprintln};

user::entry!(main);

fn main(args: Args) -> i32 {
    if args.len() < 2 {
        eprintln!("usage: kill pid...");
        return 1;
    }
    let mut status = 0;
    for arg in args.iter().skip(1) {
        if user::kill(atoi(arg.to_bytes())).is_err() {
            eprintln!("kill: {} failed", ByteStr(arg.to_bytes()));
            status = 1;
        }
    }
    status
}
