//! `xvlab self-test LAB`: the evidence that the grader scores right. It
//! grades the lab's starter, its reference solution and every known-bad
//! submission, and compares each result with the expectation recorded in
//! `expected/<case>.toml` of the lab's grading directory (`grading/<lab>/`
//! for the bundled labs), test by test ([`run`]).
//!
//! An expectation file:
//!
//! ```toml
//! description = "sbrk only grows p.sz; no page-fault handler"
//! patches = ["mutants/no-fault-handler.patch"]   # relative to the grading directory; none = the starter
//! result = "graded"        # or "build-failed", or "refused"
//! score = 12               # graded: the exact score
//! failing = ["echo hi"]    # graded: exactly the tests that must fail
//! exit_code = 102          # refused: the exit code `xvlab grade` gives
//! ```
//!
//! A mismatch names the tests that differ, with their reasons and console
//! evidence. Any case but the reference solution scoring full marks is a
//! mismatch too: a known-bad submission must never get 100.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::build::kbuild::BuildCache;
use crate::grade::{self, GradeError, Options};
use crate::lab::Lab;
use crate::lab::assets::{AssetError, Assets};
use crate::lab::deadline::References;
use crate::lab::rubric::Rubric;
use crate::report::{Build, Report, failure_text, seconds_text};
use crate::run::plan::{Plan, PlanError, TestFilter, Token};
use crate::run::session::SessionEnd;
use crate::shared::exit;
use crate::submission::{PatchInput, Submission};

#[derive(Debug, thiserror::Error)]
pub enum SelfTestError {
    #[error("read the self-test cases of `{lab}`")]
    Assets {
        lab: String,
        #[source]
        source: AssetError,
    },
    #[error("parse `{path}`: {message}")]
    Parse { path: String, message: String },
    #[error("find self-test cases: `{lab}` has none under {dir}/")]
    NoCases { lab: String, dir: String },
    #[error("select self-test cases: no case name contains `{pattern}`")]
    NoMatch { pattern: String },
    #[error("record durations: `{lab}` has no `{REFERENCE_CASE}` case to measure")]
    NoReference { lab: String },
    #[error("write the reference durations to `{}`", path.display())]
    Record {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Grade(#[from] GradeError),
}

impl SelfTestError {
    /// The exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            SelfTestError::NoMatch { .. } | SelfTestError::NoReference { .. } => exit::USAGE,
            SelfTestError::Record { .. } => exit::FAILURE,
            SelfTestError::Grade(e) => e.exit_code(),
            _ => exit::BAD_LAB,
        }
    }
}

/// What a case must give.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Expected {
    /// Built, ran, scored.
    #[default]
    Graded,
    /// Did not compile.
    BuildFailed,
    /// Refused before building (bad patch), with `exit_code`.
    Refused,
}

/// One expectation file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    #[serde(skip)]
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub patches: Vec<String>,
    #[serde(default)]
    pub result: Expected,
    pub score: Option<u32>,
    #[serde(default)]
    pub failing: Vec<String>,
    pub exit_code: Option<u8>,
}

/// Load every case of `lab`, sorted by name, the starter and the solution
/// first.
pub fn load_cases(assets: &Assets, lab: &Lab) -> Result<Vec<Case>, SelfTestError> {
    let dir = lab.expected_dir();
    let files = assets.list(&dir).map_err(|source| SelfTestError::Assets {
        lab: lab.name.clone(),
        source,
    })?;
    let mut cases = Vec::new();
    for path in files.iter().filter(|p| p.ends_with(".toml")) {
        let text = assets
            .read_string(path)
            .map_err(|source| SelfTestError::Assets {
                lab: lab.name.clone(),
                source,
            })?;
        let mut case: Case = toml::from_str(&text).map_err(|e| SelfTestError::Parse {
            path: path.clone(),
            message: e.to_string().trim().to_string(),
        })?;
        case.name = Path::new(path)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let problem = match case.result {
            Expected::Graded if case.score.is_none() => Some("a graded case needs `score`"),
            Expected::Refused if case.exit_code.is_none() => {
                Some("a refused case needs `exit_code`")
            }
            Expected::Refused | Expected::BuildFailed
                if !case.failing.is_empty() || case.score.is_some() =>
            {
                Some("`score` and `failing` only apply to graded cases")
            }
            _ => None,
        };
        if let Some(message) = problem {
            return Err(SelfTestError::Parse {
                path: path.clone(),
                message: message.to_string(),
            });
        }
        cases.push(case);
    }
    if cases.is_empty() {
        return Err(SelfTestError::NoCases {
            lab: lab.name.clone(),
            dir,
        });
    }
    let rank = |n: &str| match n {
        "starter" => 0,
        "solution" => 1,
        _ => 2,
    };
    cases.sort_by(|a, b| (rank(&a.name), &a.name).cmp(&(rank(&b.name), &b.name)));
    Ok(cases)
}

