//! Where xvlab finds its lab definitions (`labs/`), grading material
//! (`grading/`) and the pristine starter kernel tree (`reference-kernel/`):
//! [`Assets`].
//!
//! By default they are embedded in the binary at build time (see build.rs),
//! so an installed `xvlab` works from any directory and always grades with
//! the material it was built with. Setting `XVLAB_HOME` to a directory laid
//! out like the repository (labs/, grading/, reference-kernel/) uses that
//! directory instead — for course staff editing a rubric or a test without
//! rebuilding xvlab.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// Environment variable naming an assets directory to use instead of the
/// embedded copy.
pub const HOME_ENV: &str = "XVLAB_HOME";

#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error("read `{path}` from {source_name}: not found")]
    NotFound { path: String, source_name: String },
    #[error("read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The source of lab material.
#[derive(Clone, Debug)]
pub enum Assets {
    /// The copy built into this binary.
    Embedded,
    /// A directory laid out like the repository.
    Dir(PathBuf),
}

impl Assets {
    /// `$XVLAB_HOME` if set, else the embedded copy.
    pub fn locate() -> Assets {
        match std::env::var_os(HOME_ENV) {
            Some(dir) if !dir.is_empty() => Assets::Dir(PathBuf::from(dir)),
            _ => Assets::Embedded,
        }
    }

    /// Where the material comes from, for messages.
    pub fn describe(&self) -> String {
        match self {
            Assets::Embedded => "the material built into xvlab".to_string(),
            Assets::Dir(dir) => format!("{} (from ${HOME_ENV})", dir.display()),
        }
    }

    /// The contents of the file at `path` (relative, `/`-separated).
    pub fn read(&self, path: &str) -> Result<Cow<'static, [u8]>, AssetError> {
        match self {
            Assets::Embedded => embedded::FILES
                .binary_search_by(|(p, _)| (*p).cmp(path))
                .map(|i| Cow::Borrowed(embedded::FILES[i].1))
                .map_err(|_| AssetError::NotFound {
                    path: path.to_string(),
                    source_name: self.describe(),
                }),
            Assets::Dir(dir) => {
                let full = dir.join(path);
                std::fs::read(&full).map(Cow::Owned).map_err(|source| {
                    if source.kind() == std::io::ErrorKind::NotFound {
                        AssetError::NotFound {
                            path: path.to_string(),
                            source_name: self.describe(),
                        }
                    } else {
                        AssetError::Read { path: full, source }
                    }
                })
            }
        }
    }

    /// The contents of a text file.
    pub fn read_string(&self, path: &str) -> Result<String, AssetError> {
        let bytes = self.read(path)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Every file under `prefix` (a directory), as paths relative to the
    /// assets root, sorted.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, AssetError> {
        let prefix = prefix.trim_end_matches('/');
        match self {
            Assets::Embedded => Ok(embedded::FILES
                .iter()
                .map(|(p, _)| *p)
                .filter(|p| {
                    p.strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
                })
                .map(str::to_string)
                .collect()),
            Assets::Dir(dir) => {
                let mut out = Vec::new();
                walk(dir, &dir.join(prefix), &mut out)?;
                out.sort();
                Ok(out)
            }
        }
    }

    /// Write every file under `prefix` into `dest`, keeping the relative
    /// layout below `prefix` (so `extract("reference-kernel", d)` makes `d`
    /// a copy of the kernel tree).
    pub fn extract(&self, prefix: &str, dest: &Path) -> Result<(), AssetError> {
        let prefix = prefix.trim_end_matches('/');
        for path in self.list(prefix)? {
            let rel = &path[prefix.len() + 1..];
            let target = dest.join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|source| AssetError::Write {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            let bytes = self.read(&path)?;
            std::fs::write(&target, &bytes).map_err(|source| AssetError::Write {
                path: target,
                source,
            })?;
        }
        Ok(())
    }
}

/// Collect the files below `dir`, relative to `root`, skipping build output.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), AssetError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(AssetError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    for entry in entries {
        let entry = entry.map_err(|source| AssetError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let file_type = entry.file_type().map_err(|source| AssetError::Read {
            path: path.clone(),
            source,
        })?;
        if file_type.is_dir() {
            walk(root, &path, out)?;
        } else if file_type.is_file()
            && let Ok(rel) = path.strip_prefix(root)
            && let Some(rel) = rel.to_str()
        {
            out.push(rel.replace('\\', "/"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_copy_holds_the_kernel_tree_and_lab() {
        let a = Assets::Embedded;
        assert!(a.read("labs/lazy/lab.toml").is_ok());
        let files = a.list("reference-kernel").unwrap();
        assert!(files.contains(&"reference-kernel/kernel/src/vm.rs".to_string()));
        // The ABI crate the kernel and the user programs build against.
        assert!(files.contains(&"reference-kernel/abi/src/lib.rs".to_string()));
        assert!(files.contains(&"reference-kernel/user/src/bin/sh.rs".to_string()));
        assert!(files.iter().all(|f| !f.contains("/target/")));
        assert!(matches!(
            a.read("labs/nope"),
            Err(AssetError::NotFound { .. })
        ));
    }

    #[test]
    fn directory_assets_read_list_and_extract() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("reference-kernel/kernel/src")).unwrap();
        std::fs::create_dir_all(home.path().join("reference-kernel/target")).unwrap();
        std::fs::write(home.path().join("reference-kernel/kernel/src/a.rs"), "a").unwrap();
        std::fs::write(home.path().join("reference-kernel/target/junk"), "x").unwrap();
        let a = Assets::Dir(home.path().to_path_buf());
        assert_eq!(
            a.list("reference-kernel").unwrap(),
            ["reference-kernel/kernel/src/a.rs"]
        );
        let out = tempfile::tempdir().unwrap();
        a.extract("reference-kernel", out.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.path().join("kernel/src/a.rs")).unwrap(),
            "a"
        );
        assert!(matches!(
            a.read("missing"),
            Err(AssetError::NotFound { .. })
        ));
    }
}
