//! The terminal rendering of a report: per test `name: OK (1.2s)` or
//! `name: FAIL (reason)` with the details and last console lines indented
//! below, and a final `Score: N/M`.
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

/// The whole report.
pub fn render_styled(report: &Report, style: Style) -> String {
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
            for t in &report.tests {
                s.push_str(&render_test(t, style));
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
    let _ = writeln!(s, "Score: {}/{}", report.score(), report.max_score());
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
    let _ = writeln!(s, "{}: {} ({})", test.name, style.fail(), f.reason);
    for d in &f.details {
        let _ = writeln!(s, "{INDENT}{d}");
    }
    if let Some(ev) = &f.evidence {
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
