//! xvlab: an autograder and lab harness for operating-systems labs on an
//! xv6-style RISC-V kernel written in Rust.

pub mod assets;
pub mod audit;
pub mod check;
pub mod cli;
pub mod deadline;
pub mod diff;
pub mod doctor;
pub mod exit;
pub mod git;
pub mod grade;
pub mod image;
pub mod kbuild;
pub mod lab;
pub mod mutants;
pub mod patch;
pub mod plan;
pub mod process;
pub mod progress;
pub mod qemu;
pub mod report;
pub mod rubric;
pub mod sandbox;
pub mod scratch;
pub mod selftest;
pub mod session;
pub mod student;
pub mod submission;
pub mod transcript;
pub mod worktree;
