//! The first stage of a grading: a hand-in, from the student's copy it is
//! made in to the kernel tree it is prepared into. [`student`] makes a
//! student's copy and packs the changes to hand in; [`worktree`] is such a
//! directory as both sides see it; [`patch`] reads patch files without
//! trusting them; [`git`] runs git in an environment xvlab controls;
//! [`audit`] reads the changed sources before anything is built; and this
//! module prepares the tree.
//!
//! Turning an untrusted submission into a kernel tree to build
//! ([`Submission`] → [`Prepared`]).
//!
//! A submission is a student's work tree, or patch files applied in order
//! (an mbox series counts as its patches, in its own order). Preparation
//! copies the pristine starter tree into a fresh temporary directory and
//! then:
//!
//! - for patches: checks, before applying anything, every path every patch
//!   touches (a plain relative path inside the tree, no symbolic link or
//!   submodule, and editable by the lab's `editable` globs), then applies
//!   each patch with `git apply` (see [`crate::submission::git`] for the environment it
//!   runs in), explaining a failure in terms of patch, file and hunk;
//! - for a work tree: takes every editable file from it (new ones included,
//!   deleted ones deleted) and ignores everything else, with a note for each
//!   grader-owned file the student changed.
//!
//! Either way it ends with a sweep that makes every grader-owned file the
//! pristine one again and removes anything that is not a regular file — a
//! second line of defence should git ever read a patch differently from
//! [`crate::shared::patch`] — and then audits every changed Rust file
//! ([`crate::submission::audit::host_reads`]): a construct that would read the grading
//! machine's files or environment at build time refuses the submission
//! before anything is built. The [`tempfile::TempDir`] inside [`Prepared`]
//! owns the tree, so an error at any step leaves nothing behind.
//!
//! A preparation that fails because of the submission — a bad or
//! unreadable patch, a forbidden path, source the audit refuses — is a
//! [`Refusal`] ([`SubmissionError::refusal`]): the stage that refused it,
//! why, and its exit code, which grading reports as a result like any
//! other. The other failures are the grading machine's.
//!
//! The changed sources stay in memory with the tree, for
//! [`Prepared::review`]: the literals that spell what the grader looks for,
//! flagged for an instructor rather than refused.

pub mod audit;
pub mod git;
pub mod programs;
pub mod starter;
pub mod student;
pub mod worktree;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::lab::Lab;
use crate::lab::assets::{AssetError, Assets};
use crate::shared::exit;
use crate::shared::patch::{self, ChangeKind, FileChange, Patch, PatchError, escape};
use crate::submission::audit::{Finding, ReviewFlag, Vocabulary};
use crate::submission::git::{Git, GitError};
use crate::submission::starter::{Pristine, StarterError};
use crate::submission::worktree::{EntryKind, is_scaffolding, walk};

/// At most this many notes about ignored files are listed one by one.
const MAX_NOTES: usize = 20;

/// At most this many audit findings are listed one by one.
const MAX_FINDINGS: usize = 20;

/// Set to `1`, preparation skips the host-read audit: for tests only, which
/// show that the build sandbox stops host reads on its own.
pub const SKIP_AUDIT_ENV: &str = "XVLAB_TEST_SKIP_AUDIT";

/// Why a path was refused, which decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForbiddenKind {
    /// A plain path inside the tree that the lab does not let submissions
    /// change (`user/…`, build files).
    NotEditable,
    /// A path that is not a plain relative path inside the tree (`..`,
    /// absolute, `.git`), or a symbolic link, submodule or special file.
    UnsafePath,
}

