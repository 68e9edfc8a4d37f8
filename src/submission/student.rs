//! A student's copy of a lab ([`StudentCopy`]): what `xvlab init` makes,
//! how later commands find it, and `xvlab pack`.
//!
//! A copy is the pristine kernel tree at the root of a directory, plus:
//!
//! - `LAB.md`: the lab's handout (`labs/<lab>/README.md`), when the lab has
//!   one;
//! - `.xvlab.toml`: the marker that says which lab this is (`lab = "lazy"`);
//!   commands run inside the copy walk up to it;
//! - `README.md`: about the copy (how to build, boot, debug, grade and
//!   pack in it), in place of the starter's, which is about the reference
//!   kernel; scaffolding, so it is never graded;
//! - `.gitignore`: build output, the file `xvlab pack` writes, and what
//!   `xvlab qemu --gdb` writes (`.xvlab/`, `.gdbinit`);
//! - a git repository whose first commit is the starter code, tagged
//!   `starter` (`git diff starter` shows a student their changes).
//!
//! `pack` writes the student's changes to the editable files against the
//! starter commit as one `git diff` patch — committed or not, new files
//! included — which is exactly what `xvlab grade --patch` reads back.
//! Grader-owned files the student changed are left out and listed. It
//! never touches the student's own index: a temporary one
//! (`GIT_INDEX_FILE`) is filled with the starter tree plus the editable
//! files of the work tree, and diffed against the starter commit.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::lab::Lab;
use crate::lab::assets::{AssetError, Assets};
use crate::shared::exit;
use crate::shared::patch::escape;
use crate::submission::git::{self, Git, GitError};
use crate::submission::starter::{Pristine, StarterError};
use crate::submission::worktree::{
    self, COPY_README, EntryKind, HANDOUT, MARKER, default_pack_name, is_scaffolding,
};

/// The tag on the starter commit.
pub const STARTER_TAG: &str = "starter";

/// At most this many left-out files are named in a message.
const MAX_NAMED: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum StudentError {
    #[error("`{}` already exists and is not an empty directory: choose a new directory for the lab", dir.display())]
    NotEmpty { dir: PathBuf },
    #[error(
        "no lab copy in `{}` or any directory above it (there is no {MARKER}): run this inside a \
         directory made by `xvlab init`",
        start.display()
    )]
    NotACopy { start: PathBuf },
    #[error("`{}` is not a valid xvlab marker: {message}", path.display())]
    BadMarker { path: PathBuf, message: String },
    #[error(
        "`{}` is not a git repository (there is no .git): `xvlab pack` needs the starter commit \
         that `xvlab init` made",
        root.display()
    )]
    NotARepository { root: PathBuf },
    #[error(
        "cannot find the starter commit in `{}`: there is no `{STARTER_TAG}` tag, and the history \
         does not start with a single commit",
        root.display()
    )]
    NoStarter { root: PathBuf },
    #[error("{message}")]
    NoChanges {
        left_out: Vec<String>,
        message: String,
    },
    #[error("cannot write the patch to `{}`: it is one of the files the lab lets you edit", path.display())]
    OutputInsideEditable { path: PathBuf },
    #[error("{message}")]
    Forbidden { path: String, message: String },
    #[error("cannot run `git`: it is not installed or not on PATH (xvlab keeps lab copies in git)")]
    GitMissing,
    #[error(transparent)]
    Git(GitError),
    #[error("cannot {action}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Assets(#[from] AssetError),
    #[error(transparent)]
    Starter(#[from] StarterError),
}

impl StudentError {
    /// The exit code of `xvlab` for this error (see exit.rs).
    pub fn exit_code(&self) -> u8 {
        match self {
            StudentError::NoChanges { .. } | StudentError::NotACopy { .. } => exit::NOTHING_TO_PACK,
            StudentError::GitMissing => exit::MISSING_TOOL,
            StudentError::Starter(e) => e.exit_code(),
            _ => exit::FAILURE,
        }
    }
}

