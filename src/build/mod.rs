//! The build stage: a prepared kernel tree built, and the file-system
//! image its VMs boot written. [`kbuild`] runs cargo, offline and locked,
//! in a per-user build cache; [`sandbox`] is the bubblewrap it runs in,
//! seeing only what a build needs; [`image`] writes the user programs into
//! an xv6 file system, the test programs sealed for the run's plan.

pub mod image;
pub mod kbuild;
pub mod sandbox;
