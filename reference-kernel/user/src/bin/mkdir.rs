//! mkdir: creates each directory named; stops at the first failure.

#![no_std]
#![no_main]

use user::{Args, ByteStr, eprintln};

user::entry!(main);

fn main(args: Args) -> i32 {
    if args.len() < 2 {
        eprintln!("Usage: mkdir files...");
        return 1;
    }
    for dir in args.iter().skip(1) {
        if user::mkdir(dir).is_err() {
            eprintln!("mkdir: {} failed to create", ByteStr(dir.to_bytes()));
            return 1;
        }
    }
    0
}
