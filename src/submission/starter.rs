//! The starter a submission is prepared from, in memory ([`Pristine`]):
//! the lab's starter tree read from the material, with the lab's starter
//! patch applied when it has one (lab.toml's `starter_patch`). Everything
//! that reads the starter — preparing a hand-in, restoring the grader's
//! files, `xvlab init` — reads it here, so a lab made of a tree and a
//! patch is the same to all of them as a lab with a tree of its own.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use tempfile::TempDir;

use crate::lab::assets::{AssetError, Assets};
use crate::lab::{Lab, StarterPatch};
use crate::shared::exit;
use crate::submission::{Numbered, SubmissionError, apply, io_error, remove_file, write_file};

/// Why the lab's starter cannot be made. None of these is the
/// submission's fault: the lab's material, or the grading machine, is
/// what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum StarterError {
    /// The starter tree could not be read from the material.
    #[error(transparent)]
    Assets(#[from] AssetError),
    /// `git apply` refused the starter patch.
    #[error(
        "lab `{lab}`: its starter patch `{patch}` (lab.toml's `starter_patch`) does not apply to \
         its starter tree `{starter}`: {reason}; the lab's material is what needs fixing"
    )]
    DoesNotApply {
        lab: String,
        patch: String,
        starter: String,
        reason: String,
    },
    /// `git` is needed to apply the starter patch and is not installed.
    #[error("cannot make the lab's starter: `git` is not installed or not on PATH")]
    GitMissing,
    /// Writing the tree to apply the patch to, or reading it back, failed.
    #[error("cannot make the lab's starter")]
    Io(#[source] Box<SubmissionError>),
}

impl StarterError {
    /// The exit code of `xvlab` for this error (see exit.rs).
    pub fn exit_code(&self) -> u8 {
        match self {
            StarterError::DoesNotApply { .. } => exit::BAD_LAB,
            StarterError::GitMissing => exit::MISSING_TOOL,
            StarterError::Assets(_) | StarterError::Io(_) => exit::FAILURE,
        }
    }
}

/// The starter, in memory: relative path → contents.
pub struct Pristine {
    pub(super) files: BTreeMap<String, Cow<'static, [u8]>>,
}

impl Pristine {
    /// The starter of `lab`: its tree, with its starter patch (read and
    /// parsed when the lab loaded) applied in a temporary directory under
    /// `parent` (removed before this returns).
    pub fn load(assets: &Assets, lab: &Lab, parent: &Path) -> Result<Pristine, StarterError> {
        let mut files = BTreeMap::new();
        for path in assets.list(&lab.starter)? {
            let bytes = assets.read(&path)?;
            let rel = path[lab.starter.len() + 1..].to_string();
            files.insert(rel, bytes);
        }
        let tree = Pristine { files };
        match &lab.starter_patch {
            None => Ok(tree),
            Some(patch) => tree.patched(lab, patch, parent),
        }
    }

    /// This tree with the starter patch `patch` of `lab` applied, the way
    /// a submission's patches are (`git apply`, one patch of a series
    /// after another).
    fn patched(
        self,
        lab: &Lab,
        patch: &StarterPatch,
        parent: &Path,
    ) -> Result<Pristine, StarterError> {
        let io = |e: SubmissionError| StarterError::Io(Box::new(e));
        let dir: TempDir = self.write_to_temp(parent).map_err(io)?;
        let mut paths: BTreeSet<String> = self.files.into_keys().collect();
        for (position, p) in patch.parsed.patches.iter().enumerate() {
            p.update_paths(&mut paths);
            let numbered = Numbered {
                label: format!("patch {}", position + 1),
                patch: p.clone(),
            };
            apply(dir.path(), &numbered, position).map_err(|e| match e {
                SubmissionError::GitMissing => StarterError::GitMissing,
                SubmissionError::DoesNotApply { message, .. } => StarterError::DoesNotApply {
                    lab: lab.name.clone(),
                    patch: patch.path.clone(),
                    starter: lab.starter.clone(),
                    reason: message,
                },
                other => io(other),
            })?;
        }
        let mut files = BTreeMap::new();
        for rel in paths {
            let full = dir.path().join(&rel);
            let bytes = std::fs::read(&full)
                .map_err(io_error(format!("read `{}`", full.display())))
                .map_err(io)?;
            files.insert(rel, Cow::Owned(bytes));
        }
        Ok(Pristine { files })
    }

