//! The terminal rendering of a report, for a student to read top down: a
//! summary first (`Score 64/100 · 38/40 passed · start with: lazy: map`),
//! then each failure with one line in words (the test program's own
//! reason where it printed one, else what ended its VM or what is
//! missing) and the console lines since its command was typed, then the
//! passing tests in one compact block. [`render_verbose`] (`--verbose`)
//! lists every test with all its details instead.
//!
//! "start with" names the failing test to fix first: the first in rubric
//! order among those whose VM belongs to the earliest session of the plan
//! (the rubric lists sessions from the most basic, `boot`, to the widest,
//! `usertests`), because a failure there often explains later ones; a
//! test over all cases (`usertests: all tests`) only when nothing else
//! failed, since it repeats the others. Tests not run (Ctrl-C) are never
//! picked.
//!
//! The output is plain and deterministic; colour, when [`Style`] asks for
//! it, only wraps the `OK`/`FAIL` words, so a coloured rendering is the
//! plain one with escapes added.

use std::fmt::Write;

use super::{Build, Confinement, GRADER_FAULT, Report, seconds_text};
use crate::check::{NOT_BUILT, TestResult};

/// Indentation of details under a test or the build line.
const INDENT: &str = "    ";

/// How to decorate the output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// No decoration.
    pub const PLAIN: Style = Style { color: false };

    /// Colour iff the output is a terminal and `NO_COLOR` is unset or empty
    /// (<https://no-color.org>).
    pub fn detect(is_terminal: bool) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: is_terminal && !no_color,
        }
    }

    fn ok(self) -> &'static str {
        if self.color {
            "\x1b[32mOK\x1b[0m"
        } else {
            "OK"
        }
    }

    fn fail(self) -> &'static str {
        if self.color {
            "\x1b[31mFAIL\x1b[0m"
        } else {
            "FAIL"
        }
    }

    fn refused(self) -> &'static str {
        if self.color {
            "\x1b[31mREFUSED\x1b[0m"
        } else {
            "REFUSED"
        }
    }
}

/// The whole report, plain.
pub fn render(report: &Report) -> String {
    render_styled(report, Style::PLAIN)
}

/// The whole report, compact (see the module docs).
pub fn render_styled(report: &Report, style: Style) -> String {
    render_with(report, style, false)
}

/// The whole report with every test's details and evidence (`--verbose`).
pub fn render_verbose(report: &Report, style: Style) -> String {
    render_with(report, style, true)
}

/// The summary line: score, tests passed, and where to start.
pub fn summary_line(report: &Report) -> String {
    let passed = report.tests.iter().filter(|t| t.passed()).count();
    let mut s = format!(
        "Score {}/{} · {passed}/{} passed",
        report.score(),
        report.max_score(),
        report.tests.len()
    );
    if report.interrupted {
        s.push_str(&format!(
            " · grading interrupted: {} not run",
            report.not_run()
        ));
    }
    if report.built()
        && let Some(t) = start_with(report)
    {
        s.push_str(&format!(" · start with: {}", t.name));
    }
    s
}

/// The failing test to fix first (see the module docs).
pub fn start_with(report: &Report) -> Option<&TestResult> {
    // Sessions by their base name (`usertests` of `usertests/sbrkarg`), in
    // plan order.
    let mut groups: Vec<&str> = Vec::new();
    for s in &report.sessions {
        let base = s.name.split('/').next().unwrap_or(&s.name);
        if !groups.contains(&base) {
            groups.push(base);
        }
    }
    let group = |t: &TestResult| {
        t.failure
            .as_ref()
            .and_then(|f| f.evidence.as_ref())
            .and_then(|e| {
                let base = e.session.split('/').next().unwrap_or(&e.session);
                groups.iter().position(|g| *g == base)
            })
            .unwrap_or(groups.len())
    };
    report
        .tests
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.passed() && !t.not_run)
        .min_by_key(|(i, t)| (t.all_cases, group(t), *i))
        .map(|(_, t)| t)
}

