//! The console: input from the UART, a line at a time, with line editing;
//! output to the UART. This is xv6's `console.c`.
//!
//! Reads are line-buffered and honour these control keys:
//! - newline: end of line
//! - backspace (^H or DEL): erase the last character
//! - ^U: kill the line
//! - ^D: end of file
//! - ^P: print the process list

use crate::proc::{either_copyin, either_copyout, myproc, procdump, sleep, wakeup};
use crate::spinlock::Spinlock;
use crate::uart::{uartinit, uartputc, uartputc_sync};

/// Sent to `consputc` to erase the previous character.
const BACKSPACE: u16 = 0x100;

/// Control-x.
const fn ctrl(x: u8) -> u8 {
    x - b'@'
}

/// Send one character to the UART. Called by printf() and to echo input
/// characters, but not from write().
pub fn consputc(c: u8) {
    uartputc_sync(c);
}

fn consputc_special(c: u16) {
    if c == BACKSPACE {
        // If the user typed backspace, overwrite with a space.
        uartputc_sync(b'\x08');
        uartputc_sync(b' ');
        uartputc_sync(b'\x08');
    } else {
        uartputc_sync(c as u8);
    }
}

const INPUT_BUF_SIZE: usize = 128;

struct Cons {
    buf: [u8; INPUT_BUF_SIZE],
    /// Read index.
    r: usize,
    /// Write index: everything before it is a complete line for readers.
    w: usize,
    /// Edit index: the line being typed runs from `w` to here.
    e: usize,
}

static CONS: Spinlock<Cons> = Spinlock::new(
    Cons {
        buf: [0; INPUT_BUF_SIZE],
        r: 0,
        w: 0,
        e: 0,
    },
    "cons",
);

/// Channel readers sleep on until a line is complete.
fn read_chan() -> usize {
    &CONS as *const _ as usize
}

/// User write()s to the console go here.
pub fn consolewrite(user_src: bool, src: usize, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        let mut c = [0u8; 1];
        if either_copyin(&mut c, user_src, src + i).is_err() {
            break;
        }
        uartputc(c[0]);
        i += 1;
    }
    i as i32
}

/// User read()s from the console go here. Copy (up to) a whole input line to
/// dst. user_dst indicates whether dst is a user or kernel address.
pub fn consoleread(user_dst: bool, mut dst: usize, mut n: usize) -> i32 {
    let target = n;
    let mut cons = CONS.lock();
    while n > 0 {
        // Wait until interrupt handler has put some input into cons.buf.
        while cons.r == cons.w {
            if myproc().killed() {
                return -1;
            }
            cons = sleep(read_chan(), cons);
        }

        let c = cons.buf[cons.r % INPUT_BUF_SIZE];
        cons.r += 1;

        if c == ctrl(b'D') {
            // End-of-file.
            if n < target {
                // Save ^D for next time, to make sure caller gets a 0-byte
                // result.
                cons.r -= 1;
            }
            break;
        }

        // Copy the input byte to the user-space buffer.
        if either_copyout(user_dst, dst, &[c]).is_err() {
            break;
        }

        dst += 1;
        n -= 1;

        if c == b'\n' {
            // A whole line has arrived, return to the user-level read().
            break;
        }
    }
    (target - n) as i32
}

/// The console input interrupt handler. uartintr() calls this for each input
/// character. Do erase/kill processing, append to cons.buf, wake up
/// consoleread() if a whole line has arrived.
pub fn consoleintr(c: u8) {
    let mut cons = CONS.lock();

    match c {
        c if c == ctrl(b'P') => {
            // Print process list.
            procdump();
        }
        c if c == ctrl(b'U') => {
            // Kill line.
            while cons.e != cons.w && cons.buf[(cons.e - 1) % INPUT_BUF_SIZE] != b'\n' {
                cons.e -= 1;
                consputc_special(BACKSPACE);
            }
        }
        0x08 | 0x7f => {
            // Backspace or Delete key.
            if cons.e != cons.w {
                cons.e -= 1;
                consputc_special(BACKSPACE);
            }
        }
        _ => {
            if c != 0 && cons.e - cons.r < INPUT_BUF_SIZE {
                let c = if c == b'\r' { b'\n' } else { c };

                // Echo back to the user.
                consputc(c);

                // Store for consumption by consoleread().
                let e = cons.e;
                cons.buf[e % INPUT_BUF_SIZE] = c;
                cons.e += 1;

                if c == b'\n' || c == ctrl(b'D') || cons.e - cons.r == INPUT_BUF_SIZE {
                    // Wake up consoleread() if a whole line (or end-of-file)
                    // has arrived.
                    cons.w = cons.e;
                    wakeup(read_chan());
                }
            }
        }
    }
}

pub fn consoleinit() {
    uartinit();
}
