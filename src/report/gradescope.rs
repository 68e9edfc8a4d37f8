//! Gradescope's autograder `results.json`, exactly as its specification
//! has it and nothing more: top-level `score`, `execution_time` (whole
//! seconds), `output` and `tests`, each test with `name`, `score`,
//! `max_score`, `status` (`passed`/`failed`) and `output`.
//!
//! What the rubric says of how Gradescope shows results is passed on: a
//! test's `visibility`, and the top-level `output_format` and
//! `stdout_visibility` (its `[gradescope]` table); a field the rubric
//! leaves out is left out, so Gradescope's defaults (and the assignment's
//! settings) apply. The `output` texts are plain text with console lines,
//! so for `md` each is put in a fenced code block and for `html` in an
//! escaped `<pre>`: either way the console shows as it was printed.
//!
//! A report with review flags gets one extra entry ([`REVIEW_TEST`]): worth
//! nothing, `"visibility": "hidden"` (Gradescope shows hidden tests to
//! instructors only), its `output` the flags; a student who tried to forge
//! verdicts is not told what gave it away.

use serde_json::{Value, json};

use super::{Report, failure_text, review_text, summary_text};
use crate::check::TestResult;
use crate::lab::rubric::OutputFormat;

/// The name of the hidden test entry that carries review flags.
pub const REVIEW_TEST: &str = "review: suspicious submission";

/// The report as Gradescope's JSON value.
pub fn to_value(report: &Report) -> Value {
    results(report, test_value)
}

/// The top-level fields Gradescope defines, with each test rendered by
/// `test` (the native JSON adds fields to both).
pub(super) fn results(report: &Report, test: impl Fn(&TestResult) -> Value) -> Value {
    let format = report.gradescope.output_format;
    let tests: Vec<Value> = report
        .tests
        .iter()
        .map(|t| {
            let mut value = test(t);
            if let Some(v) = report.visibility.get(&t.name) {
                value["visibility"] = json!(v.as_str());
            }
            value
        })
        .chain((!report.review.is_empty()).then(|| review_value(report)))
        .map(|mut value| {
            let text = value["output"].as_str().unwrap_or_default();
            value["output"] = json!(formatted(text, format));
            value
        })
        .collect();
    let mut value = json!({
        "score": report.score(),
        "execution_time": report.execution_time.as_secs_f64().round() as u64,
        "output": formatted(&summary_text(report), format),
        "tests": tests,
    });
    if let Some(f) = format {
        value["output_format"] = json!(f.as_str());
    }
    if let Some(v) = report.gradescope.stdout_visibility {
        value["stdout_visibility"] = json!(v.as_str());
    }
    value
}

/// Plain `text` as Gradescope shows it in `format`: console lines must not
/// be read as Markdown or HTML. Empty text stays empty (a passed test).
fn formatted(text: &str, format: Option<OutputFormat>) -> String {
    if text.is_empty() {
        return String::new();
    }
    match format {
        Some(OutputFormat::Md) => {
            // A fence longer than any run of backticks in the text.
            let longest = text
                .split(|c| c != '`')
                .map(str::len)
                .max()
                .unwrap_or_default();
            let fence = "`".repeat(longest.max(2) + 1);
            format!("{fence}text\n{}\n{fence}\n", text.trim_end_matches('\n'))
        }
        Some(OutputFormat::Html) => {
            let escaped = text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;");
            format!("<pre>{escaped}</pre>\n")
        }
        Some(OutputFormat::Text | OutputFormat::SimpleFormat | OutputFormat::Ansi) | None => {
            text.to_string()
        }
    }
}

/// The hidden entry for instructors that lists the review flags.
fn review_value(report: &Report) -> Value {
    json!({
        "name": REVIEW_TEST,
        "score": 0,
        "max_score": 0,
        "status": "failed",
        "visibility": "hidden",
        "output": review_text(report),
    })
}

/// The fields Gradescope defines for one test. A test that was not run
/// has no `status` (Gradescope knows only `passed` and `failed`).
pub(super) fn test_value(t: &TestResult) -> Value {
    let mut value = json!({
        "name": t.name,
        "score": t.score(),
        "max_score": t.max_score,
        "output": t.failure.as_ref().map(failure_text).unwrap_or_default(),
    });
    if !t.not_run {
        value["status"] = json!(if t.passed() { "passed" } else { "failed" });
    }
    value
}