fn render_with(report: &Report, style: Style, verbose: bool) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(s, "{} ({})", report.title, report.lab);
    let _ = writeln!(s, "submission: {}", report.submission);
    // Near the top, so that an instructor does not miss it below dozens of
    // tests.
    if !report.review.is_empty() {
        let _ = writeln!(
            s,
            "Review: {} for an instructor to check (not scored):",
            match report.review.len() {
                1 => "1 thing".to_string(),
                n => format!("{n} things"),
            }
        );
        for flag in &report.review {
            let _ = writeln!(s, "{INDENT}{flag}");
        }
    }
    match &report.build {
        Build::Ok {
            duration,
            confinement,
        } => {
            let _ = writeln!(s, "build: {} ({})", style.ok(), seconds_text(*duration));
            s.push_str(&render_confinement(confinement));
            let _ = writeln!(s, "{}", summary_line(report));
            if verbose {
                for t in &report.tests {
                    s.push_str(&render_test(t, style));
                }
            } else {
                s.push_str(&render_compact(report, style));
            }
        }
        Build::Failed {
            errors,
            confinement,
            ..
        } => {
            // One failure explains every test: list it once.
            let _ = writeln!(s, "build: {} ({NOT_BUILT})", style.fail());
            s.push_str(&render_confinement(confinement));
            for line in errors.lines() {
                let _ = writeln!(s, "{}", format!("{INDENT}{line}").trim_end());
            }
            let _ = writeln!(s, "all {} tests failed: {NOT_BUILT}", report.tests.len());
        }
        Build::Refused(refusal) => {
            // As for a build failure: the stage that stopped, why, and
            // that this one reason fails every test.
            let _ = writeln!(s, "{}: {}", refusal.stage.name(), style.refused());
            for line in refusal.reason.lines() {
                let _ = writeln!(s, "{}", format!("{INDENT}{line}").trim_end());
            }
            let _ = writeln!(
                s,
                "all {} tests failed: the submission was refused {}",
                report.tests.len(),
                refusal.stage.describe()
            );
        }
        Build::Fault { reason } => {
            let _ = writeln!(s, "{GRADER_FAULT}: {reason}");
            let _ = writeln!(
                s,
                "none of the {} tests ran; this is not the submission's fault",
                report.tests.len()
            );
        }
        Build::Interrupted => {
            let _ = writeln!(s, "build: interrupted");
        }
    }
    if report.interrupted {
        let _ = writeln!(
            s,
            "interrupted: {} of {} tests were not run",
            report.not_run(),
            report.tests.len()
        );
    }
    if report.interrupted {
        let _ = writeln!(
            s,
            "Score: {}/{} (the grading was interrupted: partial)",
            report.score(),
            report.max_score()
        );
    } else {
        let _ = writeln!(s, "Score: {}/{}", report.score(), report.max_score());
    }
    s
}

/// Width the compact lists of names wrap at.
const WIDTH: usize = 78;

/// The failures, each in words with its evidence, then the tests not run
/// and the passing tests as lists of names.
fn render_compact(report: &Report, style: Style) -> String {
    let mut s = String::new();
    for t in report.tests.iter().filter(|t| !t.passed() && !t.not_run) {
        let Some(f) = &t.failure else { continue };
        let _ = writeln!(s, "\n{}: {}: {}", t.name, style.fail(), f.in_words());
        // A test over all cases repeats the failures listed above it.
        if t.all_cases {
            continue;
        }
        if let Some(ev) = &f.evidence {
            s.push_str(&render_evidence(ev));
        }
    }
    let not_run: Vec<&str> = report
        .tests
        .iter()
        .filter(|t| t.not_run)
        .map(|t| t.name.as_str())
        .collect();
    if !not_run.is_empty() {
        s.push_str(&name_block(
            &format!("NOT RUN ({})", not_run.len()),
            &not_run,
        ));
    }
    let passed: Vec<String> = report
        .tests
        .iter()
        .filter(|t| t.passed())
        .map(|t| format!("{} ({})", t.name, seconds_text(t.duration)))
        .collect();
    if !passed.is_empty() {
        let names: Vec<&str> = passed.iter().map(String::as_str).collect();
        s.push_str(&name_block(
            &format!("{} ({})", style.ok(), passed.len()),
            &names,
        ));
    }
    s.push('\n');
    s
}

/// `title:` then `names`, comma-separated, wrapped and indented.
fn name_block(title: &str, names: &[&str]) -> String {
    let mut s = format!("\n{title}:\n");
    let mut line = String::from(INDENT);
    for (i, name) in names.iter().enumerate() {
        let item = if i + 1 < names.len() {
            format!("{name},")
        } else {
            name.to_string()
        };
        if line.len() > INDENT.len() && line.len() + 1 + item.len() > WIDTH {
            s.push_str(line.trim_end());
            s.push('\n');
            line = String::from(INDENT);
        }
        if line.len() > INDENT.len() {
            line.push(' ');
        }
        line.push_str(&item);
    }
    s.push_str(&line);
    s.push('\n');
    s
}

/// A failure's console lines, indented under it.
fn render_evidence(ev: &crate::check::Evidence) -> String {
    let mut s = String::new();
    if ev.lines.is_empty() {
        let _ = writeln!(s, "{INDENT}{} printed nothing", ev.session);
    } else {
        let _ = writeln!(s, "{INDENT}console of {}:", ev.session);
        for l in &ev.lines {
            // No trailing blanks (a bare prompt is `$ `): they are
            // invisible on a terminal and noise in diffs.
            let _ = writeln!(s, "{}", format!("{INDENT}| {l}").trim_end());
        }
    }
    s
}

