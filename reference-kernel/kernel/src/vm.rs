//! Virtual memory: the kernel's page table, and every operation on user page
//! tables — create, grow, shrink, copy (for fork), free — plus copying data
//! between the kernel and user space. This is xv6's `vm.c`, with xv6's
//! function names.
//!
//! A page table is a tree of 4096-byte pages of 512 PTEs (Sv39, three
//! levels). `walk` finds (and optionally creates) the leaf PTE for a virtual
//! address; everything else is built on it.

use core::sync::atomic::{AtomicPtr, Ordering};

use crate::kalloc::{kalloc, kfree};
use crate::memlayout::{KERNBASE, PHYSTOP, PLIC, TRAMPOLINE, UART0, VIRTIO0};
use crate::proc::proc_mapstacks;
use crate::riscv::*;

unsafe extern "C" {
    /// End of kernel code, defined by kernel.ld.
    static etext: u8;
    /// Start of the trampoline page (trampoline.rs), defined by kernel.ld.
    static trampoline: u8;
}

/// One page-table page: 512 PTEs.
#[repr(C, align(4096))]
pub struct PageTablePage {
    pub entries: [Pte; 512],
}

/// A page table, named by the physical address of its root page. This is
/// xv6's `pagetable_t`; it may be `Pagetable::NULL` where xv6's may be 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pagetable(pub *mut PageTablePage);

impl Pagetable {
    /// No page table.
    pub const NULL: Pagetable = Pagetable(core::ptr::null_mut());

    pub fn is_null(self) -> bool {
        self.0.is_null()
    }

    /// The physical address of the root page.
    pub fn pa(self) -> PhysAddr {
        PhysAddr(self.0 as usize)
    }

    /// The PTE at `index` of this page-table page.
    fn entry(self, index: usize) -> &'static mut Pte {
        // SAFETY: a non-null Pagetable always names a live page-table page
        // (allocated by kalloc and identity-mapped); index < 512 because
        // callers pass px() values.
        unsafe { &mut (*self.0).entries[index] }
    }
}

/// The kernel's page table, shared by all harts.
static KERNEL_PAGETABLE: AtomicPtr<PageTablePage> = AtomicPtr::new(core::ptr::null_mut());

/// Allocate a zeroed page-table page.
fn alloc_table() -> Option<Pagetable> {
    let pa = kalloc()?;
    // SAFETY: the page was just allocated and is ours.
    unsafe { core::ptr::write_bytes(pa.as_mut_ptr::<u8>(), 0, PGSIZE) };
    Some(Pagetable(pa.as_mut_ptr()))
}

/// Make a direct-map page table for the kernel.
fn kvmmake() -> Pagetable {
    let kpgtbl = alloc_table().expect("kvmmake: out of memory");
    // Only the linker symbols' addresses are used.
    let (etext_addr, trampoline_addr) = (&raw const etext as usize, &raw const trampoline as usize);

    // uart registers
    kvmmap(kpgtbl, UART0, UART0, PGSIZE, PTE_R | PTE_W);

    // virtio mmio disk interface
    kvmmap(kpgtbl, VIRTIO0, VIRTIO0, PGSIZE, PTE_R | PTE_W);

    // PLIC
    kvmmap(kpgtbl, PLIC, PLIC, 0x40_0000, PTE_R | PTE_W);

    // map kernel text executable and read-only.
    kvmmap(
        kpgtbl,
        KERNBASE,
        KERNBASE,
        etext_addr - KERNBASE,
        PTE_R | PTE_X,
    );

    // map kernel data and the physical RAM we'll make use of.
    kvmmap(
        kpgtbl,
        etext_addr,
        etext_addr,
        PHYSTOP - etext_addr,
        PTE_R | PTE_W,
    );

    // map the trampoline for trap entry/exit to
    // the highest virtual address in the kernel.
    kvmmap(kpgtbl, TRAMPOLINE, trampoline_addr, PGSIZE, PTE_R | PTE_X);

    // allocate and map a kernel stack for each process.
    proc_mapstacks(kpgtbl);

    kpgtbl
}

/// Initialize the one kernel page table.
pub fn kvminit() {
    KERNEL_PAGETABLE.store(kvmmake().0, Ordering::Release);
}

