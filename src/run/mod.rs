//! The sessions stage: the VMs of one grading run. [`plan`] expands the
//! rubric into them (which VMs, what each types, the run's token and
//! seals, the checks to apply); [`qemu`] is the emulator's command line
//! and a running VM; [`session`] drives one VM's shell from boot to stop;
//! [`snapshot`] starts VMs from a machine saved where a test program waits;
//! [`transcript`] is what its console printed, as the lines checks read;
//! [`gdb`] is what `xvlab qemu --gdb` sets up for a debugger.

pub mod gdb;
pub mod plan;
pub mod qemu;
pub mod session;
pub mod snapshot;
pub mod transcript;
