//! The command line: clap's description of `xvlab` and its subcommands, and
//! [`run`], which resolves the raw arguments into what each command needs
//! (lab, submission, rubric, cache, QEMU), runs it and maps the result to an
//! exit code (see exit.rs). The work itself lives in the library modules.
//!
//! `xvlab doctor`, which checks the tools xvlab needs rather than running
//! any stage, is [`doctor`].

pub mod doctor;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

use crate::build::kbuild::{BuildCache, BuildOptions};
use crate::build::sandbox::SandboxMode;
use crate::grade::class::{self, ClassError};
use crate::grade::mutants::{self, run::MutantsError};
use crate::grade::pool::ManyOptions;
use crate::grade::progress::Progress;
use crate::grade::reference::{self, ReferenceContext};
use crate::grade::selftest;
use crate::grade::{self, GradeError, Options, Readiness};
use crate::lab::assets::Assets;
use crate::lab::rubric::{Rubric, RubricError};
use crate::lab::{self, Lab, LabError};
use crate::report::{gradescope, html, human, json, junit};
use crate::run::plan::{Plan, PlanError, TestFilter, Token};
use crate::run::session::{SessionEnd, SessionSpec, run_session};
use crate::run::{gdb, qemu};
use crate::shared::exit::{self, chain};
use crate::submission::Submission;
use crate::submission::programs::StudentPrograms;
use crate::submission::student::{self, StudentCopy, StudentError};

mod autograder;
mod diff;
mod selection;

/// Autograder and lab harness for the xv6-style Rust kernel's labs.
#[derive(Debug, Parser)]
#[command(name = "xvlab", version, after_help = exit::help_text())]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Grade a submission: build it, run the lab's tests each in a fresh VM,
    /// and score them.
    Grade(GradeArgs),
    /// Boot a submission, type commands at its shell, print the transcript.
    Run(RunArgs),
    /// Boot a submission interactively (like `make qemu`; Ctrl-A X quits).
    Qemu(QemuArgs),
    /// Build a submission's kernel and file-system image without booting.
    Build(BuildArgs),
    /// Make a student working copy of a lab's starter tree (a git repository).
    Init {
        /// The lab (e.g. `lazy`).
        lab: String,
        /// Directory to create (must not exist or be empty).
        dir: PathBuf,
    },
    /// Write the patch to hand in: your changes to the editable files.
    Pack {
        /// Where to write it (default: `<lab>-submission.patch` in the copy).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// The student copy (default: the one containing the current
        /// directory).
        #[arg(long)]
        tree: Option<PathBuf>,
    },
    /// Load and validate a rubric (a lab name or a rubric.toml path).
    CheckRubric {
        /// `lazy`, or a path to a rubric.toml.
        lab: String,
    },
    /// Check that QEMU, cargo, the Rust target and git are installed.
    Doctor,
    /// Grade the lab's starter, reference solution and known-bad
    /// submissions, and compare each result with its expectation.
    SelfTest(SelfTestArgs),
    /// Mutation analysis of the rubric: grade mutants of the reference
    /// solution (from cargo-mutants) and report those no test kills.
    Mutants(MutantsArgs),
    /// Grade a whole class: every submission of INPUT... (folders of patch
    /// files or of student folders, a Gradescope export, list files) on
    /// one pool of VMs, into a gradebook; resumable.
    GradeAll(GradeAllArgs),
    /// Merge the output folders of `grade-all --partition` shards into one
    /// gradebook, JUnit file and index page: byte for byte those one
    /// unsharded run writes of the same results. Refuses shards of
    /// different lab material or that share a student (exit 2), and a
    /// shard whose students have no model.json (graded by an older xvlab:
    /// grade it again), before anything is written (exit 1).
    Merge {
        /// The folder to write (the merged gradebook, summary, junit.xml,
        /// index.html and students).
        output: PathBuf,
        /// The shards' output folders.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
    },
    /// Compare two gradings: folders kept by `grade --keep` or JSON reports
    /// (`grade --format json`). Status changes first, then unified diffs of
    /// the transcripts that differ; exit code 0 if they do not differ, 115
    /// if they do.
    Diff(DiffArgs),
    /// Write Gradescope's autograder bundle for a lab (a zip with
    /// setup.sh, run_autograder and xvlab's sources).
    GradescopeBundle(autograder::BundleArgs),
    /// Grade the one submission in a Gradescope submission folder into
    /// results.json (what the bundle's run_autograder runs).
    Autograde(autograder::AutogradeArgs),
}

/// Where the build runs.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Build in the bubblewrap sandbox: `auto` where it works (else
    /// unconfined, and the report says so), `require` or fail, `off`.
    #[arg(long, value_enum, default_value_t = SandboxMode::Auto)]
    pub sandbox: SandboxMode,
}

/// How much of a successful build `run`, `qemu` and `build` show.
#[derive(Debug, Args)]
pub struct BuildShowArgs {
    /// Print the build's warnings in full (else only how many there are).
    #[arg(long, short)]
    pub verbose: bool,
}

/// Which submission a command works on.
#[derive(Debug, Args)]
pub struct SubmissionArgs {
    /// A kernel tree to use (a student copy); default: the student copy
    /// containing the current directory.
    #[arg(long, value_name = "DIR", conflicts_with = "patches")]
    pub tree: Option<PathBuf>,
    /// A patch to apply to the starter tree; repeat for a series, applied in
    /// order (a `git format-patch` mbox counts as a series).
    #[arg(long = "patch", value_name = "FILE")]
    pub patches: Vec<PathBuf>,
}