/// Switch this hart's page table register to the kernel's page table, and
/// enable paging.
pub fn kvminithart() {
    // wait for any previous writes to the page table memory to finish.
    sfence_vma();

    let kpgtbl = KERNEL_PAGETABLE.load(Ordering::Acquire);
    // SAFETY: the kernel page table identity-maps the kernel's code, data
    // and RAM, so execution continues seamlessly after the switch.
    unsafe { w_satp(make_satp(kpgtbl as usize)) };

    // flush stale entries from the TLB.
    sfence_vma();
}

/// Return the address of the PTE in page table pagetable that corresponds to
/// virtual address va. If alloc is true, create any required page-table
/// pages.
///
/// The risc-v Sv39 scheme has three levels of page-table pages. A page-table
/// page contains 512 64-bit PTEs. A 64-bit virtual address is split into
/// five fields:
///   39..63 -- must be zero.
///   30..38 -- 9 bits of level-2 index.
///   21..29 -- 9 bits of level-1 index.
///   12..20 -- 9 bits of level-0 index.
///    0..11 -- 12 bits of byte offset within the page.
pub fn walk(pagetable: Pagetable, va: VirtAddr, alloc: bool) -> Option<&'static mut Pte> {
    if va.0 >= MAXVA {
        panic!("walk");
    }

    let mut pagetable = pagetable;
    for level in [2, 1] {
        let pte = pagetable.entry(va.px(level));
        if pte.is_valid() {
            pagetable = Pagetable(pte.pa().as_mut_ptr());
        } else {
            if !alloc {
                return None;
            }
            pagetable = alloc_table()?;
            *pte = Pte::new(pagetable.pa(), PTE_V);
        }
    }
    Some(pagetable.entry(va.px(0)))
}

/// Look up a virtual address, return the physical address, or None if not
/// mapped. Can only be used to look up user pages.
pub fn walkaddr(pagetable: Pagetable, va: VirtAddr) -> Option<PhysAddr> {
    if va.0 >= MAXVA {
        return None;
    }

    let pte = walk(pagetable, va, false)?;
    if !pte.is_valid() {
        return None;
    }
    if pte.flags() & PTE_U == 0 {
        return None;
    }
    Some(pte.pa())
}

/// Add a mapping to the kernel page table. Only used when booting. Does not
/// flush TLB or enable paging.
pub fn kvmmap(kpgtbl: Pagetable, va: usize, pa: usize, sz: usize, perm: usize) {
    if mappages(kpgtbl, VirtAddr(va), sz, PhysAddr(pa), perm).is_err() {
        panic!("kvmmap");
    }
}

/// Create PTEs for virtual addresses starting at va that refer to physical
/// addresses starting at pa. va and size might not be page-aligned. Returns
/// Err if walk() couldn't allocate a needed page-table page.
pub fn mappages(
    pagetable: Pagetable,
    va: VirtAddr,
    size: usize,
    pa: PhysAddr,
    perm: usize,
) -> Result<(), ()> {
    if size == 0 {
        panic!("mappages: size");
    }

    let mut a = va.pgrounddown();
    let last = VirtAddr(va.0 + size - 1).pgrounddown();
    let mut pa = pa;
    loop {
        let pte = walk(pagetable, a, true).ok_or(())?;
        if pte.is_valid() {
            panic!("mappages: remap");
        }
        *pte = Pte::new(pa, perm | PTE_V);
        if a == last {
            break;
        }
        a = a + PGSIZE;
        pa = pa + PGSIZE;
    }
    Ok(())
}

/// Remove npages of mappings starting from va. va must be page-aligned. The
/// mappings must exist. Optionally free the physical memory.
pub fn uvmunmap(pagetable: Pagetable, va: VirtAddr, npages: usize, do_free: bool) {
    if va.page_offset() != 0 {
        panic!("uvmunmap: not aligned");
    }

    for i in 0..npages {
        let a = va + i * PGSIZE;
        let Some(pte) = walk(pagetable, a, false) else {
            panic!("uvmunmap: walk");
        };
        if !pte.is_valid() {
            panic!("uvmunmap: not mapped");
        }
        if pte.flags() == PTE_V {
            panic!("uvmunmap: not a leaf");
        }
        if do_free {
            kfree(pte.pa());
        }
        *pte = Pte(0);
    }
}

