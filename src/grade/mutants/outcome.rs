//! What grading one mutant showed ([`Outcome`], from [`classify`]) and the
//! what of it is kept between runs ([`crate::grade::pool::Keepable`]).
//!
//! - *killed*: some test failed, not (only) by hitting a VM deadline —
//!   the test that stopped the fail-fast grading is named;
//! - *timed out*: every failed test failed because its VM hit its deadline
//!   (the mutant may hang, or may only be slow: cargo-mutants' meaning);
//! - *unviable*: it does not build (cargo-mutants' term);
//! - *survived*: every test passed. Its *near misses* are the tests whose
//!   VM took more than [`NEAR_MISS_FACTOR`] times the reference solution's
//!   recorded duration (the lab's `durations.toml`), the durations
//!   first scaled by how much slower this machine ran this grading's VMs
//!   than the reference did (the median ratio over its VMs: a loaded
//!   machine slows every VM, a mutant only some): a test that ran much
//!   longer than for the solution saw the mutant's behaviour differ, even
//!   if its checks did not. Cheap (no extra VM) and often the test to
//!   sharpen;
//! - *not applied*: the grader refused the series [solution, mutant] (it
//!   does not apply, or the audit refused it) — a fault of the tooling, not
//!   of the rubric, reported as such.
//!
//! A result is kept by [`crate::grade::pool`] under a key that hashes
//! everything that decides it, so a rerun grades only new or changed
//! mutants.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::grade::pool::Keepable;
use crate::lab::deadline::References;
use crate::report::{Build, Report};
use crate::run::plan::Plan;
use crate::run::session::SessionEnd;

/// Every outcome is a verdict on the mutant, so every one is kept.
impl Keepable for Outcome {}

/// A survivor's test is a near miss when its VM ran this many times longer
/// than the reference solution's (scaled by the machine's speed).
pub const NEAR_MISS_FACTOR: f64 = 1.5;

/// Lines of compiler errors kept for an unviable mutant.
const ERROR_LINES: usize = 6;

/// The result of grading one mutant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Killed {
        /// The test that killed it.
        test: String,
        /// Why that test failed, in one line.
        reason: String,
    },
    TimedOut {
        /// A test whose VM hit its deadline.
        test: String,
    },
    Unviable {
        /// The first compiler errors.
        errors: String,
    },
    Survived {
        near_misses: Vec<NearMiss>,
    },
    NotApplied {
        reason: String,
    },
}

impl Outcome {
    /// What the grading showed, in words.
    pub fn in_words(&self) -> String {
        match self {
            Outcome::Killed { test, .. } => format!("killed by `{test}`"),
            Outcome::TimedOut { test } => format!("timed out in `{test}`"),
            Outcome::Unviable { .. } => "unviable: does not build".to_string(),
            Outcome::Survived { .. } => "survived".to_string(),
            Outcome::NotApplied { .. } => "not applied".to_string(),
        }
    }

    /// `killed`, `timed_out`, … (the JSON tag).
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Killed { .. } => "killed",
            Outcome::TimedOut { .. } => "timed_out",
            Outcome::Unviable { .. } => "unviable",
            Outcome::Survived { .. } => "survived",
            Outcome::NotApplied { .. } => "not_applied",
        }
    }
}

/// A test a survivor nearly failed (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NearMiss {
    pub test: String,
    /// The VM that ran long.
    pub session: String,
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// The reference duration, scaled by the machine's speed.
    #[serde(with = "humantime_serde")]
    pub expected: Duration,
}