/// Which lab a command works on, chosen the same way by every command.
#[derive(Debug, Args)]
pub struct LabArg {
    /// The lab (default: the student copy's lab, or the only lab).
    #[arg(value_name = "LAB")]
    pub lab: Option<String>,
    /// The same as LAB (what `run`, `qemu` and `build` took before).
    #[arg(long = "lab", value_name = "LAB", hide = true, conflicts_with = "lab")]
    pub lab_option: Option<String>,
}

impl LabArg {
    /// The lab named, either way, if one is.
    pub fn name(&self) -> Option<&str> {
        self.lab.as_deref().or(self.lab_option.as_deref())
    }
}

/// `--jobs N`: at least one VM, or nothing would ever run.
fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("0 VMs would run nothing: give at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable text, with reasons and console evidence for failures.
    Human,
    /// JSON: Gradescope's results.json plus durations, reasons, evidence.
    Json,
    /// Exactly Gradescope's results.json.
    Gradescope,
    /// One self-contained web page: summary, test table, failed tests'
    /// consoles, and diffs against the reference solution's consoles.
    Html,
    /// JUnit XML for CI systems: a testcase per rubric test.
    Junit,
}

#[derive(Debug, Args)]
pub struct GradeArgs {
    #[command(flatten)]
    pub lab: LabArg,
    #[command(flatten)]
    pub submission: SubmissionArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    /// Run only the tests whose names contain PATTERN (or match it as a
    /// glob with `*`, `?`, `[]`); case-insensitive; repeatable.
    #[arg(long = "test", value_name = "PATTERN")]
    pub tests: Vec<String>,
    /// List the tests (name, points, session) instead of grading: nothing
    /// is built or booted; with --test, the ones it selects.
    #[arg(long)]
    pub list: bool,
    /// Run only the tests that failed or were not run in this student
    /// copy's last grading.
    #[arg(long, conflicts_with = "tests")]
    pub failed: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// VMs to run at once (default: the number of host CPUs).
    #[arg(long, short, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Keep the built tree, build log, transcripts and JSON report in DIR
    /// (a new or empty folder; `xvlab diff` compares two of them).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Stream every VM's console to standard error, and report every test
    /// with all its details.
    #[arg(long, short)]
    pub verbose: bool,
    /// Start the VMs of the rubric's snapshot programs (usertests) from a
    /// machine saved once where the program waits for its arguments,
    /// instead of booting each. Faster; a kernel that treats the test
    /// programs' command lines specially may be graded differently (see the
    /// README).
    #[arg(long)]
    pub snapshots: bool,
}

pub use diff::DiffArgs;

#[derive(Debug, Args)]
pub struct GradeAllArgs {
    /// The lab.
    pub lab: String,
    /// Folders of submissions, patch files or list files (one path per
    /// line).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// The output folder: gradebook.csv, summary.json, junit.xml,
    /// index.html, students/ID/, and the kept results a rerun resumes from.
    #[arg(long, short, value_name = "DIR")]
    pub output: PathBuf,
    /// VMs to run at once over the whole class (default: the number of
    /// host CPUs).
    #[arg(long, short, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Grade every submission again, ignoring kept results.
    #[arg(long)]
    pub force: bool,
    /// Grade only shard K of N (`hash:K/N`, by a hash of the student id);
    /// `xvlab merge` joins the shards.
    #[arg(long, value_name = "hash:K/N")]
    pub partition: Option<crate::grade::class::roster::Partition>,
    /// Also keep each grading's tree, build log and transcripts
    /// (students/ID/grading/).
    #[arg(long)]
    pub transcripts: bool,
    /// Run only the tests whose names contain PATTERN (as `grade --test`).
    #[arg(long = "test", value_name = "PATTERN")]
    pub tests: Vec<String>,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub lab: LabArg,
    #[command(flatten)]
    pub submission: SubmissionArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    #[command(flatten)]
    pub show: BuildShowArgs,
    /// Put a program of yours on the image too: a Rust source `NAME.rs`
    /// (built as a user program against the copy's user library) or a
    /// RISC-V xv6 binary; repeatable. (A student copy's new
    /// `user/src/bin/*.rs` programs are built without it.)
    #[arg(long = "add", value_name = "FILE")]
    pub add: Vec<PathBuf>,
    /// Harts in the VM.
    #[arg(long, default_value_t = 1)]
    pub cpus: u32,
    /// Give up after this long (boot included), e.g. `90s`, `5m`. The
    /// default fits a whole `usertests` of the reference solution on one
    /// hart (about 66 s here) with room to spare.
    #[arg(long, default_value = "3m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Print the console exactly as received instead of normalised.
    #[arg(long)]
    pub raw: bool,
    /// Commands to type, one per shell prompt.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub commands: Vec<String>,
}

