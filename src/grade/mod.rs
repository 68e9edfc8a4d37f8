//! The pipeline driven: this module grades a submission end to end,
//! [`progress`] shows a person how the grading goes, and two commands grade
//! the grader with it: [`selftest`] (the starter, the reference solution and
//! every known-bad submission against their expected results) and
//! [`mutants`] (mutants of the reference solution against the rubric);
//! [`class`] grades a whole class, and [`pool`] is how many gradings
//! share one machine.
//!
//! Grading a submission end to end ([`grade`]): prepare the tree, build it,
//! write the file-system image, run the rubric's sessions — each in a fresh
//! VM, up to `--jobs` at once — check the transcripts and score them.
//! Every way a submission can go wrong is a result ([`Graded::report`]):
//! refused before the build (with the stage that refused it), not
//! compiling, failing tests; only faults of the grading machine or of
//! xvlab are a [`GradeError`].
//!
//! Also the first half of that pipeline on its own ([`make_ready`]), which
//! `xvlab run`, `xvlab qemu` and `xvlab build` share: a submission prepared,
//! built and given an image, ready to boot.
//!
//! Two choices that matter for speed. The first planned session runs alone
//! first, as a probe: a kernel that does not boot to the shell prompt would
//! fail every other session the same way, so they are not run (their tests
//! fail with the probe's reason) — a kernel that panics at boot is graded in
//! seconds, not after dozens of timeouts. The others then run longest first
//! (by the durations of earlier gradings, remembered in the cache), so that
//! a slow test does not start last and leave the other workers idle.
//!
//! With [`Options::fail_fast`] a grading stops at the first failed test:
//! the VMs still running are cancelled (each one's process group killed, as
//! on Ctrl-C) and no more are started, so the tests that never got a
//! verdict are *not run*, not failed; [`Graded::stopped_by`] names the test
//! that stopped it. `xvlab mutants` grades this way, since one failure is
//! all a mutant needs to be killed.
//!
//! Everything the user sees while it runs goes through [`Reporter`] events.

pub mod class;
pub mod mutants;
pub mod pool;
pub mod progress;
pub mod reference;
pub mod selftest;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

use crate::build::image::{self, ImageError};
use crate::build::kbuild::{
    self, BuildCache, BuildError, BuildOptions, BuildOutcome, Built, Program,
};
use crate::check::{self, TestResult};
use crate::lab::Lab;
use crate::lab::assets::{AssetError, Assets};
use crate::lab::deadline::{self, DeadlineError, References, Scaling};
use crate::lab::rubric::Rubric;
use crate::report::html::{self, Consoles};
use crate::report::{Confinement, Report, json};
use crate::run::plan::{Plan, PlanError, Sealing};
use crate::run::qemu::{Machine, QemuError};
use crate::run::session::{
    FromSnapshot, SessionEnd, SessionError, SessionObserver, SessionOutcome, SessionSpec, Waiting,
    run_session,
};
use crate::run::snapshot::Snapshot;
use crate::run::transcript::LineKind;
use crate::shared::exit;
use crate::submission::audit::Vocabulary;
use crate::submission::programs::StudentPrograms;
use crate::submission::{Prepared, Refusal, Submission, SubmissionError};