/// Why a submission cannot be prepared. Each variant is its own kind of
/// fault with its own exit code ([`SubmissionError::exit_code`]); messages
/// are standalone lines.
#[derive(Debug, thiserror::Error)]
pub enum SubmissionError {
    /// A patch touches, or a work tree holds, a path submissions may not
    /// have (outside the tree, not editable, a symbolic link, …).
    #[error("{message}")]
    Forbidden {
        path: String,
        kind: ForbiddenKind,
        message: String,
    },
    /// The changed source would read the grading machine's files or build
    /// environment when built (`include_str!`, `#[path]`, `.incbin`, …).
    /// The message lists the findings, one `file:line: what` per line.
    #[error("{message}")]
    SourceRefused {
        findings: Vec<Finding>,
        message: String,
    },
    /// A patch file is empty, not a patch, malformed or too large.
    #[error(transparent)]
    BadPatch(#[from] PatchError),
    /// `git apply` refused a patch.
    #[error("{message}")]
    DoesNotApply {
        /// Which patch, as in messages: `patch 2 (fix.patch)`.
        patch: String,
        file: Option<String>,
        line: Option<u64>,
        message: String,
    },
    /// A patch file named for grading cannot be read: it is missing, a
    /// directory, or unreadable.
    #[error(
        "cannot read the patch `{}`: {why}; hand in the patch file itself (`xvlab pack` writes it)",
        path.display()
    )]
    Unreadable { path: PathBuf, why: String },
    /// `git` is needed to apply patches and is not installed.
    #[error("cannot apply patches: `git` is not installed or not on PATH")]
    GitMissing,
    /// The work tree does not look like a copy of the lab's kernel tree.
    #[error("{message}")]
    NotAKernelTree { path: PathBuf, message: String },
    /// The work tree, or a file in it, cannot be read (it is missing, or
    /// a file's permissions forbid reading it).
    #[error("cannot {action}")]
    UnreadableTree {
        action: String,
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing the prepared tree failed (the grading
    /// machine's side: reading the student's work tree is
    /// [`SubmissionError::UnreadableTree`]).
    #[error("cannot {action}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    /// The pristine tree could not be read from xvlab's assets.
    #[error(transparent)]
    Assets(#[from] AssetError),
    /// The lab's starter could not be made: its starter patch does not
    /// apply, or the tree could not be written or read back.
    #[error(transparent)]
    Starter(#[from] StarterError),
    /// A student program (`run`/`qemu`/`build` only) cannot be one: a bad
    /// name, a grader program's name, or a binary that is not RISC-V.
    #[error("{message}")]
    Program { message: String },
}

impl SubmissionError {
    /// The exit code of `xvlab` for this refusal or fault (see exit.rs).
    pub fn exit_code(&self) -> u8 {
        match self {
            SubmissionError::Forbidden {
                kind: ForbiddenKind::NotEditable,
                ..
            } => exit::PATCH_NOT_EDITABLE,
            SubmissionError::Forbidden {
                kind: ForbiddenKind::UnsafePath,
                ..
            } => exit::PATCH_UNSAFE_PATH,
            SubmissionError::SourceRefused { .. } => exit::SOURCE_REFUSED,
            SubmissionError::BadPatch(PatchError::Empty { .. }) => exit::PATCH_EMPTY,
            SubmissionError::BadPatch(_) => exit::PATCH_NOT_A_PATCH,
            SubmissionError::DoesNotApply { .. } => exit::PATCH_DOES_NOT_APPLY,
            SubmissionError::Unreadable { .. } => exit::PATCH_UNREADABLE,
            SubmissionError::GitMissing => exit::MISSING_TOOL,
            SubmissionError::Program { .. } => exit::USAGE,
            SubmissionError::Starter(e) => e.exit_code(),
            SubmissionError::NotAKernelTree { .. }
            | SubmissionError::UnreadableTree { .. }
            | SubmissionError::Io { .. }
            | SubmissionError::Assets(_) => exit::FAILURE,
        }
    }

    /// This error as a result of grading, if the submission is what is
    /// wrong: a patch that is bad, does not apply or touches what it may
    /// not, a patch file or work tree that cannot be read, a work tree
    /// that is not one, source the audit refuses. `None` when the grading
    /// machine or xvlab failed instead (git missing, I/O on the prepared
    /// tree, assets): those are not the student's to fix, so they are not
    /// scored.
    pub fn refusal(&self) -> Option<Refusal> {
        let stage = match self {
            SubmissionError::Forbidden { .. }
            | SubmissionError::BadPatch(_)
            | SubmissionError::DoesNotApply { .. }
            | SubmissionError::Unreadable { .. }
            | SubmissionError::NotAKernelTree { .. }
            | SubmissionError::UnreadableTree { .. }
            | SubmissionError::Program { .. } => Stage::Prepare,
            SubmissionError::SourceRefused { .. } => Stage::Audit,
            SubmissionError::GitMissing
            | SubmissionError::Io { .. }
            | SubmissionError::Assets(_)
            | SubmissionError::Starter(_) => {
                return None;
            }
        };
        Some(Refusal {
            stage,
            reason: exit::chain(self),
            exit_code: self.exit_code(),
        })
    }
}

/// The step of preparation that refused a submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Stage {
    /// Reading the hand-in, checking the paths it touches and applying it
    /// to the starter tree.
    Prepare,
    /// The audit of the changed source for constructs that would read the
    /// grading machine when built ([`audit::host_reads`]).
    Audit,
}

impl Stage {
    /// The stage's name in machine-readable reports.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Prepare => "prepare",
            Stage::Audit => "audit",
        }
    }

    /// How the stage refused, in words that follow "the submission was
    /// refused".
    pub fn describe(self) -> &'static str {
        match self {
            Stage::Prepare => "when it was prepared",
            Stage::Audit => "by the source audit",
        }
    }
}

/// A submission refused before it was built, as reports hold it: nothing
/// was built or run, and every test fails with the reason.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Refusal {
    pub stage: Stage,
    /// Why, in a message that says what to do (several lines for the
    /// audit's findings).
    pub reason: String,
    /// The exit code of `xvlab grade` ([`SubmissionError::exit_code`]).
    pub exit_code: u8,
}

pub(crate) fn io_error(
    action: impl Into<String>,
) -> impl FnOnce(std::io::Error) -> SubmissionError {
    let action = action.into();
    move |source| SubmissionError::Io { action, source }
}