/// Check a case's expectation against the rubric: the tests it names exist
/// and the score it states is what its failing tests leave.
fn check_case(case: &Case, rubric: &Rubric) -> Vec<String> {
    let mut problems = Vec::new();
    for name in &case.failing {
        if !rubric.tests.iter().any(|t| &t.name == name) {
            problems.push(format!(
                "names test `{name}`, which the rubric does not have"
            ));
        }
    }
    if let Some(score) = case.score {
        let lost: u32 = rubric
            .tests
            .iter()
            .filter(|t| case.failing.contains(&t.name))
            .map(|t| t.points)
            .sum();
        let implied = rubric.total.saturating_sub(lost);
        if implied != score {
            problems.push(format!(
                "says score {score}, but failing exactly those tests scores {implied}"
            ));
        }
        if score == rubric.total && case.name != "solution" {
            problems
                .push("expects full marks: only the reference solution may get them".to_string());
        }
    }
    problems
}

/// A case's result in a few words, for its line of output.
fn summary(report: &Report) -> String {
    match &report.build {
        Build::Refused(refusal) => format!("refused (exit code {})", refusal.exit_code),
        _ if report.built() => {
            let failed = report.tests.iter().filter(|t| t.failure.is_some()).count();
            format!(
                "{}/{}, {failed} test(s) failed",
                report.score(),
                report.max_score()
            )
        }
        _ => "did not build".to_string(),
    }
}

/// Compare a case's report (graded, not built or refused) with its
/// expectation; the mismatches, readably.
fn compare(case: &Case, report: &Report) -> Vec<String> {
    let mut problems = Vec::new();
    if let Build::Refused(refusal) = &report.build {
        let (code, message) = (refusal.exit_code, &refusal.reason);
        if case.result != Expected::Refused {
            problems.push(format!("was refused (exit code {code}): {message}"));
        } else if Some(code) != case.exit_code {
            problems.push(format!(
                "was refused with exit code {code} instead of {}: {message}",
                case.exit_code.unwrap_or_default()
            ));
        }
        return problems;
    }
    match case.result {
        Expected::BuildFailed => {
            if report.built() {
                problems.push("expected the build to fail, but it built".to_string());
            }
            return problems;
        }
        Expected::Refused => {
            problems.push(format!(
                "expected the submission to be refused (exit code {}), but it was graded",
                case.exit_code.unwrap_or_default()
            ));
            return problems;
        }
        Expected::Graded => {}
    }
    if !report.built() {
        problems.push("expected it to build, but it did not".to_string());
        return problems;
    }
    let expected: BTreeSet<&str> = case.failing.iter().map(String::as_str).collect();
    for test in &report.tests {
        let should_fail = expected.contains(test.name.as_str());
        match (&test.failure, should_fail) {
            (Some(failure), false) => {
                problems.push(format!(
                    "`{}` failed but should pass: {}",
                    test.name,
                    failure_text(failure)
                ));
            }
            (None, true) => problems.push(format!("`{}` passed but should fail", test.name)),
            _ => {}
        }
    }
    if let Some(score) = case.score
        && report.score() != score
    {
        problems.push(format!(
            "scored {}/{} instead of {score}",
            report.score(),
            report.max_score()
        ));
    }
    if report.full_marks() && case.name != "solution" {
        problems.push("got full marks: a known-bad submission must not".to_string());
    }
    problems
}

/// How to run the self-test.
#[derive(Clone, Debug)]
pub struct SelfTestOptions {
    /// Only the cases whose names contain one of these.
    pub only: Vec<String>,
    /// How each case is graded (VMs at once, the build sandbox).
    pub grading: Options,
    /// Write the reference solution's measured VM durations here (the
    /// lab's `durations.toml`, from which deadlines are scaled).
    pub record_durations: Option<PathBuf>,
}

/// The case whose measured durations are the lab's reference durations.
pub const REFERENCE_CASE: &str = "solution";

