//! JUnit XML, for CI systems (GitHub Actions test reporters, GitLab, Jenkins):
//! one `<testsuite>` per grading, one `<testcase>` per rubric test, written
//! with `quick-junit` (which targets the JUnit schema that Jenkins and
//! nextest use).
//!
//! A test case's `classname` is the lab, its `time` the VM time the test
//! read. A failed test is a `<failure>` whose `message` is the one-line
//! reason and whose text is the details and console evidence (as in
//! `results.json`); a test the grading did not reach (Ctrl-C) is
//! `<skipped>`. What became of the submission shows in the failure's
//! `type`: `failed` (graded), `refused` (refused before building, every
//! test failing with the refusal's reason), `not_built` (every test failing
//! with the compiler's errors). A grading the machine broke is not the
//! submission's failure: its tests are `<error type="grader_fault">`.
//!
//! The suite's properties are `lab`, `submission`, `status` (as in the JSON
//! report), `score` and `max_score`, and one `review` property per review
//! flag; its `system-out` is the summary (with the review flags, for
//! instructors). Nothing depends on the clock, so the same report always
//! gives the same XML.
//!
//! # Many gradings in one file
//!
//! A batch writes one file with a suite per student:
//!
//! ```
//! # use xvlab::report::{Report, junit};
//! fn gradebook_xml(graded: &[(String, Report)]) -> Result<String, junit::JunitError> {
//!     junit::render_many(
//!         "lazy",
//!         graded.iter().map(|(id, report)| (id.as_str(), report)),
//!     )
//! }
//! ```
//!
//! [`render_many`] takes (suite name, report) pairs — the student id as the
//! name — in the order the suites should appear, and the name of the whole
//! file's `<testsuites>`; [`suite`] gives one suite to add to a
//! `quick_junit::Report` built elsewhere.

use quick_junit::{
    NonSuccessKind, Property, Report as JunitReport, TestCase, TestCaseStatus, TestSuite,
};

use super::{Build, Report, failure_text, review_text, summary_text};
use crate::shared::exit;

/// Why JUnit XML could not be written.
#[derive(Debug, thiserror::Error)]
pub enum JunitError {
    #[error("write JUnit XML")]
    Serialize(#[from] quick_junit::SerializeError),
}

impl JunitError {
    pub fn exit_code(&self) -> u8 {
        exit::FAILURE
    }
}

/// One grading as a JUnit suite named `name` (a student id, or what was
/// graded).
pub fn suite(name: &str, report: &Report) -> TestSuite {
    let mut suite = TestSuite::new(name);
    suite.set_time(report.execution_time);
    suite.add_properties([
        Property::new("lab", report.lab.as_str()),
        Property::new("submission", report.submission.as_str()),
        Property::new("status", report.status()),
        Property::new("score", report.score().to_string()),
        Property::new("max_score", report.max_score().to_string()),
    ]);
    suite.add_properties(
        report
            .review
            .iter()
            .map(|flag| Property::new("review", flag.to_string())),
    );
    let mut out = summary_text(report);
    if !report.review.is_empty() {
        out.push_str(&review_text(report));
    }
    suite.set_system_out(out);
    let kind = match &report.build {
        Build::Refused(_) => "refused",
        Build::Failed { .. } => "not_built",
        Build::Fault { .. } => "grader_fault",
        Build::Ok { .. } | Build::Interrupted => "failed",
    };
    for t in &report.tests {
        let status = match &t.failure {
            None => TestCaseStatus::success(),
            Some(f) if t.not_run => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(f.reason.as_str());
                s
            }
            Some(f) => {
                let mut s = TestCaseStatus::non_success(match report.build {
                    Build::Fault { .. } => NonSuccessKind::Error,
                    _ => NonSuccessKind::Failure,
                });
                s.set_type(kind)
                    .set_message(first_line(&f.reason))
                    .set_description(failure_text(f));
                s
            }
        };
        let mut case = TestCase::new(t.name.as_str(), status);
        case.set_classname(report.lab.as_str()).set_time(t.duration);
        suite.add_test_case(case);
    }
    suite
}

