//! Exit codes of the `xvlab` command: named constants, documented in the
//! README. Scripts and CI rely on them, so they never change meaning. Each
//! error kind says which one it ends with (its `exit_code` method), as does
//! a graded result ([`crate::report::Report::exit_code`]); [`chain`] is the
//! one-line message a failure ends with.

/// Success: for `grade`, full marks.
pub const OK: u8 = 0;
/// An unexpected failure (I/O error, a bug): the message says what.
pub const FAILURE: u8 = 1;
/// The command line was wrong (clap's own code for usage errors).
pub const USAGE: u8 = 2;
/// `grade`: the submission built and ran, and some tests failed. `run`:
/// the VM did not complete normally (panic, timeout, output cap).
pub const TESTS_FAILED: u8 = 100;
/// `grade`: the submission's kernel did not compile.
pub const BUILD_FAILED: u8 = 101;
/// A patch changes a file submissions may not change (e.g. `user/…`).
pub const PATCH_NOT_EDITABLE: u8 = 102;
/// A patch names an unsafe path: `..`, absolute, a symlink or a submodule.
pub const PATCH_UNSAFE_PATH: u8 = 103;
/// A patch file holds no diff at all (garbage).
pub const PATCH_NOT_A_PATCH: u8 = 104;
/// A patch file is empty.
pub const PATCH_EMPTY: u8 = 105;
/// A patch does not apply to the starter tree.
pub const PATCH_DOES_NOT_APPLY: u8 = 106;
/// The submission's source would read the grading machine's files or build
/// environment when built (`include_str!`, `env!`, `#[path]`, `.incbin`, …).
pub const SOURCE_REFUSED: u8 = 107;
/// A patch file named for grading is missing, a directory or unreadable.
pub const PATCH_UNREADABLE: u8 = 108;
/// Something xvlab needs is missing: QEMU, git, cargo or the Rust target
/// (`xvlab doctor` says how to install it).
pub const MISSING_TOOL: u8 = 110;
/// The lab or its rubric is missing or invalid (a grader-side problem).
pub const BAD_LAB: u8 = 111;
/// `pack`: nothing to hand in (no editable file changed), or not in a
/// student copy.
pub const NOTHING_TO_PACK: u8 = 112;
/// `mutants`: some mutant of the reference solution survived every test
/// and is not listed as equivalent: the tests miss what it changes.
pub const MUTANTS_SURVIVED: u8 = 113;
/// `mutants`: cargo-mutants failed to list the mutants, or a mutant's
/// diff could not be applied to the solution (a tooling problem).
pub const MUTANTS_FAILED: u8 = 114;
/// `diff`: the two gradings differ (a test's status or score, or a
/// transcript).
pub const DIFFERENT: u8 = 115;
/// `grade-all`: every submission has a result, but some hit a grader
/// fault twice (they are listed at the end; a rerun grades them again).
pub const CLASS_FAULTS: u8 = 116;
/// The grading machine failed — a full disk, memory exhausted, a build
/// tool killed by the kernel — so nothing was graded; not the submission's
/// fault. `grade` still writes the report, saying so.
pub const GRADER_FAULT: u8 = 120;
/// Interrupted by Ctrl-C (128 + SIGINT); VMs were stopped, partial results
/// were reported.
pub const INTERRUPTED: u8 = 130;

/// Every code with its name and meaning, for the README and `--help`.
pub const ALL: &[(u8, &str, &str)] = &[
    (OK, "OK", "success; for `grade`, full marks"),
    (FAILURE, "FAILURE", "unexpected failure (I/O error, bug)"),
    (USAGE, "USAGE", "wrong command line"),
    (
        TESTS_FAILED,
        "TESTS_FAILED",
        "graded: some tests failed (`run`: the VM did not complete normally)",
    ),
    (
        BUILD_FAILED,
        "BUILD_FAILED",
        "the submission's kernel did not compile",
    ),
    (
        PATCH_NOT_EDITABLE,
        "PATCH_NOT_EDITABLE",
        "a patch changes a file submissions may not change",
    ),
    (
        PATCH_UNSAFE_PATH,
        "PATCH_UNSAFE_PATH",
        "a patch names `..`, an absolute path, a symlink or a submodule",
    ),
    (
        PATCH_NOT_A_PATCH,
        "PATCH_NOT_A_PATCH",
        "a patch file holds no diff",
    ),
    (PATCH_EMPTY, "PATCH_EMPTY", "a patch file is empty"),
    (
        PATCH_DOES_NOT_APPLY,
        "PATCH_DOES_NOT_APPLY",
        "a patch does not apply to the starter tree",
    ),
    (
        SOURCE_REFUSED,
        "SOURCE_REFUSED",
        "the source would read the grading machine's files or environment when built",
    ),
    (
        PATCH_UNREADABLE,
        "PATCH_UNREADABLE",
        "a patch file is missing, a directory or unreadable",
    ),
    (
        MISSING_TOOL,
        "MISSING_TOOL",
        "QEMU, git, cargo or the Rust target is missing",
    ),
    (
        BAD_LAB,
        "BAD_LAB",
        "the lab or its rubric is missing or invalid",
    ),
    (
        NOTHING_TO_PACK,
        "NOTHING_TO_PACK",
        "`pack`: no editable file changed, or not in a student copy",
    ),
    (
        MUTANTS_SURVIVED,
        "MUTANTS_SURVIVED",
        "`mutants`: a mutant survived every test and is not listed as equivalent",
    ),
    (
        MUTANTS_FAILED,
        "MUTANTS_FAILED",
        "`mutants`: cargo-mutants failed, or a mutant could not be applied",
    ),
    (DIFFERENT, "DIFFERENT", "`diff`: the two gradings differ"),
    (
        CLASS_FAULTS,
        "CLASS_FAULTS",
        "`grade-all`: some submissions hit a grader fault twice (listed; a rerun grades them again)",
    ),
    (
        GRADER_FAULT,
        "GRADER_FAULT",
        "the grading machine failed (disk full, out of memory, a tool killed); not graded",
    ),
    (
        INTERRUPTED,
        "INTERRUPTED",
        "interrupted by Ctrl-C; VMs stopped, partial results reported",
    ),
];

/// The exit-code table `xvlab --help` prints.
pub fn help_text() -> String {
    let mut text = String::from("Exit codes:\n");
    for (code, _, meaning) in ALL {
        text.push_str(&format!("  {code:<4} {meaning}\n"));
    }
    text.trim_end().to_string()
}

/// Render an error and its sources as one line: "a: b: c" (a source whose
/// text the line already holds is not repeated).
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct() {
        let mut codes: Vec<u8> = ALL.iter().map(|(c, _, _)| *c).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), ALL.len());
    }
}
