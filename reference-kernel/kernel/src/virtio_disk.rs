//! Driver for QEMU's virtio disk device, using the virtio-mmio interface
//! (version 2, "modern": QEMU needs `-global virtio-mmio.force-legacy=false`)
//! and one virtqueue of eight descriptors. This is xv6's `virtio_disk.c` and
//! `virtio.h`.
//!
//! qemu ... -drive file=fs.img,if=none,format=raw,id=x0
//!          -device virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0

use core::sync::atomic::{Ordering, fence};

use crate::kalloc::kalloc;
use crate::memlayout::VIRTIO0;
use crate::proc::{sleep, wakeup};
use crate::riscv::PGSIZE;
use crate::spinlock::Spinlock;
use xv6fs::BSIZE;

// virtio mmio control registers, mapped starting at 0x10001000.
// from qemu virtio_mmio.h
/// 0x74726976
const VIRTIO_MMIO_MAGIC_VALUE: usize = 0x000;
/// version; should be 2
const VIRTIO_MMIO_VERSION: usize = 0x004;
/// device type; 1 is net, 2 is disk
const VIRTIO_MMIO_DEVICE_ID: usize = 0x008;
/// 0x554d4551
const VIRTIO_MMIO_VENDOR_ID: usize = 0x00c;
const VIRTIO_MMIO_DEVICE_FEATURES: usize = 0x010;
const VIRTIO_MMIO_DRIVER_FEATURES: usize = 0x020;
/// which 32 feature bits DRIVER_FEATURES writes: 0 the low, 1 the high
const VIRTIO_MMIO_DRIVER_FEATURES_SEL: usize = 0x024;
/// VIRTIO_F_VERSION_1 (feature bit 32), as bit 0 of the high word
const VIRTIO_F_VERSION_1_HIGH: u32 = 1;
/// select queue, write-only
const VIRTIO_MMIO_QUEUE_SEL: usize = 0x030;
/// max size of current queue, read-only
const VIRTIO_MMIO_QUEUE_NUM_MAX: usize = 0x034;
/// size of current queue, write-only
const VIRTIO_MMIO_QUEUE_NUM: usize = 0x038;
/// ready bit
const VIRTIO_MMIO_QUEUE_READY: usize = 0x044;
/// write-only
const VIRTIO_MMIO_QUEUE_NOTIFY: usize = 0x050;
/// read-only
const VIRTIO_MMIO_INTERRUPT_STATUS: usize = 0x060;
/// write-only
const VIRTIO_MMIO_INTERRUPT_ACK: usize = 0x064;
/// read/write
const VIRTIO_MMIO_STATUS: usize = 0x070;
/// physical address for descriptor table, write-only
const VIRTIO_MMIO_QUEUE_DESC_LOW: usize = 0x080;
const VIRTIO_MMIO_QUEUE_DESC_HIGH: usize = 0x084;
/// physical address for available ring, write-only
const VIRTIO_MMIO_DRIVER_DESC_LOW: usize = 0x090;
const VIRTIO_MMIO_DRIVER_DESC_HIGH: usize = 0x094;
/// physical address for used ring, write-only
const VIRTIO_MMIO_DEVICE_DESC_LOW: usize = 0x0a0;
const VIRTIO_MMIO_DEVICE_DESC_HIGH: usize = 0x0a4;

// status register bits, from qemu virtio_config.h
const VIRTIO_CONFIG_S_ACKNOWLEDGE: u32 = 1;
const VIRTIO_CONFIG_S_DRIVER: u32 = 2;
const VIRTIO_CONFIG_S_DRIVER_OK: u32 = 4;
const VIRTIO_CONFIG_S_FEATURES_OK: u32 = 8;

