//! Reports: the one result model of a grading run ([`Report`]) and its
//! renderings, for a terminal ([`human`]), as a web page ([`html`]), as
//! native JSON ([`json`]), as Gradescope's `results.json`
//! ([`gradescope`]) and as JUnit XML for CI ([`junit`]); and two gradings
//! compared ([`diff`], for `xvlab diff`).
//!
//! The model holds what every rendering needs and nothing a rendering
//! decides: results per test (from `check`), a summary per VM, the build's
//! outcome (or the stage that refused the submission before any build: a
//! result like any other, not an error), the run's wall-clock time, and
//! what an instructor should look at before trusting the score
//! ([`Report::review`]: literals of the source that spell verdicts, found
//! before the build, and whatever later checks add with
//! [`Report::flag_for_review`]); review flags are never scored, and only
//! instructors see them on Gradescope. Score, maximum and exit code
//! ([`Report::exit_code`]) are derived from the tests and the build, so
//! they cannot disagree with them. Renderers are pure
//! functions of a report, which keeps them deterministic for snapshot tests.
//! The model (and the types it holds from `check`, `run`, `submission` and
//! the rubric) is serde's both ways, so a batch keeps each report whole and
//! renders a resumed run's class files from it (`grade::class`).

pub mod diff;
pub mod gradescope;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::check::{self, Failure, TestResult};
use crate::lab::rubric::{GradescopeSettings, Rubric, Visibility};
use crate::run::plan::Plan;
use crate::run::session::{SessionEnd, SessionOutcome};
use crate::shared::exit;
use crate::submission::Refusal;
use crate::submission::audit::ReviewFlag;

/// What a report says when the grading machine failed.
pub const GRADER_FAULT: &str = "not graded: the grading machine failed";

/// Lines of compiler output a report keeps from a failed build.
pub const BUILD_ERROR_LINES: usize = 40;

/// Everything known about one graded submission.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Short name of the lab (`lazy`).
    pub lab: String,
    /// The lab's title.
    pub title: String,
    /// What was graded (`patch s.patch`, `work tree ~/lazy`).
    pub submission: String,
    pub build: Build,
    /// In rubric order.
    pub tests: Vec<TestResult>,
    /// The VMs that ran, in plan order.
    pub sessions: Vec<SessionSummary>,
    /// Wall-clock time of the whole run, build included.
    pub execution_time: Duration,
    /// Ctrl-C stopped the grading: tests whose VMs did not run to the end
    /// are not run (see [`TestResult::not_run`]).
    pub interrupted: bool,
    /// For an instructor, not scored: why this result may not be what it
    /// seems (see [`Report::flag_for_review`]).
    pub review: Vec<ReviewFlag>,
    /// How Gradescope shows the results, from the rubric.
    pub gradescope: GradescopeSettings,
    /// When Gradescope shows each test, by test name, for the tests whose
    /// rubric entry sets `visibility`.
    pub visibility: BTreeMap<String, Visibility>,
}

/// Whether the build ran in the build sandbox ([`crate::build::sandbox`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Confinement {
    pub sandboxed: bool,
    /// How (`bubblewrap`), or why not (`bubblewrap missing`, `--sandbox
    /// off`).
    pub how: String,
}

/// How building the submission went.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Build {
    Ok {
        duration: Duration,
        confinement: Confinement,
    },
    Failed {
        duration: Duration,
        /// The first compiler errors (see [`compiler_errors`]).
        errors: String,
        confinement: Confinement,
    },
    /// The submission was refused before building (a patch that changes a
    /// file submissions may not change, or does not apply, source the
    /// audit refuses, ...): which stage refused it, and why.
    Refused(Refusal),
    /// Ctrl-C arrived before the build finished.
    Interrupted,
    /// The grading machine failed (a full disk, memory exhausted, a tool
    /// killed): nothing is the submission's fault, nothing was graded.
    Fault {
        /// What failed, in words.
        reason: String,
    },
}

