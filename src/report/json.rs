//! The native JSON rendering: a superset of Gradescope's `results.json`
//! (`score`, `max_score`, `execution_time`, `output`, `tests[]` with
//! `name`, `score`, `max_score`, `status`, `output`), so tools that read
//! Gradescope results read it too, plus what xvlab knows beyond that: per
//! test `duration`, `reason`, `said` (the test program's own failure line,
//! the one the human report leads a failure with; null when it printed
//! none), `details` and `evidence`; the lab, the
//! submission, the build (for a refused submission: `stage` that refused
//! it, `reason` and `exit_code`), a summary of every VM, and the review flags
//! (`review`: `file`, `line` — null for a flag about the whole run — and
//! `reason`), which also appear as Gradescope's hidden review entry.
//!
//! Durations are seconds as numbers, to the millisecond; `execution_time`
//! is whole seconds, as Gradescope has it.

use serde_json::{Value, json};

use super::{Build, Report, end_kind, gradescope, seconds_value};
use crate::check::TestResult;

/// The report as a JSON value.
pub fn to_value(report: &Report) -> Value {
    let build = match &report.build {
        Build::Ok {
            duration,
            confinement,
        } => json!({
            "status": "ok",
            "duration": seconds_value(*duration),
            "sandboxed": confinement.sandboxed,
            "sandbox": confinement.how,
        }),
        Build::Failed {
            duration,
            errors,
            confinement,
        } => json!({
            "status": "failed",
            "duration": seconds_value(*duration),
            "errors": errors,
            "sandboxed": confinement.sandboxed,
            "sandbox": confinement.how,
        }),
        Build::Refused(refusal) => json!({
            "status": "refused",
            "stage": refusal.stage.name(),
            "reason": refusal.reason,
            "exit_code": refusal.exit_code,
        }),
        Build::Interrupted => json!({ "status": "interrupted" }),
        Build::Fault { reason } => json!({
            "status": "grader_fault",
            "reason": reason,
        }),
    };
    let sessions: Vec<Value> = report
        .sessions
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "end": end_kind(&s.end),
                "description": s.description,
                "duration": seconds_value(s.duration),
            })
        })
        .collect();
    let review: Vec<Value> = report
        .review
        .iter()
        .map(|flag| {
            json!({
                "file": flag.location.as_ref().map(|l| &l.file),
                "line": flag.location.as_ref().map(|l| l.line),
                "reason": flag.reason,
            })
        })
        .collect();
    let mut value = gradescope::results(report, test_value);
    extend(
        &mut value,
        json!({
            "lab": report.lab,
            "title": report.title,
            "submission": report.submission,
            "status": report.status(),
            "max_score": report.max_score(),
            "duration": seconds_value(report.execution_time),
            "build": build,
            "sessions": sessions,
            "review": review,
        }),
    );
    value
}

/// Gradescope's fields for one test, and what xvlab knows beyond them.
fn test_value(t: &TestResult) -> Value {
    let f = t.failure.as_ref();
    let mut value = gradescope::test_value(t);
    extend(
        &mut value,
        json!({
            "duration": seconds_value(t.duration),
            "reason": f.map(|f| f.reason.clone()),
            "said": f.and_then(|f| f.said.clone()),
            "details": f.map(|f| f.details.clone()).unwrap_or_default(),
            "evidence": f.and_then(|f| f.evidence.as_ref()).map(|e| json!({
                "session": e.session,
                "lines": e.lines,
            })),
        }),
    );
    if t.not_run {
        value["status"] = json!("not_run");
    }
    value
}

/// Adds the fields of the object `more` to the object `value`.
fn extend(value: &mut Value, more: Value) {
    if let (Value::Object(value), Value::Object(more)) = (value, more) {
        value.extend(more);
    }
}

/// The report as pretty-printed JSON, with a final newline.
pub fn render(report: &Report) -> String {
    format!("{:#}\n", to_value(report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{
        faulted_report, flagged_report, mixed_report, not_built_report, refused_report,
    };

    #[test]
    fn mixed_report_snapshot() {
        insta::assert_json_snapshot!(to_value(&mixed_report()));
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

    /// `said` is the test program's own line, the one the human report
    /// leads the failure with; null where the program said nothing.
    #[test]
    fn failed_tests_say_what_the_test_program_said() {
        let r = crate::report::tests::own_reasons_report();
        let value = to_value(&r);
        let test = |name: &str| {
            value["tests"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["name"] == name)
                .unwrap()
                .clone()
        };
        let said = "sbrkarg: write(fd, sbrk'd page, 4096) returned -1";
        assert_eq!(test("usertests: sbrkarg")["said"], said);
        let human = crate::report::human::render(&r);
        assert!(
            human.contains(&format!("usertests: sbrkarg: FAIL: {said}\n")),
            "{human}"
        );
        assert_eq!(
            test("lazy: map")["said"],
            "lazy alloc: an untouched page at 0x2b008 is not zero"
        );
        assert!(test("echo hi")["said"].is_null());
        // An all-cases test names the cases instead.
        assert!(test("usertests: all tests")["said"].is_null());
        assert!(test("usertests: all tests")["reason"].is_string());
    }

    #[test]
    fn is_a_superset_of_gradescope() {
        for r in [mixed_report(), flagged_report()] {
            is_a_superset_of_gradescope_for(&r);
        }
    }

    fn is_a_superset_of_gradescope_for(r: &Report) {
        let ours = to_value(r);
        let theirs = crate::report::gradescope::to_value(r);
        for key in ["score", "execution_time", "output"] {
            assert_eq!(ours[key], theirs[key], "{key}");
        }
        let (ours, theirs) = (
            ours["tests"].as_array().unwrap(),
            theirs["tests"].as_array().unwrap(),
        );
        assert_eq!(ours.len(), theirs.len());
        for (o, t) in ours.iter().zip(theirs) {
            for (k, v) in t.as_object().unwrap() {
                assert_eq!(&o[k], v, "{k}");
            }
        }
    }

    #[test]
    fn renders_parseable_json() {
        let text = render(&mixed_report());
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, to_value(&mixed_report()));
    }
}
