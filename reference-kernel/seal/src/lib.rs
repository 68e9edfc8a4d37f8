//! Sealed verdict lines: the keyed MAC and the line formats that the test
//! programs (`user::harness`, on the riscv64 target) and the grader
//! (`xvlab`'s checks, on the host) share, so that both sides run one piece
//! of code.
//!
//! A kernel sees every byte a test program prints, so a verdict line is
//! only worth something if the kernel cannot make it up. The grader writes
//! a fresh random key into its copy of each test program (over the
//! [`MARKER`] region, which the program reads at run time) and never types
//! it; the program appends to every verdict line a seal, a MAC under that
//! key, which the grader checks:
//!
//! ```text
//! usertests starting ~<nonce> ~<seal>          seq 0: a fresh run of the program
//! test sbrkarg: OK [TOKEN] ~<seal>             seq 1, 2, …: its verdicts, in order
//! ```
//!
//! Each seal is `SipHash-2-4(key, nonce ‖ seq ‖ text)` over the line's text
//! before ` ~<seal>` (16 lowercase hex digits): `nonce` is drawn by the
//! program when it starts and printed on its start line, `seq` counts the
//! sealed lines of that run (the start line is 0). So a sealed line belongs
//! to one start of the program, in one place of its output: it cannot be
//! replayed, moved to another run or reordered, and a line whose text was
//! changed (`FAILED` made `OK`) no longer matches its seal.
//!
//! Without an injected key (the region still holds [`MARKER`], as in a
//! student's own `xvlab qemu`), programs print their lines unsealed, as
//! they always did.
//!
//! SipHash-2-4 is implemented here from its specification (Aumasson and
//! Bernstein, 2012); it is a MAC designed for short inputs, small enough for
//! a `no_std` test program.

#![no_std]

/// Bytes of the key region in a test program.
pub const KEY_LEN: usize = 32;

/// First half of [`MARKER`]: arbitrary bytes, unlikely anywhere else in a
/// program.
const MARKER_HALF: [u8; KEY_LEN / 2] = [
    0x9e, 0x37, 0x79, 0xb9, 0x7f, 0x4a, 0x7c, 0x15, 0xf3, 0x9c, 0xc0, 0x60, 0x5c, 0xed, 0xc8, 0x34,
];

/// What a test program's key region holds until the grader replaces it: a
/// half and its bitwise complement. A program recognises it by that shape
/// ([`is_marker`]) rather than by comparing with a copy, which would put a
/// second copy of the marker in the program for the grader to trip over.
pub const MARKER: [u8; KEY_LEN] = {
    let mut m = [0u8; KEY_LEN];
    let mut i = 0;
    while i < KEY_LEN / 2 {
        m[i] = MARKER_HALF[i];
        m[i + KEY_LEN / 2] = !MARKER_HALF[i];
        i += 1;
    }
    m
};

/// Whether `region` has the marker's shape (second half the complement of
/// the first): no key was injected. A random key has it with probability
/// 2^-128; the grader never uses one that does.
pub fn is_marker(region: &[u8; KEY_LEN]) -> bool {
    (0..KEY_LEN / 2).all(|i| region[i] == !region[i + KEY_LEN / 2])
}

/// Hex digits of a seal or a nonce.
pub const HEX_LEN: usize = 16;

/// What separates a line's text from its seal (and, on a start line, the
/// program's name from its nonce).
pub const SEPARATOR: &str = " ~";

/// What a start line says after the program's name.
pub const STARTING: &str = " starting";

/// The MAC key of one grading run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key {
    k0: u64,
    k1: u64,
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // A key in a log or a report would be a key given away.
        f.write_str("Key(…)")
    }
}

impl Key {
    /// The key held by a program's key region, or `None` if none was
    /// injected.
    pub fn from_region(region: &[u8; KEY_LEN]) -> Option<Key> {
        (!is_marker(region)).then(|| Key::from_bytes(region))
    }