/// How one VM went.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionSummary {
    /// The VM's name (`usertests/sbrkarg`).
    pub name: String,
    pub end: SessionEnd,
    /// For students, if it did not complete (see [`check::describe_end`]).
    pub description: Option<String>,
    pub duration: Duration,
}

impl SessionSummary {
    pub fn new(plan: &Plan, outcome: &SessionOutcome) -> SessionSummary {
        SessionSummary {
            name: outcome.name.clone(),
            end: outcome.end.clone(),
            description: check::describe_end(&outcome.end, plan.token().as_str())
                .map(|d| plan.unmask_names(&d)),
            duration: outcome.duration,
        }
    }
}

impl Report {
    /// The report of a submission that built and ran: checks `outcomes`
    /// against `plan`.
    pub fn graded(
        rubric: &Rubric,
        plan: &Plan,
        submission: &str,
        build: (Duration, Confinement),
        outcomes: &[SessionOutcome],
        execution_time: Duration,
    ) -> Report {
        let (duration, confinement) = build;
        Report::new(
            rubric,
            submission,
            Build::Ok {
                duration,
                confinement,
            },
            check::evaluate(plan, outcomes),
            outcomes
                .iter()
                .map(|o| SessionSummary::new(plan, o))
                .collect(),
            execution_time,
        )
    }

    /// The report of a submission that did not build: every planned test
    /// fails, and the first errors of `build_log` are kept.
    pub fn not_built(
        rubric: &Rubric,
        plan: &Plan,
        submission: &str,
        build: (Duration, Confinement),
        build_log: &str,
        execution_time: Duration,
    ) -> Report {
        let (duration, confinement) = build;
        Report::new(
            rubric,
            submission,
            Build::Failed {
                duration,
                errors: compiler_errors(build_log),
                confinement,
            },
            check::not_built(plan),
            Vec::new(),
            execution_time,
        )
    }

    /// The report of a submission refused before building: as for one
    /// that did not build, every planned test fails, here with the
    /// refusal's reason.
    pub fn refused(
        rubric: &Rubric,
        plan: &Plan,
        submission: &str,
        refusal: &Refusal,
        execution_time: Duration,
    ) -> Report {
        Report::new(
            rubric,
            submission,
            Build::Refused(refusal.clone()),
            check::all_failed(
                plan,
                &format!("the submission was refused: {}", refusal.reason),
            ),
            Vec::new(),
            execution_time,
        )
    }

    /// The report of a grading interrupted before any VM ran (while the
    /// submission was prepared or built): no test has a verdict.
    pub fn interrupted(
        rubric: &Rubric,
        plan: &Plan,
        submission: &str,
        execution_time: Duration,
    ) -> Report {
        let mut report = Report::new(
            rubric,
            submission,
            Build::Interrupted,
            check::interrupted(plan),
            Vec::new(),
            execution_time,
        );
        report.interrupted = true;
        report
    }

    /// The report of a grading the machine broke: every planned test is
    /// left ungraded with `reason`, and no score is the student's.
    pub fn faulted(
        rubric: &Rubric,
        plan: &Plan,
        submission: &str,
        reason: &str,
        execution_time: Duration,
    ) -> Report {
        Report::new(
            rubric,
            submission,
            Build::Fault {
                reason: reason.to_string(),
            },
            check::all_failed(
                plan,
                &format!("{GRADER_FAULT}: {reason} (not the submission's fault)"),
            ),
            Vec::new(),
            execution_time,
        )
    }

    fn new(
        rubric: &Rubric,
        submission: &str,
        build: Build,
        tests: Vec<TestResult>,
        sessions: Vec<SessionSummary>,
        execution_time: Duration,
    ) -> Report {
        Report {
            lab: rubric.lab.clone(),
            title: rubric.title.clone(),
            submission: submission.to_string(),
            build,
            tests,
            sessions,
            execution_time,
            interrupted: false,
            review: Vec::new(),
            gradescope: rubric.gradescope.clone(),
            visibility: rubric
                .tests
                .iter()
                .filter_map(|t| Some((t.name.clone(), t.visibility?)))
                .collect(),
        }
    }