/// `results.json` text, pretty-printed, with a final newline.
pub fn render(report: &Report) -> String {
    format!("{:#}\n", to_value(report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::rubric::{GradescopeSettings, Visibility};
    use crate::report::tests::{
        faulted_report, flagged_report, mixed_report, not_built_report, perfect_report,
        refused_report,
    };

    #[test]
    fn mixed_report_snapshot() {
        insta::assert_json_snapshot!(to_value(&mixed_report()));
    }

    #[test]
    fn perfect_report_snapshot() {
        insta::assert_json_snapshot!(to_value(&perfect_report()));
    }

    #[test]
    fn refused_report_snapshot() {
        insta::assert_json_snapshot!(to_value(&refused_report()));
    }

    #[test]
    fn not_built_report_snapshot() {
        insta::assert_json_snapshot!(to_value(&not_built_report()));
    }

    #[test]
    fn faulted_report_snapshot() {
        insta::assert_json_snapshot!(to_value(&faulted_report()));
    }

    #[test]
    fn flagged_report_snapshot() {
        insta::assert_json_snapshot!(to_value(&flagged_report()));
    }

    /// The mixed report as graded with a rubric that sets Gradescope's
    /// fields: two tests hidden until the due date, Markdown output.
    fn presented_report(format: OutputFormat) -> Report {
        let mut report = mixed_report();
        report.gradescope = GradescopeSettings {
            output_format: Some(format),
            stdout_visibility: Some(Visibility::Hidden),
        };
        report.visibility = [
            ("usertests: stacktest", Visibility::AfterDueDate),
            ("lazy: map", Visibility::Visible),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect();
        report.flag_for_review("verdict lines without a valid seal");
        report
    }

    #[test]
    fn rubric_presentation_snapshot() {
        insta::assert_json_snapshot!(to_value(&presented_report(OutputFormat::Md)));
    }

    #[test]
    fn rubric_visibility_and_formats_reach_results_json() {
        let v = to_value(&presented_report(OutputFormat::Md));
        assert_eq!(v["output_format"], "md");
        assert_eq!(v["stdout_visibility"], "hidden");
        let vis: Vec<_> = v["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().unwrap(),
                    t.get("visibility").and_then(Value::as_str),
                )
            })
            .collect();
        assert_eq!(
            vis,
            [
                ("echo hi", None),
                ("lazy: map", Some("visible")),
                ("lazy: unmap", None),
                ("usertests: sbrkarg", None),
                ("usertests: stacktest", Some("after_due_date")),
                ("usertests: all tests", None),
                (REVIEW_TEST, Some("hidden")),
            ]
        );
        // Markdown: every non-empty output is one fenced block; a passed
        // test's output stays empty.
        for t in v["tests"].as_array().unwrap() {
            let out = t["output"].as_str().unwrap();
            assert!(
                out.is_empty() || (out.starts_with("```text\n") && out.ends_with("\n```\n")),
                "{out}"
            );
        }
        assert_eq!(v["tests"][0]["output"], "");
        // HTML: escaped inside <pre>.
        let h = to_value(&presented_report(OutputFormat::Html));
        let out = h["tests"][4]["output"].as_str().unwrap();
        let inner = out
            .strip_prefix("<pre>")
            .and_then(|o| o.strip_suffix("</pre>\n"))
            .unwrap();
        assert!(inner.starts_with("timed out after 90s"), "{out}");
        assert!(!inner.contains('<'), "{out}");
        // Plain formats are left as they are.
        let t = to_value(&presented_report(OutputFormat::Text));
        assert_eq!(t["output"], to_value(&mixed_report())["output"]);
        // Scores do not depend on visibility.
        assert_eq!(v["score"], to_value(&mixed_report())["score"]);
    }

    #[test]
    fn a_markdown_fence_outlasts_backticks_in_the_text() {
        let out = formatted("a ``` b\n", Some(OutputFormat::Md));
        assert_eq!(out, "````text\na ``` b\n````\n");
        assert_eq!(formatted("", Some(OutputFormat::Md)), "");
        assert_eq!(
            formatted("<a & \"b\">", Some(OutputFormat::Html)),
            "<pre>&lt;a &amp; &quot;b&quot;&gt;</pre>\n"
        );
    }

    #[test]
    fn review_flags_are_one_hidden_entry_worth_nothing() {
        let v = to_value(&flagged_report());
        let tests = v["tests"].as_array().unwrap();
        let review: Vec<_> = tests.iter().filter(|t| t["name"] == REVIEW_TEST).collect();
        assert_eq!(review.len(), 1);
        assert_eq!(review[0]["visibility"], "hidden");
        assert_eq!(
            (review[0]["score"].as_u64(), review[0]["max_score"].as_u64()),
            (Some(0), Some(0))
        );
        let output = review[0]["output"].as_str().unwrap();
        assert!(
            output.contains("kernel/src/trap.rs:12: the string \"test sbrkarg: OK\""),
            "{output}"
        );
        assert!(
            output.contains("verdict lines without a valid seal"),
            "{output}"
        );
        // The score and what students see at the top say nothing of it.
        assert_eq!(v["score"], 29);
        assert!(!v["output"].as_str().unwrap().contains("review"));
        assert!(
            !to_value(&perfect_report())["tests"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["name"] == REVIEW_TEST)
        );
    }

    #[test]
    fn has_only_gradescope_fields() {
        // A faulted report too: the machine's failure fits the schema.
        let f = to_value(&faulted_report());
        assert_eq!(f["score"], 0);
        assert!(
            f["output"]
                .as_str()
                .unwrap()
                .contains("grading machine failed")
        );
        let mut keys: Vec<_> = f.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["execution_time", "output", "score", "tests"]);
        let v = to_value(&mixed_report());
        let mut top: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        top.sort();
        assert_eq!(top, ["execution_time", "output", "score", "tests"]);
        for t in v["tests"].as_array().unwrap() {
            let mut keys: Vec<_> = t.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            assert_eq!(keys, ["max_score", "name", "output", "score", "status"]);
        }
        let v = to_value(&flagged_report());
        let review = v["tests"].as_array().unwrap().last().unwrap();
        let mut keys: Vec<_> = review.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "max_score",
                "name",
                "output",
                "score",
                "status",
                "visibility"
            ]
        );
    }
}
