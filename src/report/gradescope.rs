//! Gradescope's autograder `results.json`, exactly as its specification
//! has it and nothing more: top-level `score`, `execution_time` (whole
//! seconds), `output` and `tests`, each test with `name`, `score`,
//! `max_score`, `status` (`passed`/`failed`) and `output`.
//!
//! Visibility is left to Gradescope's defaults (and to the assignment's
//! settings), since a rubric says nothing about it — except for the one
//! extra entry a report with review flags gets ([`REVIEW_TEST`]): worth
//! nothing, `"visibility": "hidden"` (Gradescope shows hidden tests to
//! instructors only), its `output` the flags; a student who tried to forge
//! verdicts is not told what gave it away.

use serde_json::{Value, json};

use super::{Report, failure_text, review_text, summary_text};
use crate::check::TestResult;

/// The name of the hidden test entry that carries review flags.
pub const REVIEW_TEST: &str = "review: suspicious submission";

/// The report as Gradescope's JSON value.
pub fn to_value(report: &Report) -> Value {
    results(report, test_value)
}

/// The top-level fields Gradescope defines, with each test rendered by
/// `test` (the native JSON adds fields to both).
pub(super) fn results(report: &Report, test: impl Fn(&TestResult) -> Value) -> Value {
    json!({
        "score": report.score(),
        "execution_time": report.execution_time.as_secs_f64().round() as u64,
        "output": summary_text(report),
        "tests": report
            .tests
            .iter()
            .map(test)
            .chain((!report.review.is_empty()).then(|| review_value(report)))
            .collect::<Vec<_>>(),
    })
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
