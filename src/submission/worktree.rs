//! A directory that holds a kernel tree as a student works on it, as
//! both `student` (init, pack) and `submission` (grading a work tree) see
//! it: the files a student copy keeps beside the kernel tree (the
//! scaffolding, never part of a submission), and walking such a directory
//! without following symbolic links.

use std::path::{Path, PathBuf};

/// The marker file at the root of a student copy (`lab = "lazy"`).
pub const MARKER: &str = ".xvlab.toml";
/// The handout, beside the kernel tree.
pub const HANDOUT: &str = "LAB.md";

/// The copy's own README (about the copy; the starter's is replaced).
pub const COPY_README: &str = "README.md";

/// The file name `pack` writes by default, at the root of the copy.
pub fn default_pack_name(lab: &str) -> String {
    format!("{lab}-submission.patch")
}

/// Is `rel` (relative to a copy's root) one of the files `init` and `pack`
/// put beside the kernel tree? Those are never part of a submission.
pub fn is_scaffolding(lab: &str, rel: &str) -> bool {
    rel == MARKER
        || rel == HANDOUT
        || rel == COPY_README
        || rel == ".gitignore"
        || rel == default_pack_name(lab)
}

/// What a directory entry is; symbolic links are never followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Symlink,
    Other,
}

/// A file (not a directory) below a walked root.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Relative to the root, `/`-separated.
    pub rel: String,
    pub kind: EntryKind,
}

/// The result of [`walk`].
#[derive(Debug, Default)]
pub struct Walked {
    /// Sorted by path.
    pub entries: Vec<Entry>,
    /// Names that are not UTF-8 (lossily converted), which were skipped.
    pub unreadable_names: Vec<String>,
}

/// Every non-directory below `root`, not descending into directories for
/// which `skip(rel, name)` holds. Errors carry the path that failed.
pub fn walk(
    root: &Path,
    skip: &dyn Fn(&str, &str) -> bool,
) -> Result<Walked, (PathBuf, std::io::Error)> {
    let mut walked = Walked::default();
    walk_dir(root, "", skip, &mut walked)?;
    walked.entries.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(walked)
}

fn walk_dir(
    dir: &Path,
    prefix: &str,
    skip: &dyn Fn(&str, &str) -> bool,
    walked: &mut Walked,
) -> Result<(), (PathBuf, std::io::Error)> {
    let entries = std::fs::read_dir(dir).map_err(|e| (dir.to_path_buf(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| (dir.to_path_buf(), e))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            walked
                .unreadable_names
                .push(format!("{prefix}{}", entry.file_name().to_string_lossy()));
            continue;
        };
        let rel = format!("{prefix}{name}");
        let file_type = entry.file_type().map_err(|e| (path.clone(), e))?;
        if file_type.is_dir() {
            if !skip(&rel, &name) {
                walk_dir(&path, &format!("{rel}/"), skip, walked)?;
            }
            continue;
        }
        let kind = if file_type.is_file() {
            EntryKind::File
        } else if file_type.is_symlink() {
            EntryKind::Symlink
        } else {
            EntryKind::Other
        };
        walked.entries.push(Entry { rel, kind });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaffolding_is_the_files_beside_the_tree() {
        assert!(is_scaffolding("lazy", ".xvlab.toml"));
        assert!(is_scaffolding("lazy", "LAB.md"));
        assert!(is_scaffolding("lazy", ".gitignore"));
        assert!(is_scaffolding("lazy", "lazy-submission.patch"));
        assert!(!is_scaffolding("lazy", "kernel/src/vm.rs"));
        assert!(!is_scaffolding("lazy", "kernel/.gitignore"));
    }
}
