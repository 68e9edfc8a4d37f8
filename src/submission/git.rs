//! Running the `git` executable in an environment that xvlab controls
//! ([`Git`]).
//!
//! xvlab uses git for two things: `git apply` to apply an untrusted patch to
//! a prepared kernel tree, and `git init`/`add`/`diff` in a student's copy
//! (`xvlab init`, `xvlab pack`). In both cases the result must not depend on
//! who runs it, so every command runs with:
//!
//! - no system or global configuration (`GIT_CONFIG_NOSYSTEM`,
//!   `GIT_CONFIG_GLOBAL=/dev/null`, `HOME` pointed away from the user's) —
//!   a user's `diff.noprefix`, `diff.external`, `commit.gpgsign`,
//!   `init.templateDir` or `apply.whitespace` would otherwise change what we
//!   produce or make it fail;
//! - none of the caller's `GIT_*` variables (`GIT_DIR`, `GIT_INDEX_FILE`,
//!   `GIT_CONFIG_PARAMETERS`, …: running inside a git hook sets them);
//! - the C locale, so that the error messages we explain are git's English
//!   ones;
//! - either an explicit repository (`GIT_DIR` and `GIT_WORK_TREE`) or a
//!   ceiling that stops git from discovering a repository that encloses the
//!   directory (a prepared tree in a temporary directory inside someone's
//!   checkout must not be treated as part of that checkout: `git apply`
//!   would then silently skip paths "outside" the current directory).

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// What went wrong running git.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run `git`: it is not installed or not on PATH")]
    Missing,
    #[error("cannot run `git {args}`")]
    Spawn {
        args: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`git {args}` failed{}: {stderr}", status.map(|c| format!(" (exit status {c})")).unwrap_or_default())]
    Failed {
        args: String,
        status: Option<i32>,
        stderr: String,
    },
}

/// A git invocation being built: a directory to run in plus the isolated
/// environment described in the module docs.
#[derive(Debug)]
pub struct Git {
    command: Command,
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
}

impl Git {
    /// Run git in `dir` without any repository: git must not look for one
    /// in `dir`'s parents. For `git apply` as "a better patch".
    pub fn outside_repository(dir: &Path) -> Git {
        let mut git = Git::isolated(dir);
        // Discovery still looks at `dir` itself; the ceiling stops it from
        // going further up.
        let ceiling = dir.parent().unwrap_or(dir);
        git.command.env("GIT_CEILING_DIRECTORIES", ceiling);
        git
    }

    /// Run git in the repository whose work tree is `root` (its git
    /// directory is `root/.git`), whatever encloses it.
    pub fn in_repository(root: &Path) -> Git {
        let mut git = Git::isolated(root);
        git.command.env("GIT_DIR", root.join(".git"));
        git.command.env("GIT_WORK_TREE", root);
        git
    }

    fn isolated(dir: &Path) -> Git {
        let mut command = Command::new("git");
        command.current_dir(dir);
        for (name, _) in std::env::vars_os() {
            // GIT_EXEC_PATH only says where git's own helpers live.
            if name.to_string_lossy().starts_with("GIT_") && name != "GIT_EXEC_PATH" {
                command.env_remove(&name);
            }
        }
        command
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_ATTR_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env("GIT_PAGER", "cat")
            .env("GIT_LITERAL_PATHSPECS", "1")
            // Git older than 2.32 ignores GIT_CONFIG_GLOBAL and reads
            // $HOME/.gitconfig: point HOME at the directory we run in, which
            // we made and which has no .gitconfig.
            .env("HOME", dir)
            .env_remove("XDG_CONFIG_HOME")
            .env("LC_ALL", "C")
            .env_remove("LANGUAGE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Git {
            command,
            args: Vec::new(),
            stdin: None,
        }
    }

    /// Add arguments.
    pub fn args<I, S>(mut self, args: I) -> Git
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Set an environment variable.
    pub fn env(mut self, name: &str, value: impl Into<OsString>) -> Git {
        self.command.env(name, value.into());
        self
    }

    /// Feed `bytes` on standard input.
    pub fn stdin(mut self, bytes: Vec<u8>) -> Git {
        self.stdin = Some(bytes);
        self
    }

    /// Run to completion and return the output, whatever the exit status.
    pub fn output(mut self) -> Result<Output, GitError> {
        let shown = self.shown_args();
        self.command.args(&self.args);
        if self.stdin.is_some() {
            self.command.stdin(Stdio::piped());
        }
        let mut child = self.command.spawn().map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                GitError::Missing
            } else {
                GitError::Spawn {
                    args: shown.clone(),
                    source,
                }
            }
        })?;
        if let (Some(bytes), Some(mut pipe)) = (self.stdin.take(), child.stdin.take()) {
            // Write from a thread: git may fill its stdout/stderr pipes
            // before it has read all of its input, and we only drain them in
            // wait_with_output.
            let writer = std::thread::spawn(move || pipe.write_all(&bytes));
            let output = child.wait_with_output();
            // A write error means git exited early (a broken pipe); its exit
            // status and stderr say why, so the write error itself is moot.
            let _ = writer.join();
            return output.map_err(|source| GitError::Spawn {
                args: shown,
                source,
            });
        }
        child.wait_with_output().map_err(|source| GitError::Spawn {
            args: shown,
            source,
        })
    }

    /// Run to completion; a non-zero exit is an error carrying git's stderr.
    pub fn run(self) -> Result<Output, GitError> {
        let shown = self.shown_args();
        let output = self.output()?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(GitError::Failed {
                args: shown,
                status: output.status.code(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            })
        }
    }

    /// The arguments for messages: the subcommand and its options, not the
    /// (possibly many) paths after `--`.
    fn shown_args(&self) -> String {
        let shown: Vec<String> = self
            .args
            .iter()
            .take_while(|a| *a != "--")
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        shown.join(" ")
    }
}

/// Is git installed? Checked before starting work that would otherwise fail
/// half-way.
pub fn check_installed() -> Result<(), GitError> {
    let dir = std::env::temp_dir();
    Git::outside_repository(&dir)
        .args(["--version"])
        .run()
        .map(|_| ())
}

/// The path of `path` relative to `root`, `/`-separated, if it lies below
/// it and is valid UTF-8.
pub fn relative_path(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// `path` absolutised against the current directory (without resolving
/// symbolic links), for messages and comparisons.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_does_not_see_an_enclosing_repository() {
        let outer = tempfile::tempdir().unwrap();
        Git::outside_repository(outer.path())
            .args(["init", "-q"])
            .run()
            .unwrap();
        let inner = outer.path().join("tree");
        std::fs::create_dir(&inner).unwrap();
        let out = Git::outside_repository(&inner)
            .args(["rev-parse", "--git-dir"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "git found the enclosing repository");
    }

    #[test]
    fn failures_carry_the_subcommand_and_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let err = Git::outside_repository(dir.path())
            .args(["log", "--", "some/path"])
            .run()
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("`git log` failed (exit status 128): fatal: not a git repository"),
            "{msg}"
        );
    }

    #[test]
    fn relative_paths_are_slash_separated() {
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/b/c/d.rs")).as_deref(),
            Some("c/d.rs")
        );
        assert_eq!(relative_path(Path::new("/a/b"), Path::new("/a/x")), None);
    }
}