/// Whether the build was sandboxed, in one line.
fn render_confinement(c: &Confinement) -> String {
    if c.sandboxed {
        format!("build: sandboxed ({})\n", c.how)
    } else {
        format!("build: NOT sandboxed ({})\n", c.how)
    }
}

/// One test's lines, for the report and for progress as tests finish.
pub fn render_test(test: &TestResult, style: Style) -> String {
    let mut s = String::new();
    if test.not_run {
        let _ = writeln!(s, "{}: NOT RUN", test.name);
        return s;
    }
    let Some(f) = &test.failure else {
        let _ = writeln!(
            s,
            "{}: {} ({})",
            test.name,
            style.ok(),
            seconds_text(test.duration)
        );
        return s;
    };
    let _ = writeln!(s, "{}: {}: {}", test.name, style.fail(), f.in_words());
    if f.said.is_some() {
        let _ = writeln!(s, "{INDENT}{}", f.reason);
    }
    for d in &f.details {
        let _ = writeln!(s, "{INDENT}{d}");
    }
    if let Some(ev) = &f.evidence {
        s.push_str(&render_evidence(ev));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{
        faulted_report, flagged_report, mixed_report, not_built_report, perfect_report,
        refused_report,
    };

    #[test]
    fn mixed_report_snapshot() {
        insta::assert_snapshot!(render(&mixed_report()));
    }

    #[test]
    fn perfect_report_snapshot() {
        insta::assert_snapshot!(render(&perfect_report()));
    }

    #[test]
    fn refused_report_snapshot() {
        insta::assert_snapshot!(render(&refused_report()));
    }

    #[test]
    fn not_built_report_snapshot() {
        insta::assert_snapshot!(render(&not_built_report()));
    }

    #[test]
    fn faulted_report_snapshot() {
        insta::assert_snapshot!(render(&faulted_report()));
    }

    #[test]
    fn flagged_report_snapshot() {
        insta::assert_snapshot!(render(&flagged_report()));
    }

    /// The consoles of a kernel that does not zero fresh pages, as real
    /// gradings of `grading/lazy/mutants/no-zero.patch` print them: the
    /// report reads the test programs' own reasons.
    #[test]
    fn own_reasons_of_the_test_programs_snapshot() {
        let r = crate::report::tests::own_reasons_report();
        let text = render(&r);
        assert!(
            text.contains(
                "usertests: sbrkarg: FAIL: sbrkarg: write(fd, sbrk'd page, 4096) returned -1\n"
            ),
            "{text}"
        );
        assert!(!text.contains("xv6 kernel is booting"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn interrupted_before_any_vm_snapshot() {
        let r = Report::interrupted(
            &crate::report::tests::rubric(),
            &crate::check::tests::plan(),
            "work tree ~/lazy",
            std::time::Duration::from_secs(3),
        );
        insta::assert_snapshot!(render(&r));
    }

    #[test]
    fn interrupted_while_vms_ran_snapshot() {
        let r = crate::report::tests::interrupted_report();
        let text = render(&r);
        // Not run is not failed, and the score says it is partial.
        assert!(text.contains("NOT RUN (2):"), "{text}");
        assert!(!text.contains("usertests: stacktest: FAIL"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn start_with_the_first_failure_of_the_most_basic_session() {
        let r = mixed_report();
        // lazy: unmap (lazytests) comes before the usertests failures.
        assert_eq!(start_with(&r).unwrap().name, "lazy: unmap");
        assert!(summary_line(&r).ends_with("· start with: lazy: unmap"));
        assert_eq!(start_with(&perfect_report()), None);
    }

    #[test]
    fn verbose_keeps_every_detail() {
        let r = mixed_report();
        let verbose = render_verbose(&r, Style::PLAIN);
        for t in &r.tests {
            assert!(verbose.contains(&format!("{}: ", t.name)), "{verbose}");
        }
        assert!(verbose.contains("missing a line matching"), "{verbose}");
        assert!(!render(&r).contains("missing a line matching `^test sbrkarg"));
    }

    #[test]
    fn colour_only_wraps_verdicts() {
        let r = mixed_report();
        let coloured = render_styled(&r, Style { color: true });
        assert!(coloured.contains("\x1b[32mOK\x1b[0m"));
        assert!(coloured.contains("\x1b[31mFAIL\x1b[0m"));
        let stripped = coloured
            .replace("\x1b[32m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, render(&r));
    }

    #[test]
    fn no_colour_without_a_terminal() {
        assert_eq!(Style::detect(false), Style::PLAIN);
    }
}
