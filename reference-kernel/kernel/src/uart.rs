//! Low-level driver routines for the 16550a UART that QEMU emulates. This is
//! xv6's `uart.c`: output to the console goes through a small transmit
//! buffer drained by UART interrupts; input arrives by interrupt and goes to
//! console.rs.

use core::sync::atomic::Ordering;

use crate::console::consoleintr;
use crate::memlayout::UART0;
use crate::printf::PANICKED;
use crate::proc::{sleep, wakeup};
use crate::spinlock::{Spinlock, pop_off, push_off};

// The UART control registers. Some have different meanings for read vs
// write. See http://byterunner.com/16550.html
/// Receive holding register (for input bytes).
const RHR: usize = 0;
/// Transmit holding register (for output bytes).
const THR: usize = 0;
/// Interrupt enable register.
const IER: usize = 1;
const IER_RX_ENABLE: u8 = 1 << 0;
const IER_TX_ENABLE: u8 = 1 << 1;
/// FIFO control register.
const FCR: usize = 2;
const FCR_FIFO_ENABLE: u8 = 1 << 0;
/// Clear the content of the two FIFOs.
const FCR_FIFO_CLEAR: u8 = 3 << 1;
/// Line control register.
const LCR: usize = 3;
const LCR_EIGHT_BITS: u8 = 3;
/// Special mode to set baud rate.
const LCR_BAUD_LATCH: u8 = 1 << 7;
/// Line status register.
const LSR: usize = 5;
/// Input is waiting to be read from RHR.
const LSR_RX_READY: u8 = 1 << 0;
/// THR can accept another character to send.
const LSR_TX_IDLE: u8 = 1 << 5;

fn read_reg(reg: usize) -> u8 {
    // SAFETY: UART0 is the memory-mapped UART, identity-mapped in the kernel
    // page table (and physical before paging is on); reg is a register offset.
    unsafe { ((UART0 + reg) as *const u8).read_volatile() }
}

fn write_reg(reg: usize, v: u8) {
    // SAFETY: as for read_reg.
    unsafe { ((UART0 + reg) as *mut u8).write_volatile(v) }
}

const UART_TX_BUF_SIZE: usize = 32;

/// The output buffer: bytes from `r` to `w` wait to be sent.
struct Tx {
    buf: [u8; UART_TX_BUF_SIZE],
    /// Write next to buf[w % UART_TX_BUF_SIZE].
    w: usize,
    /// Read next from buf[r % UART_TX_BUF_SIZE].
    r: usize,
}

static UART_TX: Spinlock<Tx> = Spinlock::new(
    Tx {
        buf: [0; UART_TX_BUF_SIZE],
        w: 0,
        r: 0,
    },
    "uart",
);

/// Channel writers sleep on while the transmit buffer is full.
fn tx_chan() -> usize {
    &UART_TX as *const _ as usize
}

pub fn uartinit() {
    // Disable interrupts.
    write_reg(IER, 0x00);
    // Special mode to set baud rate.
    write_reg(LCR, LCR_BAUD_LATCH);
    // LSB for baud rate of 38.4K.
    write_reg(0, 0x03);
    // MSB for baud rate of 38.4K.
    write_reg(1, 0x00);
    // Leave set-baud mode, and set word length to 8 bits, no parity.
    write_reg(LCR, LCR_EIGHT_BITS);
    // Reset and enable FIFOs.
    write_reg(FCR, FCR_FIFO_ENABLE | FCR_FIFO_CLEAR);
    // Enable transmit and receive interrupts.
    write_reg(IER, IER_TX_ENABLE | IER_RX_ENABLE);
}

/// Add a character to the output buffer and tell the UART to start sending
/// if it isn't already. Blocks if the output buffer is full. Because it may
/// block, it can't be called from interrupts; it's only suitable for use by
/// write().
pub fn uartputc(c: u8) {
    let mut tx = UART_TX.lock();
    if PANICKED.load(Ordering::Relaxed) {
        crate::printf::freeze_if_panicked();
    }
    while tx.w == tx.r + UART_TX_BUF_SIZE {
        // Buffer is full. Wait for uartstart() to open up space in the buffer.
        tx = sleep(tx_chan(), tx);
    }
    let w = tx.w;
    tx.buf[w % UART_TX_BUF_SIZE] = c;
    tx.w += 1;
    uartstart(&mut tx);
}

/// Alternate version of uartputc() that doesn't use interrupts, for use by
/// kernel printf() and to echo characters. It spins waiting for the UART's
/// output register to be empty.
pub fn uartputc_sync(c: u8) {
    push_off();
    if PANICKED.load(Ordering::Relaxed) {
        crate::printf::freeze_if_panicked();
    }
    // Wait for Transmit Holding Empty to be set in LSR.
    while read_reg(LSR) & LSR_TX_IDLE == 0 {}
    write_reg(THR, c);
    pop_off();
}

/// If the UART is idle, and a character is waiting in the transmit buffer,
/// send it. Caller must hold the tx lock (the guard proves it). Called from
/// both the top- and bottom-half.
fn uartstart(tx: &mut Tx) {
    loop {
        if tx.w == tx.r {
            // Transmit buffer is empty.
            return;
        }
        if read_reg(LSR) & LSR_TX_IDLE == 0 {
            // The UART transmit holding register is full, so we cannot give
            // it another byte. It will interrupt when it's ready for a new
            // byte.
            return;
        }
        let c = tx.buf[tx.r % UART_TX_BUF_SIZE];
        tx.r += 1;
        // Maybe uartputc() is waiting for space in the buffer.
        wakeup(tx_chan());
        write_reg(THR, c);
    }
}

/// Read one input character from the UART, if one is waiting.
fn uartgetc() -> Option<u8> {
    if read_reg(LSR) & LSR_RX_READY != 0 {
        Some(read_reg(RHR))
    } else {
        None
    }
}

/// Handle a UART interrupt, raised because input has arrived, or the UART
/// is ready for more output, or both. Called from devintr().
pub fn uartintr() {
    // Read and process incoming characters.
    while let Some(c) = uartgetc() {
        consoleintr(c);
    }
    // Send buffered characters.
    let mut tx = UART_TX.lock();
    uartstart(&mut tx);
}
