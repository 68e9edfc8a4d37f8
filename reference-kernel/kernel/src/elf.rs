//! The ELF executable format, as far as exec needs it. This is xv6's `elf.h`,
//! with safe decoding from bytes read off the disk.

/// "\x7FELF" in little endian.
pub const ELF_MAGIC: u32 = 0x464C_457F;

/// Values for ProgHdr typ: a loadable segment.
pub const ELF_PROG_LOAD: u32 = 1;

/// Flag bits for ProgHdr flags.
pub const ELF_PROG_FLAG_EXEC: u32 = 1;
pub const ELF_PROG_FLAG_WRITE: u32 = 2;

/// File header (the fields exec uses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ElfHdr {
    pub magic: u32,
    pub entry: u64,
    pub phoff: u64,
    pub phentsize: u16,
    pub phnum: u16,
}

impl ElfHdr {
    /// Size of the 64-bit ELF file header on disk.
    pub const SIZE: usize = 64;

    pub fn decode(b: &[u8; Self::SIZE]) -> ElfHdr {
        ElfHdr {
            magic: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            entry: u64_at(b, 24),
            phoff: u64_at(b, 32),
            phentsize: u16::from_le_bytes([b[54], b[55]]),
            phnum: u16::from_le_bytes([b[56], b[57]]),
        }
    }
}

/// Program section header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProgHdr {
    pub typ: u32,
    pub flags: u32,
    pub off: u64,
    pub vaddr: u64,
    pub paddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

impl ProgHdr {
    /// Size of a 64-bit program header on disk.
    pub const SIZE: usize = 56;

    pub fn decode(b: &[u8; Self::SIZE]) -> ProgHdr {
        ProgHdr {
            typ: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            flags: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            off: u64_at(b, 8),
            vaddr: u64_at(b, 16),
            paddr: u64_at(b, 24),
            filesz: u64_at(b, 32),
            memsz: u64_at(b, 40),
            align: u64_at(b, 48),
        }
    }
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_header_fields_at_their_offsets() {
        let mut b = [0u8; ElfHdr::SIZE];
        b[..4].copy_from_slice(b"\x7fELF");
        b[24..32].copy_from_slice(&0x1234u64.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&3u16.to_le_bytes());
        let h = ElfHdr::decode(&b);
        assert_eq!(h.magic, ELF_MAGIC);
        assert_eq!(
            (h.entry, h.phoff, h.phentsize, h.phnum),
            (0x1234, 64, 56, 3)
        );
    }

    #[test]
    fn decodes_program_header() {
        let mut b = [0u8; ProgHdr::SIZE];
        b[..4].copy_from_slice(&ELF_PROG_LOAD.to_le_bytes());
        b[4..8].copy_from_slice(&(4 | ELF_PROG_FLAG_EXEC).to_le_bytes());
        b[8..16].copy_from_slice(&0x1000u64.to_le_bytes());
        b[16..24].copy_from_slice(&0x2000u64.to_le_bytes());
        b[32..40].copy_from_slice(&10u64.to_le_bytes());
        b[40..48].copy_from_slice(&20u64.to_le_bytes());
        let ph = ProgHdr::decode(&b);
        assert_eq!(ph.typ, ELF_PROG_LOAD);
        assert_eq!(ph.flags, 5);
        assert_eq!(
            (ph.off, ph.vaddr, ph.filesz, ph.memsz),
            (0x1000, 0x2000, 10, 20)
        );
    }
}