// device feature bits
/// Disk is read-only.
const VIRTIO_BLK_F_RO: u32 = 5;
/// Supports scsi command passthru.
const VIRTIO_BLK_F_SCSI: u32 = 7;
/// Writeback mode available in config.
const VIRTIO_BLK_F_CONFIG_WCE: u32 = 11;
/// Support more than one vq.
const VIRTIO_BLK_F_MQ: u32 = 12;
const VIRTIO_F_ANY_LAYOUT: u32 = 27;
const VIRTIO_RING_F_INDIRECT_DESC: u32 = 28;
const VIRTIO_RING_F_EVENT_IDX: u32 = 29;

/// This many virtio descriptors. Must be a power of two.
const NUM: usize = 8;

/// A single descriptor, from the spec.
#[repr(C)]
struct VirtqDesc {
    addr: u64,
    len: u32,
    flags: u16,
    next: u16,
}
/// chained with another descriptor
const VRING_DESC_F_NEXT: u16 = 1;
/// device writes (vs read)
const VRING_DESC_F_WRITE: u16 = 2;

/// The (entire) avail ring, from the spec.
#[repr(C)]
struct VirtqAvail {
    /// always zero
    flags: u16,
    /// driver will write ring[idx] next
    idx: u16,
    /// descriptor numbers of chain heads
    ring: [u16; NUM],
    unused: u16,
}

/// One entry in the "used" ring, with which the device tells the driver
/// about completed requests.
#[repr(C)]
struct VirtqUsedElem {
    /// index of start of completed descriptor chain
    id: u32,
    len: u32,
}

#[repr(C)]
struct VirtqUsed {
    /// always zero
    flags: u16,
    /// device increments when it adds a ring[] entry
    idx: u16,
    ring: [VirtqUsedElem; NUM],
}

// these are specific to virtio block devices, e.g. disks, described in
// Section 5.2 of the spec.
/// read the disk
const VIRTIO_BLK_T_IN: u32 = 0;
/// write the disk
const VIRTIO_BLK_T_OUT: u32 = 1;

/// The format of the first descriptor in a disk request. To be followed by
/// two more descriptors containing the block, and a one-byte status.
#[repr(C)]
#[derive(Clone, Copy)]
struct VirtioBlkReq {
    /// VIRTIO_BLK_T_IN or ..._OUT
    typ: u32,
    reserved: u32,
    sector: u64,
}

/// Track info about in-flight operations, for use when completion interrupt
/// arrives, indexed by first descriptor index of chain.
#[derive(Clone, Copy)]
struct Info {
    /// Has the device finished with this request?
    done: bool,
    /// Written by the device: 0 on success.
    status: u8,
}

struct Disk {
    /// A set (not a ring) of DMA descriptors, with which the driver tells
    /// the device where to read and write individual disk operations. There
    /// are NUM descriptors. Most commands consist of a "chain" (a linked
    /// list) of a couple of these descriptors.
    desc: *mut VirtqDesc,
    /// A ring in which the driver writes descriptor numbers that the driver
    /// would like the device to process. It only includes the head
    /// descriptor of each chain. The ring has NUM elements.
    avail: *mut VirtqAvail,
    /// A ring in which the device writes descriptor numbers that the device
    /// has finished processing (just the head of each chain). There are NUM
    /// used ring entries.
    used: *mut VirtqUsed,

    // our own book-keeping.
    /// is a descriptor free?
    free: [bool; NUM],
    /// we've looked this far in used[2..NUM].
    used_idx: u16,
    info: [Info; NUM],
    /// disk command headers. one-for-one with descriptors, for convenience.
    ops: [VirtioBlkReq; NUM],
}

// SAFETY: the rings are pages owned by the driver; the spin lock serialises
// all access to them from the CPU side.
unsafe impl Send for Disk {}

static DISK: Spinlock<Disk> = Spinlock::new(
    Disk {
        desc: core::ptr::null_mut(),
        avail: core::ptr::null_mut(),
        used: core::ptr::null_mut(),
        free: [false; NUM],
        used_idx: 0,
        info: [Info {
            done: false,
            status: 0,
        }; NUM],
        ops: [VirtioBlkReq {
            typ: 0,
            reserved: 0,
            sector: 0,
        }; NUM],
    },
    "virtio_disk",
);

