//! Building a prepared kernel tree: `cargo build` of the kernel and the user
//! programs, offline and locked, in a per-user build cache ([`BuildCache`]).
//!
//! Cargo decides what to rebuild from file paths and modification times, so
//! a fresh temporary directory per grading would rebuild everything. Instead
//! the prepared tree is synchronised into a stable directory of the cache
//! (`<cache>/build/<lab>/tree`), rewriting only the files whose contents
//! changed; a second grading of a similar tree then rebuilds only the
//! kernel crate. A lock file serialises graders sharing the cache.
//!
//! A tree that does not compile is an outcome ([`BuildOutcome::Failed`] with
//! cargo's log), not an error.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

/// The target the kernel and user programs are built for.
pub const TARGET: &str = "riscv64gc-unknown-none-elf";

/// Environment variable overriding the cache directory.
pub const CACHE_ENV: &str = "XVLAB_CACHE";

/// How long a build may take before it is stopped (a submission could make
/// the compiler loop, e.g. in const evaluation).
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("find a cache directory: set ${CACHE_ENV} or $HOME")]
    NoCacheDir,
    #[error("{action} `{}`", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "run cargo: {source}; install Rust with rustup (https://rustup.rs) and run `rustup target add {TARGET}`"
    )]
    NoCargo {
        #[source]
        source: std::io::Error,
    },
    #[error("build: the Rust target {TARGET} is not installed; run `rustup target add {TARGET}`")]
    NoTarget,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> BuildError + 'a {
    move |source| BuildError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The per-user cache of build trees and their cargo target directories.
#[derive(Clone, Debug)]
pub struct BuildCache {
    root: PathBuf,
}

impl BuildCache {
    /// `$XVLAB_CACHE`, else `$XDG_CACHE_HOME/xvlab`, else `~/.cache/xvlab`.
    pub fn locate() -> Result<BuildCache, BuildError> {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let root = env(CACHE_ENV)
            .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("xvlab")))
            .or_else(|| env("HOME").map(|d| d.join(".cache").join("xvlab")))
            .ok_or(BuildError::NoCacheDir)?;
        Ok(BuildCache { root })
    }

    /// A cache rooted at `root` (tests, benchmarks).
    pub fn at(root: impl Into<PathBuf>) -> BuildCache {
        BuildCache { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// A program built for the file-system image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// File name on the image.
    pub name: String,
    /// The ELF on the host.
    pub path: PathBuf,
}

/// A successful build.
#[derive(Debug)]
pub struct Built {
    /// The kernel ELF.
    pub kernel: PathBuf,
    /// The user programs, by name.
    pub programs: Vec<Program>,
    /// The synchronised source tree the build ran in.
    pub tree: PathBuf,
    /// cargo's output.
    pub log: String,
    pub duration: Duration,
    /// Held until the build products are copied out (drop the `Built`
    /// then), so that another grader sharing the cache does not rebuild
    /// them underneath us.
    _lock: Flock<File>,
}

/// What building a submission gave.
#[derive(Debug)]
pub enum BuildOutcome {
    Built(Built),
    /// The tree did not compile (or the build was stopped at its deadline).
    Failed {
        /// cargo's whole output (the report picks out the errors).
        log: String,
        duration: Duration,
    },
}

/// Build the kernel tree prepared in `prepared` for `lab`.
pub async fn build(
    prepared: &Path,
    lab: &str,
    cache: &BuildCache,
) -> Result<BuildOutcome, BuildError> {
    let base = cache.root.join("build").join(lab);
    std::fs::create_dir_all(&base).map_err(io("create", &base))?;
    let lock_path = base.join("lock");
    let lock_file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io("open", &lock_path))?;
    // Blocking is fine: another grader holds the lock only while it builds
    // and boots; the wait happens on a blocking-friendly thread.
    let lock = tokio::task::spawn_blocking(move || Flock::lock(lock_file, FlockArg::LockExclusive))
        .await
        .map_err(|e| BuildError::Io {
            action: "lock",
            path: lock_path.clone(),
            source: std::io::Error::other(e),
        })?
        .map_err(|(_, errno)| BuildError::Io {
            action: "lock",
            path: lock_path.clone(),
            source: std::io::Error::from(errno),
        })?;

    let tree = base.join("tree");
    sync_tree(prepared, &tree)?;

    let target_dir = base.join("target");
    let started = Instant::now();
    let mut cmd =
        tokio::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["build", "--release", "--offline", "--locked"])
        .current_dir(&tree)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_TERM_COLOR", "never")
        // Flags from the grader's environment must not change how a
        // submission builds.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|source| BuildError::NoCargo { source })?;
    let output = match tokio::time::timeout(BUILD_TIMEOUT, child.wait_with_output()).await {
        Ok(output) => output.map_err(|source| BuildError::NoCargo { source })?,
        Err(_) => {
            return Ok(BuildOutcome::Failed {
                log: format!(
                    "error: the build did not finish within {}",
                    humantime::format_duration(BUILD_TIMEOUT)
                ),
                duration: started.elapsed(),
            });
        }
    };
    let duration = started.elapsed();
    let mut log = String::from_utf8_lossy(&output.stdout).into_owned();
    log.push_str(&String::from_utf8_lossy(&output.stderr));

    if !output.status.success() {
        if log.contains("target may not be installed")
            || log.contains("can't find crate for `core`")
        {
            return Err(BuildError::NoTarget);
        }
        return Ok(BuildOutcome::Failed { log, duration });
    }

    let out = target_dir.join(TARGET).join("release");
    let programs = program_names(&tree)?
        .into_iter()
        .map(|name| Program {
            path: out.join(&name),
            name,
        })
        .collect();
    Ok(BuildOutcome::Built(Built {
        kernel: out.join("kernel"),
        programs,
        tree,
        log,
        duration,
        _lock: lock,
    }))
}