/// A grader fault: something other than the submission went wrong. (A
/// submission that is refused, fails to build, panics or hangs is a
/// result, not one of these; [`GradeError::Submission`] holds only the
/// preparation failures that are not the submission's doing, see
/// [`SubmissionError::refusal`].)
#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    #[error(transparent)]
    Submission(#[from] SubmissionError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Qemu(#[from] QemuError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Asset(#[from] AssetError),
    #[error(transparent)]
    Deadline(#[from] DeadlineError),
    #[error("create a temporary directory")]
    TempDir(#[source] std::io::Error),
    #[error("read `{}` of the prepared tree", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("copy `{}` out of the build cache", path.display())]
    Copy {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("keep the grading files in `{}`", path.display())]
    Keep {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Ctrl-C arrived before any session ran.
    #[error("stop: interrupted")]
    Interrupted,
}

impl GradeError {
    /// The exit code of `xvlab` for this error (see exit.rs): the grading
    /// machine's fault has its own, and a wrapped error keeps its kind's.
    pub fn exit_code(&self) -> u8 {
        if self.host_fault().is_some() {
            return exit::GRADER_FAULT;
        }
        match self {
            GradeError::Submission(e) => e.exit_code(),
            GradeError::Build(e) => e.exit_code(),
            GradeError::Qemu(e) => e.exit_code(),
            GradeError::Plan(e) => e.exit_code(),
            GradeError::Interrupted => exit::INTERRUPTED,
            GradeError::Image(_)
            | GradeError::Session(_)
            | GradeError::Asset(_)
            | GradeError::Deadline(_)
            | GradeError::TempDir(_)
            | GradeError::Copy { .. }
            | GradeError::Read { .. }
            | GradeError::Keep { .. } => exit::FAILURE,
        }
    }

    /// If the grading machine, not the submission or xvlab, failed — a
    /// full disk or exhausted memory anywhere while preparing, syncing,
    /// building or writing the image, or a build tool the kernel killed —
    /// what failed, in words. Such a fault is never charged to the
    /// submission (exit code [`crate::shared::exit::GRADER_FAULT`]).
    pub fn host_fault(&self) -> Option<String> {
        // `transparent` variants forward `source()` past themselves, so
        // the build's own fault is matched here rather than in the chain.
        if let GradeError::Build(BuildError::HostFault { reason, .. }) = self {
            return Some(reason.clone());
        }
        host_fault(self)
    }
}

/// [`GradeError::host_fault`] for any error: looks through it and its
/// chain of sources for a [`BuildError::HostFault`] or an I/O error that
/// says the disk is full or memory is exhausted.
pub fn host_fault(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(err) = source {
        if let Some(BuildError::HostFault { reason, .. }) = err.downcast_ref::<BuildError>() {
            return Some(reason.clone());
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(fault) = io
                .get_ref()
                .and_then(|e| e.downcast_ref::<crate::shared::process::HostFault>())
            {
                return Some(fault.reason.clone());
            }
            let why = match io.raw_os_error().map(nix::errno::Errno::from_raw) {
                Some(nix::errno::Errno::ENOSPC) => Some("the disk is full"),
                Some(nix::errno::Errno::EDQUOT) => Some("the disk quota is exhausted"),
                Some(nix::errno::Errno::ENOMEM) => Some("out of memory"),
                _ => None,
            };
            if let Some(why) = why {
                return Some(format!("{why}: failed to {error}: {io}"));
            }
        }
        source = err.source();
    }
    None
}

/// What happens while grading, for progress displays.
#[derive(Debug)]
pub enum Event<'a> {
    /// Preparing the submission's tree.
    Preparing,
    /// Compiling it.
    Building,
    /// Compiling is over.
    Built { ok: bool, duration: Duration },
    /// About to run `total` VMs.
    Running { total: usize },
    /// A VM started.
    SessionStarted { name: &'a str },
    /// A VM stopped.
    SessionFinished { outcome: &'a SessionOutcome },
    /// The probe session showed the kernel does not boot: `skipped` VMs
    /// will not run.
    BootFailed { skipped: usize },
    /// Every VM a test reads has stopped: its verdict.
    TestFinished { result: &'a TestResult },
    /// Console output of a VM (only with `verbose`).
    Console { session: &'a str, bytes: &'a [u8] },
}

/// Receives grading events. Called from several tasks at once.
pub trait Reporter: Send + Sync {
    fn event(&self, event: Event<'_>);
}

/// Ignores every event.
impl Reporter for () {
    fn event(&self, _event: Event<'_>) {}
}

/// How to grade.
#[derive(Clone, Debug)]
pub struct Options {
    /// VMs running at once (at least 1).
    pub jobs: usize,
    /// Keep the built tree, build log, transcripts and report here.
    pub keep: Option<PathBuf>,
    /// Send console output as events.
    pub verbose: bool,
    /// How to build (sandbox, deadline).
    pub build: BuildOptions,
    /// Stop at the first failed test (see the module docs).
    pub fail_fast: bool,
    /// Start the rubric's snapshot programs' VMs from a saved machine
    /// (`snapshot_programs`); off, every VM boots.
    pub snapshots: bool,
}

/// What a report says about the build's sandbox.
pub fn confinement(options: &BuildOptions) -> Confinement {
    Confinement {
        sandboxed: options.sandbox.is_sandboxed(),
        how: options.sandbox.describe(),
    }
}

/// A submission built and given an image: ready to boot. The kernel and
/// the image are private copies, so the build cache is free for other
/// gradings as soon as the build is done.
pub struct Ready {
    /// The prepared source tree (deleted on drop).
    pub prepared: Prepared,
    /// cargo's output.
    pub build_log: String,
    pub build_duration: Duration,
    /// Holds the kernel and the image.
    dir: TempDir,
}

impl Ready {
    /// The file-system image.
    pub fn image(&self) -> PathBuf {
        self.dir.path().join("fs.img")
    }

    /// The kernel ELF.
    pub fn kernel(&self) -> PathBuf {
        self.dir.path().join("kernel")
    }

    /// The machine that boots this kernel and image with `qemu`, under
    /// QEMU's seccomp sandbox where that QEMU has one.
    pub fn machine(&self, qemu: &Path) -> Machine {
        let mut machine = Machine::new(qemu.to_path_buf(), self.kernel(), self.image());
        machine.seccomp = crate::run::qemu::seccomp_supported(qemu);
        machine
    }
}

/// What preparing and building a submission gave.
pub enum Readiness {
    Ready(Box<Ready>),
    /// It was refused before the build: nothing was built.
    Refused(Refusal),
    /// It did not compile: cargo's log.
    BuildFailed {
        prepared: Prepared,
        log: String,
        duration: Duration,
    },
}

/// How [`make_ready`] builds and what goes on the image.
#[derive(Clone, Copy)]
pub struct Making<'a> {
    /// The build's sandbox and deadline.
    pub build: &'a BuildOptions,
    /// A graded run's seal key and program names.
    pub sealing: Option<&'a Sealing>,
    /// The student's own programs, built with the tree (`run`, `qemu` and
    /// `build`; a grading has none).
    pub programs: Option<&'a StudentPrograms>,
}

/// Prepare `submission`, build it and write its image, with `extra` files
/// (instructors' own programs) added to the image, and with the test
/// programs sealed and renamed by `sealing` (a graded run; `xvlab run` and
/// `xvlab qemu` pass `None`, so the programs keep their names and print
/// unsealed lines).
pub async fn make_ready(
    assets: &Assets,
    lab: &Lab,
    submission: &Submission,
    cache: &BuildCache,
    how: &Making<'_>,
    reporter: &dyn Reporter,
) -> Result<Readiness, GradeError> {
    let Making {
        build,
        sealing,
        programs,
    } = *how;
    let extra = programs.map_or(&[][..], |p| &p.binaries[..]);
    reporter.event(Event::Preparing);
    let prepared = submission.prepare(assets, lab).and_then(|mut prepared| {
        if let Some(programs) = programs {
            prepared.add_programs(programs)?;
        }
        Ok(prepared)
    });
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(e) => match e.refusal() {
            // A full disk or exhausted memory is never the submission's
            // fault, whatever was being read.
            Some(refusal) if host_fault(&e).is_none() => return Ok(Readiness::Refused(refusal)),
            _ => return Err(e.into()),
        },
    };
    reporter.event(Event::Building);
    match kbuild::build(prepared.path(), &lab.name, cache, build).await? {
        BuildOutcome::Failed { log, duration } => {
            reporter.event(Event::Built {
                ok: false,
                duration,
            });
            Ok(Readiness::BuildFailed {
                prepared,
                log,
                duration,
            })
        }
        BuildOutcome::Built(built) => {
            reporter.event(Event::Built {
                ok: true,
                duration: built.duration,
            });
            let dir = tempfile::Builder::new()
                .prefix(&crate::shared::scratch::prefix("vm"))
                .tempdir()
                .map_err(GradeError::TempDir)?;
            // The starter's README (the prepared tree's: a starter patch
            // may have changed it) is the image's, as xv6's is.
            let readme_path = prepared.path().join("README.md");
            let readme = std::fs::read(&readme_path).map_err(|source| GradeError::Read {
                path: readme_path,
                source,
            })?;
            image::write_image(
                &dir.path().join("fs.img"),
                &readme,
                &image_programs(lab, &built.programs)?,
                extra,
                sealing,
            )?;
            let kernel = dir.path().join("kernel");
            std::fs::copy(&built.kernel, &kernel).map_err(|source| GradeError::Copy {
                path: built.kernel.clone(),
                source,
            })?;
            // Dropping `built` releases the build cache.
            let Built { log, duration, .. } = built;
            Ok(Readiness::Ready(Box::new(Ready {
                prepared,
                build_log: log,
                build_duration: duration,
                dir,
            })))
        }
    }
}

/// The result of grading.
pub struct Graded {
    /// `report.interrupted`: Ctrl-C stopped the grading; the report is
    /// partial.
    pub report: Report,
    /// With [`Options::fail_fast`]: the failed test that stopped the
    /// grading (the first to fail; the report's other failures finished
    /// in the same moment). `None` when nothing failed or the kernel did
    /// not build.
    pub stopped_by: Option<String>,
    /// What each VM did, in plan order (none if no VM ran): the consoles
    /// of the HTML report ([`consoles`]).
    pub outcomes: Vec<SessionOutcome>,
}

/// Grade `submission` against `rubric` (already filtered into `plan`).
#[allow(clippy::too_many_arguments)]
pub async fn grade(
    assets: &Assets,
    lab: &Lab,
    rubric: &Rubric,
    plan: &Plan,
    submission: &Submission,
    options: &Options,
    cache: &BuildCache,
    qemu: &Path,
    reporter: &dyn Reporter,
    cancel: &CancellationToken,
) -> Result<Graded, GradeError> {
    let started = Instant::now();
    let making = Making {
        build: &options.build,
        sealing: Some(plan.sealing()),
        programs: None,
    };
    let ready = tokio::select! {
        ready = make_ready(assets, lab, submission, cache, &making, reporter) => ready?,
        () = cancel.cancelled() => return Err(GradeError::Interrupted),
    };
    let ready = match ready {
        Readiness::Refused(refusal) => {
            let report = Report::refused(
                rubric,
                plan,
                &submission.describe(),
                &refusal,
                started.elapsed(),
            );
            return Ok(Graded {
                report,
                stopped_by: None,
                outcomes: Vec::new(),
            });
        }
        Readiness::BuildFailed {
            prepared,
            log,
            duration,
        } => {
            let mut report = Report::not_built(
                rubric,
                plan,
                &prepared.description,
                (duration, confinement(&options.build)),
                &log,
                started.elapsed(),
            );
            report.add_review(prepared.review(&Vocabulary::from_rubric(rubric)));
            if let Some(dir) = &options.keep {
                keep(dir, plan, Some(prepared.path()), &log, &[], &report)?;
            }
            return Ok(Graded {
                report,
                stopped_by: None,
                outcomes: Vec::new(),
            });
        }
        Readiness::Ready(ready) => ready,
    };

    let machine = ready.machine(qemu);
    let history = Durations::load(cache, &lab.name);
    let deadlines = Deadlines::new(load_references(assets, lab)?, rubric.deadlines);
    let (outcomes, stopped_by) = run_all(
        plan, &machine, options, reporter, cancel, &history, &deadlines,
    )
    .await?;
    history.update(&outcomes).save(cache, &lab.name);

    let mut report = Report::graded(
        rubric,
        plan,
        &ready.prepared.description,
        (ready.build_duration, confinement(&options.build)),
        &outcomes,
        started.elapsed(),
    );
    report.interrupted = cancel.is_cancelled();
    report.add_review(ready.prepared.review(&Vocabulary::from_rubric(rubric)));
    // Lines no real run of the test programs prints: the tests that read
    // them already failed; an instructor should know why.
    for evidence in check::forgery_evidence(plan, &outcomes) {
        report.flag_for_review(format!("forged console output: {evidence}"));
    }
    if let Some(dir) = &options.keep {
        keep(
            dir,
            plan,
            Some(ready.prepared.path()),
            &ready.build_log,
            &outcomes,
            &report,
        )?;
    }
    Ok(Graded {
        report,
        stopped_by,
        outcomes,
    })
}

/// The consoles of a grading for its HTML page: each VM's console masked
/// as `--keep` writes it, the VMs each planned test reads, and where each
/// failed test's evidence stands in its console (its lines masked alike).
pub fn consoles(plan: &Plan, outcomes: &[SessionOutcome], report: &Report) -> Consoles {
    let mut consoles = Consoles {
        sessions: kept_consoles(plan, outcomes),
        ..Consoles::default()
    };
    for test in plan.tests() {
        let mut vms: Vec<String> = test.checks.iter().map(|c| c.session.clone()).collect();
        vms.dedup();
        consoles.test_sessions.insert(test.name.clone(), vms);
    }
    for test in &report.tests {
        let Some(ev) = test.failure.as_ref().and_then(|f| f.evidence.as_ref()) else {
            continue;
        };
        let Some(lines) = consoles.sessions.get(&ev.session) else {
            continue;
        };
        let block: Vec<String> = ev.lines.iter().map(|l| masked_line(plan, l)).collect();
        // Evidence that is not a run of the console (it printed nothing)
        // still gets the console shown, with nothing highlighted.
        let range = html::locate(lines, &block).unwrap_or(0..0);
        consoles
            .evidence
            .insert(test.name.clone(), (ev.session.clone(), range));
    }
    consoles
}

/// Each VM's console, masked as `--keep` writes it, by VM name.
pub fn kept_consoles(plan: &Plan, outcomes: &[SessionOutcome]) -> BTreeMap<String, Vec<String>> {
    outcomes
        .iter()
        .filter(|o| o.end != SessionEnd::Cancelled)
        .map(|o| {
            let lines = o
                .transcript
                .lines()
                .iter()
                .map(|l| masked_line(plan, &l.text))
                .collect();
            (o.name.clone(), lines)
        })
        .collect()
}

/// Did the kernel of this session never reach a shell prompt?
fn never_booted(outcome: &SessionOutcome) -> bool {
    outcome.end != SessionEnd::Completed
        && outcome.end != SessionEnd::Cancelled
        && !outcome
            .transcript
            .lines()
            .iter()
            .any(|l| l.kind == LineKind::Input)
}

/// The reference durations of `lab` (none if the lab records none: then
/// every VM gets its rubric timeout).
pub fn load_references(assets: &Assets, lab: &Lab) -> Result<References, GradeError> {
    let path = lab.durations_path();
    match assets.read_string(&path) {
        Ok(text) => Ok(References::parse(&text, &path)?),
        Err(AssetError::NotFound { .. }) => Ok(References::default()),
        Err(e) => Err(e.into()),
    }
}

/// The VM deadlines of one grading (see `deadline`), and the retries of
/// VMs that hit theirs.
struct Deadlines {
    references: References,
    scaling: Scaling,
    /// Retries that timed out again.
    failed_retries: AtomicUsize,
}

impl Deadlines {
    fn new(references: References, scaling: Scaling) -> Deadlines {
        Deadlines {
            references,
            scaling,
            failed_retries: AtomicUsize::new(0),
        }
    }

    /// Make no more retries (the kernel is taken to hang).
    fn stop_retrying(&self) {
        self.failed_retries
            .store(deadline::RETRY_BUDGET, Ordering::SeqCst);
    }

    /// Run `spec` with its scaled deadline; if it times out, once more with
    /// a longer one, while the retry budget lasts.
    async fn run(
        &self,
        session: Launcher<'_>,
        spec: &SessionSpec,
        speed: f64,
    ) -> Result<SessionOutcome, GradeError> {
        let cap = spec.timeout;
        let deadline = self
            .scaling
            .deadline(self.references.get(&spec.name), speed, cap);
        let with = |timeout, retried| SessionSpec {
            timeout,
            start_timeout: self.scaling.start_deadline(speed, retried),
            ..spec.clone()
        };
        let first = session.run(&with(deadline, false)).await?;
        let timed_out = |o: &SessionOutcome| matches!(o.end, SessionEnd::TimedOut { .. });
        // A start deadline grows on a retry even when the deadline is the cap.
        let start_missed = matches!(
            first.end,
            SessionEnd::TimedOut {
                waiting_for: Waiting::Start { .. },
                ..
            }
        );
        if !timed_out(&first)
            || (deadline >= cap && !start_missed)
            || self.failed_retries.load(Ordering::SeqCst) >= deadline::RETRY_BUDGET
        {
            return Ok(first);
        }
        let retry = session
            .run(&with(deadline::retry_deadline(deadline, cap), true))
            .await?;
        if timed_out(&retry) {
            self.failed_retries.fetch_add(1, Ordering::SeqCst);
        }
        Ok(retry)
    }
}

/// Run every session of `plan`: the first alone as a boot probe, the rest
/// on `options.jobs` workers, longest first. Returns outcomes in plan order
/// and, with `options.fail_fast`, the failed test that stopped the run.
async fn run_all(
    plan: &Plan,
    machine: &Machine,
    options: &Options,
    reporter: &dyn Reporter,
    cancel: &CancellationToken,
    history: &Durations,
    deadlines: &Deadlines,
) -> Result<(Vec<SessionOutcome>, Option<String>), GradeError> {
    let specs: Vec<SessionSpec> = plan.specs().cloned().collect();
    reporter.event(Event::Running { total: specs.len() });
    let done = Mutex::new(Done::new(plan));
    let Some((probe, rest)) = specs.split_first() else {
        return Ok((Vec::new(), None));
    };

    // The VMs stop on Ctrl-C and, with fail-fast, on the first failed
    // test; only the first of those makes the report "interrupted".
    let stop = cancel.child_token();
    let snapshots = Snapshots::new(machine, options.snapshots);
    let session = Launcher {
        machine,
        options,
        reporter,
        cancel: &stop,
        snapshots: &snapshots,
    };
    let finish = |outcome: SessionOutcome| {
        let mut done = done.lock().expect("grading state");
        done.finish(outcome, reporter);
        if options.fail_fast && done.first_failure.is_some() {
            stop.cancel();
        }
    };
    let first = deadlines.run(session, probe, 1.0).await?;
    // A kernel that cannot run `echo` even with the retry's longer
    // deadline hangs; retrying its other VMs would only wait longer.
    if matches!(first.end, SessionEnd::TimedOut { .. }) {
        deadlines.stop_retrying();
    }
    // The probe measures how fast this machine runs VMs right now.
    let speed = if first.end == SessionEnd::Completed {
        deadline::speed(first.duration, deadlines.references.get(&probe.name))
    } else {
        1.0
    };
    let booted = !never_booted(&first);
    finish(first.clone());

    if !booted && !rest.is_empty() {
        // Every other VM would fail to boot the same way.
        reporter.event(Event::BootFailed {
            skipped: rest.len(),
        });
        for spec in rest {
            let skipped = SessionOutcome {
                name: spec.name.clone(),
                duration: Duration::ZERO,
                ..first.clone()
            };
            finish(skipped);
        }
    } else {
        let mut queue: Vec<&SessionSpec> = rest.iter().collect();
        // Longest first, by this machine's earlier gradings, else by the
        // reference's; unknown durations keep rubric order (stable sort).
        queue.sort_by_key(|s| {
            let earlier = history.get(&s.name);
            let known = if earlier.is_zero() {
                deadlines.references.get(&s.name).unwrap_or_default()
            } else {
                earlier
            };
            std::cmp::Reverse(known)
        });
        let queue = Mutex::new(queue.into_iter().collect::<VecDeque<_>>());
        let workers = options.jobs.max(1);
        let worker = || async {
            loop {
                if stop.is_cancelled() {
                    break;
                }
                let Some(spec) = queue.lock().expect("session queue").pop_front() else {
                    break;
                };
                let outcome = deadlines.run(session, spec, speed).await?;
                finish(outcome);
            }
            Ok::<(), GradeError>(())
        };
        // The workers borrow this function's state, so they run as
        // futures of this task rather than as spawned tasks.
        futures::future::try_join_all((0..workers).map(|_| worker())).await?;
        // Sessions that never started because of Ctrl-C or fail-fast.
        for spec in queue.into_inner().expect("session queue") {
            let outcome = SessionOutcome {
                name: spec.name.clone(),
                end: SessionEnd::Cancelled,
                transcript: Default::default(),
                duration: Duration::ZERO,
            };
            finish(outcome);
        }
    }

    let done = done.into_inner().expect("grading state");
    let stopped_by = done.first_failure.filter(|_| options.fail_fast);
    let mut by_name: HashMap<String, SessionOutcome> = done
        .outcomes
        .into_iter()
        .map(|o| (o.name.clone(), o))
        .collect();
    let outcomes = specs
        .iter()
        .filter_map(|s| by_name.remove(&s.name))
        .collect();
    Ok((outcomes, stopped_by))
}

/// What every VM of a grading shares.
#[derive(Clone, Copy)]
struct Launcher<'a> {
    machine: &'a Machine,
    options: &'a Options,
    reporter: &'a dyn Reporter,
    cancel: &'a CancellationToken,
    snapshots: &'a Snapshots,
}

impl Launcher<'_> {
    /// Run one VM, reporting its start and (with `verbose`) its console:
    /// from its snapshot if it has one and that works, else booted.
    async fn run(&self, spec: &SessionSpec) -> Result<SessionOutcome, GradeError> {
        self.reporter
            .event(Event::SessionStarted { name: &spec.name });
        let mut observer = Forward {
            session: &spec.name,
            reporter: self.reporter,
            verbose: self.options.verbose,
        };
        if let Some(from) = &spec.snapshot
            && let Some(snapshot) = self
                .snapshots
                .get(self.machine, from, spec, self.cancel)
                .await?
            && let Some(outcome) = snapshot
                .run(self.machine, spec, from, self.cancel, &mut observer)
                .await?
        {
            return Ok(outcome);
        }
        Ok(run_session(self.machine, spec, self.cancel, &mut observer).await?)
    }
}

/// The snapshots of one grading, one per program that waits (by what its
/// VM types), each taken when the first VM that needs it starts; a
/// snapshot that could not be taken is not tried again.
struct Snapshots {
    /// Where they go: the folder of the grading's image (`None`: taken
    /// never).
    dir: Option<PathBuf>,
    taken: Mutex<HashMap<String, Taken>>,
}

/// One program's snapshot, taken by the first VM that needs it while the
/// others wait; `None` in it: it could not be taken.
type Taken = Arc<tokio::sync::OnceCell<Option<Arc<Snapshot>>>>;

impl Snapshots {
    /// Snapshots for `machine`'s VMs, or (`enabled` false) none.
    fn new(machine: &Machine, enabled: bool) -> Snapshots {
        Snapshots {
            dir: machine
                .image
                .parent()
                .filter(|_| enabled)
                .map(Path::to_path_buf),
            taken: Mutex::default(),
        }
    }

    /// The snapshot for `from`, taken now for `spec` if it is the first to
    /// need it.
    async fn get(
        &self,
        machine: &Machine,
        from: &FromSnapshot,
        spec: &SessionSpec,
        cancel: &CancellationToken,
    ) -> Result<Option<Arc<Snapshot>>, GradeError> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        let (n, cell) = {
            let mut taken = self.taken.lock().expect("snapshots");
            let n = taken.len();
            (n, taken.entry(from.setup.clone()).or_default().clone())
        };
        let snapshot = cell
            .get_or_try_init(|| async {
                let dir = dir.join(format!("snapshot-{n}"));
                let taken = Snapshot::take(machine, from, &dir, spec, cancel).await?;
                Ok::<_, GradeError>(taken.map(Arc::new))
            })
            .await?;
        Ok(snapshot.clone())
    }
}

/// Forwards a session's console to the reporter.
struct Forward<'a> {
    session: &'a str,
    reporter: &'a dyn Reporter,
    verbose: bool,
}

impl SessionObserver for Forward<'_> {
    fn console(&mut self, bytes: &[u8]) {
        if self.verbose {
            self.reporter.event(Event::Console {
                session: self.session,
                bytes,
            });
        }
    }
}