/// Grade every case (or those whose names contain one of `options.only`)
/// and compare. Prints one line per case and the details of mismatches;
/// returns the exit code: OK when every case matched.
pub async fn run(
    assets: &Assets,
    lab: &Lab,
    rubric: &Rubric,
    options: &SelfTestOptions,
    cache: &BuildCache,
    qemu: &Path,
    cancel: &CancellationToken,
) -> Result<u8, SelfTestError> {
    let only = &options.only;
    let mut cases = load_cases(assets, lab)?;
    if options.record_durations.is_some() && !cases.iter().any(|c| c.name == REFERENCE_CASE) {
        return Err(SelfTestError::NoReference {
            lab: lab.name.clone(),
        });
    }
    for pattern in only {
        if !cases.iter().any(|c| c.name.contains(pattern.as_str())) {
            return Err(SelfTestError::NoMatch {
                pattern: pattern.clone(),
            });
        }
    }
    if !only.is_empty() {
        cases.retain(|c| only.iter().any(|p| c.name.contains(p.as_str())));
    }

    let started = Instant::now();
    let mut mismatched = 0;
    for case in &cases {
        let case_started = Instant::now();
        let mut problems = check_case(case, rubric);
        let report = grade_case(
            assets,
            lab,
            rubric,
            case,
            &options.grading,
            cache,
            qemu,
            cancel,
        )
        .await?;
        problems.extend(compare(case, &report));
        if case.name == REFERENCE_CASE
            && report.built()
            && let Some(path) = &options.record_durations
        {
            record_durations(&report, path, &mut problems)?;
        }
        let summary = summary(&report);
        let time = seconds_text(case_started.elapsed());
        if problems.is_empty() {
            println!("ok    {:<28} {summary} ({time})", case.name);
        } else {
            mismatched += 1;
            println!("FAIL  {:<28} {summary} ({time})", case.name);
            println!("      {}", case.description);
            for p in &problems {
                println!("      - {p}");
            }
            if !matches!(report.build, Build::Refused(_)) {
                print_evidence(&report, case);
            }
        }
        if cancel.is_cancelled() {
            return Err(GradeError::Interrupted.into());
        }
    }
    println!(
        "{} of {} case(s) matched their expectations ({})",
        cases.len() - mismatched,
        cases.len(),
        seconds_text(started.elapsed())
    );
    Ok(if mismatched == 0 {
        exit::OK
    } else {
        exit::TESTS_FAILED
    })
}

/// Write the VM durations of the reference solution's `report` to `path`,
/// unless some VM did not complete (a timed-out VM's duration is its
/// deadline, not a measurement), which is a problem of the case instead.
fn record_durations(
    report: &Report,
    path: &Path,
    problems: &mut Vec<String>,
) -> Result<(), SelfTestError> {
    let unfinished: Vec<&str> = report
        .sessions
        .iter()
        .filter(|s| s.end != SessionEnd::Completed)
        .map(|s| s.name.as_str())
        .collect();
    if !unfinished.is_empty() {
        problems.push(format!(
            "durations not recorded: VMs that did not complete: {}",
            unfinished.join(", ")
        ));
        return Ok(());
    }
    let references =
        References::from_measured(report.sessions.iter().map(|s| (s.name.clone(), s.duration)));
    std::fs::write(path, references.render()).map_err(|source| SelfTestError::Record {
        path: path.to_path_buf(),
        source,
    })?;
    println!(
        "      recorded {} VM durations in {}",
        references.len(),
        path.display()
    );
    Ok(())
}

/// The console evidence of the tests whose verdict differed.
fn print_evidence(report: &Report, case: &Case) {
    for test in &report.tests {
        let should_fail = case.failing.contains(&test.name);
        let Some(failure) = &test.failure else {
            continue;
        };
        if should_fail {
            continue;
        }
        if let Some(evidence) = &failure.evidence {
            println!("      console of {} (last lines):", evidence.session);
            for line in &evidence.lines {
                println!("        | {line}");
            }
        }
    }
}

/// What a case submits: its patches read from the lab's grading material,
/// or, for a case without patches, the starter tree itself (an empty patch
/// set is something the grader refuses, so it cannot stand for the starter).
fn case_submission(assets: &Assets, lab: &Lab, case: &Case) -> Result<Submission, SelfTestError> {
    if case.patches.is_empty() {
        return Ok(Submission::Starter);
    }
    let mut inputs = Vec::new();
    for p in &case.patches {
        let bytes = assets
            .read(&lab.grading_path(p))
            .map_err(|source| SelfTestError::Assets {
                lab: lab.name.clone(),
                source,
            })?;
        inputs.push(PatchInput {
            name: p.clone(),
            bytes: bytes.into_owned(),
        });
    }
    Ok(Submission::Patches(inputs))
}