/// The outcome a fail-fast grading's `report` shows; `stopped_by` is the
/// test that stopped it. `None` if the grading was interrupted (no
/// verdict: not to be kept).
pub fn classify(
    report: &Report,
    stopped_by: Option<&str>,
    plan: &Plan,
    references: &References,
) -> Option<Outcome> {
    if report.interrupted {
        return None;
    }
    match &report.build {
        Build::Ok { .. } => {}
        Build::Failed { errors, .. } => {
            let errors: Vec<&str> = errors.lines().take(ERROR_LINES).collect();
            return Some(Outcome::Unviable {
                errors: errors.join("\n"),
            });
        }
        Build::Refused(refusal) => {
            return Some(Outcome::NotApplied {
                reason: refusal.reason.clone(),
            });
        }
        Build::Interrupted | Build::Fault { .. } => return None,
    }
    let session_end = |name: &str| {
        report
            .sessions
            .iter()
            .find(|s| s.name == name)
            .map(|s| &s.end)
    };
    let sessions_of = |test: &str| -> Vec<&str> {
        plan.tests()
            .iter()
            .filter(|t| t.name == test)
            .flat_map(|t| t.checks.iter().map(|c| c.session.as_str()))
            .collect()
    };
    let by_deadline = |test: &str| {
        sessions_of(test)
            .iter()
            .any(|s| matches!(session_end(s), Some(SessionEnd::TimedOut { .. })))
    };
    let failed: Vec<_> = report
        .tests
        .iter()
        .filter(|t| t.failure.is_some() && !t.not_run)
        .collect();
    if !failed.is_empty() {
        // The test that stopped the grading first, then rubric order.
        let mut ordered = failed.clone();
        ordered.sort_by_key(|t| Some(t.name.as_str()) != stopped_by);
        if let Some(killer) = ordered.iter().find(|t| !by_deadline(&t.name)) {
            return Some(Outcome::Killed {
                test: killer.name.clone(),
                reason: killer
                    .failure
                    .as_ref()
                    .map(|f| f.reason.clone())
                    .unwrap_or_default(),
            });
        }
        return Some(Outcome::TimedOut {
            test: ordered[0].name.clone(),
        });
    }
    if report.tests.iter().any(|t| t.not_run) {
        return None;
    }
    Some(Outcome::Survived {
        near_misses: near_misses(report, plan, references),
    })
}

