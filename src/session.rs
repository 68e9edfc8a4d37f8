//! Sessions: one fresh VM, booted, driven through the shell and stopped. A
//! [`SessionSpec`] says what to type and when to give up; running it yields
//! a [`SessionOutcome`]: how it ended and the console transcript.
//!
//! A session ends in one of the ways [`SessionEnd`] lists; a submission that
//! panics, hangs or floods the console is an outcome, not an error.

use std::time::Duration;

use regex::Regex;

use crate::transcript::Transcript;

/// What one session does.
#[derive(Clone, Debug)]
pub struct SessionSpec {
    /// Name for reports and progress (e.g. `usertests/sbrkarg`).
    pub name: String,
    /// Commands to type, one at each shell prompt, in order.
    pub commands: Vec<String>,
    /// Stop early as soon as an output line matches. Without it, the
    /// session completes when the shell prompts again after the last
    /// command.
    pub done: Option<Regex>,
    /// Budget for the whole session, boot included.
    pub timeout: Duration,
    /// Harts for the VM.
    pub cpus: u32,
    /// Stop once the console has printed this many bytes.
    pub output_cap: usize,
}

/// How a session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// Every command ran and the shell prompted again (or `done` matched).
    Completed,
    /// The kernel printed `panic: …` (the line, normalised).
    Panicked { line: String },
    /// The deadline passed while waiting for `waiting_for`.
    TimedOut { waiting_for: Waiting },
    /// The console printed more than `limit` bytes.
    OutputCapped { limit: usize },
    /// QEMU exited by itself (status, if it exited normally).
    QemuExited { status: Option<i32> },
    /// The grader was interrupted (Ctrl-C) and stopped the VM.
    Cancelled,
}

/// What a session was waiting for when it timed out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// The shell's first prompt: the kernel did not boot to a shell.
    FirstPrompt,
    /// The prompt after command `index` (0-based), i.e. for it to finish.
    Command { index: usize, command: String },
}

/// The result of running a session.
#[derive(Clone, Debug)]
pub struct SessionOutcome {
    pub name: String,
    pub end: SessionEnd,
    pub transcript: Transcript,
    /// Wall-clock time from starting QEMU to stopping it.
    pub duration: Duration,
}
