//! What every stage uses and none owns: the exit codes of the `xvlab`
//! command, which each error kind and a graded result map to ([`exit`]);
//! child process groups that never outlive xvlab ([`process`]); and
//! xvlab's temporary directories, named for their owner and swept once it
//! is gone ([`scratch`]); where a kernel tree keeps its user programs
//! ([`layout`]); reading untrusted patch files, which a lab's starter
//! patch and a submission both are ([`patch`]). Nothing here imports
//! another part of xvlab.

pub mod exit;
pub mod layout;
pub mod patch;
pub mod process;
pub mod scratch;
