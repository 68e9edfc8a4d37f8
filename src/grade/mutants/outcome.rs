//! What grading one mutant showed ([`Outcome`], from [`classify`]) and the
//! results kept between runs ([`Store`], keyed by [`Key`]).
//!
//! - *killed*: some test failed, not (only) by hitting a VM deadline —
//!   the test that stopped the fail-fast grading is named;
//! - *timed out*: every failed test failed because its VM hit its deadline
//!   (the mutant may hang, or may only be slow: cargo-mutants' meaning);
//! - *unviable*: it does not build (cargo-mutants' term);
//! - *survived*: every test passed. Its *near misses* are the tests whose
//!   VM took more than [`NEAR_MISS_FACTOR`] times the reference solution's
//!   recorded duration (`grading/<lab>/durations.toml`), the durations
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
//! A result is kept under a key that hashes everything that decides it
//! (see [`Key`]), so a rerun grades only new or changed mutants.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::lab::deadline::References;
use crate::report::{Build, Report};
use crate::run::plan::Plan;
use crate::run::session::SessionEnd;

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

/// A resume key: a 128-bit hash, as 32 hex digits, of everything that
/// decides a mutant's outcome — the mutant's patch, the solution, the
/// rubric, the starter tree with its test programs, the reference
/// durations (they set the deadlines), the test selection, and xvlab's
/// version. Not a defence against anyone: the inputs are the staff's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key(String);

/// The hash state of everything but the mutant, computed once per run.
#[derive(Clone, Debug)]
pub struct KeyBase {
    parts: Vec<u8>,
}

impl KeyBase {
    /// Start from xvlab's version.
    pub fn new() -> KeyBase {
        let mut base = KeyBase { parts: Vec::new() };
        base.add("xvlab", env!("CARGO_PKG_VERSION").as_bytes());
        base
    }

    /// Add a named input. Length-prefixed, so that inputs cannot run into
    /// each other.
    pub fn add(&mut self, name: &str, bytes: &[u8]) {
        for part in [name.as_bytes(), bytes] {
            self.parts
                .extend_from_slice(&(part.len() as u64).to_le_bytes());
            self.parts.extend_from_slice(part);
        }
    }

    /// The key of one mutant's patch.
    pub fn key(&self, mutant_patch: &str) -> Key {
        self.key_with("mutant", mutant_patch.as_bytes())
    }

    /// The key of this base with one more named input (a mutant's patch,
    /// or what else is kept under it).
    pub fn key_with(&self, name: &str, bytes: &[u8]) -> Key {
        let mut all = self.clone();
        all.add(name, bytes);
        // Two SipHash-2-4 halves under two fixed keys: 128 bits. (A seal
        // key's two halves are XORed together, so only the first half is
        // set: equal halves would make every key zero.)
        let half = |k: u8| {
            let mut bytes = [0u8; seal::KEY_LEN];
            bytes[..seal::KEY_LEN / 2].fill(k);
            seal::Key::from_bytes(&bytes).seal(0, 0, &all.parts)
        };
        Key(format!("{:016x}{:016x}", half(1), half(2)))
    }
}

impl Default for KeyBase {
    fn default() -> KeyBase {
        KeyBase::new()
    }
}

impl Key {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One kept result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// cargo-mutants' name, for a person reading the cache.
    pub name: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// How long grading it took.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
}

/// The results of earlier runs: one JSON file per key under
/// `<cache>/mutants/<lab>/`.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(cache_root: &Path, lab: &str) -> Store {
        Store {
            dir: cache_root.join("mutants").join(lab),
        }
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.dir.join(format!("{}.json", key.as_str()))
    }

    /// The kept result for `key`; none if there is none or it cannot be
    /// read (then the mutant is graded again).
    pub fn get(&self, key: &Key) -> Option<Kept> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Keep a result. Written to a temporary file and renamed, so that an
    /// interrupted write leaves no half a result.
    pub fn put(&self, key: &Key, kept: &Kept) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let json = serde_json::to_vec_pretty(kept).map_err(std::io::Error::other)?;
        let tmp = self.dir.join(format!(".{}.tmp", key.as_str()));
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, self.path(key))
    }
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

    #[test]
    fn the_key_changes_with_every_input_and_only_with_them() {
        let base = |solution: &str, rubric: &str| {
            let mut b = KeyBase::new();
            b.add("solution", solution.as_bytes());
            b.add("rubric", rubric.as_bytes());
            b
        };
        let k = base("s", "r").key("m");
        assert_eq!(k, base("s", "r").key("m"));
        assert_eq!(k.as_str().len(), 32);
        // Two independent halves, not one hash twice.
        assert_ne!(k.as_str()[..16], k.as_str()[16..]);
        assert_ne!(k, base("s", "r").key("m2"));
        assert_ne!(k, base("s2", "r").key("m"));
        assert_ne!(k, base("s", "r2").key("m"));
        // Inputs cannot run into each other.
        assert_ne!(base("sr", "").key("m"), base("s", "r").key("m"));
    }

    #[test]
    fn a_kept_result_is_read_back_and_a_damaged_one_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "lazy");
        let key = KeyBase::new().key("m");
        assert_eq!(store.get(&key), None);
        let kept = Kept {
            name: "kernel/src/vm.rs:1:1: replace x".into(),
            outcome: Outcome::Survived {
                near_misses: vec![NearMiss {
                    test: "t".into(),
                    session: "s".into(),
                    duration: Duration::from_millis(1500),
                    expected: Duration::from_millis(700),
                }],
            },
            duration: Duration::from_secs(40),
        };
        store.put(&key, &kept).unwrap();
        assert_eq!(store.get(&key), Some(kept));
        std::fs::write(store.path(&key), "{").unwrap();
        assert_eq!(store.get(&key), None);
    }
}