    /// What became of the submission, in one word for machine-readable
    /// reports: `graded`, `interrupted`, `refused`, `not_built` or
    /// `grader_fault`.
    pub fn status(&self) -> &'static str {
        match &self.build {
            _ if self.interrupted => "interrupted",
            Build::Ok { .. } => "graded",
            Build::Failed { .. } => "not_built",
            Build::Refused(_) => "refused",
            Build::Interrupted => "interrupted",
            Build::Fault { .. } => "grader_fault",
        }
    }

    /// The exit code of `xvlab grade` for this result (see exit.rs): a
    /// refusal's is its kind's.
    pub fn exit_code(&self) -> u8 {
        match &self.build {
            _ if self.interrupted => exit::INTERRUPTED,
            Build::Ok { .. } if self.full_marks() => exit::OK,
            Build::Ok { .. } => exit::TESTS_FAILED,
            Build::Failed { .. } => exit::BUILD_FAILED,
            Build::Refused(refusal) => refusal.exit_code,
            Build::Interrupted => exit::INTERRUPTED,
            Build::Fault { .. } => exit::GRADER_FAULT,
        }
    }

    /// Why the grading ended early, for standard error (the report says it
    /// too); `None` if it ran to the end.
    pub fn note(&self) -> Option<String> {
        match &self.build {
            Build::Refused(refusal) => Some(refusal.reason.clone()),
            Build::Fault { reason } => Some(format!("the grading machine failed: {reason}")),
            Build::Interrupted => Some("interrupted before any test ran".to_string()),
            _ if self.interrupted => {
                Some("interrupted: the VMs were stopped; the results are partial".to_string())
            }
            Build::Ok { .. } | Build::Failed { .. } => None,
        }
    }

    /// The tests without a verdict because the grading was interrupted.
    pub fn not_run(&self) -> usize {
        self.tests.iter().filter(|t| t.not_run).count()
    }

    /// Flag the submission for an instructor's review: `reason` is a
    /// sentence fragment (`verdict lines without a valid seal`). Flags do
    /// not change the score.
    pub fn flag_for_review(&mut self, reason: impl Into<String>) {
        self.review.push(ReviewFlag::new(reason));
    }

    /// Add review flags found elsewhere (e.g. in the source, with where).
    pub fn add_review(&mut self, flags: impl IntoIterator<Item = ReviewFlag>) {
        self.review.extend(flags);
    }

    pub fn score(&self) -> u32 {
        self.tests.iter().map(TestResult::score).sum()
    }

    /// What the tests in this report are worth (less than the rubric's
    /// total when `--test` selected some).
    pub fn max_score(&self) -> u32 {
        self.tests.iter().map(|t| t.max_score).sum()
    }

    /// Whether every test passed.
    pub fn full_marks(&self) -> bool {
        self.tests.iter().all(TestResult::passed)
    }

    pub fn built(&self) -> bool {
        matches!(self.build, Build::Ok { .. })
    }
}

/// The part of a build log a student needs: from the first line that
/// starts with `error` (cargo's `error[E…]:` or `error:`), at most
/// [`BUILD_ERROR_LINES`] lines; without such a line, the log's last lines.
/// Terminal escapes are removed.
pub fn compiler_errors(log: &str) -> String {
    let text = crate::run::transcript::normalise(log.as_bytes());
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("error"))
        .unwrap_or(lines.len().saturating_sub(BUILD_ERROR_LINES));
    lines[start..]
        .iter()
        .take(BUILD_ERROR_LINES)
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

