//! The command line and main loop shared by the lab test programs
//! (`lazytests`, `cowtest`): a table of [`Test`]s, run one after another,
//! each in a child process, with the verdict lines of [`harness::Reporter`].
//!
//! Usage of such a program: `NAME [-k TOKEN] [-t] [-l] [TEST ...]` (every
//! test by default; `-l` lists the names to select them by, one per line,
//! the way the grader runs each test in a VM of its own; `-t` also prints
//! each test's duration in clock ticks).

use crate::harness::{self, Reporter};
use crate::{Args, ByteStr, eprintln, println};

/// One test: the short name to select it, the name in verdicts, the body
/// (run in a child process: it passes if the child exits with status 0).
pub struct Test {
    pub key: &'static str,
    pub name: &'static str,
    pub run: fn(),
}

impl Test {
    pub const fn new(key: &'static str, name: &'static str, run: fn()) -> Test {
        Test { key, name, run }
    }
}

/// The most tests a program's table may hold (the selection is a bit set).
pub const MAX_TESTS: usize = 32;

/// Runs the tests of `program` (its own name, not argv[0]: the grader runs
/// it under a random one) that `args` select; returns the exit status.
pub fn run(program: &'static str, tests: &[Test], args: Args) -> i32 {
    assert!(tests.len() <= MAX_TESTS, "too many tests");
    let mut token = None;
    let mut timing = false;
    let mut list = false;
    let mut chosen: u32 = 0;
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        match arg.to_bytes() {
            b"-k" => match rest.next().map(|t| t.to_bytes()) {
                Some(t) if harness::valid_token(t) => token = Some(t),
                _ => return usage(program, tests),
            },
            b"-t" => timing = true,
            b"-l" => list = true,
            key => match tests.iter().position(|t| t.key.as_bytes() == key) {
                Some(i) => chosen |= 1 << i,
                None => {
                    eprintln!("{}: no test {}", program, ByteStr(key));
                    return usage(program, tests);
                }
            },
        }
    }
    if list {
        for test in tests {
            println!("{}", test.key);
        }
        return 0;
    }
    if chosen == 0 {
        chosen = u32::MAX;
    }

    let report = Reporter::start(program, token);
    let mut all_ok = true;
    for (_, test) in tests
        .iter()
        .enumerate()
        .filter(|(i, _)| chosen & (1 << i) != 0)
    {
        println!("running test {}", test.name);
        let start = crate::uptime();
        harness::set_test_name(test.name);
        let ok = harness::run_test(test.name, test.run);
        report.test(test.name, ok);
        all_ok &= ok;
        if timing {
            println!("time {}: {} ticks", test.name, crate::uptime() - start);
        }
    }
    report.summary(all_ok);
    if all_ok { 0 } else { 1 }
}

/// Prints the usage line, with the tests' names; returns the exit status.
fn usage(program: &str, tests: &[Test]) -> i32 {
    use core::fmt::Write;
    let mut out = crate::FdWriter::new(2);
    let _ = write!(out, "usage: {program} [-k TOKEN] [-t] [-l] [");
    for (i, test) in tests.iter().enumerate() {
        let _ = write!(out, "{}{}", if i == 0 { "" } else { "|" }, test.key);
    }
    let _ = writeln!(out, " ...]");
    out.flush();
    2
}
