//! exec: replace the current process's memory with a program loaded from an
//! ELF file, and set up its stack with the arguments. This is xv6's
//! `exec.c`.
//!
//! The new address space, as in xv6: the program's segments from address 0
//! (text read-only and executable, data writable, as the ELF flags say),
//! then one guard page (no user access), then one stack page holding the
//! argument strings and the argv array; `sz` ends just above the stack.

use crate::elf::{
    ELF_MAGIC, ELF_PROG_FLAG_EXEC, ELF_PROG_FLAG_WRITE, ELF_PROG_LOAD, ElfHdr, ProgHdr,
};
use crate::fs::{InodeGuard, ilock, iunlockput, namei, readi};
use crate::log::{begin_op, end_op};
use crate::param::MAXARG;
use crate::proc::{myproc, proc_freepagetable, proc_pagetable, set_name};
use crate::riscv::*;
use crate::vm::{Pagetable, copyout, uvmalloc, uvmclear, walkaddr};

/// Page permissions for a segment with these ELF flags (beyond PTE_R|PTE_U,
/// which uvmalloc always adds).
fn flags2perm(flags: u32) -> usize {
    let mut perm = 0;
    if flags & ELF_PROG_FLAG_EXEC != 0 {
        perm |= PTE_X;
    }
    if flags & ELF_PROG_FLAG_WRITE != 0 {
        perm |= PTE_W;
    }
    perm
}

/// Load the program at `path` with arguments `argv` into the current
/// process. On success returns argc (which becomes a0, the first argument to
/// the program's entry); on failure the process is unchanged.
pub fn exec(path: &[u8], argv: &[&[u8]]) -> Result<usize, ()> {
    let p = myproc();

    begin_op();

    let Some(ip) = namei(path) else {
        end_op();
        return Err(());
    };
    let mut ip = ilock(ip);

    let mut pagetable = Pagetable::NULL;
    let mut sz = 0;
    let loaded = load(&mut ip, &mut pagetable, &mut sz);
    iunlockput(ip);
    end_op();

    let result = loaded.and_then(|entry| {
        // SAFETY: we are p, in its own kernel thread.
        let data = unsafe { p.data_mut() };
        let oldsz = data.sz;

        // Allocate two pages at the next page boundary. Make the first
        // inaccessible as a stack guard. Use the second as the user stack.
        sz = pgroundup(sz);
        sz = uvmalloc(pagetable, sz, sz + 2 * PGSIZE, PTE_W)?;
        uvmclear(pagetable, VirtAddr(sz - 2 * PGSIZE));
        let mut sp = sz;
        let stackbase = sp - PGSIZE;

        // Push argument strings, prepare rest of stack in ustack.
        if argv.len() > MAXARG {
            return Err(());
        }
        let mut ustack = [0usize; MAXARG + 1];
        for (argc, arg) in argv.iter().enumerate() {
            sp = sp.checked_sub(arg.len() + 1).ok_or(())?;
            sp -= sp % 16; // riscv sp must be 16-byte aligned
            if sp < stackbase {
                return Err(());
            }
            copyout(pagetable, sp, arg)?;
            copyout(pagetable, sp + arg.len(), &[0])?;
            ustack[argc] = sp;
        }
        let argc = argv.len();
        ustack[argc] = 0;

        // push the array of argv[] pointers.
        sp = sp.checked_sub((argc + 1) * 8).ok_or(())?;
        sp -= sp % 16;
        if sp < stackbase {
            return Err(());
        }
        for (i, &ptr) in ustack[..=argc].iter().enumerate() {
            copyout(pagetable, sp + i * 8, &ptr.to_le_bytes())?;
        }

        // arguments to user main(argc, argv): argc is returned via the
        // system call return value, which goes in a0.
        // SAFETY: as above.
        let tf = unsafe { p.trapframe() };
        tf.a1 = sp;

        // Save program name for debugging.
        let last = path
            .iter()
            .rposition(|&c| c == b'/')
            .map_or(path, |i| &path[i + 1..]);
        set_name(&mut data.name, last);

        // Commit to the user image.
        let oldpagetable = data.pagetable;
        data.pagetable = pagetable;
        data.sz = sz;
        tf.epc = entry; // initial program counter = main
        tf.sp = sp; // initial stack pointer
        proc_freepagetable(oldpagetable, oldsz);

        Ok(argc)
    });

    if result.is_err() && !pagetable.is_null() {
        proc_freepagetable(pagetable, sz);
    }
    result
}

/// Check the ELF header of the locked inode, create a fresh user page table
/// in `pagetable` and load the program's segments into it, growing `sz`.
/// Returns the entry point. On failure the caller frees what was built.
fn load(ip: &mut InodeGuard, pagetable: &mut Pagetable, sz: &mut usize) -> Result<usize, ()> {
    // Check ELF header.
    let mut eb = [0u8; ElfHdr::SIZE];
    if readi(ip, false, eb.as_mut_ptr() as usize, 0, ElfHdr::SIZE as u32) != Ok(ElfHdr::SIZE) {
        return Err(());
    }
    let elf = ElfHdr::decode(&eb);
    if elf.magic != ELF_MAGIC {
        return Err(());
    }

    *pagetable = proc_pagetable(myproc());
    if pagetable.is_null() {
        return Err(());
    }

    // Load program into memory.
    for i in 0..elf.phnum as u64 {
        let off = elf.phoff.checked_add(i * ProgHdr::SIZE as u64).ok_or(())?;
        let off = u32::try_from(off).map_err(|_| ())?;
        let mut pb = [0u8; ProgHdr::SIZE];
        if readi(
            ip,
            false,
            pb.as_mut_ptr() as usize,
            off,
            ProgHdr::SIZE as u32,
        ) != Ok(ProgHdr::SIZE)
        {
            return Err(());
        }
        let ph = ProgHdr::decode(&pb);
        if ph.typ != ELF_PROG_LOAD {
            continue;
        }
        if ph.memsz < ph.filesz {
            return Err(());
        }
        let end = ph.vaddr.checked_add(ph.memsz).ok_or(())?;
        if end as usize >= MAXVA - 2 * PGSIZE {
            return Err(());
        }
        if !(ph.vaddr as usize).is_multiple_of(PGSIZE) {
            return Err(());
        }
        *sz = uvmalloc(*pagetable, *sz, end as usize, flags2perm(ph.flags))?;
        let off = u32::try_from(ph.off).map_err(|_| ())?;
        let filesz = u32::try_from(ph.filesz).map_err(|_| ())?;
        loadseg(*pagetable, VirtAddr(ph.vaddr as usize), ip, off, filesz)?;
    }
    Ok(elf.entry as usize)
}

/// Load a program segment into pagetable at virtual address va. va must be
/// page-aligned and the pages from va to va+sz must already be mapped.
fn loadseg(
    pagetable: Pagetable,
    va: VirtAddr,
    ip: &mut InodeGuard,
    offset: u32,
    sz: u32,
) -> Result<(), ()> {
    let mut i: u32 = 0;
    while i < sz {
        let Some(pa) = walkaddr(pagetable, va + i as usize) else {
            panic!("loadseg: address should exist");
        };
        let n = (sz - i).min(PGSIZE as u32);
        if readi(ip, false, pa.0, offset + i, n) != Ok(n as usize) {
            return Err(());
        }
        i += PGSIZE as u32;
    }
    Ok(())
}