    /// SipHash's 128-bit key from all 32 bytes of a region: the two halves
    /// XORed, so every byte counts.
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Key {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i..i + 8]);
            u64::from_le_bytes(w)
        };
        Key {
            k0: word(0) ^ word(16),
            k1: word(8) ^ word(24),
        }
    }

    /// The seal of the line `text` of the run `nonce`, at position `seq`.
    pub fn seal(&self, nonce: u64, seq: u32, text: &[u8]) -> u64 {
        let mut h = SipHasher24::new(self.k0, self.k1);
        h.write(&nonce.to_le_bytes());
        h.write(&seq.to_le_bytes());
        h.write(text);
        h.finish()
    }

    /// A run's nonce from what differs between two starts of a program in
    /// one VM (its process id and the clock). It need not be secret, only
    /// different per start; hashing it under the key keeps it from being
    /// a guessable small number all the same.
    pub fn nonce(&self, pid: i32, ticks: i32) -> u64 {
        let mut h = SipHasher24::new(self.k1, self.k0);
        h.write(b"nonce");
        h.write(&pid.to_le_bytes());
        h.write(&ticks.to_le_bytes());
        h.finish()
    }
}

/// `v` as 16 lowercase hex digits.
pub fn hex(v: u64) -> [u8; HEX_LEN] {
    let mut out = [0u8; HEX_LEN];
    for (i, b) in out.iter_mut().enumerate() {
        let nibble = (v >> (4 * (HEX_LEN - 1 - i))) & 0xf;
        *b = b"0123456789abcdef"[nibble as usize];
    }
    out
}