/// Create an empty user page table. Returns None if out of memory.
pub fn uvmcreate() -> Option<Pagetable> {
    alloc_table()
}

/// Load the user initcode into address 0 of pagetable, for the very first
/// process. src.len() must be less than a page.
pub fn uvmfirst(pagetable: Pagetable, src: &[u8]) {
    if src.len() >= PGSIZE {
        panic!("uvmfirst: more than a page");
    }
    let mem = kalloc().expect("uvmfirst: out of memory");
    // SAFETY: mem is a fresh page; src fits in it.
    unsafe {
        core::ptr::write_bytes(mem.as_mut_ptr::<u8>(), 0, PGSIZE);
        core::ptr::copy_nonoverlapping(src.as_ptr(), mem.as_mut_ptr::<u8>(), src.len());
    }
    if mappages(
        pagetable,
        VirtAddr(0),
        PGSIZE,
        mem,
        PTE_W | PTE_R | PTE_X | PTE_U,
    )
    .is_err()
    {
        panic!("uvmfirst: mappages");
    }
}

/// Allocate PTEs and physical memory to grow a process from oldsz to newsz,
/// which need not be page aligned. `xperm` adds permissions (PTE_W, PTE_X)
/// to PTE_R | PTE_U. Returns the new size, or Err (having freed what it
/// allocated) when out of memory.
pub fn uvmalloc(
    pagetable: Pagetable,
    oldsz: usize,
    newsz: usize,
    xperm: usize,
) -> Result<usize, ()> {
    if newsz < oldsz {
        return Ok(oldsz);
    }

    let oldsz = pgroundup(oldsz);
    let mut a = oldsz;
    while a < newsz {
        let Some(mem) = kalloc() else {
            uvmdealloc(pagetable, a, oldsz);
            return Err(());
        };
        // SAFETY: mem is a fresh page.
        unsafe { core::ptr::write_bytes(mem.as_mut_ptr::<u8>(), 0, PGSIZE) };
        if mappages(pagetable, VirtAddr(a), PGSIZE, mem, PTE_R | PTE_U | xperm).is_err() {
            kfree(mem);
            uvmdealloc(pagetable, a, oldsz);
            return Err(());
        }
        a += PGSIZE;
    }
    Ok(newsz)
}

/// Deallocate user pages to bring the process size from oldsz to newsz.
/// oldsz and newsz need not be page-aligned, nor does newsz need to be less
/// than oldsz. oldsz can be larger than the actual process size. Returns the
/// new process size.
pub fn uvmdealloc(pagetable: Pagetable, oldsz: usize, newsz: usize) -> usize {
    if newsz >= oldsz {
        return oldsz;
    }

    if pgroundup(newsz) < pgroundup(oldsz) {
        let npages = (pgroundup(oldsz) - pgroundup(newsz)) / PGSIZE;
        uvmunmap(pagetable, VirtAddr(pgroundup(newsz)), npages, true);
    }

    newsz
}

/// Recursively free page-table pages. All leaf mappings must already have
/// been removed.
fn freewalk(pagetable: Pagetable) {
    // there are 2^9 = 512 PTEs in a page table.
    for i in 0..512 {
        let pte = pagetable.entry(i);
        if pte.is_table() {
            // this PTE points to a lower-level page table.
            freewalk(Pagetable(pte.pa().as_mut_ptr()));
            *pte = Pte(0);
        } else if pte.is_valid() {
            panic!("freewalk: leaf");
        }
    }
    kfree(pagetable.pa());
}

/// Free user memory pages, then free page-table pages.
pub fn uvmfree(pagetable: Pagetable, sz: usize) {
    if sz > 0 {
        uvmunmap(pagetable, VirtAddr(0), pgroundup(sz) / PGSIZE, true);
    }
    freewalk(pagetable);
}

