//! Little-endian integer fields inside byte buffers: the one place that turns
//! the on-disk structures' C layout into Rust integers and back.
//!
//! Every function panics if the field does not fit in the buffer; callers
//! document that as their own contract.

/// Reads the `u16` at byte offset `off`.
pub(crate) fn get_u16(buf: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([buf[off], buf[off + 1]])
}

/// Reads the `i16` at byte offset `off`.
pub(crate) fn get_i16(buf: &[u8], off: usize) -> i16 {
    i16::from_le_bytes([buf[off], buf[off + 1]])
}

/// Reads the `u32` at byte offset `off`.
pub(crate) fn get_u32(buf: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]])
}

/// Writes `value` as a `u16` at byte offset `off`.
pub(crate) fn put_u16(buf: &mut [u8], off: usize, value: u16) {
    buf[off..off + 2].copy_from_slice(&value.to_le_bytes());
}

/// Writes `value` as an `i16` at byte offset `off`.
pub(crate) fn put_i16(buf: &mut [u8], off: usize, value: i16) {
    buf[off..off + 2].copy_from_slice(&value.to_le_bytes());
}

/// Writes `value` as a `u32` at byte offset `off`.
pub(crate) fn put_u32(buf: &mut [u8], off: usize, value: u32) {
    buf[off..off + 4].copy_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_little_endian() {
        let mut buf = [0u8; 8];
        put_u32(&mut buf, 1, 0x1122_3344);
        assert_eq!(buf, [0, 0x44, 0x33, 0x22, 0x11, 0, 0, 0]);
        assert_eq!(get_u32(&buf, 1), 0x1122_3344);

        put_u16(&mut buf, 6, 0xabcd);
        assert_eq!(&buf[6..], &[0xcd, 0xab]);
        assert_eq!(get_u16(&buf, 6), 0xabcd);

        put_i16(&mut buf, 0, -2);
        assert_eq!(&buf[..2], &[0xfe, 0xff]);
        assert_eq!(get_i16(&buf, 0), -2);
    }

    #[test]
    #[should_panic]
    fn reading_past_the_buffer_panics() {
        get_u32(&[0u8; 3], 0);
    }
}
