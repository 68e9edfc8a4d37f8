//! The HTML rendering of a report (`xvlab grade --format html`): one
//! self-contained page ([`render`]) with inline CSS and no script, for
//! people who would rather look than read — the summary, a table with a
//! row per test, each failed test's console with its evidence lines
//! highlighted, and a side-by-side diff of that console against the
//! reference solution's console of the same VM ([`Reference`]). A batch of
//! gradings gets an index page linking each one's page ([`render_index`]).
//!
//! The report model holds no transcripts, so the consoles come alongside
//! ([`Consoles`], built by the grading from its plan and outcomes, masked
//! as `--keep` masks them so the two sides diff clean). Every byte of a
//! console, a reason or a name is escaped: a kernel can print `<script>`.
//! Like the other renderers, a pure function of its inputs.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::ops::Range;

use super::diff::{Row, side_by_side};
use super::{Build, GRADER_FAULT, Report, seconds_text};
use crate::check::{NOT_BUILT, TestResult};

/// The kept consoles of one grading, for its page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Consoles {
    /// Each VM's console by VM name, as `--keep` writes it (token masked,
    /// seals removed, programs under their real names), one line each.
    pub sessions: BTreeMap<String, Vec<String>>,
    /// The VMs each test reads, by test name.
    pub test_sessions: BTreeMap<String, Vec<String>>,
    /// Each failed test's evidence: its VM and which lines of that VM's
    /// console it is.
    pub evidence: BTreeMap<String, (String, Range<usize>)>,
}

/// Where the lines `block` stand in `lines`, as a run (the last such run:
/// evidence is the end of a console); `None` if they are not there or
/// `block` is empty.
pub fn locate(lines: &[String], block: &[String]) -> Option<Range<usize>> {
    if block.is_empty() || block.len() > lines.len() {
        return None;
    }
    (0..=lines.len() - block.len())
        .rev()
        .find(|&i| lines[i..i + block.len()] == *block)
        .map(|i| i..i + block.len())
}

/// The reference solution's consoles, to diff the failed tests' against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    Graded {
        /// When it was graded (RFC 3339, UTC).
        graded_at: String,
        /// Whether this page's grading found it in the cache.
        cached: bool,
        /// Its consoles by VM name, masked as [`Consoles::sessions`].
        sessions: BTreeMap<String, Vec<String>>,
    },
    /// Not available: why, in words.
    Unavailable(String),
}

/// Everything one page shows.
#[derive(Clone, Copy, Debug)]
pub struct Page<'a> {
    pub report: &'a Report,
    pub consoles: &'a Consoles,
    /// `None`: no diffs asked for (nothing failed in a VM).
    pub reference: Option<&'a Reference>,
}

/// `text` safe in HTML text and in double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