/// Name of a session end kind in machine-readable output.
pub fn end_kind(end: &SessionEnd) -> &'static str {
    match end {
        SessionEnd::Completed => "completed",
        SessionEnd::Panicked { .. } => "panicked",
        SessionEnd::TimedOut { .. } => "timed_out",
        SessionEnd::OutputCapped { .. } => "output_capped",
        SessionEnd::QemuExited { .. } => "qemu_exited",
        SessionEnd::Cancelled => "cancelled",
    }
}

/// A duration as reports show it: seconds with one decimal (`1.2s`).
pub fn seconds_text(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// A duration in seconds for JSON, to the millisecond.
fn seconds_value(d: Duration) -> f64 {
    // Millisecond precision keeps float noise out of the output.
    d.as_millis() as f64 / 1000.0
}

/// The review flags as plain text, one per line, for the `output` of
/// Gradescope's hidden review entry.
pub fn review_text(report: &Report) -> String {
    let mut s = String::from("for instructors (not scored): check this submission by hand\n");
    for flag in &report.review {
        s.push_str(&flag.to_string());
        s.push('\n');
    }
    s
}

/// A test's failure as plain text, for the `output` fields of the JSON
/// renderings: reason, details, then the evidence.
pub fn failure_text(failure: &Failure) -> String {
    let mut s = String::new();
    s.push_str(&failure.reason);
    s.push('\n');
    for d in &failure.details {
        s.push_str(d);
        s.push('\n');
    }
    if let Some(ev) = &failure.evidence {
        s.push_str(&format!("\nconsole of {}:\n", ev.session));
        if ev.lines.is_empty() {
            s.push_str("  (the console printed nothing)\n");
        }
        for l in &ev.lines {
            s.push_str(format!("  {l}").trim_end());
            s.push('\n');
        }
    }
    s
}

/// The whole run in a few lines, for the top-level `output` of the JSON
/// renderings.
pub fn summary_text(report: &Report) -> String {
    let mut s = format!(
        "{} ({}): {}/{}\n",
        report.title,
        report.lab,
        report.score(),
        report.max_score()
    );
    match &report.build {
        Build::Ok { .. } => {
            let passed = report.tests.iter().filter(|t| t.passed()).count();
            s.push_str(&format!(
                "{passed} of {} tests passed\n",
                report.tests.len()
            ));
            if report.interrupted {
                s.push_str(&format!(
                    "the grading was interrupted: {} tests were not run\n",
                    report.not_run()
                ));
            }
        }
        Build::Interrupted => {
            s.push_str(
                "the grading was interrupted before the kernel was built: no test was run\n",
            );
        }
        Build::Failed { errors, .. } => {
            s.push_str(check::NOT_BUILT);
            s.push_str(":\n");
            s.push_str(errors);
            s.push('\n');
        }
        Build::Refused(refusal) => {
            s.push_str(&format!(
                "the submission was refused {}: {}\n",
                refusal.stage.describe(),
                refusal.reason
            ));
        }
        Build::Fault { reason } => {
            s.push_str(&format!(
                "{GRADER_FAULT}: {reason}\nthis is not the submission's fault: ask the course staff to grade it again\n"
            ));
        }
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::check::tests::{all_pass, outcome, plan, usertest};
    use crate::run::session::Waiting;
    use crate::submission::Stage;

    pub(crate) const BUILD_LOG: &str = "   Compiling kernel v0.1.0 (/tmp/x/kernel)
warning: unused variable: `pa`
 --> kernel/src/vm.rs:80:9
error[E0308]: mismatched types
  --> kernel/src/trap.rs:71:27
   |
71 |         if r_scause() == 13 || 15 {
   |                              ^^ expected `bool`, found integer

error: could not compile `kernel` (bin \"kernel\") due to 1 previous error
";

    pub(crate) fn rubric() -> Rubric {
        Rubric::parse(crate::check::tests::RUBRIC, "rubric.toml").unwrap()
    }

    /// A graded report with a bit of everything: passes, a panic, a leak,
    /// a timeout and a failing case.
    pub(crate) fn mixed_report() -> Report {
        let plan = plan();
        let mut outs = all_pass(&plan);
        outs[1] = outcome(
            &plan,
            "lazytests",
            "lazytests starting\ntest lazy alloc: OK [{t}]\npanic: uvmunmap: not mapped\n",
            SessionEnd::Panicked {
                line: "panic: uvmunmap: not mapped".into(),
            },
            3400,
        );
        outs[2] = outcome(
            &plan,
            "usertests/sbrkarg",
            "usertests starting\ntest sbrkarg: OK [{t}]\nFAILED -- lost some free pages 30000 (out of 30010) [{t}]\nSOME TESTS FAILED [{t}]\n",
            SessionEnd::Completed,
            2100,
        );
        outs[3] = outcome(
            &plan,
            "usertests/stacktest",
            "usertests starting\n",
            SessionEnd::TimedOut {
                waiting_for: Waiting::Command {
                    index: 0,
                    command: format!("usertests -k {} stacktest", plan.token()),
                },
                after: Duration::from_secs(90),
            },
            90_000,
        );
        Report::graded(
            &rubric(),
            &plan,
            "patch lazy.patch",
            (Duration::from_millis(12_300), sandboxed()),
            &outs,
            Duration::from_millis(110_450),
        )
    }

    /// The consoles of a kernel that does not zero fresh pages, as real
    /// gradings of `grading/lazy/mutants/no-zero.patch` print them: the
    /// test programs say why they fail.
    pub(crate) fn own_reasons_report() -> Report {
        let plan = plan();
        let mut outs = all_pass(&plan);
        outs[1] = outcome(
            &plan,
            "lazytests",
            "lazytests starting\nrunning test lazy alloc\nlazy alloc: an untouched page at 0x2b008 is not zero\ntest lazy alloc: FAILED [{t}]\nrunning test lazy unmap\ntest lazy unmap: OK [{t}]\nSOME TESTS FAILED [{t}]\n",
            SessionEnd::Completed,
            1300,
        );
        outs[2] = outcome(
            &plan,
            "usertests/sbrkarg",
            "usertests starting\nusertrap(): unexpected scause 0x000000000000000f pid=65\n            sepc=0x0000000000012fba stval=0x0000000000076fff\nsbrkarg: write(fd, sbrk'd page, 4096) returned -1\ntest sbrkarg: FAILED [{t}]\nSOME TESTS FAILED [{t}]\n",
            SessionEnd::Completed,
            2100,
        );
        Report::graded(
            &rubric(),
            &plan,
            "patch no-zero.patch",
            (Duration::from_millis(6_000), sandboxed()),
            &outs,
            Duration::from_millis(20_000),
        )
    }

    /// Ctrl-C while `usertests/stacktest` ran: that test, and the one over
    /// all cases, are not run.
    pub(crate) fn interrupted_report() -> Report {
        let plan = plan();
        let mut outs = all_pass(&plan);
        outs[3] = outcome(
            &plan,
            "usertests/stacktest",
            "usertests starting\n",
            SessionEnd::Cancelled,
            900,
        );
        let mut r = Report::graded(
            &rubric(),
            &plan,
            "work tree ~/lazy",
            (Duration::from_millis(9_000), sandboxed()),
            &outs,
            Duration::from_millis(14_000),
        );
        r.interrupted = true;
        r
    }

    pub(crate) fn sandboxed() -> Confinement {
        Confinement {
            sandboxed: true,
            how: "bubblewrap".to_string(),
        }
    }

    pub(crate) fn faulted_report() -> Report {
        Report::faulted(
            &rubric(),
            &plan(),
            "patch lazy.patch",
            "the disk is full: error: failed to write `/c/target/x.rlib`: No space left on device (os error 28)",
            Duration::from_millis(2100),
        )
    }

    pub(crate) fn perfect_report() -> Report {
        let plan = plan();
        Report::graded(
            &rubric(),
            &plan,
            "work tree ~/lazy",
            (
                Duration::from_secs(10),
                Confinement {
                    sandboxed: false,
                    how: "bubblewrap missing".to_string(),
                },
            ),
            &all_pass(&plan),
            Duration::from_millis(15_700),
        )
    }

    /// A perfect report whose source spells verdicts, with a flag added at
    /// run time too.
    pub(crate) fn flagged_report() -> Report {
        let mut report = perfect_report();
        report.add_review([ReviewFlag::at(
            "kernel/src/trap.rs",
            12,
            "the string \"test sbrkarg: OK\" spells the verdict line \"test sbrkarg: OK\"",
        )]);
        report.flag_for_review("verdict lines without a valid seal");
        report
    }

    /// A submission the source audit refused, with two findings.
    pub(crate) fn refused_report() -> Report {
        Report::refused(
            &rubric(),
            &plan(),
            "patch reads-host.patch",
            &Refusal {
                stage: Stage::Audit,
                reason: "kernel/src/evil.rs:1: include_str! reads a file of the grading machine at build time; submissions may not use it\n\
                         kernel/src/evil.rs:2: env! reads the grading machine's build environment at build time; submissions may not use it"
                    .to_string(),
                exit_code: exit::SOURCE_REFUSED,
            },
            Duration::from_millis(30),
        )
    }

    pub(crate) fn not_built_report() -> Report {
        Report::not_built(
            &rubric(),
            &plan(),
            "patch broken.patch",
            (Duration::from_millis(4200), sandboxed()),
            BUILD_LOG,
            Duration::from_millis(4300),
        )
    }

    #[test]
    fn an_interrupted_grading_has_no_verdicts_in_any_format() {
        let r = Report::interrupted(&rubric(), &plan(), "patch s.patch", Duration::from_secs(2));
        assert_eq!(r.status(), "interrupted");
        assert_eq!(r.score(), 0);
        assert_eq!(r.not_run(), r.tests.len());
        let text = human::render(&r);
        assert!(text.contains("build: interrupted"), "{text}");
        assert!(
            text.contains("interrupted: 6 of 6 tests were not run"),
            "{text}"
        );
        assert!(!text.contains("FAIL"), "{text}");
        let native = json::to_value(&r);
        assert_eq!(native["status"], "interrupted");
        assert_eq!(native["tests"][0]["status"], "not_run");
        let theirs = gradescope::to_value(&r);
        assert!(theirs["tests"][0].get("status").is_none());
        assert!(
            theirs["output"]
                .as_str()
                .unwrap()
                .contains("interrupted before the kernel was built")
        );
    }

    #[test]
    fn a_refused_submission_is_a_result_like_one_that_did_not_build() {
        let refused = refused_report();
        let not_built = not_built_report();
        for r in [&refused, &not_built] {
            assert_eq!(r.score(), 0);
            assert_eq!(r.max_score(), 29);
            assert!(r.sessions.is_empty(), "no VM ran");
            assert!(!r.built());
            // Every test listed, failed for the one reason, none "not run".
            assert_eq!(r.tests.len(), 6);
            assert!(r.tests.iter().all(|t| !t.passed() && !t.not_run));
        }
        assert_eq!(refused.status(), "refused");
        assert!(refused.tests.iter().all(|t| {
            t.failure
                .as_ref()
                .unwrap()
                .reason
                .starts_with("the submission was refused: kernel/src/evil.rs:1: include_str! reads")
        }));
    }

    #[test]
    fn the_exit_code_is_the_results_and_a_refusals_is_its_kinds() {
        assert_eq!(refused_report().exit_code(), exit::SOURCE_REFUSED);
        assert_eq!(not_built_report().exit_code(), exit::BUILD_FAILED);
        assert_eq!(perfect_report().exit_code(), exit::OK);
        assert_eq!(mixed_report().exit_code(), exit::TESTS_FAILED);
        assert_eq!(faulted_report().exit_code(), exit::GRADER_FAULT);
        let interrupted =
            Report::interrupted(&rubric(), &plan(), "patch s.patch", Duration::from_secs(2));
        assert_eq!(interrupted.exit_code(), exit::INTERRUPTED);
        let mut partial = mixed_report();
        partial.interrupted = true;
        assert_eq!(partial.exit_code(), exit::INTERRUPTED);
        // Whatever ends a grading early is said on standard error too.
        assert_eq!(
            refused_report().note().as_deref(),
            Some(match &refused_report().build {
                Build::Refused(r) => r.reason.as_str(),
                _ => unreachable!(),
            })
        );
        assert!(partial.note().unwrap().contains("the results are partial"));
        assert_eq!(mixed_report().note(), None);
        assert_eq!(not_built_report().note(), None);
    }

    #[test]
    fn scores_add_up() {
        let r = mixed_report();
        // echo hi 5 + lazy: map 5 pass; unmap, sbrkarg, stacktest, all fail.
        assert_eq!(r.score(), 10);
        assert_eq!(r.max_score(), 29);
        assert!(!r.full_marks());
        assert!(r.built());
        let p = perfect_report();
        assert_eq!(p.score(), 29);
        assert!(p.full_marks());
        let n = not_built_report();
        assert_eq!(n.score(), 0);
        assert_eq!(n.max_score(), 29);
        assert!(!n.built());
        assert!(n.sessions.is_empty());
        // Review flags are not scored.
        assert_eq!(flagged_report().score(), 29);
        assert!(flagged_report().full_marks());
    }

    #[test]
    fn session_summaries_describe_abnormal_ends() {
        let r = mixed_report();
        let s: Vec<_> = r
            .sessions
            .iter()
            .map(|s| (s.name.as_str(), end_kind(&s.end), s.description.as_deref()))
            .collect();
        assert_eq!(
            s,
            [
                ("boot", "completed", None),
                (
                    "lazytests",
                    "panicked",
                    Some("the kernel panicked: panic: uvmunmap: not mapped")
                ),
                ("usertests/sbrkarg", "completed", None),
                (
                    "usertests/stacktest",
                    "timed_out",
                    Some("timed out after 90s waiting for `usertests -k … stacktest` to finish")
                ),
            ]
        );
    }

    #[test]
    fn compiler_errors_start_at_the_first_error() {
        let e = compiler_errors(BUILD_LOG);
        assert!(e.starts_with("error[E0308]: mismatched types\n"), "{e}");
        assert!(e.ends_with("due to 1 previous error"), "{e}");
        assert!(!e.contains("warning"));
    }

    #[test]
    fn compiler_errors_without_error_lines_keep_the_tail() {
        let log: String = (0..100)
            .map(|i| format!("\x1b[1mline {i}\x1b[0m\n"))
            .collect();
        let e = compiler_errors(&log);
        assert_eq!(e.lines().count(), BUILD_ERROR_LINES);
        assert!(e.starts_with("line 60\n"));
        assert!(e.ends_with("line 99"));
    }

    #[test]
    fn failure_text_lists_reason_details_and_evidence() {
        let plan = plan();
        let mut outs = all_pass(&plan);
        outs[3] = usertest(&plan, "stacktest", false);
        let results = check::evaluate(&plan, &outs);
        let f = results[4].failure.as_ref().unwrap();
        let text = failure_text(f);
        assert!(text.starts_with("missing a line matching `^test stacktest: OK \\[…\\]$`\n"));
        assert!(text.contains("\nconsole of usertests/stacktest:\n  "));
    }

    #[test]
    fn seconds_are_shown_with_one_decimal() {
        assert_eq!(seconds_text(Duration::from_millis(1240)), "1.2s");
        assert_eq!(seconds_text(Duration::from_secs(90)), "90.0s");
        assert_eq!(seconds_value(Duration::from_nanos(1_234_567_890)), 1.234);
    }
}
