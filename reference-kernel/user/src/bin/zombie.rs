//! zombie: leaves a zombie behind. The child exits at once; the parent sleeps
//! a little and exits without waiting for it, so the child stays a zombie
//! until init reaps it.

#![no_std]
#![no_main]

use user::Args;

user::entry!(main);

fn main(_args: Args) -> i32 {
    if let Ok(pid) = user::fork()
        && pid > 0
    {
        let _ = user::sleep(5);
    }
    0
}