/// [`io_error`] for reading the student's work tree: their side, not the
/// grading machine's.
fn tree_error(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> SubmissionError {
    let action = action.into();
    move |source| SubmissionError::UnreadableTree { action, source }
}

/// One patch file's contents and the name to show for it.
#[derive(Clone, Debug)]
pub struct PatchInput {
    /// The file name (not the whole path), for messages.
    pub name: String,
    pub bytes: Vec<u8>,
}

impl PatchInput {
    /// Read a patch file, refusing one too large to be a submission before
    /// reading it.
    pub fn read(path: &Path) -> Result<PatchInput, SubmissionError> {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let unreadable = |why: String| SubmissionError::Unreadable {
            path: path.to_path_buf(),
            why,
        };
        let meta = std::fs::metadata(path).map_err(|e| unreadable(io_reason(&e)))?;
        if meta.is_dir() {
            return Err(unreadable("it is a directory".to_string()));
        }
        let size = meta.len();
        if size > patch::MAX_PATCH_BYTES as u64 {
            return Err(PatchError::TooLarge {
                name,
                size,
                limit: patch::MAX_PATCH_BYTES,
            }
            .into());
        }
        let bytes = std::fs::read(path).map_err(|e| unreadable(io_reason(&e)))?;
        Ok(PatchInput { name, bytes })
    }
}

/// An I/O error in words, without the "(os error N)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// What a student handed in.
#[derive(Clone, Debug)]
pub enum Submission {
    /// The lab's starter tree itself, unchanged (for `xvlab run`/`qemu`
    /// outside a student copy, and for staff).
    Starter,
    /// A directory holding their copy of the kernel tree.
    WorkTree(PathBuf),
    /// Patch files, applied in this order.
    Patches(Vec<PatchInput>),
    /// Patch files on disk, read when the submission is prepared (so that
    /// one that cannot be read is refused like any other bad patch), then
    /// applied in this order.
    PatchFiles(Vec<PathBuf>),
}

impl Submission {
    /// What was handed in, for a report whose tree could not be prepared
    /// (a prepared tree describes itself: [`Prepared::description`]).
    pub fn describe(&self) -> String {
        let list = |names: Vec<String>| format!("patch {}", names.join(", "));
        match self {
            Submission::Starter => "the starter tree".to_string(),
            Submission::WorkTree(dir) => format!("work tree {}", display_path(dir)),
            Submission::Patches(inputs) => list(inputs.iter().map(|i| i.name.clone()).collect()),
            Submission::PatchFiles(paths) => {
                list(paths.iter().map(|p| p.display().to_string()).collect())
            }
        }
    }
}

/// How an editable file differs from the starter code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Added,
    Modified,
    Deleted,
}

/// An editable file the submission changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedFile {
    /// Relative to the kernel tree, `/`-separated.
    pub path: String,
    pub change: Change,
}

/// A prepared kernel tree: pristine starter code plus the submission's
/// editable files. Dropping it deletes the tree.
#[derive(Debug)]
pub struct Prepared {
    dir: TempDir,
    /// The submission, for humans: `patch s.patch (3 files changed)`,
    /// `work tree ~/lazy`.
    pub description: String,
    /// The editable files that differ from the starter code, sorted.
    pub changed: Vec<ChangedFile>,
    /// Things the student should know, e.g. changes that were ignored.
    pub notes: Vec<String>,
    /// The changed and added Rust files, as (path, text), for
    /// [`Prepared::review`].
    sources: Vec<(String, String)>,
}

impl Prepared {
    /// The root of the prepared kernel tree.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Keep the tree on disk (for `--keep`, to inspect a failed build) and
    /// return where it is.
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }

    /// The literals of the changed source that spell what the grader looks
    /// for (see [`audit::review`]), for an instructor to look at; in file
    /// order.
    pub fn review(&self, vocabulary: &Vocabulary) -> Vec<ReviewFlag> {
        self.sources
            .iter()
            .flat_map(|(path, text)| audit::review(path, text, vocabulary))
            .collect()
    }

    /// Read the changed Rust files of the tree and refuse the submission
    /// if any of them would read the host when built.
    fn audit(&mut self) -> Result<(), SubmissionError> {
        for file in &self.changed {
            if file.change == Change::Deleted || !file.path.ends_with(".rs") {
                continue;
            }
            let path = self.dir.path().join(&file.path);
            let bytes =
                std::fs::read(&path).map_err(io_error(format!("read `{}`", path.display())))?;
            // rustc refuses a file that is not UTF-8; lossy text still shows
            // the audit everything that could be code.
            let text = String::from_utf8_lossy(&bytes).into_owned();
            self.sources.push((file.path.clone(), text));
        }
        if std::env::var_os(SKIP_AUDIT_ENV).is_some_and(|v| v == "1") {
            return Ok(());
        }
        let findings: Vec<Finding> = self
            .sources
            .iter()
            .flat_map(|(path, text)| audit::host_reads(path, text))
            .collect();
        if findings.is_empty() {
            return Ok(());
        }
        Err(SubmissionError::source_refused(findings))
    }
}

impl SubmissionError {
    /// The audit's refusal of `findings` (not empty), listed one a line.
    fn source_refused(findings: Vec<Finding>) -> SubmissionError {
        let mut lines: Vec<String> = findings
            .iter()
            .take(MAX_FINDINGS)
            .map(Finding::to_string)
            .collect();
        if findings.len() > MAX_FINDINGS {
            lines.push(format!("… and {} more", findings.len() - MAX_FINDINGS));
        }
        SubmissionError::SourceRefused {
            message: lines.join("\n"),
            findings,
        }
    }
}

impl Submission {
    /// Prepare the submission in a new directory under the system's
    /// temporary directory.
    pub fn prepare(&self, assets: &Assets, lab: &Lab) -> Result<Prepared, SubmissionError> {
        self.prepare_in(assets, lab, &std::env::temp_dir())
    }