#[derive(Debug, Args)]
pub struct QemuArgs {
    #[command(flatten)]
    pub lab: LabArg,
    #[command(flatten)]
    pub submission: SubmissionArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    #[command(flatten)]
    pub show: BuildShowArgs,
    /// Put a program of yours on the image too: a Rust source `NAME.rs`
    /// (built as a user program against the copy's user library) or a
    /// RISC-V xv6 binary; repeatable. (A student copy's new
    /// `user/src/bin/*.rs` programs are built without it.)
    #[arg(long = "add", value_name = "FILE")]
    pub add: Vec<PathBuf>,
    /// Harts in the VM.
    #[arg(long, default_value_t = 1)]
    pub cpus: u32,
    /// Stop at the first instruction and wait for gdb on a free port.
    #[arg(long)]
    pub gdb: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub lab: LabArg,
    #[command(flatten)]
    pub submission: SubmissionArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    #[command(flatten)]
    pub show: BuildShowArgs,
    /// Put a program of yours on the image too: a Rust source `NAME.rs`
    /// (built as a user program against the copy's user library) or a
    /// RISC-V xv6 binary; repeatable. (A student copy's new
    /// `user/src/bin/*.rs` programs are built without it.)
    #[arg(long = "add", value_name = "FILE")]
    pub add: Vec<PathBuf>,
    /// Directory to write `kernel` and `fs.img` to.
    #[arg(long, short, value_name = "DIR")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct SelfTestArgs {
    #[command(flatten)]
    pub lab: LabArg,
    /// Only the cases whose names contain PATTERN; repeatable.
    #[arg(long = "case", value_name = "PATTERN")]
    pub cases: Vec<String>,
    /// VMs to run at once per grading.
    #[arg(long, short, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Write the reference solution's measured VM durations to FILE (the
    /// `durations.toml` of the lab's grading directory, from which VM
    /// deadlines scale).
    #[arg(long, value_name = "FILE")]
    pub record_durations: Option<PathBuf>,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

#[derive(Debug, Args)]
pub struct MutantsArgs {
    #[command(flatten)]
    pub lab: LabArg,
    /// Only list the mutants (nothing is built or run).
    #[arg(long)]
    pub list: bool,
    /// Judge the mutants by these tests only (as `grade --test`);
    /// repeatable.
    #[arg(long = "test", value_name = "PATTERN")]
    pub tests: Vec<String>,
    /// Grade every mutant again, ignoring results kept from earlier runs.
    #[arg(long)]
    pub force: bool,
    /// Grade only N mutants, spread evenly over the listing (the same N
    /// every run).
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// Report format (`human` or `json`).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// VMs to run at once, over all gradings (default: the number of host
    /// CPUs).
    #[arg(long, short, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

/// A failure of the command, with its exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// A failure with `code` (the error kind's own) and the message
    /// "failed to …" (error messages read after "failed to").
    fn failed(code: u8, e: &dyn std::error::Error) -> Failure {
        Failure::new(code, format!("failed to {}", chain(e)))
    }
}

fn lab_failure(e: LabError) -> Failure {
    Failure::failed(e.exit_code(), &e)
}

fn rubric_failure(e: RubricError) -> Failure {
    Failure::failed(e.exit_code(), &e)
}

fn plan_failure(e: PlanError) -> Failure {
    Failure::failed(e.exit_code(), &e)
}

fn grade_failure(e: GradeError) -> Failure {
    grade_failure_ref(&e)
}

/// The exit code and message of a grading error (also one inside another
/// command's error).
fn grade_failure_ref(e: &GradeError) -> Failure {
    let message = match (e.host_fault(), e) {
        (Some(reason), _) => format!("the grading machine failed: {reason}"),
        // A standalone sentence (see SubmissionError), not "failed to …".
        (None, GradeError::Submission(s)) => chain(s),
        (None, GradeError::Interrupted) => "interrupted: nothing was graded".to_string(),
        (None, _) => format!("failed to {}", chain(e)),
    };
    Failure::new(e.exit_code(), message)
}

/// The lab to use: named, else the student copy's, else the only one.
fn resolve_lab(assets: &Assets, named: Option<&str>, tree: Option<&Path>) -> Result<Lab, Failure> {
    let name = match named {
        Some(name) => name.to_string(),
        None => {
            let start = tree
                .map(Path::to_path_buf)
                .or_else(|| std::env::current_dir().ok());
            match start.and_then(|dir| StudentCopy::find(&dir).ok()) {
                Some(copy) => copy.lab,
                None => {
                    let labs = lab::list(assets);
                    match labs.as_slice() {
                        [only] => only.clone(),
                        _ => {
                            return Err(Failure::new(
                                exit::USAGE,
                                format!("name the lab: one of {}", labs.join(", ")),
                            ));
                        }
                    }
                }
            }
        }
    };
    Lab::load(assets, &name).map_err(lab_failure)
}

/// The submission: patch files (read, and refused if unreadable, when
/// it is prepared), a tree, the student copy around the current
/// directory, or (when `starter_ok`) the starter itself.
fn resolve_submission(args: &SubmissionArgs, starter_ok: bool) -> Result<Submission, Failure> {
    if !args.patches.is_empty() {
        return Ok(Submission::PatchFiles(args.patches.clone()));
    }
    if let Some(tree) = &args.tree {
        return Ok(Submission::WorkTree(tree.clone()));
    }
    let here = std::env::current_dir().map_err(|e| {
        Failure::new(
            exit::FAILURE,
            format!("failed to find the current directory: {e}"),
        )
    })?;
    match StudentCopy::find(&here) {
        Ok(copy) => Ok(Submission::WorkTree(copy.root)),
        Err(_) if starter_ok => Ok(Submission::Starter),
        Err(_) => Err(Failure::new(
            exit::USAGE,
            "nothing to grade here: run this in a student copy (`xvlab init`), or pass --tree DIR or --patch FILE",
        )),
    }
}

fn load_rubric(assets: &Assets, lab: &Lab) -> Result<Rubric, Failure> {
    load_rubric_text(assets, lab).map(|(rubric, _)| rubric)
}

/// The lab's rubric and its text (what kept results are keyed by).
fn load_rubric_text(assets: &Assets, lab: &Lab) -> Result<(Rubric, String), Failure> {
    let text = assets.read_string(&lab.rubric_path()).map_err(|e| {
        Failure::new(
            exit::BAD_LAB,
            format!("failed to load the rubric: {}", chain(&e)),
        )
    })?;
    let rubric = Rubric::parse(&text, &lab.rubric_path()).map_err(rubric_failure)?;
    Ok((rubric, text))
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn cache() -> Result<BuildCache, Failure> {
    BuildCache::locate().map_err(|e| Failure::failed(e.exit_code(), &e))
}

/// How to build `lab`'s submissions: `--sandbox` resolved (bubblewrap
/// probed), the lab's deadline.
fn build_options(
    mode: SandboxMode,
    lab: &Lab,
    cache: &BuildCache,
) -> Result<BuildOptions, Failure> {
    BuildOptions::resolve(mode, lab, cache).map_err(|e| Failure::failed(e.exit_code(), &e))
}

fn locate_qemu() -> Result<PathBuf, Failure> {
    qemu::locate_qemu().map_err(|e| Failure::failed(e.exit_code(), &e))
}

/// Cancel `token` on Ctrl-C or SIGTERM (the VMs are in their own process
/// groups, so the terminal's SIGINT does not reach them: xvlab stops them
/// itself; a job scheduler's SIGTERM gets the same orderly stop).
fn cancel_on_ctrl_c() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(term) => {
                    term.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            r = tokio::signal::ctrl_c() => if r.is_ok() { t.cancel() },
            () = terminated => t.cancel(),
        }
    });
    token
}