/// The user programs of a kernel tree: cargo's binaries of the user crate,
/// `user/src/bin/NAME.rs` and `user/src/bin/NAME/main.rs`.
pub fn program_names(tree: &Path) -> Result<Vec<String>, BuildError> {
    let dir = tree.join("user/src/bin");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(io("read", &dir))? {
        let path = entry.map_err(io("read", &dir))?.path();
        let name = if path.is_dir() {
            path.join("main.rs")
                .is_file()
                .then(|| path.file_name())
                .flatten()
        } else if path.extension().is_some_and(|e| e == "rs") {
            path.file_stem()
        } else {
            None
        };
        if let Some(name) = name.and_then(|n| n.to_str()) {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Make `dst` hold exactly the files of `src`, rewriting only files whose
/// contents differ (so unchanged files keep their modification times) and
/// deleting files `src` does not have. Build output (`target/`) and `.git/`
/// are neither copied nor deleted.
pub fn sync_tree(src: &Path, dst: &Path) -> Result<(), BuildError> {
    let wanted = list_files(src)?;
    let present = if dst.exists() {
        list_files(dst)?
    } else {
        BTreeSet::new()
    };
    for rel in present.difference(&wanted) {
        let path = dst.join(rel);
        std::fs::remove_file(&path).map_err(io("remove", &path))?;
    }
    for rel in &wanted {
        let from = src.join(rel);
        let to = dst.join(rel);
        let data = std::fs::read(&from).map_err(io("read", &from))?;
        if std::fs::read(&to).is_ok_and(|old| old == data) {
            continue;
        }
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        std::fs::write(&to, &data).map_err(io("write", &to))?;
    }
    Ok(())
}

/// Relative paths of the regular files below `root`.
fn list_files(root: &Path) -> Result<BTreeSet<PathBuf>, BuildError> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io("read", &dir))? {
            let entry = entry.map_err(io("read", &dir))?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(io("inspect", &path))?;
            if file_type.is_dir() {
                let name = entry.file_name();
                if name != "target" && name != ".git" {
                    stack.push(path);
                }
            } else if file_type.is_file()
                && let Ok(rel) = path.strip_prefix(root)
            {
                out.insert(rel.to_path_buf());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_rewrites_only_changed_files_and_removes_extras() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(src.path().join("kernel/src")).unwrap();
        std::fs::write(src.path().join("kernel/src/a.rs"), "a").unwrap();
        std::fs::write(src.path().join("kernel/src/b.rs"), "b").unwrap();
        sync_tree(src.path(), dst.path()).unwrap();

        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(src.path().join("kernel/src/a.rs"), "a2").unwrap();
        std::fs::remove_file(src.path().join("kernel/src/b.rs")).unwrap();
        std::fs::write(src.path().join("kernel/src/c.rs"), "c").unwrap();
        std::fs::write(dst.path().join("stale.rs"), "x").unwrap();
        std::fs::create_dir_all(dst.path().join("target")).unwrap();
        std::fs::write(dst.path().join("target/keep"), "k").unwrap();
        sync_tree(src.path(), dst.path()).unwrap();

        assert_eq!(
            std::fs::read_to_string(dst.path().join("kernel/src/a.rs")).unwrap(),
            "a2"
        );
        assert!(!dst.path().join("kernel/src/b.rs").exists());
        assert!(!dst.path().join("stale.rs").exists());
        assert!(dst.path().join("kernel/src/c.rs").exists());
        assert!(
            dst.path().join("target/keep").exists(),
            "build output is left alone"
        );

        // An unchanged file keeps its modification time.
        let c_time = std::fs::metadata(dst.path().join("kernel/src/c.rs"))
            .unwrap()
            .modified()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        sync_tree(src.path(), dst.path()).unwrap();
        let c_time2 = std::fs::metadata(dst.path().join("kernel/src/c.rs"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(c_time, c_time2);
    }

    #[test]
    fn program_names_are_the_bins_of_the_user_crate() {
        let names = program_names(Path::new("reference-kernel")).unwrap();
        assert!(names.contains(&"sh".to_string()));
        assert!(names.contains(&"init".to_string()));
        // A program whose sources are a directory with a main.rs.
        assert!(names.contains(&"usertests".to_string()));
    }
}