    /// Prepare the submission in a new directory under `parent`. Nothing
    /// is left in `parent` when this fails.
    pub fn prepare_in(
        &self,
        assets: &Assets,
        lab: &Lab,
        parent: &Path,
    ) -> Result<Prepared, SubmissionError> {
        let pristine = Pristine::load(assets, lab, parent)?;
        let mut prepared = match self {
            Submission::Starter => Prepared {
                dir: pristine.write_to_temp(parent)?,
                description: self.describe(),
                changed: Vec::new(),
                notes: Vec::new(),
                sources: Vec::new(),
            },
            Submission::Patches(inputs) => prepare_patches(&pristine, lab, inputs, parent)?,
            Submission::PatchFiles(paths) => {
                let inputs = paths
                    .iter()
                    .map(|p| PatchInput::read(p))
                    .collect::<Result<Vec<_>, _>>()?;
                prepare_patches(&pristine, lab, &inputs, parent)?
            }
            Submission::WorkTree(dir) => prepare_work_tree(&pristine, lab, dir, parent)?,
        };
        // Before anything is built: the build is what would read the host.
        prepared.audit()?;
        Ok(prepared)
    }
}

pub(crate) fn write_file(target: &Path, bytes: &[u8]) -> Result<(), SubmissionError> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .map_err(io_error(format!("create `{}`", parent.display())))?;
    }
    // Whatever is there (a symbolic link, say) is replaced, not written
    // through.
    if std::fs::symlink_metadata(target).is_ok_and(|m| !m.is_file()) {
        remove_file(target)?;
    }
    std::fs::write(target, bytes).map_err(io_error(format!("write `{}`", target.display())))
}