fn write_output(output: Option<&Path>, text: &str) -> Result<(), Failure> {
    match output {
        Some(path) => std::fs::write(path, text).map_err(|e| {
            Failure::new(
                exit::FAILURE,
                format!("failed to write `{}`: {e}", path.display()),
            )
        }),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| {
                    Failure::new(exit::FAILURE, format!("failed to write the report: {e}"))
                })
        }
    }
}

/// Run a parsed command line; returns the exit code.
pub async fn run(cli: Cli) -> Result<u8, Failure> {
    // Temporary directories of earlier runs that were killed outright.
    crate::shared::scratch::sweep_temp_dir();
    let assets = Assets::locate();
    match cli.command {
        Command::Grade(args) => grade_cmd(&assets, args).await,
        Command::Run(args) => run_cmd(&assets, args).await,
        Command::Qemu(args) => qemu_cmd(&assets, args).await,
        Command::Build(args) => build_cmd(&assets, args).await,
        Command::Init { lab, dir } => {
            let lab = Lab::load(&assets, &lab).map_err(lab_failure)?;
            let copy = student::init(&assets, &lab, &dir).map_err(student_failure)?;
            println!(
                "made a student copy of the {} lab in {}\nnext: cd {} && xvlab qemu   (Ctrl-A X quits), then xvlab grade",
                lab.name,
                copy.root.display(),
                copy.root.display()
            );
            Ok(exit::OK)
        }
        Command::Pack { output, tree } => {
            let start = match tree {
                Some(t) => t,
                None => std::env::current_dir().map_err(|e| {
                    Failure::new(
                        exit::FAILURE,
                        format!("failed to find the current directory: {e}"),
                    )
                })?,
            };
            let copy = StudentCopy::find(&start).map_err(student_failure)?;
            let lab = Lab::load(&assets, &copy.lab).map_err(lab_failure)?;
            let packed = copy
                .pack(&lab, output.as_deref())
                .map_err(student_failure)?;
            println!(
                "wrote {} ({} file(s) changed):",
                packed.path.display(),
                packed.files.len()
            );
            for file in &packed.files {
                println!("  {file}");
            }
            if !packed.left_out.is_empty() {
                println!(
                    "left out (not graded: only {} may be changed): {}",
                    lab.editable_patterns.join(", "),
                    packed.left_out.join(", ")
                );
            }
            Ok(exit::OK)
        }
        Command::CheckRubric { lab } => check_rubric(&assets, &lab),
        Command::Doctor => {
            // The emulator xvlab would use: $XVLAB_QEMU if set (even if it
            // is wrong, so that doctor says so), else the one on PATH.
            let qemu = std::env::var_os(qemu::QEMU_ENV)
                .filter(|v| !v.is_empty())
                .map_or_else(
                    || qemu::QEMU_PROGRAM.to_string(),
                    |v| v.to_string_lossy().into_owned(),
                );
            let checks = doctor::diagnose(&qemu);
            print!("{}", doctor::render(&checks));
            Ok(if checks.iter().all(doctor::Check::ok) {
                exit::OK
            } else {
                exit::MISSING_TOOL
            })
        }
        Command::Mutants(args) => mutants_cmd(&assets, args).await,
        Command::Diff(args) => diff::run(&args),
        Command::GradescopeBundle(args) => autograder::bundle_cmd(&assets, &args),
        Command::Autograde(args) => autograder::autograde_cmd(&assets, args).await,
        Command::GradeAll(args) => grade_all_cmd(&assets, args).await,
        Command::Merge { output, shards } => {
            let book = class::merge(&output, &shards).map_err(class_failure)?;
            print!("{}", book.human());
            Ok(exit::OK)
        }
        Command::SelfTest(args) => {
            let lab = resolve_lab(&assets, args.lab.name(), None)?;
            let rubric = load_rubric(&assets, &lab)?;
            let qemu = locate_qemu()?;
            let cache = cache()?;
            let options = Options {
                jobs: args.jobs.unwrap_or_else(default_jobs),
                keep: None,
                verbose: false,
                build: build_options(args.sandbox.sandbox, &lab, &cache)?,
                fail_fast: false,
                snapshots: false,
            };
            let cancel = cancel_on_ctrl_c();
            let options = selftest::SelfTestOptions {
                only: args.cases,
                grading: options,
                record_durations: args.record_durations,
            };
            selftest::run(&assets, &lab, &rubric, &options, &cache, &qemu, &cancel)
                .await
                .map_err(|e| Failure::failed(e.exit_code(), &e))
        }
    }
}