#[allow(clippy::too_many_arguments)]
async fn grade_case(
    assets: &Assets,
    lab: &Lab,
    rubric: &Rubric,
    case: &Case,
    options: &Options,
    cache: &BuildCache,
    qemu: &Path,
    cancel: &CancellationToken,
) -> Result<Report, SelfTestError> {
    let submission = case_submission(assets, lab, case)?;
    let plan = Plan::new(rubric, Token::random()?, &TestFilter::all())?;
    // A refused case is a report too, with the stage and exit code of
    // its refusal.
    let graded = grade::grade(
        assets,
        lab,
        rubric,
        &plan,
        &submission,
        options,
        cache,
        qemu,
        &(),
        cancel,
    )
    .await?;
    Ok(graded.report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lazy() -> Lab {
        Lab::load(&Assets::Embedded, "lazy").unwrap()
    }

    fn rubric() -> Rubric {
        let text = Assets::Embedded.read_string(&lazy().rubric_path()).unwrap();
        Rubric::parse(&text, "rubric.toml").unwrap()
    }

    #[test]
    fn bundled_cases_agree_with_the_rubric() {
        let rubric = rubric();
        let cases = load_cases(&Assets::Embedded, &lazy()).unwrap();
        assert_eq!(cases[0].name, "starter");
        assert_eq!(cases[1].name, "solution");
        for case in &cases {
            let problems = check_case(case, &rubric);
            assert!(problems.is_empty(), "{}: {problems:?}", case.name);
        }
        // The issue asks for at least twelve known-bad kernels besides the
        // non-kernel bad inputs.
        let graded_mutants = cases
            .iter()
            .filter(|c| c.result == Expected::Graded && c.name != "starter" && c.name != "solution")
            .count();
        assert!(graded_mutants >= 12, "only {graded_mutants} graded mutants");
    }

    #[test]
    fn the_starter_case_grades_the_starter_and_mutants_grade_their_patches() {
        let cases = load_cases(&Assets::Embedded, &lazy()).unwrap();
        let starter = cases.iter().find(|c| c.name == "starter").unwrap();
        assert!(matches!(
            case_submission(&Assets::Embedded, &lazy(), starter).unwrap(),
            Submission::Starter
        ));
        let mutant = cases.iter().find(|c| c.name == "no-zero").unwrap();
        match case_submission(&Assets::Embedded, &lazy(), mutant).unwrap() {
            Submission::Patches(inputs) => {
                assert_eq!(inputs.len(), mutant.patches.len());
                assert!(inputs.iter().all(|i| !i.bytes.is_empty()));
            }
            _ => panic!("a mutant must be graded as its patches"),
        }
    }

    /// A graded case named `bad` expecting `score` with `failing` tests.
    fn graded_case(score: u32, failing: &[&str]) -> Case {
        Case {
            name: "bad".into(),
            description: String::new(),
            patches: vec![],
            result: Expected::Graded,
            score: Some(score),
            failing: failing.iter().map(|f| f.to_string()).collect(),
            exit_code: None,
        }
    }

    /// A refused case named `bad` expecting exit code `code`.
    fn refused_case(code: u8) -> Case {
        Case {
            result: Expected::Refused,
            score: None,
            exit_code: Some(code),
            ..graded_case(0, &[])
        }
    }

    #[test]
    fn a_refused_case_matches_by_the_exit_code_of_its_report() {
        let report = crate::report::tests::refused_report();
        assert_eq!(summary(&report), "refused (exit code 107)");
        assert!(compare(&refused_case(exit::SOURCE_REFUSED), &report).is_empty());
        let wrong = compare(&refused_case(exit::PATCH_NOT_EDITABLE), &report);
        assert_eq!(wrong.len(), 1);
        assert!(
            wrong[0].starts_with(
                "was refused with exit code 107 instead of 102: kernel/src/evil.rs:1:"
            ),
            "{wrong:?}"
        );
        let graded = compare(&graded_case(0, &[]), &report);
        assert!(
            graded[0].starts_with("was refused (exit code 107): "),
            "{graded:?}"
        );
        // And a refused case that was graded says so.
        let built = crate::report::tests::not_built_report();
        let problems = compare(&refused_case(exit::SOURCE_REFUSED), &built);
        assert!(
            problems[0].contains("expected the submission to be refused (exit code 107)"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_case_claiming_full_marks_is_refused() {
        let rubric = rubric();
        let case = graded_case(rubric.total, &[]);
        let problems = check_case(&case, &rubric);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("only the reference solution")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_score_that_disagrees_with_the_failing_tests_is_refused() {
        let rubric = rubric();
        let case = graded_case(1, &["echo hi", "no such test"]);
        let problems = check_case(&case, &rubric);
        assert!(
            problems.iter().any(|p| p.contains("no such test")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("says score 1")),
            "{problems:?}"
        );
    }
}