/// Exactly 16 lowercase hex digits as a number.
pub fn parse_hex(s: &str) -> Option<u64> {
    if s.len() != HEX_LEN || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

/// A line that ends in a seal: its text before ` ~<seal>`, and the seal.
pub fn split(line: &str) -> Option<(&str, u64)> {
    let (text, seal) = line.rsplit_once(SEPARATOR)?;
    Some((text, parse_hex(seal)?))
}

/// `line` without a seal-shaped ending, for matching a line as it would
/// read unsealed (the grader's early-completion pattern).
pub fn strip(line: &str) -> &str {
    split(line).map_or(line, |(text, _)| text)
}

/// `line` without every seal-shaped ending: a sealed start line
/// (`NAME starting ~<nonce> ~<seal>`) reads `NAME starting`, a sealed
/// verdict as it would unsealed; for showing lines to people.
pub fn strip_all(line: &str) -> &str {
    let mut line = line;
    while let Some((text, _)) = split(line) {
        line = text;
    }
    line
}

/// A start line's text (before its seal): the program's name and the
/// nonce, from `NAME starting ~<nonce>`.
pub fn parse_start(text: &str) -> Option<(&str, u64)> {
    let (head, nonce) = text.rsplit_once(SEPARATOR)?;
    let program = head.strip_suffix(STARTING)?;
    if program.is_empty() || program.contains(' ') {
        return None;
    }
    Some((program, parse_hex(nonce)?))
}

/// SipHash-2-4, fed byte by byte so that it needs no buffer of the input.
struct SipHasher24 {
    v: [u64; 4],
    /// Bytes not yet compressed, little-endian in the low bytes.
    tail: u64,
    ntail: u32,
    /// Input length (only its low byte enters the hash).
    len: u64,
}

impl SipHasher24 {
    fn new(k0: u64, k1: u64) -> SipHasher24 {
        SipHasher24 {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
            tail: 0,
            ntail: 0,
            len: 0,
        }
    }

    fn round(&mut self) {
        let [v0, v1, v2, v3] = &mut self.v;
        *v0 = v0.wrapping_add(*v1);
        *v1 = v1.rotate_left(13) ^ *v0;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v3);
        *v3 = v3.rotate_left(16) ^ *v2;
        *v0 = v0.wrapping_add(*v3);
        *v3 = v3.rotate_left(21) ^ *v0;
        *v2 = v2.wrapping_add(*v1);
        *v1 = v1.rotate_left(17) ^ *v2;
        *v2 = v2.rotate_left(32);
    }

    /// One message word through the two compression rounds.
    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        self.round();
        self.round();
        self.v[0] ^= m;
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.tail |= u64::from(b) << (8 * self.ntail);
            self.ntail += 1;
            if self.ntail == 8 {
                self.compress(self.tail);
                self.tail = 0;
                self.ntail = 0;
            }
        }
        self.len = self.len.wrapping_add(bytes.len() as u64);
    }

    fn finish(mut self) -> u64 {
        self.compress(self.tail | (self.len << 56));
        self.v[2] ^= 0xff;
        for _ in 0..4 {
            self.round();
        }
        self.v[0] ^ self.v[1] ^ self.v[2] ^ self.v[3]
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    /// The paper's key, 00 01 … 0f.
    fn paper_hasher() -> SipHasher24 {
        SipHasher24::new(0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908)
    }

    fn paper_hash(n: u8) -> u64 {
        let msg: std::vec::Vec<u8> = (0..n).collect();
        let mut h = paper_hasher();
        h.write(&msg);
        h.finish()
    }

    #[test]
    fn siphash_matches_the_papers_vectors() {
        // Appendix A of the paper (15-byte message), and the first entries
        // of the reference implementation's vector table.
        assert_eq!(paper_hash(15), 0xa129_ca61_49be_45e5);
        assert_eq!(paper_hash(0), 0x726f_db47_dd0e_0e31);
        assert_eq!(paper_hash(1), 0x74f8_39c5_93dc_67fd);
    }

    #[test]
    #[expect(
        deprecated,
        reason = "std's SipHasher is SipHash-2-4: a second opinion"
    )]
    fn siphash_agrees_with_std_at_every_length() {
        use core::hash::Hasher;
        for n in 0..64u8 {
            let msg: std::vec::Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            let (k0, k1) = (0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210 ^ u64::from(n));
            let mut std_h = std::hash::SipHasher::new_with_keys(k0, k1);
            std_h.write(&msg);
            // Fed in two pieces, to test the tail across writes.
            let mut ours = SipHasher24::new(k0, k1);
            let (a, b) = msg.split_at(msg.len() / 3);
            ours.write(a);
            ours.write(b);
            assert_eq!(ours.finish(), std_h.finish(), "length {n}");
        }
    }

    #[test]
    fn the_marker_has_its_shape_and_keys_do_not() {
        assert!(is_marker(&MARKER));
        assert!(Key::from_region(&MARKER).is_none());
        let mut region = MARKER;
        region[31] ^= 1;
        assert!(!is_marker(&region));
        assert!(Key::from_region(&region).is_some());
    }

    #[test]
    fn seals_depend_on_key_nonce_seq_and_text() {
        let mut bytes = [7u8; KEY_LEN];
        let key = Key::from_bytes(&bytes);
        let base = key.seal(1, 1, b"test sbrkarg: OK [ab]");
        assert_ne!(base, key.seal(2, 1, b"test sbrkarg: OK [ab]"));
        assert_ne!(base, key.seal(1, 2, b"test sbrkarg: OK [ab]"));
        assert_ne!(base, key.seal(1, 1, b"test sbrkarg: FAILED [ab]"));
        bytes[20] ^= 0x80;
        assert_ne!(
            base,
            Key::from_bytes(&bytes).seal(1, 1, b"test sbrkarg: OK [ab]")
        );
        assert_ne!(key.nonce(3, 10), key.nonce(4, 10));
        assert_ne!(key.nonce(3, 10), key.nonce(3, 11));
        assert_eq!(std::format!("{key:?}"), "Key(…)");
    }

    #[test]
    fn hex_round_trips_and_is_strict() {
        for v in [0, 1, 0xdead_beef, u64::MAX] {
            let h = hex(v);
            assert_eq!(parse_hex(core::str::from_utf8(&h).unwrap()), Some(v));
        }
        assert_eq!(&hex(0xab), b"00000000000000ab");
        for bad in [
            "",
            "abc",
            "00000000000000AB",
            "00000000000000abc",
            "000000000000000g",
        ] {
            assert_eq!(parse_hex(bad), None, "{bad}");
        }
    }

    #[test]
    fn lines_split_into_text_and_seal() {
        let line = "test sbrkarg: OK [ab] ~00000000000000ff";
        assert_eq!(split(line), Some(("test sbrkarg: OK [ab]", 0xff)));
        assert_eq!(strip(line), "test sbrkarg: OK [ab]");
        assert_eq!(split("test sbrkarg: OK [ab]"), None);
        assert_eq!(split("x ~zz"), None);
        assert_eq!(strip("plain ~ line"), "plain ~ line");
    }

    #[test]
    fn start_lines_name_the_program_and_nonce() {
        assert_eq!(
            parse_start("usertests starting ~0000000000000010"),
            Some(("usertests", 16))
        );
        assert_eq!(parse_start("usertests starting"), None);
        assert_eq!(parse_start(" starting ~0000000000000010"), None);
        assert_eq!(parse_start("a b starting ~0000000000000010"), None);
        assert_eq!(parse_start("usertests started ~0000000000000010"), None);
    }
}