    /// Every file of the starter: relative path and contents, sorted.
    #[cfg(test)]
    fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(p, b)| (p.as_str(), &b[..]))
    }

    /// A fresh temporary directory under `parent` holding the tree.
    pub(super) fn write_to_temp(&self, parent: &Path) -> Result<TempDir, SubmissionError> {
        let dir = tempfile::Builder::new()
            .prefix(&crate::shared::scratch::prefix("submission"))
            .tempdir_in(parent)
            .map_err(io_error(format!(
                "create a directory in `{}`",
                parent.display()
            )))?;
        self.write_into(dir.path())?;
        Ok(dir)
    }

    /// Write every file of the tree into `root`.
    pub fn write_into(&self, root: &Path) -> Result<(), SubmissionError> {
        for rel in self.files.keys() {
            self.restore(root, rel)?;
        }
        Ok(())
    }

    /// Write the pristine `rel` into the tree at `root`, or remove it there
    /// if the starter has no such file.
    pub(super) fn restore(&self, root: &Path, rel: &str) -> Result<(), SubmissionError> {
        let target = root.join(rel);
        match self.files.get(rel) {
            Some(bytes) => write_file(&target, bytes),
            None => remove_file(&target),
        }
    }

    /// Is `rel` a directory of the starter tree?
    pub(super) fn has_dir(&self, rel: &str) -> bool {
        let prefix = format!("{rel}/");
        self.files
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(p, _)| p.starts_with(&prefix))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::submission::{PatchInput, Submission};

    /// A home with lab `x` whose starter is tree `k` (`README.md`, `the
    /// base kernel`, and `kernel/vm.rs`) plus `labs/x/starter.patch`,
    /// holding `patch`.
    pub(crate) fn home(patch: &str) -> (tempfile::TempDir, Assets, Lab) {
        let home = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let path = home.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "labs/x/lab.toml",
            "name = \"x\"\ntitle = \"t\"\ngrading = \"g\"\nstarter = \"k\"\n\
             starter_patch = \"labs/x/starter.patch\"\neditable = [\"kernel/**\"]\n",
        );
        write("g/rubric.toml", "");
        write("k/kernel/vm.rs", "fn uvmcopy() {\n    copy();\n}\n");
        write("k/README.md", "the base kernel\n");
        write("labs/x/starter.patch", patch);
        let assets = Assets::Dir(home.path().to_path_buf());
        let lab = Lab::load(&assets, "x").unwrap();
        (home, assets, lab)
    }

    const STARTER: &str = "\
diff --git a/README.md b/README.md
--- a/README.md
+++ b/README.md
@@ -1 +1 @@
-the base kernel
+the cow lab's kernel
diff --git a/kernel/cow.rs b/kernel/cow.rs
new file mode 100644
--- /dev/null
+++ b/kernel/cow.rs
@@ -0,0 +1 @@
+// refcounts go here
";

    #[test]
    fn the_starter_is_the_tree_with_its_starter_patch_applied() {
        let (_home, assets, lab) = home(STARTER);
        let parent = tempfile::tempdir().unwrap();
        let starter = Pristine::load(&assets, &lab, parent.path()).unwrap();
        let files: Vec<(&str, &[u8])> = starter.files().collect();
        assert_eq!(
            files,
            [
                ("README.md", &b"the cow lab's kernel\n"[..]),
                ("kernel/cow.rs", b"// refcounts go here\n"),
                ("kernel/vm.rs", b"fn uvmcopy() {\n    copy();\n}\n"),
            ]
        );
        // The tree the patch was applied in is gone.
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_submission_applies_to_the_patched_starter_and_grader_files_are_restored_from_it() {
        let (_home, assets, lab) = home(STARTER);
        let submission = Submission::Patches(vec![PatchInput {
            name: "fix.patch".to_string(),
            bytes: b"\
diff --git a/kernel/cow.rs b/kernel/cow.rs
--- a/kernel/cow.rs
+++ b/kernel/cow.rs
@@ -1 +1 @@
-// refcounts go here
+static REFS: [u8; 4] = [0; 4];
"
            .to_vec(),
        }]);
        let parent = tempfile::tempdir().unwrap();
        let prepared = submission.prepare_in(&assets, &lab, parent.path()).unwrap();
        let read = |rel: &str| std::fs::read_to_string(prepared.path().join(rel)).unwrap();
        assert_eq!(read("kernel/cow.rs"), "static REFS: [u8; 4] = [0; 4];\n");
        assert_eq!(read("README.md"), "the cow lab's kernel\n");
    }

    #[test]
    fn a_starter_patch_that_does_not_apply_is_the_labs_fault_not_the_submissions() {
        let (_home, assets, lab) = home(
            "\
diff --git a/kernel/vm.rs b/kernel/vm.rs
--- a/kernel/vm.rs
+++ b/kernel/vm.rs
@@ -1,3 +1,3 @@
 fn uvmcopy() {
-    share();
+    copy();
 }
",
        );
        let parent = tempfile::tempdir().unwrap();
        let err = Submission::Starter
            .prepare_in(&assets, &lab, parent.path())
            .unwrap_err();
        assert_eq!(err.exit_code(), exit::BAD_LAB, "{err}");
        assert!(err.refusal().is_none(), "{err}");
        let message = err.to_string();
        assert!(
            message.starts_with(
                "lab `x`: its starter patch `labs/x/starter.patch` (lab.toml's `starter_patch`) \
                 does not apply to its starter tree `k`: patch 1 does not apply: its change to \
                 kernel/vm.rs near line 1"
            ),
            "{message}"
        );
        assert!(
            message.ends_with("the lab's material is what needs fixing"),
            "{message}"
        );
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    }
}
