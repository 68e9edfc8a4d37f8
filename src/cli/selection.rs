//! Which tests `xvlab grade` runs, beyond `--test`: `--list` (the tests a
//! grading would run, without building or booting anything) and `--failed`
//! (the tests that failed or were not run in the student copy's last
//! grading, which every grading of a copy records in `.xvlab/last.json`,
//! a folder the copy's `.gitignore` and `xvlab pack` leave out).
//!
//! The record maps each test graded to its status; a grading of some tests
//! updates only theirs, so that `--failed` after fixing one of three
//! failures runs the other two.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Failure;
use crate::lab::rubric::Rubric;
use crate::report::Report;
use crate::run::plan::{Plan, TestFilter};
use crate::shared::exit;

/// The copy's folder of xvlab's own state, relative to its root.
pub const STATE_DIR: &str = ".xvlab";

/// The last grading's results, in [`STATE_DIR`].
const LAST: &str = "last.json";

/// What a copy's last gradings said, per test.
#[derive(Debug, Default, Deserialize, Serialize)]
struct LastGrading {
    /// Test name → `passed`, `failed` or `not_run`.
    tests: BTreeMap<String, String>,
}

fn last_path(root: &Path) -> PathBuf {
    root.join(STATE_DIR).join(LAST)
}

/// Records `report`'s results in the copy at `root`, over those of tests
/// it did not run. A grading that did not run the tests (refused, not
/// built, interrupted before any VM, the machine failed) records each as
/// failed or not run, as the report says.
pub fn record(root: &Path, report: &Report) -> Result<(), Failure> {
    let path = last_path(root);
    let mut last = read(&path).ok().flatten().unwrap_or_default();
    for t in &report.tests {
        let status = if t.not_run {
            "not_run"
        } else if t.passed() {
            "passed"
        } else {
            "failed"
        };
        last.tests.insert(t.name.clone(), status.to_string());
    }
    let write_failed = |e: std::io::Error| {
        Failure::new(
            exit::FAILURE,
            format!("failed to record the results in `{}`: {e}", path.display()),
        )
    };
    std::fs::create_dir_all(root.join(STATE_DIR)).map_err(write_failed)?;
    // A pretty-printed map of strings cannot fail to serialise.
    let text = serde_json::to_string_pretty(&last).unwrap_or_default();
    std::fs::write(&path, text + "\n").map_err(write_failed)
}

/// `Ok(None)` when there is no record.
fn read(path: &Path) -> Result<Option<LastGrading>, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::new(
                exit::FAILURE,
                format!("failed to read `{}`: {e}", path.display()),
            ));
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Failure::new(
            exit::FAILURE,
            format!(
                "failed to read `{}`: {e}; remove it and grade everything once",
                path.display()
            ),
        )
    })
}

/// `--failed`: a filter for the tests of `rubric` that failed or were not
/// run in the last grading of the copy at `root`. `Err` with exit code 0
/// and a message when everything passed, with a usage error when the copy
/// was never graded.
pub fn failed_filter(root: &Path, rubric: &Rubric) -> Result<TestFilter, Failure> {
    let Some(last) = read(&last_path(root))? else {
        return Err(Failure::new(
            exit::USAGE,
            "--failed: this copy has not been graded yet; run `xvlab grade` first",
        ));
    };
    // In rubric order; tests the rubric no longer has are left out, and
    // tests never graded count as not run.
    let names: Vec<&str> = rubric
        .tests
        .iter()
        .map(|t| t.name.as_str())
        .filter(|n| last.tests.get(*n).is_none_or(|s| s != "passed"))
        .collect();
    if names.is_empty() {
        return Err(Failure::new(
            exit::OK,
            "--failed: every test passed in the last grading; nothing to run (`xvlab grade` runs them all)",
        ));
    }
    Ok(TestFilter::exact(&names))
}

/// `--list`: the tests of `plan`, one a line (`name  points  session`),
/// or as JSON.
pub fn list(plan: &Plan, json: bool) -> String {
    let rows: Vec<(String, u32, String)> = plan
        .tests()
        .iter()
        .map(|t| {
            let session = match (t.all_cases, t.checks.first()) {
                (true, Some(c)) => format!(
                    "{} (all {} cases)",
                    c.session.split('/').next().unwrap_or(&c.session),
                    t.checks.len()
                ),
                (false, Some(c)) => c.session.clone(),
                (_, None) => String::new(),
            };
            (t.name.clone(), t.points, session)
        })
        .collect();
    if json {
        let value: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, points, session)| {
                serde_json::json!({ "name": name, "points": points, "session": session })
            })
            .collect();
        return serde_json::to_string_pretty(&value).unwrap_or_default() + "\n";
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let mut s = String::new();
    for (name, points, session) in &rows {
        s.push_str(&format!("{name:<width$}  {points:>3}  {session}\n"));
    }
    let total: u32 = rows.iter().map(|r| r.1).sum();
    s.push_str(&format!("{} tests, {total} points\n", rows.len()));
    s
}