impl From<GitError> for StudentError {
    fn from(e: GitError) -> StudentError {
        match e {
            GitError::Missing => StudentError::GitMissing,
            other => StudentError::Git(other),
        }
    }
}

fn io_error(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> StudentError {
    let action = action.into();
    move |source| StudentError::Io { action, source }
}

/// The contents of the marker file.
#[derive(Debug, Deserialize)]
struct Marker {
    lab: String,
}

/// A student's copy of a lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StudentCopy {
    /// The directory holding the marker and the kernel tree.
    pub root: PathBuf,
    /// The lab's name, from the marker.
    pub lab: String,
}

/// Make a student copy of `lab` in `dir` (`xvlab init LAB DIR`). `dir` must
/// not exist or be empty; on failure, it is left as it was found.
pub fn init(assets: &Assets, lab: &Lab, dir: &Path) -> Result<StudentCopy, StudentError> {
    // Checked first so that a missing git does not leave a half-made copy.
    git::check_installed()?;
    let created = match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            let mut entries =
                std::fs::read_dir(dir).map_err(io_error(format!("read `{}`", dir.display())))?;
            if entries.next().is_some() {
                return Err(StudentError::NotEmpty {
                    dir: dir.to_path_buf(),
                });
            }
            false
        }
        Ok(_) => {
            return Err(StudentError::NotEmpty {
                dir: dir.to_path_buf(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)
                .map_err(io_error(format!("create `{}`", dir.display())))?;
            true
        }
        Err(source) => {
            return Err(StudentError::Io {
                action: format!("inspect `{}`", dir.display()),
                source,
            });
        }
    };
    let mut cleanup = Cleanup {
        dir: dir.to_path_buf(),
        created,
        armed: true,
    };
    let root = git::absolute(dir);
    fill(assets, lab, &root)?;
    cleanup.armed = false;
    Ok(StudentCopy {
        root,
        lab: lab.name.clone(),
    })
}

/// The copy's README: what this directory is and the commands that work
/// in it.
fn copy_readme(lab: &Lab) -> String {
    format!(
        "# {title}: your copy\n\n\
         This directory is your copy of the starter kernel of the `{name}` lab,\n\
         made by `xvlab init`, as a git repository (`git diff starter` shows your\n\
         changes). The handout is `{handout}`. Run these here:\n\n\
         ```sh\n\
         xvlab qemu                        # build and boot, with a shell ($); Ctrl-A X quits\n\
         xvlab qemu --gdb                  # the same, stopped for gdb: it prints the command\n\
         xvlab run -- 'usertests sbrkarg'  # boot, type commands, print the console\n\
         xvlab build --output out          # build only: out/kernel and out/fs.img\n\
         xvlab grade                       # grade your copy, as the course will\n\
         xvlab pack                        # write {pack}, the patch you hand in\n\
         ```\n\n\
         Only {editable} is graded; the grader restores everything else. Your own\n\
         programs go in `user/src/bin/NAME.rs`: `qemu`, `run` and `build` put them\n\
         on the image (`grade` does not).\n",
        title = lab.title,
        name = lab.name,
        handout = HANDOUT,
        pack = default_pack_name(&lab.name),
        editable = lab.editable_patterns.join(", "),
    )
}

