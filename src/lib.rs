//! xvlab: an autograder and lab harness for operating-systems labs on an
//! xv6-style RISC-V kernel written in Rust.

pub mod transcript;
pub mod session;