/// Sessions finished so far, and the tests whose verdict is known.
struct Done<'p> {
    plan: &'p Plan,
    outcomes: Vec<SessionOutcome>,
    reported: Vec<bool>,
    /// The first test that failed (with a verdict: not merely not run).
    first_failure: Option<String>,
}

impl<'p> Done<'p> {
    fn new(plan: &'p Plan) -> Done<'p> {
        Done {
            plan,
            outcomes: Vec::new(),
            reported: vec![false; plan.tests().len()],
            first_failure: None,
        }
    }

    /// Record an outcome and report every test it completes.
    fn finish(&mut self, outcome: SessionOutcome, reporter: &dyn Reporter) {
        reporter.event(Event::SessionFinished { outcome: &outcome });
        self.outcomes.push(outcome);
        for (i, test) in self.plan.tests().iter().enumerate() {
            if self.reported[i] {
                continue;
            }
            let complete = test
                .checks
                .iter()
                .all(|c| self.outcomes.iter().any(|o| o.name == c.session));
            if complete {
                self.reported[i] = true;
                let result = check::evaluate_test(self.plan, test, &self.outcomes);
                if !result.passed() && !result.not_run && self.first_failure.is_none() {
                    self.first_failure = Some(result.name.clone());
                }
                reporter.event(Event::TestFinished { result: &result });
            }
        }
    }
}

/// How long each VM took in earlier gradings of a lab, to start the slow
/// ones first.
#[derive(Clone, Debug, Default)]
struct Durations(BTreeMap<String, Duration>);

impl Durations {
    fn path(cache: &BuildCache, lab: &str) -> PathBuf {
        cache.root().join("durations").join(format!("{lab}.json"))
    }

