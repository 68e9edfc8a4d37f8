//! Byte-string helpers for programs that handle C strings: [`atoi`],
//! whitespace as the C library classifies it, and [`ByteStr`] for printing
//! bytes that may not be UTF-8.

use core::fmt;

/// Parses a decimal integer the way C's `atoi` does: optional leading
/// whitespace and sign, then digits up to the first non-digit; no digits
/// gives 0, overflow wraps.
pub fn atoi(s: &[u8]) -> i32 {
    let mut rest = s;
    while let [first, tail @ ..] = rest
        && is_space(*first)
    {
        rest = tail;
    }
    let negative = match rest {
        [b'-', tail @ ..] => {
            rest = tail;
            true
        }
        [b'+', tail @ ..] => {
            rest = tail;
            false
        }
        _ => false,
    };
    let mut n: i32 = 0;
    for &b in rest.iter().take_while(|b| b.is_ascii_digit()) {
        n = n.wrapping_mul(10).wrapping_add(i32::from(b - b'0'));
    }
    if negative { n.wrapping_neg() } else { n }
}

/// Whether `b` is white space in C's sense: space, `\t`, `\n`, `\v`, `\f`,
/// `\r`.
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Displays bytes as text; bytes that are not UTF-8 show as `?`.
#[derive(Clone, Copy)]
pub struct ByteStr<'a>(pub &'a [u8]);

impl fmt::Display for ByteStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("?")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ByteStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}
