//! rm: removes each file named; stops at the first failure.

#![no_std]
#![no_main]

use user::{Args, ByteStr, eprintln};

user::entry!(main);

fn main(args: Args) -> i32 {
    if args.len() < 2 {
        eprintln!("Usage: rm files...");
        return 1;
    }
    for file in args.iter().skip(1) {
        if user::unlink(file).is_err() {
            eprintln!("rm: {} failed to delete", ByteStr(file.to_bytes()));
            return 1;
        }
    }
    0
}