fn student_failure(e: StudentError) -> Failure {
    Failure::new(e.exit_code(), chain(&e))
}

fn check_rubric(assets: &Assets, arg: &str) -> Result<u8, Failure> {
    let path = Path::new(arg);
    let rubric = if path.is_file() {
        Rubric::load(path).map_err(rubric_failure)?
    } else {
        let lab = Lab::load(assets, arg).map_err(lab_failure)?;
        load_rubric(assets, &lab)?
    };
    let token = Token::new("0123456789abcdef").map_err(plan_failure)?;
    let plan = Plan::new(&rubric, token, &TestFilter::all()).map_err(plan_failure)?;
    let vms = plan.sessions().len();
    println!(
        "{}: ok — {} session(s) ({} VM(s)), {} test(s), {} points",
        if path.is_file() {
            arg.to_string()
        } else {
            format!("rubric of `{arg}`")
        },
        rubric.sessions.len(),
        vms,
        rubric.tests.len(),
        rubric.total
    );
    Ok(exit::OK)
}

/// `--keep DIR` takes a folder that does not exist or is empty: old
/// transcripts mixed with new ones would diff as changes that never
/// happened, and emptying a folder the user named could delete their work.
fn refuse_used_keep_dir(dir: &Path) -> Result<(), Failure> {
    let used = match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => true,
        Err(e) => {
            return Err(Failure::new(
                exit::FAILURE,
                format!("failed to read `{}`: {e}", dir.display()),
            ));
        }
    };
    if used {
        return Err(Failure::new(
            exit::USAGE,
            format!(
                "--keep `{}` is not an empty folder: it would mix old transcripts with new ones; name a new folder, or remove this one first",
                dir.display()
            ),
        ));
    }
    Ok(())
}

async fn grade_cmd(assets: &Assets, args: GradeArgs) -> Result<u8, Failure> {
    let started = std::time::Instant::now();
    let lab = resolve_lab(assets, args.lab.name(), args.submission.tree.as_deref())?;
    let rubric = load_rubric(assets, &lab)?;
    let filter = if args.failed {
        let copy = match resolve_submission(&args.submission, false) {
            Ok(Submission::WorkTree(root)) => StudentCopy::find(&root).ok(),
            _ => None,
        };
        let Some(copy) = copy else {
            return Err(Failure::new(
                exit::USAGE,
                "--failed: run it in a student copy (`xvlab init`): the last grading is recorded there",
            ));
        };
        let root = copy.root;
        match selection::failed_filter(&root, &rubric) {
            Ok(filter) => filter,
            // Everything passed: nothing to do, and that is no error.
            Err(f) if f.code == exit::OK => {
                eprintln!("xvlab: {}", f.message);
                return Ok(exit::OK);
            }
            Err(f) => return Err(f),
        }
    } else {
        TestFilter::new(&args.tests).map_err(plan_failure)?
    };
    let token = Token::random().map_err(plan_failure)?;
    let plan = Plan::new(&rubric, token, &filter).map_err(plan_failure)?;
    if args.list {
        print!("{}", selection::list(&plan, args.format != Format::Human));
        return Ok(exit::OK);
    }
    let submission = resolve_submission(&args.submission, false)?;
    if let Some(dir) = &args.keep {
        refuse_used_keep_dir(dir)?;
    }
    let qemu = locate_qemu()?;
    let cache = cache()?;
    let options = Options {
        jobs: args.jobs.unwrap_or_else(default_jobs).max(1),
        keep: args.keep.clone(),
        verbose: args.verbose,
        build: build_options(args.sandbox.sandbox, &lab, &cache)?,
        fail_fast: false,
        snapshots: args.snapshots,
    };
    let cancel = cancel_on_ctrl_c();
    let progress = Progress::new();
    let graded = grade::grade(
        assets,
        &lab,
        &rubric,
        &plan,
        &submission,
        &options,
        &cache,
        &qemu,
        &progress,
        &cancel,
    )
    .await;
    progress.finish();
    // Every outcome but a fault of xvlab itself writes the report asked
    // for: a student on an autograder sees why, whatever happened. A
    // refused submission is a graded result like any other.
    let (report, outcomes) = match graded {
        Ok(graded) => (graded.report, graded.outcomes),
        // The machine failed, not the submission: the report says so, and
        // the exit code is the grader's own.
        Err(e) if e.host_fault().is_some() => (
            crate::report::Report::faulted(
                &rubric,
                &plan,
                &submission.describe(),
                &e.host_fault().unwrap_or_default(),
                started.elapsed(),
            ),
            Vec::new(),
        ),
        Err(GradeError::Interrupted) => (
            crate::report::Report::interrupted(
                &rubric,
                &plan,
                &submission.describe(),
                started.elapsed(),
            ),
            Vec::new(),
        ),
        Err(e) => return Err(grade_failure(e)),
    };
    let to = ReportTo::new(&args);
    if args.format == Format::Html {
        let consoles = grade::consoles(&plan, &outcomes, &report);
        let progress = Progress::new();
        let context = ReferenceContext {
            assets,
            lab: &lab,
            rubric: &rubric,
            options: &options,
            cache: &cache,
            qemu: &qemu,
            cancel: &cancel,
            reporter: &progress,
        };
        let reference = html_reference(&report, &consoles, &context).await;
        progress.finish();
        let page = html::Page {
            report: &report,
            consoles: &consoles,
            reference: reference.as_ref(),
        };
        to.write_text(&html::render(&page), report.note().as_deref(), false)?;
    } else {
        to.write(&report, report.note().as_deref())?;
    }
    // A student copy remembers the results, for `--failed`.
    if let Submission::WorkTree(root) = &submission
        && let Ok(copy) = StudentCopy::find(root)
        && copy.root == *root
    {
        selection::record(root, &report)?;
    }
    // Ctrl-C while the HTML report's reference was being graded: the
    // student's results are complete and written (the page says the
    // reference is missing), but the user stopped the command, and a
    // script must see that, not the student's verdict.
    if cancel.is_cancelled() {
        return Ok(exit::INTERRUPTED);
    }
    Ok(report.exit_code())
}

