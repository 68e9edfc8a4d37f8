//! `xvlab mutants LAB`: mutation analysis of a lab's rubric. Mutants of
//! the code the reference solution changes (from cargo-mutants) are graded
//! as submissions; a mutant that no test kills shows what the tests miss.

pub mod equivalent;
pub mod listing;
pub mod outcome;
pub mod render;
pub mod run;
