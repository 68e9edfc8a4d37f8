//! open() flags, with xv6's values. This is xv6's `fcntl.h`; the flags are
//! defined once, in the `abi` crate, which the user library shares.

pub use abi::fcntl::*;
