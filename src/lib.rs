//! xvlab: an autograder and lab harness for operating-systems labs on an
//! xv6-style RISC-V kernel written in Rust.
//!
//! A grading is a pipeline, and the modules follow it:
//!
//! ```text
//! submission → build → image → sessions → checks → report
//! ```
//!
//! - [`lab`]: what is graded, as course staff write it: `lab.toml`, the
//!   rubric, the reference durations deadlines scale from, and where that
//!   material is found.
//! - [`submission`]: a hand-in, from the student's copy it is packed in to
//!   the kernel tree prepared from it: patches read without trusting them,
//!   paths checked, grader-owned files restored, sources audited.
//! - [`build`]: that tree built (cargo, in the build sandbox) and the
//!   file-system image written.
//! - [`run`]: the sessions: the rubric planned into the VMs of this run,
//!   each booted in QEMU and driven through its shell, its console kept as
//!   a transcript.
//! - [`check`]: the checks: the plan's tests applied to the transcripts.
//! - [`report`]: the one result model of a grading and its renderings
//!   (terminal, JSON, Gradescope, JUnit, HTML).
//! - [`grade`]: the pipeline driven end to end, what a person sees while
//!   it runs, and the two gradings of the grader: the self-test and
//!   mutation analysis.
//! - [`cli`]: the `xvlab` command line, `xvlab doctor`, and Gradescope's
//!   autograder bundle.
//! - [`shared`]: what every stage uses: exit codes, child process groups,
//!   temporary directories.
//!
//! Each part imports only the parts listed before it (and [`shared`]),
//! with one exception: [`build`] reads [`run`]'s plan, for the seals the
//! image carries, and its console normalisation, for cargo's log (and
//! [`build::kbuild`]'s tests borrow a build log from [`report`]'s). No two
//! modules import each other, directly or through others — neither two
//! parts nor two modules of one folder (tests/module_graph.rs checks it).

// What is graded.
pub mod lab;

// The stages, in order: a hand-in prepared,
pub mod submission;
// built, with the image its VMs boot,
pub mod build;
// run, one VM per session,
pub mod run;
// checked,
pub mod check;
// and reported.
pub mod report;

// The pipeline driven end to end,
pub mod grade;
// and the command line.
pub mod cli;

// Used by every stage.
pub mod shared;
