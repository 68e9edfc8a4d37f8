//! init: the first user process. It makes the console fds 0, 1 and 2, then
//! keeps a shell running: start `sh`, reap children until that shell exits
//! (orphans are re-parented to init, so their exits arrive here too), start
//! another.

#![no_std]
#![no_main]

use user::{Args, CONSOLE, O_RDWR, exec, exit, fork, println};

user::entry!(main);

fn main(_args: Args) -> i32 {
    open_console();
    loop {
        println!("init: starting sh");
        let pid = match fork() {
            Ok(0) => {
                let Err(_) = exec(c"sh", &[c"sh"]);
                println!("init: exec sh failed");
                exit(1);
            }
            Ok(pid) => pid,
            Err(_) => {
                println!("init: fork failed");
                exit(1);
            }
        };
        loop {
            match user::wait() {
                Ok(child) if child.pid == pid => break,
                // An orphan that was re-parented to init: just reap it.
                Ok(_) => {}
                Err(_) => {
                    println!("init: wait returned an error");
                    exit(1);
                }
            }
        }
    }
}

/// Opens the console as fd 0 and duplicates it to fds 1 and 2. On a fresh
/// file system the device node may not exist yet: create it first.
fn open_console() {
    if user::open(c"console", O_RDWR).is_err() {
        // Nothing can be printed before the console is open: fail silently.
        if user::mknod(c"console", CONSOLE, 0).is_err() || user::open(c"console", O_RDWR).is_err() {
            exit(1);
        }
    }
    if user::dup(0).is_err() || user::dup(0).is_err() {
        exit(1);
    }
}
