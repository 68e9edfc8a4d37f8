//! A class's hand-ins found on disk ([`collect`], giving [`Student`]s):
//! what each INPUT of `xvlab grade-all` is, who handed in what, and the
//! hash of what they handed in (its resume key).
//!
//! An INPUT is one of:
//! - a folder of patch or mbox files (`.patch`, `.diff`, `.mbox`, `.eml`):
//!   one student each, the id is the file stem;
//! - a folder of folders, one per student (the id is the folder's name),
//!   each holding patch files (applied in name order), a student copy or
//!   a git repository (a folder with `kernel/`, `.xvlab.toml` or `.git`:
//!   graded as a work tree). A Gradescope export is such a folder with a
//!   `submission_metadata.yml` beside its `submission_NNN/` folders; the
//!   metadata's first submitter gives name, email and student id;
//! - a list file: one path per line (relative to the list's folder; `#`
//!   starts a comment), each a patch file or a student's folder as above.
//!
//! Both kinds may be mixed in one folder. Ids must be unique over all
//! INPUTs: a duplicate is refused, never silently dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::submission::Submission;

/// File names a patch may have.
const PATCH_EXTENSIONS: &[&str] = &["patch", "diff", "mbox", "eml"];

/// Gradescope's metadata file in an export.
pub const GRADESCOPE_METADATA: &str = "submission_metadata.yml";

/// An input that cannot be used as a class.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "use `{}` as a class: it is neither a folder of submissions, a patch file nor a list file (one path per line)",
        path.display()
    )]
    NotAClass { path: PathBuf },
    #[error("read `{}`: {message}", path.display())]
    Metadata { path: PathBuf, message: String },
    #[error(
        "tell the students apart: the id `{id}` is both `{}` and `{}`; rename one",
        first.display(),
        second.display()
    )]
    Duplicate {
        id: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("find any submission in {inputs}")]
    Empty { inputs: String },
}

/// One student's hand-in.
#[derive(Clone, Debug)]
pub struct Student {
    /// Unique in the class: the file stem or folder name.
    pub id: String,
    pub name: String,
    pub email: String,
    /// The student id Gradescope gives (`sid`), if any.
    pub sid: String,
    /// Where it was found.
    pub path: PathBuf,
    pub submission: Submission,
}

impl Student {
    /// The bytes that decide the grading besides the lab: every file
    /// handed in, with its path relative to the hand-in (a work tree's
    /// `target/` and `.git/` aside). Unreadable files count as their
    /// error, so they are graded (and refused) rather than skipped.
    pub fn content(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut add = |name: &str, bytes: &[u8]| {
            for part in [name.as_bytes(), bytes] {
                out.extend_from_slice(&(part.len() as u64).to_le_bytes());
                out.extend_from_slice(part);
            }
        };
        match &self.submission {
            Submission::PatchFiles(files) => {
                for file in files {
                    let name = file.file_name().unwrap_or_default().to_string_lossy();
                    match std::fs::read(file) {
                        Ok(bytes) => add(&name, &bytes),
                        Err(e) => add(&name, format!("unreadable: {e}").as_bytes()),
                    }
                }
            }
            Submission::WorkTree(dir) => {
                let mut files = Vec::new();
                walk(dir, dir, &mut files);
                files.sort();
                for rel in files {
                    let bytes = std::fs::read(dir.join(&rel)).unwrap_or_default();
                    add(&rel, &bytes);
                }
            }
            Submission::Starter | Submission::Patches(_) => add("kind", b"other"),
        }
        out
    }
}

/// Every regular file under `dir`, relative to `root`, skipping build
/// output and git's own files.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name();
        if kind.is_dir() {
            if name != "target" && name != ".git" {
                walk(root, &path, out);
            }
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}