/// Given a parent process's page table, copy its memory into a child's page
/// table. Copies both the page table and the physical memory. Returns Err
/// on failure, having freed any pages it allocated.
pub fn uvmcopy(old: Pagetable, new: Pagetable, sz: usize) -> Result<(), ()> {
    let mut i = 0;
    while i < sz {
        let Some(pte) = walk(old, VirtAddr(i), false) else {
            panic!("uvmcopy: pte should exist");
        };
        if !pte.is_valid() {
            panic!("uvmcopy: page not present");
        }
        let pa = pte.pa();
        let flags = pte.flags();
        let Some(mem) = kalloc() else {
            uvmunmap(new, VirtAddr(0), i / PGSIZE, true);
            return Err(());
        };
        // SAFETY: pa is a mapped user page and mem a fresh page; both are
        // whole pages in identity-mapped RAM.
        unsafe {
            core::ptr::copy_nonoverlapping(pa.as_mut_ptr::<u8>(), mem.as_mut_ptr::<u8>(), PGSIZE)
        };
        if mappages(new, VirtAddr(i), PGSIZE, mem, flags).is_err() {
            kfree(mem);
            uvmunmap(new, VirtAddr(0), i / PGSIZE, true);
            return Err(());
        }
        i += PGSIZE;
    }
    Ok(())
}

/// Mark a PTE invalid for user access. Used by exec for the user stack guard
/// page.
pub fn uvmclear(pagetable: Pagetable, va: VirtAddr) {
    let Some(pte) = walk(pagetable, va, false) else {
        panic!("uvmclear");
    };
    pte.0 &= !PTE_U;
}

/// Copy from kernel to user. Copy src to virtual address dstva in a given
/// page table. Fails if any destination page is not mapped, not a user page,
/// or not writable.
pub fn copyout(pagetable: Pagetable, dstva: usize, src: &[u8]) -> Result<(), ()> {
    let mut dstva = dstva;
    let mut src = src;
    while !src.is_empty() {
        let va0 = VirtAddr(dstva).pgrounddown();
        let pa0 = walkaddr(pagetable, va0).ok_or(())?;
        // Never write into a read-only user page, such as program text.
        if walk(pagetable, va0, false).is_some_and(|pte| pte.flags() & PTE_W == 0) {
            return Err(());
        }
        let n = (PGSIZE - (dstva - va0.0)).min(src.len());
        // SAFETY: pa0 is a user page mapped writable; the copy stays within
        // it because n <= PGSIZE - offset.
        unsafe {
            core::ptr::copy(src.as_ptr(), (pa0.0 + (dstva - va0.0)) as *mut u8, n);
        }
        src = &src[n..];
        dstva = va0.0 + PGSIZE;
    }
    Ok(())
}

/// Copy from user to kernel. Copy dst.len() bytes to dst from virtual
/// address srcva in a given page table.
pub fn copyin(pagetable: Pagetable, dst: &mut [u8], srcva: usize) -> Result<(), ()> {
    let mut srcva = srcva;
    let mut done = 0;
    while done < dst.len() {
        let va0 = VirtAddr(srcva).pgrounddown();
        let pa0 = walkaddr(pagetable, va0).ok_or(())?;
        let n = (PGSIZE - (srcva - va0.0)).min(dst.len() - done);
        // SAFETY: pa0 is a mapped user page; the copy stays within it.
        unsafe {
            core::ptr::copy(
                (pa0.0 + (srcva - va0.0)) as *const u8,
                dst[done..].as_mut_ptr(),
                n,
            );
        }
        done += n;
        srcva = va0.0 + PGSIZE;
    }
    Ok(())
}

/// Copy a null-terminated string from user to kernel. Copy bytes to dst from
/// virtual address srcva in a given page table, until a '\0', or dst is
/// full. Returns the length of the string (without the '\0'), or Err if
/// there was no '\0' within dst.len() bytes or a page was not mapped.
pub fn copyinstr(pagetable: Pagetable, dst: &mut [u8], srcva: usize) -> Result<usize, ()> {
    let mut srcva = srcva;
    let mut got = 0;
    while got < dst.len() {
        let va0 = VirtAddr(srcva).pgrounddown();
        let pa0 = walkaddr(pagetable, va0).ok_or(())?;
        let n = (PGSIZE - (srcva - va0.0)).min(dst.len() - got);
        let p = (pa0.0 + (srcva - va0.0)) as *const u8;
        for i in 0..n {
            // SAFETY: p + i stays within the mapped user page pa0.
            let c = unsafe { p.add(i).read() };
            dst[got] = c;
            if c == 0 {
                return Ok(got);
            }
            got += 1;
        }
        srcva = va0.0 + PGSIZE;
    }
    Err(())
}