/// The near misses of a grading in which every test passed.
fn near_misses(report: &Report, plan: &Plan, references: &References) -> Vec<NearMiss> {
    // How much slower this machine ran the VMs than the reference's: the
    // median ratio, so that the few VMs a mutant slows do not count.
    let mut ratios: Vec<f64> = report
        .sessions
        .iter()
        .filter_map(|s| {
            let r = references.get(&s.name)?;
            (!r.is_zero()).then(|| s.duration.as_secs_f64() / r.as_secs_f64())
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let speed = ratios.get(ratios.len() / 2).copied().unwrap_or(1.0);
    let mut misses = Vec::new();
    for test in plan.tests() {
        for check in &test.checks {
            let Some(s) = report.sessions.iter().find(|s| s.name == check.session) else {
                continue;
            };
            let Some(reference) = references.get(&s.name) else {
                continue;
            };
            let expected = reference.mul_f64(speed);
            if s.duration.as_secs_f64() > NEAR_MISS_FACTOR * expected.as_secs_f64() {
                misses.push(NearMiss {
                    test: test.name.clone(),
                    session: s.name.clone(),
                    duration: s.duration,
                    expected,
                });
                break;
            }
        }
    }
    misses
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::{RUBRIC, all_pass, outcome, plan, usertest};
    use crate::lab::rubric::Rubric;
    use crate::report::Confinement;
    use crate::run::session::{SessionOutcome, Waiting};

    fn report(outcomes: &[SessionOutcome]) -> Report {
        let rubric = Rubric::parse(RUBRIC, "rubric.toml").unwrap();
        let confinement = Confinement {
            sandboxed: true,
            how: "bubblewrap".into(),
        };
        Report::graded(
            &rubric,
            &plan(),
            "mutant",
            (Duration::from_secs(1), confinement),
            outcomes,
            Duration::from_secs(10),
        )
    }

    fn references(millis: &[(&str, u64)]) -> References {
        References::from_measured(
            millis
                .iter()
                .map(|(n, ms)| (n.to_string(), Duration::from_millis(*ms))),
        )
    }

    #[test]
    fn a_mutant_that_fails_a_test_is_killed_by_the_test_that_stopped_the_grading() {
        let plan = plan();
        let mut outcomes = all_pass(&plan);
        outcomes[2] = usertest(&plan, "sbrkarg", false);
        let got = classify(
            &report(&outcomes),
            Some("usertests: sbrkarg"),
            &plan,
            &References::default(),
        );
        match got {
            Some(Outcome::Killed { test, reason }) => {
                assert_eq!(test, "usertests: sbrkarg");
                assert!(!reason.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_mutant_failed_only_by_deadlines_timed_out_and_one_that_also_fails_a_check_is_killed() {
        let plan = plan();
        let hang = SessionEnd::TimedOut {
            waiting_for: Waiting::Command {
                index: 0,
                command: "usertests".into(),
            },
            after: Duration::from_secs(3),
        };
        let mut outcomes = all_pass(&plan);
        outcomes[3] = outcome(&plan, "usertests/stacktest", "", hang, 3000);
        let got = classify(&report(&outcomes), None, &plan, &References::default());
        assert!(
            matches!(&got, Some(Outcome::TimedOut { test }) if test.contains("stacktest")),
            "{got:?}"
        );
        outcomes[2] = usertest(&plan, "sbrkarg", false);
        let got = classify(&report(&outcomes), None, &plan, &References::default());
        assert!(
            matches!(&got, Some(Outcome::Killed { test, .. }) if test == "usertests: sbrkarg"),
            "{got:?}"
        );
    }

    #[test]
    fn a_survivor_names_the_tests_whose_vm_ran_much_longer_than_the_references() {
        let plan = plan();
        // all_pass: boot 1.2 s, lazytests 4.5 s, each usertest 2 s.
        let refs = references(&[
            ("boot", 1200),
            ("lazytests", 4400),
            ("usertests/sbrkarg", 1000),
            ("usertests/stacktest", 1900),
        ]);
        let got = classify(&report(&all_pass(&plan)), None, &plan, &refs);
        let Some(Outcome::Survived { near_misses }) = got else {
            panic!("{got:?}");
        };
        let names: Vec<&str> = near_misses.iter().map(|m| m.test.as_str()).collect();
        // sbrkarg ran 2× its reference; the all-cases test reads it too.
        assert_eq!(names, ["usertests: sbrkarg", "usertests: all tests"]);
        assert_eq!(near_misses[0].session, "usertests/sbrkarg");
    }

    #[test]
    fn a_slow_machine_is_not_a_near_miss() {
        let plan = plan();
        // Every VM ran about 2× slower than the reference's (a loaded
        // machine), the boot VM only 1.2×.
        let refs = references(&[
            ("boot", 1000),
            ("lazytests", 2250),
            ("usertests/sbrkarg", 1000),
            ("usertests/stacktest", 1000),
        ]);
        let got = classify(&report(&all_pass(&plan)), None, &plan, &refs);
        assert_eq!(
            got,
            Some(Outcome::Survived {
                near_misses: vec![]
            })
        );
    }

    #[test]
    fn a_mutant_that_does_not_build_is_unviable_and_an_interrupted_grading_has_no_outcome() {
        let rubric = Rubric::parse(RUBRIC, "rubric.toml").unwrap();
        let plan = plan();
        let confinement = Confinement {
            sandboxed: true,
            how: "bubblewrap".into(),
        };
        let not_built = Report::not_built(
            &rubric,
            &plan,
            "m",
            (Duration::ZERO, confinement),
            "error[E0308]: mismatched types\n --> kernel/src/vm.rs:3:1\n",
            Duration::ZERO,
        );
        let got = classify(&not_built, None, &plan, &References::default());
        assert!(
            matches!(&got, Some(Outcome::Unviable { errors }) if errors.contains("E0308")),
            "{got:?}"
        );
        let mut interrupted = report(&all_pass(&plan));
        interrupted.interrupted = true;
        assert_eq!(
            classify(&interrupted, None, &plan, &References::default()),
            None
        );
    }
}