fn is_patch(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PATCH_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, RosterError> {
    let err = |source| RosterError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(err)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(err)?;
    paths.sort();
    Ok(paths)
}

/// Who a Gradescope submission folder belongs to.
#[derive(Clone, Debug, Default)]
struct Submitter {
    name: String,
    email: String,
    sid: String,
}

#[derive(Deserialize)]
struct GradescopeEntry {
    #[serde(rename = ":submitters", default)]
    submitters: Vec<GradescopeSubmitter>,
}

#[derive(Deserialize)]
struct GradescopeSubmitter {
    #[serde(rename = ":name", default)]
    name: Option<String>,
    #[serde(rename = ":email", default)]
    email: Option<String>,
    #[serde(rename = ":sid", default)]
    sid: Option<serde_yaml_ng::Value>,
}

/// The submitters of an export's folders, by folder name.
fn gradescope_metadata(path: &Path) -> Result<BTreeMap<String, Submitter>, RosterError> {
    let text = std::fs::read_to_string(path).map_err(|source| RosterError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let entries: BTreeMap<String, GradescopeEntry> =
        serde_yaml_ng::from_str(&text).map_err(|e| RosterError::Metadata {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok(entries
        .into_iter()
        .map(|(folder, entry)| {
            let first = entry.submitters.into_iter().next();
            let submitter = first
                .map(|s| Submitter {
                    name: s.name.unwrap_or_default(),
                    email: s.email.unwrap_or_default(),
                    sid: match s.sid {
                        Some(serde_yaml_ng::Value::String(s)) => s,
                        Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
                        _ => String::new(),
                    },
                })
                .unwrap_or_default();
            (folder, submitter)
        })
        .collect())
}

/// The hand-in in a student's folder: a work tree, or its patch files.
fn folder_submission(dir: &Path) -> Result<Submission, RosterError> {
    let tree = ["kernel", crate::submission::worktree::MARKER, ".git"]
        .iter()
        .any(|n| dir.join(n).exists());
    if tree {
        return Ok(Submission::WorkTree(dir.to_path_buf()));
    }
    let patches: Vec<PathBuf> = read_dir_sorted(dir)?
        .into_iter()
        .filter(|p| p.is_file() && is_patch(p))
        .collect();
    // A folder with no patch is handed on as is: preparing it refuses it
    // ("a directory"), a result like any other bad hand-in.
    Ok(Submission::PatchFiles(if patches.is_empty() {
        vec![dir.to_path_buf()]
    } else {
        patches
    }))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// One student for a patch file or a student's folder.
fn student(path: &Path, who: Option<&Submitter>) -> Result<Student, RosterError> {
    let (id, submission) = if path.is_dir() {
        (file_name(path), folder_submission(path)?)
    } else {
        (stem(path), Submission::PatchFiles(vec![path.to_path_buf()]))
    };
    let who = who.cloned().unwrap_or_default();
    Ok(Student {
        id,
        name: who.name,
        email: who.email,
        sid: who.sid,
        path: path.to_path_buf(),
        submission,
    })
}

/// The students of one INPUT.
fn input(path: &Path) -> Result<Vec<Student>, RosterError> {
    let meta = std::fs::metadata(path).map_err(|source| RosterError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_dir() {
        let metadata_file = path.join(GRADESCOPE_METADATA);
        let submitters = if metadata_file.is_file() {
            gradescope_metadata(&metadata_file)?
        } else {
            BTreeMap::new()
        };
        let mut students = Vec::new();
        for entry in read_dir_sorted(path)? {
            let name = file_name(&entry);
            if name.starts_with('.') {
                continue;
            }
            if entry.is_dir() || is_patch(&entry) {
                students.push(student(&entry, submitters.get(&name))?);
            }
        }
        return Ok(students);
    }
    if is_patch(path) {
        return Ok(vec![student(path, None)?]);
    }
    // A list file: text, one path per line.
    let text = std::fs::read(path).map_err(|source| RosterError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(text).map_err(|_| RosterError::NotAClass {
        path: path.to_path_buf(),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut students = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let entry = base.join(line);
        if !entry.exists() {
            return Err(RosterError::Read {
                path: entry,
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        students.push(student(&entry, None)?);
    }
    if students.is_empty() {
        return Err(RosterError::NotAClass {
            path: path.to_path_buf(),
        });
    }
    Ok(students)
}

/// Every student of `inputs`, sorted by id; duplicate ids refused.
pub fn collect(inputs: &[PathBuf]) -> Result<Vec<Student>, RosterError> {
    let mut by_id: BTreeMap<String, Student> = BTreeMap::new();
    for path in inputs {
        for s in input(path)? {
            if let Some(first) = by_id.get(&s.id) {
                return Err(RosterError::Duplicate {
                    id: s.id,
                    first: first.path.clone(),
                    second: s.path,
                });
            }
            by_id.insert(s.id.clone(), s);
        }
    }
    if by_id.is_empty() {
        return Err(RosterError::Empty {
            inputs: inputs
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(by_id.into_values().collect())
}

/// `--partition hash:K/N`: shard K (1-based) of N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    pub shard: u64,
    pub of: u64,
}

impl std::str::FromStr for Partition {
    type Err = String;

    fn from_str(s: &str) -> Result<Partition, String> {
        let bad = || format!("`{s}` is not `hash:K/N` with 1 <= K <= N (e.g. `hash:2/3`)");
        let rest = s.strip_prefix("hash:").ok_or_else(bad)?;
        let (k, n) = rest.split_once('/').ok_or_else(bad)?;
        let (shard, of): (u64, u64) =
            (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if shard == 0 || of == 0 || shard > of {
            return Err(bad());
        }
        Ok(Partition { shard, of })
    }
}

impl Partition {
    /// Whether the student with `id` is in this shard: by a hash of the
    /// id alone, so the same on every machine and every run.
    pub fn contains(&self, id: &str) -> bool {
        let key = crate::grade::pool::KeyBase::new().key("id", id.as_bytes());
        let first = u64::from_str_radix(&key.as_str()[..16], 16).unwrap_or(0);
        first % self.of == self.shard - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_puts_every_id_in_exactly_one_shard() {
        let shards: Vec<Partition> = (1..=3)
            .map(|k| format!("hash:{k}/3").parse().unwrap())
            .collect();
        let mut sizes = [0; 3];
        for i in 0..60 {
            let id = format!("student{i}");
            let in_shards: Vec<usize> = (0..3).filter(|&k| shards[k].contains(&id)).collect();
            assert_eq!(in_shards.len(), 1, "{id}");
            sizes[in_shards[0]] += 1;
        }
        assert!(sizes.iter().all(|&n| n > 5), "{sizes:?}");
        for bad in ["2/3", "hash:0/3", "hash:4/3", "hash:1/0", "hash:a/b"] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_gradescope_export_gives_names_emails_and_sids_and_duplicates_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let export = dir.path().join("export");
        std::fs::create_dir_all(export.join("submission_101")).unwrap();
        std::fs::create_dir_all(export.join("submission_102")).unwrap();
        std::fs::write(export.join("submission_101/lazy.patch"), "x").unwrap();
        std::fs::write(
            export.join(GRADESCOPE_METADATA),
            "submission_101:\n  :submitters:\n  - :name: Ada Lovelace\n    :sid: '1815'\n    :email: ada@example.edu\n  :created_at: 2026-03-01 10:00:00.000000000 -08:00\n  :score: 0.0\nsubmission_102:\n  :submitters:\n  - :name: Alan Turing\n    :sid: 1912\n    :email: alan@example.edu\n",
        )
        .unwrap();
        let students = collect(std::slice::from_ref(&export)).unwrap();
        assert_eq!(students.len(), 2);
        assert_eq!(students[0].id, "submission_101");
        assert_eq!(students[0].name, "Ada Lovelace");
        assert_eq!(students[0].email, "ada@example.edu");
        assert_eq!(students[0].sid, "1815");
        assert_eq!(students[1].sid, "1912");
        assert!(matches!(&students[0].submission, Submission::PatchFiles(f) if f.len() == 1));
        let patches = dir.path().join("patches");
        std::fs::create_dir_all(&patches).unwrap();
        std::fs::write(patches.join("submission_101.patch"), "x").unwrap();
        let err = collect(&[export, patches]).unwrap_err();
        assert!(matches!(err, RosterError::Duplicate { .. }), "{err}");
    }
}