    /// Earlier durations; none if there are none or they cannot be read
    /// (this is only a scheduling hint).
    fn load(cache: &BuildCache, lab: &str) -> Durations {
        let map: BTreeMap<String, f64> = std::fs::read(Self::path(cache, lab))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Durations(
            map.into_iter()
                .filter(|(_, s)| s.is_finite() && *s >= 0.0)
                .map(|(k, s)| (k, Duration::from_secs_f64(s)))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Duration {
        self.0.get(name).copied().unwrap_or_default()
    }

    /// These durations updated with the completed sessions of a run.
    fn update(&self, outcomes: &[SessionOutcome]) -> Durations {
        let mut next = self.clone();
        for o in outcomes.iter().filter(|o| o.end == SessionEnd::Completed) {
            next.0.insert(o.name.clone(), o.duration);
        }
        next
    }

    /// Save, best effort: losing the hint only costs scheduling quality.
    fn save(&self, cache: &BuildCache, lab: &str) {
        let path = Self::path(cache, lab);
        let map: BTreeMap<&String, f64> =
            self.0.iter().map(|(k, d)| (k, d.as_secs_f64())).collect();
        if let (Some(dir), Ok(json)) = (path.parent(), serde_json::to_vec_pretty(&map)) {
            let _ = std::fs::create_dir_all(dir);
            let _ = std::fs::write(&path, json);
        }
    }
}

/// Write what `--keep` asks for: the source tree the kernel was built from,
/// the build log, each VM's transcript (normalised and raw), and the JSON
/// report. The normalised transcripts show the token as `…`, leave out the
/// seals and nonces, and show the sealed programs under their real names, so that transcripts of two runs diff clean; the raw ones are
/// exactly what the VM printed.
fn keep(
    dir: &Path,
    plan: &Plan,
    tree: Option<&Path>,
    build_log: &str,
    outcomes: &[SessionOutcome],
    report: &Report,
) -> Result<(), GradeError> {
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GradeError::Keep { path, source }
    };
    std::fs::create_dir_all(dir).map_err(err(dir))?;
    if let Some(tree) = tree {
        let dest = dir.join("tree");
        kbuild::sync_tree(tree, &dest).map_err(|e| GradeError::Keep {
            path: dest.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
    }
    let log = dir.join("build.log");
    std::fs::write(&log, build_log).map_err(err(&log))?;
    let transcripts = dir.join("transcripts");
    std::fs::create_dir_all(&transcripts).map_err(err(&transcripts))?;
    for o in outcomes {
        let stem = o.name.replace('/', "-");
        let text = transcripts.join(format!("{stem}.txt"));
        std::fs::write(&text, masked_transcript(plan, &o.transcript.text())).map_err(err(&text))?;
        let raw = transcripts.join(format!("{stem}.raw"));
        std::fs::write(&raw, o.transcript.raw()).map_err(err(&raw))?;
    }
    let json_path = dir.join("report.json");
    std::fs::write(&json_path, json::render(report)).map_err(err(&json_path))?;
    Ok(())
}

/// A normalised transcript as `--keep` writes it (see [`keep`]).
fn masked_transcript(plan: &Plan, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(&masked_line(plan, line));
        out.push('\n');
    }
    out
}

/// One console line as kept: the token masked, the programs under their
/// real names, every seal and a start line's nonce (` ~` and 16 hex
/// digits) removed, so that the line reads as it does unsealed.
fn masked_line(plan: &Plan, line: &str) -> String {
    seal::strip_all(&plan.mask(line)).to_string()
}

/// The programs of a build that go on the image: with lab.toml's
/// `test_programs`, the programs that are not test programs (a test program
/// carries the seal's key marker, see [`image::seal_program`]) and the test
/// programs the lab names, so one starter can carry the test programs of
/// several labs; without it, every program.
fn image_programs(lab: &Lab, programs: &[Program]) -> Result<Vec<Program>, GradeError> {
    let Some(tests) = &lab.test_programs else {
        return Ok(programs.to_vec());
    };
    let mut chosen = Vec::new();
    for program in programs {
        if !tests.contains(&program.name) {
            let elf = std::fs::read(&program.path).map_err(|source| ImageError::Read {
                path: program.path.clone(),
                source,
            })?;
            if elf.windows(seal::KEY_LEN).any(|w| w == seal::MARKER) {
                continue;
            }
        }
        chosen.push(program.clone());
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_carries_the_labs_own_test_programs_only() {
        let dir = tempfile::tempdir().unwrap();
        let program = |name: &str, marked: bool| {
            let path = dir.path().join(name);
            let marker = if marked { &seal::MARKER[..] } else { b"" };
            std::fs::write(&path, [b"\x7fELF ".as_slice(), marker].concat()).unwrap();
            Program {
                name: name.into(),
                path,
            }
        };
        let built = [
            program("sh", false),
            program("cowtest", true),
            program("lazytests", true),
            program("usertests", true),
        ];
        let names = |lab: &Lab| -> Vec<String> {
            image_programs(lab, &built)
                .unwrap()
                .into_iter()
                .map(|p| p.name)
                .collect()
        };
        let cow = Lab::parse(
            "cow",
            "name = \"cow\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"k\"\neditable = []\n\
             test_programs = [\"cowtest\", \"usertests\"]\n",
        )
        .unwrap()
        .0;
        assert_eq!(names(&cow), ["sh", "cowtest", "usertests"]);
        let all = Lab::parse(
            "x",
            "name = \"x\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"k\"\neditable = []\n",
        )
        .unwrap()
        .0;
        assert_eq!(names(&all), ["sh", "cowtest", "lazytests", "usertests"]);
    }

    fn io(errno: i32) -> std::io::Error {
        std::io::Error::from_raw_os_error(errno)
    }

    #[test]
    fn a_full_disk_or_exhausted_memory_anywhere_is_a_host_fault() {
        let sync = GradeError::Build(BuildError::Io {
            action: "write",
            path: PathBuf::from("/c/build/lazy/tree/kernel/src/vm.rs"),
            source: io(libc_errno::ENOSPC),
        });
        assert_eq!(
            sync.host_fault().as_deref(),
            Some(
                "the disk is full: failed to write `/c/build/lazy/tree/kernel/src/vm.rs`: \
                 No space left on device (os error 28)"
            )
        );
        let prepare = GradeError::Submission(SubmissionError::Io {
            action: "create a directory in `/tmp`".to_string(),
            source: io(libc_errno::EDQUOT),
        });
        assert!(prepare.host_fault().unwrap().starts_with("the disk quota"));
        let image = GradeError::Image(ImageError::Write {
            path: PathBuf::from("/tmp/fs.img"),
            source: io(libc_errno::ENOMEM),
        });
        assert!(image.host_fault().unwrap().starts_with("out of memory"));
        let vm = GradeError::Session(SessionError::Wait(std::io::Error::other(
            crate::shared::process::HostFault {
                reason: "QEMU was killed (SIGKILL, out of memory?)".to_string(),
            },
        )));
        assert_eq!(
            vm.host_fault().as_deref(),
            Some("QEMU was killed (SIGKILL, out of memory?)")
        );
    }

    #[test]
    fn other_failures_are_not_host_faults() {
        let denied = GradeError::Build(BuildError::Io {
            action: "write",
            path: PathBuf::from("/c"),
            source: io(libc_errno::EACCES),
        });
        assert_eq!(denied.host_fault(), None);
        assert_eq!(GradeError::Interrupted.host_fault(), None);
        assert_eq!(GradeError::Build(BuildError::NoTarget).host_fault(), None);
    }

    #[test]
    fn a_wrapped_error_keeps_its_kinds_exit_code() {
        use crate::submission::ForbiddenKind;
        // A symlink's path is clean: only its kind says 103, so nothing
        // on the way to the exit code may look at the path again.
        let symlink = GradeError::Submission(SubmissionError::Forbidden {
            path: "kernel/src/link.rs".to_string(),
            kind: ForbiddenKind::UnsafePath,
            message: "a symbolic link".to_string(),
        });
        assert_eq!(symlink.exit_code(), exit::PATCH_UNSAFE_PATH);
        assert_eq!(
            GradeError::Submission(SubmissionError::GitMissing).exit_code(),
            exit::MISSING_TOOL
        );
        assert_eq!(
            GradeError::Build(BuildError::NoTarget).exit_code(),
            exit::MISSING_TOOL
        );
        assert_eq!(
            GradeError::Qemu(QemuError::NotFound).exit_code(),
            exit::MISSING_TOOL
        );
        assert_eq!(GradeError::Interrupted.exit_code(), exit::INTERRUPTED);
        let full = GradeError::Build(BuildError::Io {
            action: "write",
            path: PathBuf::from("/c"),
            source: io(libc_errno::ENOSPC),
        });
        assert_eq!(full.exit_code(), exit::GRADER_FAULT);
        let denied = GradeError::Build(BuildError::Io {
            action: "write",
            path: PathBuf::from("/c"),
            source: io(libc_errno::EACCES),
        });
        assert_eq!(denied.exit_code(), exit::FAILURE);
    }

    /// The errno values, without a libc dependency.
    mod libc_errno {
        use nix::errno::Errno;
        pub const ENOSPC: i32 = Errno::ENOSPC as i32;
        pub const EDQUOT: i32 = Errno::EDQUOT as i32;
        pub const ENOMEM: i32 = Errno::ENOMEM as i32;
        pub const EACCES: i32 = Errno::EACCES as i32;
    }

    #[test]
    fn kept_transcripts_hide_what_changes_every_run() {
        let plan = check::tests::plan();
        let text = format!(
            "$ usertests -k {t} sbrkarg\nusertests starting ~0123456789abcdef ~0123456789abcdef\n\
             test sbrkarg: OK [{t}] ~fedcba9876543210\nplain ~ line\n",
            t = check::tests::TOKEN
        );
        assert_eq!(
            masked_transcript(&plan, &text),
            "$ usertests -k … sbrkarg\nusertests starting\ntest sbrkarg: OK […]\nplain ~ line\n"
        );
    }
}