const STYLE: &str = r#"
:root { --ok: #1a7f37; --fail: #cf222e; --warn: #9a6700; --muted: #57606a;
  --line: #d0d7de; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
  color: #1f2328; margin: 0; padding: 24px 32px; max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 6px; }
.sub { color: var(--muted); margin-bottom: 14px; }
.summary { display: flex; gap: 28px; align-items: center; flex-wrap: wrap;
  background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 14px 20px; }
.score { font-size: 34px; font-weight: 700; }
.big { font-size: 18px; }
.badge { display: inline-block; border-radius: 12px; padding: 2px 10px; font-size: 13px;
  font-weight: 600; color: #fff; }
.b-passed, .b-graded { background: var(--ok); }
.b-failed, .b-refused, .b-not_built { background: var(--fail); }
.b-not_run, .b-interrupted, .b-grader_fault { background: var(--warn); }
.note { border-left: 4px solid var(--warn); background: #fff8c5; padding: 8px 12px; margin: 12px 0; }
.review { border-left: 4px solid var(--fail); background: #ffebe9; padding: 8px 12px; margin: 12px 0; }
table.tests { border-collapse: collapse; width: 100%; }
table.tests th, table.tests td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); }
table.tests th { background: var(--bg); font-weight: 600; }
table.tests td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.tests tr.failed td:first-child { border-left: 3px solid var(--fail); }
table.tests tr.passed td:first-child { border-left: 3px solid var(--ok); }
table.tests tr.not_run td:first-child { border-left: 3px solid var(--warn); }
.reason { color: var(--muted); font-size: 13px; }
pre, .console, table.diff { font: 12.5px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px;
  overflow-x: auto; white-space: pre-wrap; }
.console { background: #0d1117; color: #e6edf3; border-radius: 6px; padding: 6px 0;
  max-height: 22em; overflow: auto; }
.console div { white-space: pre-wrap; padding: 0 10px; min-height: 1.4em; }
.console .n { display: inline-block; width: 3.5em; color: #6e7681; user-select: none; }
.console .ev { background: #5a1e02; }
.console .ev .n { color: #ffa657; }
table.diff { border-collapse: collapse; width: 100%; table-layout: fixed; border: 1px solid var(--line); }
table.diff td { padding: 0 6px; vertical-align: top; white-space: pre-wrap; word-break: break-all; }
table.diff td.n { width: 3.5em; color: var(--muted); text-align: right; background: var(--bg); }
table.diff th { background: var(--bg); text-align: left; padding: 4px 6px; font-family: system-ui, sans-serif; }
table.diff tr.sep td { background: #ddf4ff; color: var(--muted); }
table.diff td.del { background: #ffebe9; }
table.diff td.add { background: #dafbe1; }
table.diff td.gap { background: #f6f8fa; }
footer { color: var(--muted); font-size: 13px; margin-top: 30px; }
"#;

fn head(s: &mut String, title: &str) {
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    );
}

/// A test's status word, also its CSS class.
fn test_status(t: &TestResult) -> &'static str {
    if t.not_run {
        "not_run"
    } else if t.passed() {
        "passed"
    } else {
        "failed"
    }
}

fn status_label(status: &str) -> &str {
    match status {
        "not_run" => "not run",
        "not_built" => "not built",
        "grader_fault" => "grader fault",
        other => other,
    }
}

fn badge(status: &str) -> String {
    format!(
        "<span class=\"badge b-{status}\">{}</span>",
        escape(status_label(status))
    )
}

/// The whole page: its [`top`], which names the submission, and its
/// [`body`].
pub fn render(page: &Page<'_>) -> String {
    top(page.report) + &body(page)
}

/// The start of the page, up to the line naming the submission: all of
/// the page that depends on which files were handed in, not on how they
/// graded (a class's identical hand-ins share one grading and one body).
pub fn top(report: &Report) -> String {
    let mut s = String::new();
    head(
        &mut s,
        &format!(
            "{} — {}/{} — {}",
            report.title,
            report.score(),
            report.max_score(),
            report.submission
        ),
    );
    let _ = writeln!(
        s,
        "<h1>{} <span class=\"sub\">({})</span></h1>\n<div class=\"sub\">submission: {}</div>",
        escape(&report.title),
        escape(&report.lab),
        escape(&report.submission)
    );
    s
}

/// The page after its [`top`]: the grading's summary, tests and consoles.
pub fn body(page: &Page<'_>) -> String {
    let report = page.report;
    let mut s = String::new();
    summary(&mut s, report);
    if !report.review.is_empty() {
        let _ = writeln!(
            s,
            "<div class=\"review\"><strong>For an instructor to check (not scored):</strong><ul>"
        );
        for flag in &report.review {
            let _ = writeln!(s, "<li>{}</li>", escape(&flag.to_string()));
        }
        let _ = writeln!(s, "</ul></div>");
    }
    build_section(&mut s, report);
    tests_table(&mut s, page);
    failures(&mut s, page);
    let _ = writeln!(
        s,
        "<footer>xvlab {} · graded in {}</footer>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION"),
        seconds_text(report.execution_time)
    );
    s
}

fn summary(s: &mut String, report: &Report) {
    let passed = report.tests.iter().filter(|t| t.passed()).count();
    let _ = writeln!(
        s,
        "<div class=\"summary\"><div class=\"score\">{}/{}</div>\
         <div class=\"big\">{passed}/{} passed</div><div>{}</div>",
        report.score(),
        report.max_score(),
        report.tests.len(),
        badge(report.status())
    );
    if let Some(first) = report.tests.iter().find(|t| test_status(t) == "failed")
        && report.built()
    {
        let _ = writeln!(
            s,
            "<div>start with: <strong>{}</strong></div>",
            escape(&first.name)
        );
    }
    let _ = writeln!(s, "</div>");
    if let Some(note) = report.note() {
        let _ = writeln!(s, "<div class=\"note\">{}</div>", escape(&note));
    }
}

fn build_section(s: &mut String, report: &Report) {
    match &report.build {
        Build::Ok {
            duration,
            confinement,
        } => {
            let _ = writeln!(
                s,
                "<p>build: OK ({}), {}</p>",
                seconds_text(*duration),
                escape(&sandbox_text(confinement))
            );
        }
        Build::Failed {
            errors,
            confinement,
            ..
        } => {
            let _ = writeln!(
                s,
                "<h2>Build</h2><p>{NOT_BUILT}: every test fails (the build was {}).</p><pre>{}</pre>",
                escape(&sandbox_text(confinement)),
                escape(errors)
            );
        }
        Build::Refused(refusal) => {
            let _ = writeln!(
                s,
                "<h2>Refused</h2><p>The submission was refused {}: every test fails.</p><pre>{}</pre>",
                escape(refusal.stage.describe()),
                escape(&refusal.reason)
            );
        }
        Build::Fault { reason } => {
            let _ = writeln!(
                s,
                "<h2>Not graded</h2><p>{}: this is not the submission's fault; ask the course staff to grade it again.</p><pre>{}</pre>",
                escape(GRADER_FAULT),
                escape(reason)
            );
        }
        Build::Interrupted => {
            let _ = writeln!(
                s,
                "<p>The grading was interrupted before the kernel was built: no test ran.</p>"
            );
        }
    }
}

fn sandbox_text(c: &super::Confinement) -> String {
    if c.sandboxed {
        format!("sandboxed ({})", c.how)
    } else {
        format!("NOT sandboxed ({})", c.how)
    }
}

/// A test's VMs, in a few words.
fn sessions_text(consoles: &Consoles, test: &str) -> String {
    match consoles.test_sessions.get(test).map(Vec::as_slice) {
        None | Some([]) => String::new(),
        Some([one]) => one.clone(),
        Some([first, rest @ ..]) => format!("{first} (+{} more)", rest.len()),
    }
}

/// The id of the `i`th test's section (by position: names may differ
/// only in characters an id cannot hold).
fn anchor(i: usize) -> String {
    format!("test-{i}")
}

fn tests_table(s: &mut String, page: &Page<'_>) {
    let _ = writeln!(
        s,
        "<h2>Tests</h2>\n<table class=\"tests\">\n<thead><tr><th>Test</th><th>Session</th>\
         <th>Points</th><th>Status</th><th>Duration</th></tr></thead>\n<tbody>"
    );
    for (i, t) in page.report.tests.iter().enumerate() {
        let status = test_status(t);
        let name = if status == "failed" && page.consoles.evidence.contains_key(&t.name) {
            format!("<a href=\"#{}\">{}</a>", anchor(i), escape(&t.name))
        } else {
            escape(&t.name)
        };
        let reason = match &t.failure {
            Some(f) if status == "failed" => {
                format!("<div class=\"reason\">{}</div>", escape(f.in_words()))
            }
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "<tr class=\"test {status}\"><td>{name}{reason}</td><td>{}</td>\
             <td class=\"num\">{}/{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            escape(&sessions_text(page.consoles, &t.name)),
            t.score(),
            t.max_score,
            badge(status),
            if t.duration.is_zero() {
                String::new()
            } else {
                seconds_text(t.duration)
            }
        );
    }
    let _ = writeln!(s, "</tbody>\n</table>");
}

fn failures(s: &mut String, page: &Page<'_>) {
    let failed: Vec<(usize, &TestResult)> = page
        .report
        .tests
        .iter()
        .enumerate()
        .filter(|(_, t)| test_status(t) == "failed" && page.consoles.evidence.contains_key(&t.name))
        .collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(s, "<h2>Failed tests</h2>");
    if let Some(reference) = page.reference {
        let _ = match reference {
            Reference::Graded {
                graded_at, cached, ..
            } => writeln!(
                s,
                "<p class=\"sub\">Diffs are against the reference solution's console of the same VM \
                 (graded {}{}).</p>",
                escape(graded_at),
                if *cached {
                    ", kept in the build cache"
                } else {
                    " for this report"
                }
            ),
            Reference::Unavailable(why) => writeln!(
                s,
                "<p class=\"note\">No diffs against the reference solution: {}</p>",
                escape(why)
            ),
        };
    }
    for (i, t) in failed {
        let Some(f) = &t.failure else { continue };
        let Some((session, range)) = page.consoles.evidence.get(&t.name) else {
            continue;
        };
        let _ = writeln!(
            s,
            "<section id=\"{}\"><h3>{} {}</h3>\n<p>{}</p>",
            anchor(i),
            escape(&t.name),
            badge("failed"),
            escape(f.in_words())
        );
        // Under the program's own words, what the grader found (as the
        // human report has it).
        let found = f.said.as_ref().map(|_| &f.reason);
        if found.is_some() || !f.details.is_empty() {
            let _ = writeln!(s, "<ul class=\"reason\">");
            for d in found.into_iter().chain(&f.details) {
                let _ = writeln!(s, "<li>{}</li>", escape(d));
            }
            let _ = writeln!(s, "</ul>");
        }
        let lines = page
            .consoles
            .sessions
            .get(session)
            .map_or(&[][..], Vec::as_slice);
        let _ = writeln!(
            s,
            "<div class=\"sub\">console of {} (the evidence highlighted):</div>",
            escape(session)
        );
        console(s, lines, range);
        if let Some(Reference::Graded { sessions, .. }) = page.reference {
            match sessions.get(session) {
                Some(theirs) => diff_table(s, lines, theirs),
                None => {
                    let _ = writeln!(
                        s,
                        "<p class=\"sub\">The reference solution ran no VM named {}.</p>",
                        escape(session)
                    );
                }
            }
        }
        let _ = writeln!(s, "</section>");
    }
}

fn console(s: &mut String, lines: &[String], evidence: &Range<usize>) {
    let _ = writeln!(s, "<div class=\"console\">");
    if lines.is_empty() {
        let _ = writeln!(s, "<div>(the console printed nothing)</div>");
    }
    for (i, line) in lines.iter().enumerate() {
        let class = if evidence.contains(&i) {
            " class=\"ev\""
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "<div{class}><span class=\"n\">{}</span>{}</div>",
            i + 1,
            escape(line)
        );
    }
    let _ = writeln!(s, "</div>");
}

fn diff_table(s: &mut String, ours: &[String], theirs: &[String]) {
    let join = |lines: &[String]| {
        let mut t = lines.join("\n");
        t.push('\n');
        t
    };
    let hunks = side_by_side(&join(ours), &join(theirs));
    if hunks.is_empty() {
        let _ = writeln!(
            s,
            "<p class=\"sub\">This console is the same as the reference solution's.</p>"
        );
        return;
    }
    let _ = writeln!(
        s,
        "<table class=\"diff\"><colgroup><col style=\"width:3.5em\"><col><col style=\"width:3.5em\"><col></colgroup>\n\
         <tr><th colspan=\"2\">this submission</th><th colspan=\"2\">reference solution</th></tr>"
    );
    for (i, hunk) in hunks.iter().enumerate() {
        if i > 0 {
            let _ = writeln!(s, "<tr class=\"sep\"><td colspan=\"4\">⋯</td></tr>");
        }
        for row in hunk {
            diff_row(s, row);
        }
    }
    let _ = writeln!(s, "</table>");
}

fn diff_row(s: &mut String, row: &Row) {
    let cell = |side: &Option<(usize, String)>, changed: &str| match side {
        Some((n, text)) => format!(
            "<td class=\"n\">{n}</td><td class=\"{changed}\">{}</td>",
            escape(text)
        ),
        None => "<td class=\"n\"></td><td class=\"gap\"></td>".to_string(),
    };
    let (del, add) = if row.changed {
        ("del", "add")
    } else {
        ("", "")
    };
    let _ = writeln!(s, "<tr>{}{}</tr>", cell(&row.old, del), cell(&row.new, add));
}

/// One grading on an index page.
#[derive(Clone, Copy, Debug)]
pub struct IndexRow<'a> {
    /// Who or what was graded (a student's id).
    pub id: &'a str,
    pub report: &'a Report,
    /// The grading's own page, as a link from the index (relative to it).
    pub page: &'a str,
}

/// An index page of a batch of gradings: a row per grading with its
/// score, tests passed and status, linking to its own page.
pub fn render_index(title: &str, rows: &[IndexRow<'_>]) -> String {
    let mut s = String::new();
    head(&mut s, title);
    let _ = writeln!(
        s,
        "<h1>{}</h1>\n<div class=\"sub\">{} grading(s)</div>\n<table class=\"tests\">\n\
         <thead><tr><th>Submission</th><th>Score</th><th>Passed</th><th>Status</th>\
         <th>Start with</th></tr></thead>\n<tbody>",
        escape(title),
        rows.len()
    );
    for row in rows {
        let r = row.report;
        let passed = r.tests.iter().filter(|t| t.passed()).count();
        let first = r
            .tests
            .iter()
            .find(|t| test_status(t) == "failed")
            .filter(|_| r.built())
            .map_or_else(String::new, |t| escape(&t.name));
        let _ = writeln!(
            s,
            "<tr class=\"grading\"><td><a href=\"{}\">{}</a></td><td class=\"num\">{}/{}</td>\
             <td class=\"num\">{passed}/{}</td><td>{}</td><td>{first}</td></tr>",
            escape(row.page),
            escape(row.id),
            r.score(),
            r.max_score(),
            r.tests.len(),
            badge(r.status())
        );
    }
    let _ = writeln!(s, "</tbody>\n</table>\n</body>\n</html>");
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::tests::{
        faulted_report, flagged_report, mixed_report, not_built_report, perfect_report,
        refused_report,
    };

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    /// Consoles as a grading of [`mixed_report`] keeps them, and the
    /// reference solution's.
    pub(crate) fn mixed_consoles() -> (Consoles, Reference) {
        let report = mixed_report();
        let mut c = Consoles::default();
        let boot = "\nxv6 kernel is booting\n\ninit: starting sh\n$ echo hi …\nhi …\n$ ";
        let lazy_ours = "\nxv6 kernel is booting\n\ninit: starting sh\n$ lazytests -k …\nlazytests starting\ntest lazy alloc: OK […]\npanic: uvmunmap: not mapped\n<script>alert(1)</script>";
        let lazy_ref = "\nxv6 kernel is booting\n\ninit: starting sh\n$ lazytests -k …\nlazytests starting\ntest lazy alloc: OK […]\ntest lazy unmap: OK […]\nALL TESTS PASSED […]\n$ ";
        let sbrk = "\nxv6 kernel is booting\n\ninit: starting sh\n$ usertests -k … sbrkarg\nusertests starting\ntest sbrkarg: OK […]\nFAILED -- lost some free pages 30000 (out of 30010) […]\nSOME TESTS FAILED […]\n$ ";
        let sbrk_ref = "\nxv6 kernel is booting\n\ninit: starting sh\n$ usertests -k … sbrkarg\nusertests starting\ntest sbrkarg: OK […]\nALL TESTS PASSED […]\n$ ";
        let stack = "\nxv6 kernel is booting\n\ninit: starting sh\n$ usertests -k … stacktest\nusertests starting";
        let stack_ref = "\nxv6 kernel is booting\n\ninit: starting sh\n$ usertests -k … stacktest\nusertests starting\ntest stacktest: OK […]\nALL TESTS PASSED […]\n$ ";
        for (name, text) in [
            ("boot", boot),
            ("lazytests", lazy_ours),
            ("usertests/sbrkarg", sbrk),
            ("usertests/stacktest", stack),
        ] {
            c.sessions.insert(name.to_string(), lines(text));
        }
        for t in &report.tests {
            let session = match t.name.as_str() {
                "echo hi" => "boot",
                n if n.starts_with("lazy") => "lazytests",
                n if n.contains("sbrkarg") => "usertests/sbrkarg",
                _ => "usertests/stacktest",
            };
            let vms = if t.name.contains("all tests") {
                vec![
                    "usertests/sbrkarg".to_string(),
                    "usertests/stacktest".to_string(),
                ]
            } else {
                vec![session.to_string()]
            };
            c.test_sessions.insert(t.name.clone(), vms);
            if let Some(ev) = t.failure.as_ref().and_then(|f| f.evidence.as_ref()) {
                let console = &c.sessions[&ev.session];
                let n = console.len();
                c.evidence
                    .insert(t.name.clone(), (ev.session.clone(), n.saturating_sub(3)..n));
            }
        }
        let mut theirs = BTreeMap::new();
        for (name, text) in [
            ("boot", boot),
            ("lazytests", lazy_ref),
            ("usertests/sbrkarg", sbrk_ref),
            ("usertests/stacktest", stack_ref),
        ] {
            theirs.insert(name.to_string(), lines(text));
        }
        let reference = Reference::Graded {
            graded_at: "2026-12-02T17:40:00Z".to_string(),
            cached: true,
            sessions: theirs,
        };
        (c, reference)
    }

    /// The page of [`mixed_report`] with its consoles and reference.
    pub(crate) fn mixed_page() -> String {
        let report = mixed_report();
        let (consoles, reference) = mixed_consoles();
        render(&Page {
            report: &report,
            consoles: &consoles,
            reference: Some(&reference),
        })
    }

    #[test]
    fn a_page_has_a_row_per_test_and_a_section_per_failure_with_evidence() {
        let report = mixed_report();
        let page = mixed_page();
        assert_eq!(
            page.matches("<tr class=\"test ").count(),
            report.tests.len()
        );
        let failed = report
            .tests
            .iter()
            .filter(|t| !t.passed() && !t.not_run)
            .count();
        assert_eq!(page.matches("<section id=").count(), failed);
        assert!(page.contains("<div class=\"score\">10/29</div>"), "{page}");
        assert!(page.contains("2/6 passed"));
        assert!(page.contains("start with: <strong>lazy: unmap</strong>"));
        // The evidence is highlighted: the panic line of lazytests.
        assert!(page.contains(
            "<div class=\"ev\"><span class=\"n\">8</span>panic: uvmunmap: not mapped</div>"
        ));
        // A side-by-side diff against the reference, which says when it
        // was graded.
        assert!(page.contains("<th colspan=\"2\">reference solution</th>"));
        assert!(page.contains("<td class=\"add\">test lazy unmap: OK […]</td>"));
        assert!(page.contains("graded 2026-12-02T17:40:00Z, kept in the build cache"));
        // No external resource, no script.
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(!page.contains("<script"));
        assert!(!page.contains("src="));
    }

    #[test]
    fn mixed_page_snapshot() {
        // The markup after the style sheet, the version masked: what a
        // change to the page changes.
        let page = mixed_page();
        let body = &page[page.find("</style>").unwrap()..];
        insta::assert_snapshot!(body.replace(env!("CARGO_PKG_VERSION"), "VERSION"));
    }

    #[test]
    fn a_page_for_another_submission_names_it_and_keeps_the_consoles() {
        let mut report = mixed_report();
        report.submission = "patch ann.patch".to_string();
        let (consoles, _) = mixed_consoles();
        let page = Page {
            report: &report,
            consoles: &consoles,
            reference: None,
        };
        let ann = render(&page);
        let shared = body(&page);
        report.submission = "patch <bob>.patch".to_string();
        let bob = top(&report) + &shared;
        assert!(!bob.contains("ann.patch"), "{bob}");
        assert!(bob.contains("submission: patch &lt;bob&gt;.patch</div>"));
        assert!(bob.contains("<title>") && bob.contains("patch &lt;bob&gt;.patch</title>"));
        let rest = |p: &str| {
            p[p.find("</h1>").unwrap()..]
                .split_once("</div>")
                .unwrap()
                .1
                .to_string()
        };
        assert_eq!(rest(&bob), rest(&ann), "only the head changes");
    }

    #[test]
    fn what_a_kernel_prints_is_escaped() {
        let page = mixed_page();
        assert!(!page.contains("<script>"), "a console line became markup");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        let mut report = mixed_report();
        report.submission = "patch \"><img onerror=x>.patch".to_string();
        report.tests[1].name = "<b>t</b>".to_string();
        let (consoles, _) = mixed_consoles();
        let page = render(&Page {
            report: &report,
            consoles: &consoles,
            reference: Some(&Reference::Unavailable("<i>no</i>".to_string())),
        });
        assert!(!page.contains("<img") && !page.contains("<b>t</b>") && !page.contains("<i>"));
        assert!(page.contains("&lt;b&gt;t&lt;/b&gt;"));
        assert_eq!(escape("a&<>\"'"), "a&amp;&lt;&gt;&quot;&#39;");
    }

    #[test]
    fn every_kind_of_result_renders() {
        let none = Consoles::default();
        for (report, says) in [
            (refused_report(), "The submission was refused"),
            (not_built_report(), "mismatched types"),
            (faulted_report(), "not the submission&#39;s fault"),
            (perfect_report(), "6/6 passed"),
            (flagged_report(), "For an instructor to check"),
            (
                crate::report::Report::interrupted(
                    &crate::report::tests::rubric(),
                    &crate::check::tests::plan(),
                    "patch s.patch",
                    std::time::Duration::from_secs(2),
                ),
                "interrupted before the kernel was built",
            ),
        ] {
            let page = render(&Page {
                report: &report,
                consoles: &none,
                reference: None,
            });
            assert!(page.contains(says), "{says}: {page}");
            assert_eq!(
                page.matches("<tr class=\"test ").count(),
                report.tests.len()
            );
            assert!(page.trim_end().ends_with("</html>"));
        }
    }

    #[test]
    fn a_console_equal_to_the_references_says_so() {
        let report = mixed_report();
        let (consoles, _) = mixed_consoles();
        let same = Reference::Graded {
            graded_at: "now".into(),
            cached: false,
            sessions: consoles.sessions.clone(),
        };
        let page = render(&Page {
            report: &report,
            consoles: &consoles,
            reference: Some(&same),
        });
        assert!(page.contains("the same as the reference solution"));
        assert!(page.contains("graded now for this report"));
        assert!(!page.contains("<table class=\"diff\">"));
    }

    #[test]
    fn evidence_is_found_as_the_last_run_of_its_lines() {
        let console = lines("$ x\nA\nB\n$ x\nA\nB\n$ ");
        assert_eq!(locate(&console, &lines("A\nB")), Some(4..6));
        assert_eq!(locate(&console, &lines("B\n$ x\nA")), Some(2..5));
        assert_eq!(locate(&console, &lines("C")), None);
        assert_eq!(locate(&console, &[]), None);
        assert_eq!(locate(&lines("A"), &lines("A\nB")), None);
    }

    #[test]
    fn an_index_links_each_grading() {
        let (a, b, c) = (mixed_report(), perfect_report(), refused_report());
        let rows = [
            IndexRow {
                id: "alice",
                report: &a,
                page: "alice/report.html",
            },
            IndexRow {
                id: "bob",
                report: &b,
                page: "bob/report.html",
            },
            IndexRow {
                id: "<eve>",
                report: &c,
                page: "eve/report.html?a=1&b=2",
            },
        ];
        let page = render_index("lazy: class of 2026", &rows);
        assert_eq!(page.matches("<tr class=\"grading\">").count(), 3);
        assert!(
            page.contains(
                "<a href=\"alice/report.html\">alice</a></td><td class=\"num\">10/29</td>"
            )
        );
        assert!(page.contains("<td class=\"num\">6/6</td>"));
        assert!(page.contains("lazy: unmap"));
        assert!(page.contains("<a href=\"eve/report.html?a=1&amp;b=2\">&lt;eve&gt;</a>"));
        assert!(page.contains("b-refused"));
    }

    /// Where the browser test writes its page and screenshot.
    fn out_dir() -> std::path::PathBuf {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/html-report");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The committed screenshot the README shows.
    const SCREENSHOT: &str = "docs/html-report.png";

    /// Headless Chromium (Debian's `chromium`), or `None` where it is
    /// missing and nothing requires it (CI sets `CI`, and then it must be
    /// there: scripts/setup.sh installs it).
    fn chromium() -> Option<std::path::PathBuf> {
        let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.is_file());
        if found.is_none() {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromium is missing: scripts/setup.sh installs it"
            );
            eprintln!("skipping: chromium is not installed (apt-get install chromium)");
        }
        found
    }

    /// What Chromium made of the page at `file`: the console messages it
    /// logged (a script error, a blocked or failed load, ...) and the DOM
    /// after loading. With `screenshot`, a 1280×800 PNG of it there too.
    fn open(
        browser: &std::path::Path,
        file: &std::path::Path,
        screenshot: Option<&std::path::Path>,
    ) -> (Vec<String>, String) {
        let profile = tempfile::tempdir().unwrap();
        let run = |what: &str| {
            let out = std::process::Command::new(browser)
                .args([
                    "--headless",
                    "--disable-gpu",
                    "--no-sandbox",
                    "--hide-scrollbars",
                    "--enable-logging=stderr",
                    "--v=0",
                    "--window-size=1280,800",
                    &format!("--user-data-dir={}", profile.path().display()),
                    what,
                    &format!("file://{}", file.display()),
                ])
                .output()
                .unwrap();
            assert!(out.status.success(), "chromium {what} failed: {out:?}");
            let console: Vec<String> = String::from_utf8_lossy(&out.stderr)
                .lines()
                .filter(|l| l.contains(":CONSOLE"))
                .map(str::to_string)
                .collect();
            (console, String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let (mut console, dom) = run("--dump-dom");
        if let Some(png) = screenshot {
            let (more, _) = run(&format!("--screenshot={}", png.display()));
            console.extend(more);
        }
        (console, dom)
    }

    #[test]
    fn chromium_shows_a_row_per_test_and_logs_no_console_error() {
        let Some(browser) = chromium() else { return };
        let dir = out_dir();
        let file = dir.join("report.html");
        std::fs::write(&file, mixed_page()).unwrap();
        let png = dir.join("report.png");
        let _ = std::fs::remove_file(&png);
        let (console, dom) = open(&browser, &file, Some(&png));
        assert_eq!(console, Vec::<String>::new(), "console messages");
        assert_eq!(
            dom.matches("<tr class=\"test ").count(),
            mixed_report().tests.len(),
            "{dom}"
        );
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "no screenshot");
        // Width and height from the IHDR chunk.
        let size = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_eq!((size(16), size(20)), (1280, 800));
        if std::env::var_os("XVLAB_UPDATE_SCREENSHOT").is_some() {
            let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SCREENSHOT);
            std::fs::create_dir_all(committed.parent().unwrap()).unwrap();
            std::fs::copy(&png, committed).unwrap();
        }
    }

    #[test]
    fn chromium_console_check_catches_a_script_error() {
        let Some(browser) = chromium() else { return };
        let file = out_dir().join("broken.html");
        let broken = mixed_page().replace(
            "</body>",
            "<script>document.querySelector('#missing').remove();</script></body>",
        );
        std::fs::write(&file, broken).unwrap();
        let (console, _) = open(&browser, &file, None);
        assert!(
            console.iter().any(|l| l.contains("Uncaught TypeError")),
            "{console:?}"
        );
    }
}
