//! ln: makes a new name (hard link) for an existing file.

#![no_std]
#![no_main]

use user::{Args, ByteStr, eprintln};

user::entry!(main);

fn main(args: Args) -> i32 {
    let (Some(old), Some(new), 3) = (args.get(1), args.get(2), args.len()) else {
        eprintln!("Usage: ln old new");
        return 1;
    };
    if user::link(old, new).is_err() {
        eprintln!(
            "link {} {}: failed",
            ByteStr(old.to_bytes()),
            ByteStr(new.to_bytes())
        );
        return 1;
    }
    0
}