/// Write the copy's files and make the starter commit.
fn fill(assets: &Assets, lab: &Lab, root: &Path) -> Result<(), StudentError> {
    Pristine::load(assets, lab, &std::env::temp_dir())?
        .write_into(root)
        .map_err(|e| StarterError::Io(Box::new(e)))?;
    match assets.read(&lab.handout_path()) {
        Ok(handout) => write(&root.join(HANDOUT), &handout)?,
        // The lab has no handout (yet): the copy is still usable.
        Err(AssetError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let ignore = format!(
        "# Build output, the patch `xvlab pack` writes, xvlab's record of the last\n\
         # grading and what `xvlab qemu --gdb` writes (the kernel gdb reads, and\n\
         # its .gdbinit).\n/target/\n/{}\n/.xvlab/\n/.gdbinit\n",
        default_pack_name(&lab.name)
    );
    write(&root.join(".gitignore"), ignore.as_bytes())?;
    // The starter's README is about the reference kernel and how its
    // developers build it; the copy's says how to work in the copy.
    write(&root.join(COPY_README), copy_readme(lab).as_bytes())?;
    let marker = format!(
        "# Made by `xvlab init`: this directory is a copy of the `{name}` lab ({title}).\n\
         # xvlab commands run here read the lab's name from this file.\n\
         lab = \"{name}\"\n",
        name = lab.name,
        title = lab.title,
    );
    write(&root.join(MARKER), marker.as_bytes())?;

    // `git init` in the directory itself (not with GIT_DIR/GIT_WORK_TREE,
    // which would record the work tree's absolute path in .git/config and
    // break the copy when it is moved).
    Git::outside_repository(root)
        .args(["-c", "init.defaultBranch=main", "init", "-q"])
        .run()?;
    Git::in_repository(root).args(["add", "-A"]).run()?;
    let message = format!(
        "Starter code of the {name} lab ({title})\n\n\
         Made by `xvlab init`. `xvlab pack` packs your changes against this\n\
         commit (tagged `{STARTER_TAG}`; `git diff {STARTER_TAG}` shows them).\n",
        name = lab.name,
        title = lab.title,
    );
    Git::in_repository(root)
        .args([
            "-c",
            "user.name=xvlab",
            "-c",
            "user.email=xvlab@localhost",
            "commit",
            "-q",
            "--no-verify",
            "-m",
            &message,
        ])
        .run()?;
    Git::in_repository(root).args(["tag", STARTER_TAG]).run()?;
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), StudentError> {
    std::fs::write(path, bytes).map_err(io_error(format!("write `{}`", path.display())))
}

/// Undoes a half-made copy when `init` fails.
struct Cleanup {
    dir: PathBuf,
    created: bool,
    armed: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // Best effort: we are already reporting the error that got us here.
        if self.created {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    let _ = std::fs::remove_dir_all(&path);
                } else {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }
}

/// The result of [`StudentCopy::pack`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed {
    /// Where the patch was written.
    pub path: PathBuf,
    /// The editable files it changes, sorted.
    pub files: Vec<String>,
    /// Files the student changed that are not graded, so not in the patch.
    pub left_out: Vec<String>,
}

impl StudentCopy {
    /// The copy that holds `start` (a directory): the nearest directory at
    /// or above it with a marker file.
    pub fn find(start: &Path) -> Result<StudentCopy, StudentError> {
        let start = git::absolute(start);
        for dir in start.ancestors() {
            let marker = dir.join(MARKER);
            if marker.is_file() {
                return StudentCopy::open_marker(dir, &marker);
            }
        }
        Err(StudentError::NotACopy { start })
    }

    fn open_marker(root: &Path, marker: &Path) -> Result<StudentCopy, StudentError> {
        let text = std::fs::read_to_string(marker)
            .map_err(io_error(format!("read `{}`", marker.display())))?;
        let bad = |message: String| StudentError::BadMarker {
            path: marker.to_path_buf(),
            message,
        };
        let parsed: Marker = toml::from_str(&text).map_err(|e| bad(e.message().to_string()))?;
        // The name ends up in file names (`<lab>-submission.patch`).
        if parsed.lab.is_empty()
            || !parsed
                .lab
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(bad(format!("`{}` is not a lab name", escape(&parsed.lab))));
        }
        Ok(StudentCopy {
            root: root.to_path_buf(),
            lab: parsed.lab,
        })
    }

    /// Where `pack` writes by default.
    pub fn default_pack_path(&self) -> PathBuf {
        self.root.join(default_pack_name(&self.lab))
    }

    /// Write the student's changes to the editable files of `lab` (this
    /// copy's lab) as a patch against the starter commit, to `output` or
    /// [`StudentCopy::default_pack_path`].
    pub fn pack(&self, lab: &Lab, output: Option<&Path>) -> Result<Packed, StudentError> {
        let root = &self.root;
        if !root.join(".git").exists() {
            return Err(StudentError::NotARepository { root: root.clone() });
        }
        let output = output.map_or_else(|| self.default_pack_path(), git::absolute);
        let output_rel = git::relative_path(root, &output);
        if output_rel
            .as_deref()
            .is_some_and(|rel| lab.is_editable(rel))
        {
            return Err(StudentError::OutputInsideEditable { path: output });
        }
        let starter = self.starter_commit()?;

        let scratch = tempfile::Builder::new()
            .prefix(&crate::shared::scratch::prefix("pack"))
            .tempdir()
            .map_err(io_error("create a temporary directory"))?;
        let index = scratch.path().join("index");
        let git = || Git::in_repository(root).env("GIT_INDEX_FILE", index.as_os_str());
        git().args(["read-tree", &starter]).run()?;

        // The editable paths: those of the starter and those in the work
        // tree now. Only these go into the temporary index, so that a
        // student's build output or stray files are never hashed into their
        // repository.
        let listing = git()
            .args(["ls-tree", "-r", "-z", "--name-only", &starter])
            .run()?;
        let mut editable: BTreeSet<String> = split_z(&listing.stdout)
            .into_iter()
            .filter(|p| lab.is_editable(p))
            .collect();
        let skip = |rel: &str, name: &str| name == ".git" || rel == "target";
        let walked = worktree::walk(root, &skip).map_err(|(path, source)| StudentError::Io {
            action: format!("read `{}`", path.display()),
            source,
        })?;
        for entry in walked.entries.iter().filter(|e| lab.is_editable(&e.rel)) {
            if entry.kind != EntryKind::File {
                return Err(StudentError::Forbidden {
                    path: entry.rel.clone(),
                    message: format!(
                        "cannot pack `{}`: it is a symbolic link or special file, and submissions may only \
                         contain regular files",
                        escape(&entry.rel)
                    ),
                });
            }
            editable.insert(entry.rel.clone());
        }
        let editable: Vec<String> = editable.into_iter().collect();
        if !editable.is_empty() {
            // -f: an editable file is graded even if a .gitignore hides it.
            git()
                .args(["add", "-A", "-f", "--"])
                .args(&editable)
                .run()?;
        }
        let files = if editable.is_empty() {
            Vec::new()
        } else {
            let names = git()
                .args([
                    "diff",
                    "--cached",
                    "--name-only",
                    "-z",
                    "--no-renames",
                    &starter,
                    "--",
                ])
                .args(&editable)
                .run()?;
            split_z(&names.stdout)
        };

        let left_out = self.left_out(lab, &git, &starter, output_rel.as_deref())?;
        if files.is_empty() {
            let mut message = format!(
                "nothing to pack: none of the files you may edit ({}) changed since the starter commit",
                lab.editable_patterns.join(", ")
            );
            if !left_out.is_empty() {
                message.push_str(&format!(
                    "; you changed {}, which {} not graded",
                    name_some(&left_out),
                    if left_out.len() == 1 { "is" } else { "are" }
                ));
            }
            return Err(StudentError::NoChanges { left_out, message });
        }

        let diff = git()
            .args([
                "diff",
                "--cached",
                "--binary",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--no-renames",
                "--src-prefix=a/",
                "--dst-prefix=b/",
                "--unified=3",
                &starter,
                "--",
            ])
            .args(&files)
            .run()?;
        std::fs::write(&output, &diff.stdout)
            .map_err(io_error(format!("write `{}`", output.display())))?;
        Ok(Packed {
            path: output,
            files,
            left_out,
        })
    }

    /// The starter commit: the `starter` tag, or else the one root commit.
    fn starter_commit(&self) -> Result<String, StudentError> {
        let tag = Git::in_repository(&self.root)
            .args([
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/tags/{STARTER_TAG}^{{commit}}"),
            ])
            .output()?;
        if tag.status.success() {
            return Ok(String::from_utf8_lossy(&tag.stdout).trim().to_string());
        }
        let roots = Git::in_repository(&self.root)
            .args(["rev-list", "--max-parents=0", "HEAD"])
            .output()?;
        let text = String::from_utf8_lossy(&roots.stdout);
        let roots: Vec<&str> = text.lines().collect();
        match roots.as_slice() {
            [one] => Ok(one.trim().to_string()),
            _ => Err(StudentError::NoStarter {
                root: self.root.clone(),
            }),
        }
    }

    /// The grader-owned files that differ from the starter commit (changed,
    /// deleted, or new and not ignored), except the copy's own files.
    fn left_out(
        &self,
        lab: &Lab,
        git: &dyn Fn() -> Git,
        starter: &str,
        output_rel: Option<&str>,
    ) -> Result<Vec<String>, StudentError> {
        let changed = git()
            .args(["diff", "--name-only", "-z", "--no-renames", starter])
            .run()?;
        let untracked = git()
            .args([
                "ls-files",
                "--others",
                "--exclude-standard",
                "--directory",
                "-z",
            ])
            .run()?;
        let mut left_out: BTreeSet<String> = BTreeSet::new();
        for path in split_z(&changed.stdout)
            .into_iter()
            .chain(split_z(&untracked.stdout))
        {
            if lab.is_editable(&path)
                || is_scaffolding(&self.lab, &path)
                || Some(path.as_str()) == output_rel
            {
                continue;
            }
            left_out.insert(path);
        }
        Ok(left_out.into_iter().collect())
    }
}