pub(crate) fn remove_file(target: &Path) -> Result<(), SubmissionError> {
    match std::fs::symlink_metadata(target) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(target)
            .map_err(io_error(format!("remove `{}`", target.display()))),
        Ok(_) => {
            std::fs::remove_file(target).map_err(io_error(format!("remove `{}`", target.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(SubmissionError::Io {
            action: format!("inspect `{}`", target.display()),
            source,
        }),
    }
}

/// Why `path` (relative, as a patch or work tree names it) cannot be part
/// of a submission whatever the lab says, or None if it is a plain
/// relative path inside the tree.
pub fn path_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("the path is empty");
    }
    if path.starts_with('/') {
        return Some("paths may not be absolute");
    }
    if path.chars().any(char::is_control) {
        return Some("paths may not contain control characters");
    }
    if path.contains('\u{FFFD}') {
        return Some("paths must be valid UTF-8");
    }
    if path.contains('\\') {
        return Some("paths must use `/` as the separator");
    }
    let components: Vec<&str> = path.split('/').collect();
    if components.contains(&"..") {
        return Some("paths may not leave the kernel tree");
    }
    if components.iter().any(|c| c.is_empty() || *c == ".") {
        return Some("paths may not have empty or `.` components");
    }
    if components.iter().any(|c| c.eq_ignore_ascii_case(".git")) {
        return Some("paths may not reach into `.git`");
    }
    None
}

/// What to say about a forbidden path, after "<who> changes `<path>`".
/// The start of the note for a new grader-owned file of a work tree
/// (which [`programs`] takes back for a student program it builds).
fn ignored_new_file(rel: &str) -> String {
    format!("ignored your new file {rel}")
}

fn editable_hint(lab: &Lab) -> String {
    format!("only {} may be edited", lab.editable_patterns.join(", "))
}

// ---------------------------------------------------------------------------
// Patches

/// A patch with its place in the submission.
pub(crate) struct Numbered {
    pub(crate) label: String,
    pub(crate) patch: Patch,
}

fn prepare_patches(
    pristine: &Pristine,
    lab: &Lab,
    inputs: &[PatchInput],
    parent: &Path,
) -> Result<Prepared, SubmissionError> {
    if inputs.is_empty() {
        return Err(PatchError::Empty {
            name: "the submission".to_string(),
        }
        .into());
    }
    // Parse everything first: a malformed last file is reported before
    // anything is applied.
    let mut files = Vec::new();
    for input in inputs {
        files.push(patch::parse(&input.name, &input.bytes)?);
    }
    let total: usize = files.iter().map(|f| f.patches.len()).sum();
    let mut numbered = Vec::with_capacity(total);
    let mut existing: BTreeSet<String> = pristine.files.keys().cloned().collect();
    for file in files {
        let count = file.patches.len();
        for (k, mut patch) in file.patches.into_iter().enumerate() {
            let label = if count == 1 {
                format!("patch {} ({})", numbered.len() + 1, file.name)
            } else {
                format!(
                    "patch {} ({}, {} of {count})",
                    numbered.len() + 1,
                    file.name,
                    k + 1
                )
            };
            choose_strip(&mut patch, &file.name, &existing);
            patch.update_paths(&mut existing);
            numbered.push(Numbered { label, patch });
        }
    }

    for n in &numbered {
        for change in &n.patch.files {
            check_change(lab, &n.label, change)?;
        }
    }

    let dir = pristine.write_to_temp(parent)?;
    for (position, n) in numbered.iter().enumerate() {
        apply(dir.path(), n, position)?;
    }
    let (changed, restored) = sweep(dir.path(), pristine, lab)?;
    let notes = restored
        .iter()
        .map(|p| {
            format!(
                "restored `{}` from the starter code: {}",
                escape(p),
                editable_hint(lab)
            )
        })
        .collect();

    let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    let files_changed = plural(changed.len(), "file");
    let description = match (names.as_slice(), total) {
        ([name], 1) => format!("patch {name} ({files_changed} changed)"),
        ([name], n) => format!("patch series {name} ({n} patches, {files_changed} changed)"),
        (names, n) => format!(
            "patches {} ({n} patches, {files_changed} changed)",
            names.join(", ")
        ),
    };
    Ok(Prepared {
        dir,
        description,
        changed,
        notes,
        sources: Vec::new(),
    })
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Switch a patch to the other `-p` level when its names only make sense
/// in the tree that way (a `diff -u` made inside the tree, `git diff
/// --no-prefix`, `diff -ruN starter/ mine/`): every file it changes exists,
/// and every file it creates is in a top directory that exists.
fn choose_strip(patch: &mut Patch, name: &str, existing: &BTreeSet<String>) {
    let fits = |p: &Patch| {
        p.files
            .iter()
            .all(|f| match (f.kind, &f.old_path, &f.new_path) {
                (ChangeKind::Create, _, Some(new)) => {
                    let top = new.split('/').next().unwrap_or_default();
                    existing.iter().any(|e| {
                        e.strip_prefix(top)
                            .is_some_and(|rest| rest.starts_with('/'))
                    })
                }
                (_, Some(old), _) => existing.contains(old),
                _ => false,
            })
    };
    if fits(patch) {
        return;
    }
    let mut other = patch.clone();
    let alternative = if patch.strip == 0 { 1 } else { 0 };
    if other.restrip(alternative, name).is_ok() && fits(&other) {
        *patch = other;
    }
}

/// Refuse a file change that touches a path submissions may not have.
fn check_change(lab: &Lab, label: &str, change: &FileChange) -> Result<(), SubmissionError> {
    for path in change.paths() {
        let is_old = change.old_path.as_deref() == Some(path);
        let verb = match change.kind {
            ChangeKind::Create => "creates",
            ChangeKind::Delete => "deletes",
            ChangeKind::Rename if is_old => "renames",
            ChangeKind::Copy if is_old => "copies",
            _ => "changes",
        };
        let shown = escape(path);
        let refuse = |kind: ForbiddenKind, message: String| SubmissionError::Forbidden {
            path: path.to_string(),
            kind,
            message,
        };
        if let Some(problem) = path_problem(path) {
            return Err(refuse(
                ForbiddenKind::UnsafePath,
                format!("{label} {verb} `{shown}`: {problem}"),
            ));
        }
        for mode in [change.old_mode, change.new_mode].into_iter().flatten() {
            let what = match mode & 0o170000 {
                0o100000 => continue,
                0o120000 => "a symbolic link".to_string(),
                0o160000 => "a submodule".to_string(),
                _ => format!("something with file mode {mode:o}"),
            };
            return Err(refuse(
                ForbiddenKind::UnsafePath,
                format!(
                    "{label} makes `{shown}` {what}: submissions may only contain regular files"
                ),
            ));
        }
        if !lab.is_editable(path) {
            return Err(refuse(
                ForbiddenKind::NotEditable,
                format!(
                    "{label} {verb} `{shown}`, which submissions may not change: {}",
                    editable_hint(lab)
                ),
            ));
        }
    }
    Ok(())
}

/// Apply one patch in `dir`; `position` is its index in the submission.
pub(crate) fn apply(dir: &Path, n: &Numbered, position: usize) -> Result<(), SubmissionError> {
    let output = Git::outside_repository(dir)
        .args([
            "apply".to_string(),
            format!("-p{}", n.patch.strip),
            "--whitespace=nowarn".to_string(),
            "-".to_string(),
        ])
        .stdin(n.patch.text().to_vec())
        .output()
        .map_err(|e| match e {
            GitError::Missing => SubmissionError::GitMissing,
            other => SubmissionError::Io {
                action: format!("apply {}", n.label),
                source: std::io::Error::other(other),
            },
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(explain_apply_failure(
        &n.label,
        &n.patch,
        position,
        &String::from_utf8_lossy(&output.stderr),
    ))
}

/// Turn git apply's complaints into one plain sentence.
fn explain_apply_failure(
    label: &str,
    patch: &Patch,
    position: usize,
    stderr: &str,
) -> SubmissionError {
    let errors: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("error: "))
        .collect();
    let failing_files: BTreeSet<&str> = errors
        .iter()
        .filter_map(|e| {
            e.strip_suffix(": patch does not apply")
                .or_else(|| e.strip_suffix(": No such file or directory"))
                .or_else(|| e.strip_suffix(": does not exist in index"))
                .or_else(|| e.strip_suffix(": already exists in working directory"))
        })
        .collect();
    let others = |file: &str| {
        let n = failing_files.iter().filter(|f| **f != file).count();
        if n == 0 {
            String::new()
        } else {
            format!(" (its changes to {} fail too)", plural(n, "other file"))
        }
    };
    let base = if position == 0 {
        "the starter code".to_string()
    } else if position == 1 {
        "the code as patch 1 left it".to_string()
    } else {
        format!("the code as patches 1 to {position} left it")
    };
    let failure =
        |file: Option<&str>, line: Option<u64>, detail: String| SubmissionError::DoesNotApply {
            patch: label.to_string(),
            file: file.map(str::to_string),
            line,
            message: format!("{label} does not apply: {detail}"),
        };

    for error in &errors {
        if let Some(rest) = error.strip_prefix("patch failed: ")
            && let Some((file, line)) = rest.rsplit_once(':')
            && let Ok(line) = line.parse::<u64>()
        {
            let hunk = patch
                .files
                .iter()
                .find(|f| f.paths().any(|p| p == file))
                .and_then(|f| {
                    let k = f.hunks.iter().position(|h| h.old_start == line)?;
                    Some(format!(" (hunk {} of {})", k + 1, f.hunks.len()))
                })
                .unwrap_or_default();
            let advice = if position == 0 {
                "was it made against a different version?"
            } else {
                "are the patches in the right order, and made against this lab's starter code?"
            };
            return failure(
                Some(file),
                Some(line),
                format!(
                    "its change to {file} near line {line}{hunk} does not match {base} — {advice}{}",
                    others(file)
                ),
            );
        }
        for suffix in [": No such file or directory", ": does not exist in index"] {
            if let Some(file) = error.strip_suffix(suffix) {
                return failure(
                    Some(file),
                    None,
                    format!(
                        "it changes {file}, which does not exist in {base}{}",
                        others(file)
                    ),
                );
            }
        }
        if let Some(file) = error.strip_suffix(": already exists in working directory") {
            return failure(
                Some(file),
                None,
                format!(
                    "it creates {file}, which already exists in {base}{}",
                    others(file)
                ),
            );
        }
    }
    let said = errors
        .first()
        .map(|e| e.to_string())
        .or_else(|| {
            stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "nothing".to_string());
    failure(None, None, format!("git apply says: {said}"))
}

// ---------------------------------------------------------------------------
// Work trees

fn prepare_work_tree(
    pristine: &Pristine,
    lab: &Lab,
    tree: &Path,
    parent: &Path,
) -> Result<Prepared, SubmissionError> {
    let shown = display_path(tree);
    let meta = std::fs::metadata(tree).map_err(tree_error(format!("read work tree {shown}")))?;
    if !meta.is_dir() {
        return Err(SubmissionError::NotAKernelTree {
            path: tree.to_path_buf(),
            message: format!("work tree {shown} is not a directory"),
        });
    }
    // A directory with none of the lab's files is a mistake (the wrong
    // directory, or a parent of the copy), not a submission that deleted
    // everything; and walking someone's home directory would take a while.
    let editable: Vec<&String> = pristine
        .files
        .keys()
        .filter(|p| lab.is_editable(p))
        .collect();
    if !editable
        .iter()
        .any(|p| std::fs::symlink_metadata(tree.join(p)).is_ok())
    {
        return Err(SubmissionError::NotAKernelTree {
            path: tree.to_path_buf(),
            message: format!(
                "work tree {shown} has none of the lab's files ({}): is it a copy made by `xvlab init`?",
                lab.editable_patterns.join(", ")
            ),
        });
    }

    let dir = pristine.write_to_temp(parent)?;
    let skip = |rel: &str, name: &str| {
        name == ".git" || rel == "target" || (name.starts_with('.') && !pristine.has_dir(rel))
    };
    let walked = walk(tree, &skip)
        .map_err(|(path, source)| tree_error(format!("read `{}`", path.display()))(source))?;

    let mut notes = Vec::new();
    let mut seen = BTreeSet::new();
    let ignored = editable_hint(lab);
    for name in &walked.unreadable_names {
        notes.push(format!(
            "ignored `{}`: its name is not valid UTF-8",
            escape(name)
        ));
    }
    for entry in &walked.entries {
        let rel = entry.rel.as_str();
        // Scaffolding the starter also has (the README) is the copy's own,
        // not a deletion of the starter's.
        seen.insert(rel.to_string());
        if is_scaffolding(&lab.name, rel) {
            continue;
        }
        let shown_rel = escape(rel);
        if lab.is_editable(rel) {
            if let Some(problem) = path_problem(rel) {
                return Err(SubmissionError::Forbidden {
                    path: rel.to_string(),
                    kind: ForbiddenKind::UnsafePath,
                    message: format!("work tree {shown} has `{shown_rel}`: {problem}"),
                });
            }
            match entry.kind {
                EntryKind::File => {
                    let source = tree.join(rel);
                    let bytes = std::fs::read(&source)
                        .map_err(tree_error(format!("read `{}`", source.display())))?;
                    write_file(&dir.path().join(rel), &bytes)?;
                }
                EntryKind::Symlink | EntryKind::Other => {
                    return Err(SubmissionError::Forbidden {
                        path: rel.to_string(),
                        kind: ForbiddenKind::UnsafePath,
                        message: format!(
                            "work tree {shown} has `{shown_rel}` as a symbolic link or special file: \
                             submissions may only contain regular files"
                        ),
                    });
                }
            }
            continue;
        }
        let note = match (entry.kind, pristine.files.get(rel)) {
            (EntryKind::File, Some(starter)) => {
                let path = tree.join(rel);
                let bytes = std::fs::read(&path)
                    .map_err(tree_error(format!("read `{}`", path.display())))?;
                (bytes != **starter)
                    .then(|| format!("ignored your changes to {shown_rel}: {ignored}"))
            }
            (EntryKind::File, None) => Some(format!("{}: {ignored}", ignored_new_file(&shown_rel))),
            (_, _) => Some(format!("ignored {shown_rel}: it is not a regular file")),
        };
        notes.extend(note);
    }
    for rel in pristine.files.keys() {
        if seen.contains(rel) {
            continue;
        }
        if lab.is_editable(rel) {
            remove_file(&dir.path().join(rel))?;
        } else {
            notes.push(format!(
                "ignored your deletion of {}: {ignored}",
                escape(rel)
            ));
        }
    }
    if notes.len() > MAX_NOTES {
        let more = notes.len() - MAX_NOTES;
        notes.truncate(MAX_NOTES);
        notes.push(format!("… and {more} more ignored files"));
    }

    let (changed, restored) = sweep(dir.path(), pristine, lab)?;
    // Only editable regular files were copied in, so there is nothing to
    // restore; if there were, it is a bug here, and the sweep fixed it.
    debug_assert!(restored.is_empty(), "restored {restored:?}");
    Ok(Prepared {
        dir,
        description: format!("work tree {shown}"),
        changed,
        notes,
        sources: Vec::new(),
    })
}

/// `path`, absolute, with the home directory shown as `~`.
pub fn display_path(path: &Path) -> String {
    let absolute = crate::submission::git::absolute(path);
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
        && let Ok(rest) = absolute.strip_prefix(&home)
    {
        return if rest.as_os_str().is_empty() {
            "~".to_string()
        } else {
            format!("~/{}", rest.display())
        };
    }
    absolute.display().to_string()
}

/// Make every grader-owned file of the prepared tree the pristine one and
/// remove whatever is not a regular file. Returns the editable files that
/// differ from the starter and the paths that had to be restored.
fn sweep(
    root: &Path,
    pristine: &Pristine,
    lab: &Lab,
) -> Result<(Vec<ChangedFile>, Vec<String>), SubmissionError> {
    let walked = walk(root, &|_, _| false).map_err(|(path, source)| SubmissionError::Io {
        action: format!("read `{}`", path.display()),
        source,
    })?;
    let mut changed = Vec::new();
    let mut restored = Vec::new();
    let mut present = BTreeSet::new();
    for name in &walked.unreadable_names {
        // Not UTF-8, so neither editable nor pristine. The walk skipped it,
        // so find it again by listing its directory.
        restored.push(name.clone());
    }
    if !walked.unreadable_names.is_empty() {
        remove_non_utf8(root)?;
    }
    for entry in &walked.entries {
        let rel = entry.rel.as_str();
        let starter = pristine.files.get(rel);
        let editable = lab.is_editable(rel) && path_problem(rel).is_none();
        if entry.kind != EntryKind::File {
            remove_file(&root.join(rel))?;
            if starter.is_some() {
                pristine.restore(root, rel)?;
                present.insert(rel.to_string());
            }
            restored.push(rel.to_string());
            continue;
        }
        present.insert(rel.to_string());
        let path = root.join(rel);
        let bytes = std::fs::read(&path).map_err(io_error(format!("read `{}`", path.display())))?;
        match (editable, starter) {
            (true, Some(starter)) if bytes == **starter => {}
            (true, Some(_)) => changed.push(ChangedFile {
                path: rel.to_string(),
                change: Change::Modified,
            }),
            (true, None) => changed.push(ChangedFile {
                path: rel.to_string(),
                change: Change::Added,
            }),
            (false, Some(starter)) if bytes == **starter => {}
            (false, _) => {
                pristine.restore(root, rel)?;
                restored.push(rel.to_string());
            }
        }
    }
    for rel in pristine.files.keys() {
        if present.contains(rel) {
            continue;
        }
        if lab.is_editable(rel) {
            changed.push(ChangedFile {
                path: rel.clone(),
                change: Change::Deleted,
            });
        } else {
            pristine.restore(root, rel)?;
            restored.push(rel.clone());
        }
    }
    changed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((changed, restored))
}

/// Remove every entry below `dir` whose name is not UTF-8.
fn remove_non_utf8(dir: &Path) -> Result<(), SubmissionError> {
    let entries = std::fs::read_dir(dir).map_err(io_error(format!("read `{}`", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(io_error(format!("read `{}`", dir.display())))?;
        let path = entry.path();
        if entry.file_name().to_str().is_none() {
            remove_file(&path)?;
        } else if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_non_utf8(&path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_paths_pass() {
        assert_eq!(path_problem("kernel/src/vm.rs"), None);
        assert_eq!(path_problem("kernel/src/my file.rs"), None);
        assert_eq!(path_problem("kernel/src/ä.rs"), None);
    }

    #[test]
    fn paths_that_leave_or_escape_the_tree_are_refused() {
        assert_eq!(
            path_problem("../x"),
            Some("paths may not leave the kernel tree")
        );
        assert_eq!(
            path_problem("kernel/../../x"),
            Some("paths may not leave the kernel tree")
        );
        assert_eq!(
            path_problem("/etc/passwd"),
            Some("paths may not be absolute")
        );
        assert_eq!(
            path_problem("kernel/./src/vm.rs"),
            Some("paths may not have empty or `.` components")
        );
        assert_eq!(
            path_problem("kernel/src/"),
            Some("paths may not have empty or `.` components")
        );
        assert_eq!(
            path_problem("kernel\\src\\vm.rs"),
            Some("paths must use `/` as the separator")
        );
        assert_eq!(
            path_problem("kernel/src/\u{1b}[2J.rs"),
            Some("paths may not contain control characters")
        );
        assert_eq!(
            path_problem("kernel/src/a\0.rs"),
            Some("paths may not contain control characters")
        );
        assert_eq!(
            path_problem("kernel/src/\u{FFFD}.rs"),
            Some("paths must be valid UTF-8")
        );
        assert_eq!(
            path_problem(".git/hooks/pre-commit"),
            Some("paths may not reach into `.git`")
        );
        assert_eq!(
            path_problem("kernel/.GIT/x"),
            Some("paths may not reach into `.git`")
        );
        assert_eq!(path_problem(""), Some("the path is empty"));
    }

    fn numbered_patch(text: &str) -> Patch {
        patch::parse("fix.patch", text.as_bytes())
            .unwrap()
            .patches
            .remove(0)
    }

    #[test]
    fn symlink_and_submodule_patches_exit_103_although_their_paths_are_clean() {
        // The CLI used to re-derive the code from the path, which is clean
        // here, and said 102 (not editable).
        let lab = Lab::load(&Assets::Embedded, "lazy").unwrap();
        for text in [
            "diff --git a/kernel/src/link.rs b/kernel/src/link.rs\nnew file mode 120000\n\
             --- /dev/null\n+++ b/kernel/src/link.rs\n@@ -0,0 +1 @@\n+/etc/passwd\n",
            "diff --git a/kernel/src/sub b/kernel/src/sub\nnew file mode 160000\n\
             --- /dev/null\n+++ b/kernel/src/sub\n@@ -0,0 +1 @@\n+Subproject commit 0123\n",
        ] {
            let patch = numbered_patch(text);
            let err = check_change(&lab, "patch 1 (x.patch)", &patch.files[0]).unwrap_err();
            assert_eq!(err.exit_code(), exit::PATCH_UNSAFE_PATH, "{err}");
        }
        let patch = numbered_patch(
            "--- a/user/src/bin/sh.rs\n+++ b/user/src/bin/sh.rs\n@@ -1 +1 @@\n-a\n+b\n",
        );
        let err = check_change(&lab, "patch 1 (x.patch)", &patch.files[0]).unwrap_err();
        assert_eq!(err.exit_code(), exit::PATCH_NOT_EDITABLE, "{err}");
    }

    #[test]
    fn hunk_failures_name_the_file_line_and_hunk() {
        let patch = numbered_patch(
            "--- a/kernel/src/vm.rs\n+++ b/kernel/src/vm.rs\n@@ -1 +1 @@\n-a\n+b\n@@ -210,1 +210,1 @@\n-c\n+d\n",
        );
        let stderr = "error: patch failed: kernel/src/vm.rs:210\nerror: kernel/src/vm.rs: patch does not apply\n";
        let err = explain_apply_failure("patch 2 (fix.patch)", &patch, 0, stderr);
        assert_eq!(
            err.to_string(),
            "patch 2 (fix.patch) does not apply: its change to kernel/src/vm.rs near line 210 (hunk 2 of 2) \
             does not match the starter code — was it made against a different version?"
        );
        let SubmissionError::DoesNotApply { file, line, .. } = err else {
            panic!("wrong variant");
        };
        assert_eq!(
            (file.as_deref(), line),
            (Some("kernel/src/vm.rs"), Some(210))
        );
    }

    #[test]
    fn later_patches_are_compared_with_what_earlier_ones_left() {
        let patch =
            numbered_patch("--- a/kernel/src/vm.rs\n+++ b/kernel/src/vm.rs\n@@ -5 +5 @@\n-a\n+b\n");
        let stderr = "error: patch failed: kernel/src/vm.rs:5\nerror: kernel/src/vm.rs: patch does not apply\n\
                      error: patch failed: kernel/src/trap.rs:9\nerror: kernel/src/trap.rs: patch does not apply\n";
        let err = explain_apply_failure("patch 3 (s.mbox, 3 of 3)", &patch, 2, stderr);
        assert_eq!(
            err.to_string(),
            "patch 3 (s.mbox, 3 of 3) does not apply: its change to kernel/src/vm.rs near line 5 (hunk 1 of 1) \
             does not match the code as patches 1 to 2 left it — are the patches in the right order, and made \
             against this lab's starter code? (its changes to 1 other file fail too)"
        );
    }

    #[test]
    fn missing_and_existing_files_and_other_complaints() {
        let patch =
            numbered_patch("--- a/kernel/src/x.rs\n+++ b/kernel/src/x.rs\n@@ -1 +1 @@\n-a\n+b\n");
        let err = explain_apply_failure(
            "patch 1 (s.patch)",
            &patch,
            0,
            "error: kernel/src/x.rs: No such file or directory\n",
        );
        assert_eq!(
            err.to_string(),
            "patch 1 (s.patch) does not apply: it changes kernel/src/x.rs, which does not exist in the starter code"
        );
        let err = explain_apply_failure(
            "patch 1 (s.patch)",
            &patch,
            1,
            "error: kernel/src/x.rs: already exists in working directory\n",
        );
        assert_eq!(
            err.to_string(),
            "patch 1 (s.patch) does not apply: it creates kernel/src/x.rs, which already exists in the code as patch 1 left it"
        );
        let err = explain_apply_failure(
            "patch 1 (s.patch)",
            &patch,
            0,
            "error: corrupt patch at line 7\n",
        );
        assert_eq!(
            err.to_string(),
            "patch 1 (s.patch) does not apply: git apply says: corrupt patch at line 7"
        );
    }

    #[test]
    fn display_path_shortens_home() {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        if let Some(home) = home.filter(|h| h.is_absolute() && h != Path::new("/")) {
            assert_eq!(display_path(&home.join("lazy")), "~/lazy");
        }
        assert_eq!(
            display_path(Path::new("/nonexistent-root-dir/x")),
            "/nonexistent-root-dir/x"
        );
    }
}