fn read_reg(r: usize) -> u32 {
    // SAFETY: VIRTIO0 + r is a virtio-mmio register, identity-mapped.
    unsafe { ((VIRTIO0 + r) as *const u32).read_volatile() }
}

fn write_reg(r: usize, v: u32) {
    // SAFETY: as for read_reg.
    unsafe { ((VIRTIO0 + r) as *mut u32).write_volatile(v) }
}

/// Channel a sleeper waits on for a free descriptor.
fn free_chan() -> usize {
    &DISK as *const _ as usize
}

pub fn virtio_disk_init() {
    if read_reg(VIRTIO_MMIO_MAGIC_VALUE) != 0x7472_6976
        || read_reg(VIRTIO_MMIO_VERSION) != 2
        || read_reg(VIRTIO_MMIO_DEVICE_ID) != 2
        || read_reg(VIRTIO_MMIO_VENDOR_ID) != 0x554d_4551
    {
        panic!("could not find virtio disk");
    }

    // reset device
    let mut status = 0;
    write_reg(VIRTIO_MMIO_STATUS, status);

    // set ACKNOWLEDGE status bit
    status |= VIRTIO_CONFIG_S_ACKNOWLEDGE;
    write_reg(VIRTIO_MMIO_STATUS, status);

    // set DRIVER status bit
    status |= VIRTIO_CONFIG_S_DRIVER;
    write_reg(VIRTIO_MMIO_STATUS, status);

    // negotiate features
    let mut features = read_reg(VIRTIO_MMIO_DEVICE_FEATURES);
    for bit in [
        VIRTIO_BLK_F_RO,
        VIRTIO_BLK_F_SCSI,
        VIRTIO_BLK_F_CONFIG_WCE,
        VIRTIO_BLK_F_MQ,
        VIRTIO_F_ANY_LAYOUT,
        VIRTIO_RING_F_EVENT_IDX,
        VIRTIO_RING_F_INDIRECT_DESC,
    ] {
        features &= !(1 << bit);
    }
    write_reg(VIRTIO_MMIO_DRIVER_FEATURES, features);
    // Accept the modern interface (VIRTIO_F_VERSION_1) the driver speaks.
    // QEMU runs a modern device without it, but then saves and restores
    // the queue as a legacy one, whose rings follow the descriptors in one
    // area: a VM restored from a snapshot would look for our separate avail
    // and used pages in the wrong place.
    write_reg(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    write_reg(VIRTIO_MMIO_DRIVER_FEATURES, VIRTIO_F_VERSION_1_HIGH);
    write_reg(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);

    // tell device that feature negotiation is complete.
    status |= VIRTIO_CONFIG_S_FEATURES_OK;
    write_reg(VIRTIO_MMIO_STATUS, status);

    // re-read status to ensure FEATURES_OK is set.
    status = read_reg(VIRTIO_MMIO_STATUS);
    if status & VIRTIO_CONFIG_S_FEATURES_OK == 0 {
        panic!("virtio disk FEATURES_OK unset");
    }

    // initialize queue 0.
    write_reg(VIRTIO_MMIO_QUEUE_SEL, 0);

    // ensure queue 0 is not in use.
    if read_reg(VIRTIO_MMIO_QUEUE_READY) != 0 {
        panic!("virtio disk should not be ready");
    }

    // check maximum queue size.
    let max = read_reg(VIRTIO_MMIO_QUEUE_NUM_MAX);
    if max == 0 {
        panic!("virtio disk has no queue 0");
    }
    if (max as usize) < NUM {
        panic!("virtio disk max queue too short");
    }

    // allocate and zero queue memory.
    let mut disk = DISK.lock();
    let page = || {
        let pa = kalloc().expect("virtio disk kalloc");
        // SAFETY: a fresh page, ours.
        unsafe { core::ptr::write_bytes(pa.as_mut_ptr::<u8>(), 0, PGSIZE) };
        pa
    };
    disk.desc = page().as_mut_ptr();
    disk.avail = page().as_mut_ptr();
    disk.used = page().as_mut_ptr();

    // set queue size.
    write_reg(VIRTIO_MMIO_QUEUE_NUM, NUM as u32);

    // write physical addresses.
    let (desc, avail, used) = (disk.desc as u64, disk.avail as u64, disk.used as u64);
    write_reg(VIRTIO_MMIO_QUEUE_DESC_LOW, desc as u32);
    write_reg(VIRTIO_MMIO_QUEUE_DESC_HIGH, (desc >> 32) as u32);
    write_reg(VIRTIO_MMIO_DRIVER_DESC_LOW, avail as u32);
    write_reg(VIRTIO_MMIO_DRIVER_DESC_HIGH, (avail >> 32) as u32);
    write_reg(VIRTIO_MMIO_DEVICE_DESC_LOW, used as u32);
    write_reg(VIRTIO_MMIO_DEVICE_DESC_HIGH, (used >> 32) as u32);

    // queue is ready.
    write_reg(VIRTIO_MMIO_QUEUE_READY, 0x1);

    // all NUM descriptors start out unused.
    disk.free = [true; NUM];

    // tell device we're completely ready.
    status |= VIRTIO_CONFIG_S_DRIVER_OK;
    write_reg(VIRTIO_MMIO_STATUS, status);

    // plic.rs and trap.rs arrange for interrupts from VIRTIO0_IRQ.
}

impl Disk {
    /// Find a free descriptor, mark it non-free, return its index.
    fn alloc_desc(&mut self) -> Option<usize> {
        let i = self.free.iter().position(|&f| f)?;
        self.free[i] = false;
        Some(i)
    }

    /// Mark a descriptor as free.
    fn free_desc(&mut self, i: usize) {
        if i >= NUM {
            panic!("free_desc 1");
        }
        if self.free[i] {
            panic!("free_desc 2");
        }
        // SAFETY: i < NUM indexes the descriptor table page.
        unsafe {
            let d = &mut *self.desc.add(i);
            d.addr = 0;
            d.len = 0;
            d.flags = 0;
            d.next = 0;
        }
        self.free[i] = true;
        wakeup(free_chan());
    }

    /// Free a chain of descriptors.
    fn free_chain(&mut self, mut i: usize) {
        loop {
            // SAFETY: i < NUM (checked by free_desc before any reuse).
            let (flag, nxt) = unsafe {
                let d = &*self.desc.add(i);
                (d.flags, d.next)
            };
            self.free_desc(i);
            if flag & VRING_DESC_F_NEXT != 0 {
                i = nxt as usize;
            } else {
                break;
            }
        }
    }

    /// Allocate three descriptors (they need not be contiguous). Disk
    /// transfers always use three descriptors.
    fn alloc3_desc(&mut self) -> Option<[usize; 3]> {
        let mut idx = [0; 3];
        for i in 0..3 {
            match self.alloc_desc() {
                Some(d) => idx[i] = d,
                None => {
                    for &j in &idx[..i] {
                        self.free_desc(j);
                    }
                    return None;
                }
            }
        }
        Some(idx)
    }

    fn set_desc(&mut self, i: usize, addr: u64, len: u32, flags: u16, next: u16) {
        // SAFETY: i < NUM indexes the descriptor table page.
        unsafe {
            let d = &mut *self.desc.add(i);
            d.addr = addr;
            d.len = len;
            d.flags = flags;
            d.next = next;
        }
    }
}

/// Read (write = false) or write disk block `blockno` from or to the
/// BSIZE bytes at `data`, and wait for the device to finish.
pub fn virtio_disk_rw(data: *mut [u8; BSIZE], blockno: u32, write: bool) {
    let sector = blockno as u64 * (BSIZE / 512) as u64;

    let mut disk = DISK.lock();

    // the spec's Section 5.2 says that legacy block operations use three
    // descriptors: one for type/reserved/sector, one for the data, one for a
    // 1-byte status result.

    // allocate the three descriptors.
    let idx = loop {
        if let Some(idx) = disk.alloc3_desc() {
            break idx;
        }
        disk = sleep(free_chan(), disk);
    };

    // format the three descriptors. qemu's virtio-blk.c reads them.
    disk.ops[idx[0]] = VirtioBlkReq {
        typ: if write {
            VIRTIO_BLK_T_OUT
        } else {
            VIRTIO_BLK_T_IN
        },
        reserved: 0,
        sector,
    };
    let buf0 = &disk.ops[idx[0]] as *const VirtioBlkReq as u64;
    disk.set_desc(
        idx[0],
        buf0,
        core::mem::size_of::<VirtioBlkReq>() as u32,
        VRING_DESC_F_NEXT,
        idx[1] as u16,
    );

    let data_flags = if write {
        0 // device reads b->data
    } else {
        VRING_DESC_F_WRITE // device writes b->data
    };
    disk.set_desc(
        idx[1],
        data as u64,
        BSIZE as u32,
        data_flags | VRING_DESC_F_NEXT,
        idx[2] as u16,
    );

    disk.info[idx[0]].status = 0xff; // device writes 0 on success
    let status = &disk.info[idx[0]].status as *const u8 as u64;
    disk.set_desc(idx[2], status, 1, VRING_DESC_F_WRITE, 0); // device writes the status

    // record that the request is in flight, for virtio_disk_intr().
    disk.info[idx[0]].done = false;

    // tell the device the first index in our chain of descriptors.
    // SAFETY: avail is the driver's ring page; only we write it.
    unsafe {
        let avail = &mut *disk.avail;
        avail.ring[avail.idx as usize % NUM] = idx[0] as u16;
        fence(Ordering::SeqCst);
        // tell the device another avail ring entry is available.
        avail.idx = avail.idx.wrapping_add(1);
    }
    fence(Ordering::SeqCst);

    write_reg(VIRTIO_MMIO_QUEUE_NOTIFY, 0); // value is queue number

    // Wait for virtio_disk_intr() to say request has finished.
    while !disk.info[idx[0]].done {
        disk = sleep(info_chan(idx[0]), disk);
    }

    disk.free_chain(idx[0]);
}

/// Channel a request's issuer sleeps on until the device completes it.
fn info_chan(id: usize) -> usize {
    free_chan() + 1 + id
}

/// Handle a disk interrupt: mark every request the device has completed as
/// done, and wake its issuer.
pub fn virtio_disk_intr() {
    let mut disk = DISK.lock();

    // the device won't raise another interrupt until we tell it we've seen
    // this interrupt, which the following line does. this may race with the
    // device writing new entries to the "used" ring, in which case we may
    // process the new completion entries in this interrupt, and have nothing
    // to do in the next interrupt, which is harmless.
    write_reg(
        VIRTIO_MMIO_INTERRUPT_ACK,
        read_reg(VIRTIO_MMIO_INTERRUPT_STATUS) & 0x3,
    );

    fence(Ordering::SeqCst);

    // the device increments disk.used->idx when it adds an entry to the used
    // ring.
    loop {
        // SAFETY: used is the device's ring page; idx is written by the
        // device, so read it volatile.
        let used_idx = unsafe { (&raw const (*disk.used).idx).read_volatile() };
        if disk.used_idx == used_idx {
            break;
        }
        fence(Ordering::SeqCst);
        // SAFETY: as above; the ring entry was published before idx.
        let id = unsafe {
            (&raw const (*disk.used).ring[disk.used_idx as usize % NUM].id).read_volatile()
        } as usize;

        // SAFETY: status is written by the device by DMA.
        let status = unsafe { (&raw const disk.info[id].status).read_volatile() };
        if status != 0 {
            panic!("virtio_disk_intr status");
        }

        disk.info[id].done = true; // disk is done with buf
        wakeup(info_chan(id));

        disk.used_idx = disk.used_idx.wrapping_add(1);
    }
}