/// `a, b and c`, or the first few and how many more.
fn name_some(paths: &[String]) -> String {
    let shown: Vec<String> = paths.iter().take(MAX_NAMED).map(|p| escape(p)).collect();
    match (paths.len(), shown.as_slice()) {
        (1, [one]) => one.clone(),
        (n, _) if n > MAX_NAMED => format!("{} and {} more", shown.join(", "), n - MAX_NAMED),
        (_, [init @ .., last]) => format!("{} and {last}", init.join(", ")),
        _ => String::new(),
    }
}

/// NUL-separated git output as UTF-8 paths (others are dropped: they can be
/// neither editable nor graded).
fn split_z(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .filter_map(|s| std::str::from_utf8(s).ok().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming_a_few_paths() {
        let paths = |n: usize| (1..=n).map(|i| format!("f{i}")).collect::<Vec<_>>();
        assert_eq!(name_some(&paths(1)), "f1");
        assert_eq!(name_some(&paths(2)), "f1 and f2");
        assert_eq!(name_some(&paths(3)), "f1, f2 and f3");
        assert_eq!(name_some(&paths(7)), "f1, f2, f3, f4, f5 and 2 more");
    }

    #[test]
    fn markers_are_found_from_below_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("kernel/src")).unwrap();
        std::fs::write(
            dir.path().join(MARKER),
            "# comment\nlab = \"lazy\"\nfuture = 1\n",
        )
        .unwrap();
        let copy = StudentCopy::find(&dir.path().join("kernel/src")).unwrap();
        assert_eq!(copy.lab, "lazy");
        assert_eq!(copy.root, dir.path());
        assert_eq!(
            copy.default_pack_path(),
            dir.path().join("lazy-submission.patch")
        );

        std::fs::write(dir.path().join(MARKER), "lab = \"../../etc\"\n").unwrap();
        let err = StudentCopy::find(dir.path()).unwrap_err().to_string();
        assert!(
            err.ends_with(
                ".xvlab.toml` is not a valid xvlab marker: `../../etc` is not a lab name"
            ),
            "{err}"
        );
        std::fs::write(dir.path().join(MARKER), "lab = 3\n").unwrap();
        assert!(matches!(
            StudentCopy::find(dir.path()),
            Err(StudentError::BadMarker { .. })
        ));
    }

    #[test]
    fn no_marker_anywhere_up() {
        let dir = tempfile::tempdir().unwrap();
        // The temporary directory could itself be below a copy only on a
        // very strange machine; skip the check there.
        if let Err(err) = StudentCopy::find(dir.path()) {
            assert!(matches!(err, StudentError::NotACopy { .. }));
        }
    }
}