/// The reference solution's consoles for an HTML page, when it has a
/// failed test with a console to diff (graded once, then cached: see
/// `grade::reference`).
async fn html_reference(
    report: &crate::report::Report,
    consoles: &html::Consoles,
    context: &ReferenceContext<'_>,
) -> Option<html::Reference> {
    if consoles.evidence.is_empty() || report.interrupted {
        return None;
    }
    let reference = reference::reference(context, || {
        eprintln!(
            "xvlab: grading the reference solution once, for the HTML report's diffs (kept in the build cache)"
        );
    })
    .await;
    Some(reference)
}

/// Where and how `grade` writes its report.
struct ReportTo {
    format: Format,
    output: Option<PathBuf>,
    verbose: bool,
}

impl ReportTo {
    fn new(args: &GradeArgs) -> ReportTo {
        ReportTo {
            format: args.format,
            output: args.output.clone(),
            verbose: args.verbose,
        }
    }

    /// Write `report`; `note` (why the grading ended early) also goes to
    /// standard error unless the report itself is on the terminal, where
    /// it says the same.
    fn write(&self, report: &crate::report::Report, note: Option<&str>) -> Result<(), Failure> {
        let on_terminal = self.output.is_none() && std::io::stdout().is_terminal();
        let text = render(report, self.format, on_terminal, self.verbose)?;
        self.write_text(&text, note, on_terminal && self.format == Format::Human)
    }

    /// Write a rendered report; `note` goes to standard error unless
    /// `said` (the report, on the terminal, says it).
    fn write_text(&self, text: &str, note: Option<&str>, said: bool) -> Result<(), Failure> {
        write_output(self.output.as_deref(), text)?;
        if let Some(note) = note
            && !said
        {
            eprintln!("xvlab: {note}");
        }
        Ok(())
    }
}

/// A report in the chosen format (`color`: human format for a terminal;
/// `verbose`: every test's details).
fn render(
    report: &crate::report::Report,
    format: Format,
    color: bool,
    verbose: bool,
) -> Result<String, Failure> {
    let style = human::Style::detect(color);
    Ok(match format {
        Format::Human if verbose => human::render_verbose(report, style),
        Format::Human => human::render_styled(report, style),
        Format::Json => json::render(report),
        Format::Gradescope => gradescope::render(report),
        // Without its consoles: a page of the summary and the test table
        // (`grade` renders the whole page itself).
        Format::Html => html::render(&html::Page {
            report,
            consoles: &html::Consoles::default(),
            reference: None,
        }),
        Format::Junit => junit::render(report).map_err(|e| Failure::failed(e.exit_code(), &e))?,
    })
}

/// A submission built for run/qemu/build.
struct Readied {
    ready: Box<grade::Ready>,
    /// Stops the command on Ctrl-C.
    cancel: CancellationToken,
    /// The student copy it came from, if it did.
    work_tree: Option<PathBuf>,
}