/// A message attribute holds one line: a refusal's reason may have several
/// (all of them are in the failure's text).
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Several gradings as one JUnit file: a suite per (name, report), in
/// order, under `<testsuites name="{name}">`.
pub fn render_many<'a>(
    name: &str,
    graded: impl IntoIterator<Item = (&'a str, &'a Report)>,
) -> Result<String, JunitError> {
    let mut xml = JunitReport::new(name);
    xml.add_test_suites(graded.into_iter().map(|(id, r)| suite(id, r)));
    let mut text = xml.to_string()?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// One grading as a JUnit file (`xvlab grade --format junit`): the suite
/// is named after what was graded.
pub fn render(report: &Report) -> Result<String, JunitError> {
    render_many(&report.lab, [(report.submission.as_str(), report)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{
        faulted_report, flagged_report, mixed_report, not_built_report, perfect_report,
        refused_report,
    };

    #[test]
    fn failing_report_snapshot() {
        insta::assert_snapshot!(render(&mixed_report()).unwrap());
    }

    #[test]
    fn outcomes_snapshot() {
        let (refused, not_built, faulted, flagged) = (
            refused_report(),
            not_built_report(),
            faulted_report(),
            flagged_report(),
        );
        insta::assert_snapshot!(
            render_many(
                "lazy",
                [
                    ("refused", &refused),
                    ("not-built", &not_built),
                    ("faulted", &faulted),
                    ("flagged", &flagged),
                ]
            )
            .unwrap()
        );
    }

    #[test]
    fn counts_follow_the_outcome() {
        let count =
            |r: &Report, kind: &str| render(r).unwrap().matches(&format!("<{kind} ")).count();
        let mixed = mixed_report();
        assert_eq!(count(&mixed, "failure"), 4);
        assert_eq!(count(&mixed, "error"), 0);
        assert_eq!(count(&perfect_report(), "failure"), 0);
        assert_eq!(count(&faulted_report(), "error"), 6);
        assert_eq!(count(&faulted_report(), "failure"), 0);
        let mut partial = mixed_report();
        partial.interrupted = true;
        partial.tests[2].not_run = true;
        assert_eq!(count(&partial, "skipped"), 1);
        assert_eq!(count(&partial, "failure"), 3);
        let refused = render(&refused_report()).unwrap();
        assert_eq!(refused.matches("type=\"refused\"").count(), 6);
        // The refusal's two lines: the first is the message, both the text.
        assert!(refused.contains(
            "message=\"the submission was refused: kernel/src/evil.rs:1: include_str! reads a file of the grading machine at build time; submissions may not use it\""
        ));
        assert!(refused.contains("kernel/src/evil.rs:2: env! reads"));
    }

    /// What `junitparser` (a JUnit consumer from PyPI) reads in `xml`: per
    /// suite its name, tests, failures, errors, skipped and time, then per
    /// case its name, classname, result kind and message, as JSON.
    fn junitparser_reads(xml: &str) -> serde_json::Value {
        const READER: &str = r#"
import json, sys
from junitparser import JUnitXml, Failure, Error, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
out = []
for suite in xml:
    cases = []
    for case in suite:
        kinds = [(type(r).__name__, r.message, r.type) for r in case.result]
        cases.append({"name": case.name, "classname": case.classname,
                      "time": case.time, "results": kinds})
    out.append({"name": suite.name, "tests": suite.tests, "failures": suite.failures,
                "errors": suite.errors, "skipped": suite.skipped, "time": suite.time,
                "properties": {p.name: p.value for p in suite.properties()},
                "cases": cases})
print(json.dumps(out))
"#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junit.xml");
        std::fs::write(&path, xml).unwrap();
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(READER)
            .arg(&path)
            .output()
            .expect("python3 runs (scripts/setup.sh installs junitparser)");
        assert!(
            out.status.success(),
            "junitparser failed (scripts/setup.sh installs it): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    #[test]
    fn a_junit_consumer_reads_what_a_ci_user_checks() {
        let mut partial = mixed_report();
        partial.interrupted = true;
        partial.tests[5].not_run = true;
        let (faulted, refused) = (faulted_report(), refused_report());
        let xml = render_many(
            "lazy",
            [
                ("alice", &mixed_report()),
                ("bob", &perfect_report()),
                ("carol", &faulted),
                ("dave", &refused),
                ("erin", &partial),
            ],
        )
        .unwrap();
        let suites = junitparser_reads(&xml);
        let summary: Vec<_> = suites
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    [&s["tests"], &s["failures"], &s["errors"], &s["skipped"]]
                        .map(|v| v.as_u64().unwrap()),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("alice".to_string(), [6, 4, 0, 0]),
                ("bob".to_string(), [6, 0, 0, 0]),
                ("carol".to_string(), [6, 0, 6, 0]),
                ("dave".to_string(), [6, 6, 0, 0]),
                ("erin".to_string(), [6, 3, 0, 1]),
            ]
        );
        let alice = &suites[0];
        assert_eq!(alice["time"].as_f64(), Some(110.45));
        assert_eq!(alice["properties"]["score"], "10");
        assert_eq!(alice["properties"]["max_score"], "29");
        assert_eq!(suites[3]["properties"]["status"], "refused");
        let cases = alice["cases"].as_array().unwrap();
        let names: Vec<_> = cases.iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "echo hi",
                "lazy: map",
                "lazy: unmap",
                "usertests: sbrkarg",
                "usertests: stacktest",
                "usertests: all tests"
            ]
        );
        assert!(cases.iter().all(|c| c["classname"] == "lazy"));
        assert_eq!(cases[0]["results"], serde_json::json!([]));
        assert_eq!(
            cases[2]["results"],
            serde_json::json!([[
                "Failure",
                "the kernel panicked: panic: uvmunmap: not mapped",
                "failed"
            ]])
        );
        assert_eq!(cases[4]["time"].as_f64(), Some(90.0));
        assert_eq!(suites[2]["cases"][0]["results"][0][0], "Error");
        assert_eq!(suites[2]["cases"][0]["results"][0][2], "grader_fault");
        assert_eq!(suites[4]["cases"][5]["results"][0][0], "Skipped");
    }

    #[test]
    fn the_same_report_gives_the_same_xml() {
        assert_eq!(
            render(&mixed_report()).unwrap(),
            render(&mixed_report()).unwrap()
        );
    }
}