/// Prepare and build a submission for run/qemu/build.
async fn ready(
    assets: &Assets,
    lab: Option<&str>,
    submission: &SubmissionArgs,
    sandbox: &SandboxArgs,
    add: &[PathBuf],
    show: &BuildShowArgs,
) -> Result<Readied, Failure> {
    let lab = resolve_lab(assets, lab, submission.tree.as_deref())?;
    let sub = resolve_submission(submission, true)?;
    let cache = cache()?;
    let build = build_options(sandbox.sandbox, &lab, &cache)?;
    if !build.sandbox.is_sandboxed() {
        eprintln!(
            "note: the build is NOT sandboxed ({})",
            build.sandbox.describe()
        );
    }
    // A student copy's own programs come with it; a patch has none.
    let work_tree = match &sub {
        Submission::WorkTree(dir) => Some(dir.clone()),
        _ => None,
    };
    let programs = StudentPrograms::new(work_tree.clone(), add);
    let cancel = cancel_on_ctrl_c();
    let progress = Progress::new();
    let making = grade::Making {
        build: &build,
        sealing: None,
        programs: Some(&programs),
    };
    let readiness = tokio::select! {
        r = grade::make_ready(assets, &lab, &sub, &cache, &making, &progress) => r,
        () = cancel.cancelled() => Err(GradeError::Interrupted),
    };
    progress.finish();
    match readiness.map_err(grade_failure)? {
        Readiness::Ready(ready) => {
            for note in &ready.prepared.notes {
                eprintln!("note: {note}");
            }
            let warnings = crate::build::kbuild::warnings(&ready.build_log);
            match warnings.len() {
                0 => {}
                _ if show.verbose => eprintln!("{}\n", warnings.join("\n\n")),
                1 => eprintln!("the build gave 1 warning (`--verbose` shows it)"),
                n => eprintln!("the build gave {n} warnings (`--verbose` shows them)"),
            }
            Ok(Readied {
                ready,
                cancel,
                work_tree,
            })
        }
        Readiness::Refused(refusal) => Err(Failure::new(refusal.exit_code, refusal.reason)),
        Readiness::BuildFailed { log, .. } => {
            eprintln!("{}", crate::report::compiler_errors(&log));
            Err(Failure::new(exit::BUILD_FAILED, "the kernel did not build"))
        }
    }
}

async fn run_cmd(assets: &Assets, args: RunArgs) -> Result<u8, Failure> {
    let qemu = locate_qemu()?;
    let Readied { ready, cancel, .. } = ready(
        assets,
        args.lab.name(),
        &args.submission,
        &args.sandbox,
        &args.add,
        &args.show,
    )
    .await?;
    let machine = ready.machine(&qemu);
    let spec = SessionSpec {
        name: "run".to_string(),
        commands: args.commands.clone(),
        done: None,
        timeout: args.timeout,
        cpus: args.cpus,
        output_cap: crate::lab::rubric::DEFAULT_OUTPUT_CAP,
        start_timeout: None,
        snapshot: None,
    };
    let outcome = run_session(&machine, &spec, &cancel, &mut ())
        .await
        .map_err(|e| grade_failure(GradeError::Session(e)))?;
    if args.raw {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(outcome.transcript.raw());
        let _ = out.flush();
    } else {
        print!("{}", outcome.transcript.text());
    }
    let end = match &outcome.end {
        SessionEnd::Completed => return Ok(exit::OK),
        SessionEnd::Cancelled => return Ok(exit::INTERRUPTED),
        other => crate::check::describe_end(other, "").unwrap_or_default(),
    };
    eprintln!("xvlab run: {end}");
    Ok(exit::TESTS_FAILED)
}

async fn qemu_cmd(assets: &Assets, args: QemuArgs) -> Result<u8, Failure> {
    let qemu = locate_qemu()?;
    let Readied {
        ready, work_tree, ..
    } = ready(
        assets,
        args.lab.name(),
        &args.submission,
        &args.sandbox,
        &args.add,
        &args.show,
    )
    .await?;
    let mut machine = ready.machine(&qemu);
    machine.cpus = args.cpus;
    if args.gdb {
        // In the copy, where the student runs gdb; else (a patch, the
        // starter) in the cache, which is the user's own too.
        let dir = match work_tree {
            Some(tree) => crate::submission::git::absolute(&tree),
            None => cache()?.root().join("gdb"),
        };
        let port = gdb::free_port_from(gdb::user_port(nix::unistd::getuid().as_raw()))
            .map_err(gdb_failure)?;
        let setup = gdb::GdbSetup::write(&dir, &machine.kernel, port).map_err(gdb_failure)?;
        machine.kernel = setup.kernel.clone();
        machine.gdb = Some(port);
        eprintln!("{}", setup.instructions());
    }
    eprintln!("booting {} (Ctrl-A X quits)", ready.prepared.description);
    let status = machine
        .run_interactive()
        .await
        .map_err(|e| grade_failure(GradeError::Qemu(e)))?;
    Ok(if status.success() {
        exit::OK
    } else {
        exit::FAILURE
    })
}

async fn build_cmd(assets: &Assets, args: BuildArgs) -> Result<u8, Failure> {
    let Readied { ready, .. } = ready(
        assets,
        args.lab.name(),
        &args.submission,
        &args.sandbox,
        &args.add,
        &args.show,
    )
    .await?;
    let err = |e: std::io::Error| {
        Failure::new(
            exit::FAILURE,
            format!("failed to write to `{}`: {e}", args.output.display()),
        )
    };
    std::fs::create_dir_all(&args.output).map_err(err)?;
    std::fs::copy(ready.kernel(), args.output.join("kernel")).map_err(err)?;
    std::fs::copy(ready.image(), args.output.join("fs.img")).map_err(err)?;
    println!(
        "wrote {} and {}",
        args.output.join("kernel").display(),
        args.output.join("fs.img").display()
    );
    Ok(exit::OK)
}

fn gdb_failure(e: gdb::GdbError) -> Failure {
    Failure::failed(exit::FAILURE, &e)
}

fn mutants_failure(e: MutantsError) -> Failure {
    match &e {
        MutantsError::Grade(g) => grade_failure_ref(g),
        _ => Failure::failed(e.exit_code(), &e),
    }
}

async fn mutants_cmd(assets: &Assets, args: MutantsArgs) -> Result<u8, Failure> {
    if matches!(
        args.format,
        Format::Gradescope | Format::Html | Format::Junit
    ) {
        return Err(Failure::new(
            exit::USAGE,
            "`mutants` writes `--format human` or `--format json`",
        ));
    }
    let lab = resolve_lab(assets, args.lab.name(), None)?;
    let (rubric, rubric_text) = load_rubric_text(assets, &lab)?;
    let cancel = cancel_on_ctrl_c();
    let listed = tokio::select! {
        listed = mutants::run::list(assets, &lab) => listed.map_err(mutants_failure)?,
        () = cancel.cancelled() => return Ok(exit::INTERRUPTED),
    };
    let on_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let generated = listed.len();
    let chosen = match args.sample {
        Some(n) => mutants::run::sample(listed, n),
        None => listed,
    };
    if args.list {
        let text = mutants::render::listing(&chosen, args.format == Format::Json);
        write_output(args.output.as_deref(), &text)?;
        return Ok(exit::OK);
    }
    let qemu = locate_qemu()?;
    let cache = cache()?;
    let options = mutants::run::MutantsOptions {
        many: many_options(
            args.jobs,
            (&args.tests, args.force, args.sandbox.sandbox),
            &lab,
            &cache,
            true,
        )?,
        sample: args.sample,
    };
    let progress = Progress::new();
    let analysis = mutants::run::run(
        assets,
        &lab,
        (&rubric, &rubric_text),
        chosen,
        generated,
        &options,
        &cache,
        &qemu,
        &progress,
        &cancel,
    )
    .await;
    progress.finish();
    let analysis = analysis.map_err(mutants_failure)?;
    let text = match args.format {
        Format::Json => mutants::render::json(&analysis),
        _ => mutants::render::human(&analysis, human::Style::detect(on_terminal)),
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(if analysis.interrupted {
        exit::INTERRUPTED
    } else if analysis.gaps().next().is_some() {
        exit::MUTANTS_SURVIVED
    } else if analysis.count("not_applied") > 0 {
        exit::MUTANTS_FAILED
    } else {
        exit::OK
    })
}

/// How `mutants` and `grade-all` grade their many submissions: one pool
/// of `jobs` VMs (default: the host's CPUs).
fn many_options(
    jobs: Option<usize>,
    how: (&[String], bool, SandboxMode),
    lab: &Lab,
    cache: &BuildCache,
    fail_fast: bool,
) -> Result<ManyOptions, Failure> {
    let (tests, force, sandbox) = how;
    Ok(ManyOptions {
        grading: Options {
            jobs: jobs.unwrap_or_else(default_jobs).max(1),
            keep: None,
            verbose: false,
            build: build_options(sandbox, lab, cache)?,
            fail_fast,
            snapshots: false,
        },
        tests: tests.to_vec(),
        force,
    })
}

fn class_failure(e: ClassError) -> Failure {
    Failure::failed(e.exit_code(), &e)
}

async fn grade_all_cmd(assets: &Assets, args: GradeAllArgs) -> Result<u8, Failure> {
    let lab = Lab::load(assets, &args.lab).map_err(lab_failure)?;
    let (rubric, rubric_text) = load_rubric_text(assets, &lab)?;
    let students =
        class::roster::collect(&args.inputs).map_err(|e| class_failure(ClassError::Roster(e)))?;
    let qemu = locate_qemu()?;
    let cache = cache()?;
    let options = class::ClassOptions {
        many: many_options(
            args.jobs,
            (&args.tests, args.force, args.sandbox.sandbox),
            &lab,
            &cache,
            false,
        )?,
        partition: args.partition,
        transcripts: args.transcripts,
        output: args.output.clone(),
    };
    let class = class::Class {
        assets,
        lab: &lab,
        rubric: &rubric,
        rubric_text: &rubric_text,
        cache: &cache,
        qemu: &qemu,
    };
    let cancel = cancel_on_ctrl_c();
    let progress = Progress::new();
    let batch = class::run(&class, students, &options, &progress, &cancel)
        .await
        .map_err(class_failure)?;
    print!("{}", batch.gradebook.human());
    print!("{}", batch.retried_text());
    if !batch.removed.is_empty() {
        println!(
            "\nremoved from {} (not in this run's roster): {}",
            args.output.join("students").display(),
            batch.removed.join(", ")
        );
    }
    println!(
        "\n{} of {} graded now, the others kept from earlier runs; gradebook: {}",
        batch.graded_now,
        batch.gradebook.students.len(),
        args.output.join("gradebook.csv").display()
    );
    if batch.interrupted {
        eprintln!(
            "xvlab: interrupted: {} of {} submissions have results; run the same command again to grade the rest",
            batch.gradebook.students.len(),
            batch.total
        );
    }
    Ok(batch.exit_code())
}
