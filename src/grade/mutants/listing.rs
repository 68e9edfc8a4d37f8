//! The mutants of a lab's reference solution, as cargo-mutants lists them
//! ([`list`], [`Mutant`]): cargo-mutants runs in listing mode (it builds
//! nothing) over a scratch copy of the starter tree with the solution
//! applied, restricted to the lines the solution changes (`--in-diff`).
//!
//! Each mutant's diff is against that patched tree, so a mutant is graded
//! as the patch series [solution, mutant]. cargo-mutants writes its diffs
//! with a description where the `+++` file name belongs
//! (`+++ replace && with || in usertrap`); [`Mutant::patch`] gives the
//! diff with ordinary `a/` and `b/` headers that the grader's patch reader
//! and `git apply` take.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Where xvlab finds cargo-mutants when this is not set: `cargo-mutants`
/// on `PATH`, then in `$CARGO_HOME/bin` (`~/.cargo/bin`).
pub const CARGO_MUTANTS_ENV: &str = "XVLAB_CARGO_MUTANTS";

/// How to install it, for messages.
pub const INSTALL_HINT: &str = "cargo install --locked cargo-mutants";

/// Listing takes under a second; this only stops a wedged tool.
const LIST_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    #[error("find cargo-mutants: it is not installed (install it with `{INSTALL_HINT}`)")]
    Missing,
    #[error("run cargo-mutants (`{}`)", program.display())]
    Start {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "list the mutants: cargo-mutants did not finish within {}",
        humantime::format_duration(LIST_TIMEOUT)
    )]
    TimedOut,
    #[error("list the mutants: cargo-mutants failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error("read cargo-mutants' listing: {0}")]
    Parse(String),
}

/// One mutant: a small change cargo-mutants makes to the solution's code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutant {
    /// cargo-mutants' name: `kernel/src/trap.rs:80:87: replace && with || in usertrap`.
    pub name: String,
    /// The file it changes, relative to the tree: `kernel/src/trap.rs`.
    pub file: String,
    /// The function it is in (empty outside any function).
    pub function: String,
    /// What it does, without the position: `replace && with || in usertrap`.
    pub mutation: String,
    /// The text that replaces the original: `||`, `Ok(())`.
    pub replacement: String,
    /// cargo-mutants' diff, as it printed it.
    pub diff: String,
}

#[derive(Deserialize)]
struct Raw {
    name: String,
    file: String,
    #[serde(default)]
    function: Option<RawFunction>,
    #[serde(default)]
    replacement: String,
    diff: Option<String>,
}

#[derive(Deserialize)]
struct RawFunction {
    function_name: String,
}

/// Parse `cargo mutants --list --diff --json` output.
pub fn parse(json: &str) -> Result<Vec<Mutant>, ListingError> {
    let raw: Vec<Raw> =
        serde_json::from_str(json).map_err(|e| ListingError::Parse(e.to_string()))?;
    raw.into_iter()
        .map(|r| {
            let diff = r.diff.ok_or_else(|| {
                ListingError::Parse(format!("`{}` has no diff (was --diff given?)", r.name))
            })?;
            // "file:line:col: what": the description is what follows the
            // position, which moves whenever the solution is edited.
            let mutation = r
                .name
                .strip_prefix(&r.file)
                .and_then(|rest| rest.splitn(4, ':').nth(3))
                .map_or_else(|| r.name.clone(), |m| m.trim().to_string());
            Ok(Mutant {
                mutation,
                file: r.file,
                function: r.function.map(|f| f.function_name).unwrap_or_default(),
                replacement: r.replacement,
                name: r.name,
                diff,
            })
        })
        .collect()
}

impl Mutant {
    /// The column of the change, from cargo-mutants' name
    /// (`file:line:column: …`).
    pub fn column(&self) -> Option<u32> {
        let rest = self.name.strip_prefix(&self.file)?.strip_prefix(':')?;
        let mut parts = rest.splitn(3, ':');
        let _line = parts.next()?;
        parts.next()?.parse().ok()
    }

    /// The diff as a patch with `a/` and `b/` file names (see the module
    /// docs).
    pub fn patch(&self) -> String {
        let mut out = format!(
            "diff --git a/{f} b/{f}\n--- a/{f}\n+++ b/{f}\n",
            f = self.file
        );
        // Everything from the first hunk on is kept as it is.
        let body = self
            .diff
            .find("\n@@")
            .map_or(self.diff.as_str(), |i| &self.diff[i + 1..]);
        out.push_str(body);
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }

    /// The original lines the mutant removes, trimmed.
    pub fn removed_lines(&self) -> impl Iterator<Item = &str> {
        self.diff
            .lines()
            .filter(|l| l.starts_with('-') && !l.starts_with("---"))
            .map(|l| l[1..].trim())
    }
}

/// The cargo-mutants program: `$XVLAB_CARGO_MUTANTS`, else `cargo-mutants`
/// on `PATH`, else in cargo's own bin directory.
pub fn locate() -> Result<PathBuf, ListingError> {
    if let Some(p) = std::env::var_os(CARGO_MUTANTS_ENV).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(ListingError::Missing)
        };
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("cargo-mutants"));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|d| d.join("bin").join("cargo-mutants"));
    on_path
        .chain(cargo_home)
        .find(|p| p.is_file())
        .ok_or(ListingError::Missing)
}

/// List the mutants of the lines `solution` (a patch file) changes in
/// `tree` (the starter with the solution applied). Offline; nothing is
/// built. The process group is killed if the future is dropped (Ctrl-C).
pub async fn list(
    program: &Path,
    tree: &Path,
    solution: &Path,
) -> Result<Vec<Mutant>, ListingError> {
    let mut cmd = tokio::process::Command::new(program);
    // Invoked as cargo invokes a subcommand.
    cmd.arg("mutants")
        .args(["--list", "--diff", "--json", "--in-diff"])
        .arg(solution)
        .current_dir(tree)
        .env("CARGO_NET_OFFLINE", "true");
    let output = crate::shared::process::output(cmd, LIST_TIMEOUT)
        .await
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ListingError::Missing,
            _ => ListingError::Start {
                program: program.to_path_buf(),
                source,
            },
        })?
        .ok_or(ListingError::TimedOut)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim();
        let last: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(ListingError::Failed {
            status: output.status.to_string(),
            stderr: last.into_iter().rev().collect::<Vec<_>>().join(" / "),
        });
    }
    parse(&String::from_utf8_lossy(&output.stdout))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Two mutants as cargo-mutants 27 prints them (trimmed hunks).
    pub(crate) const LISTING: &str = r#"[
  {
    "diff": "--- kernel/src/trap.rs\n+++ replace && with || in usertrap\n@@ -78,3 +78,3 @@\n         syscall();\n-    } else if (a || b) && {\n+    } else if (a || b) || /* ~ changed by cargo-mutants ~ */ {\n         let data = 1;\n",
    "file": "kernel/src/trap.rs",
    "function": {"function_name": "usertrap", "return_type": "-> !", "span": {"end": {"column": 2, "line": 114}, "start": {"column": 1, "line": 44}}},
    "genre": "BinaryOperator",
    "name": "kernel/src/trap.rs:80:87: replace && with || in usertrap",
    "package": "kernel",
    "replacement": "||",
    "span": {"end": {"column": 89, "line": 80}, "start": {"column": 87, "line": 80}}
  },
  {
    "diff": "--- kernel/src/vm.rs\n+++ replace uvmlazy -> Result<(), ()> with Ok(())\n@@ -198,4 +198,3 @@\n pub fn uvmlazy() -> Result<(), ()> {\n-    check()?;\n-    map()\n+    Ok(()) /* ~ changed by cargo-mutants ~ */\n }\n",
    "file": "kernel/src/vm.rs",
    "function": {"function_name": "uvmlazy", "return_type": "-> Result<(), ()>", "span": {"end": {"column": 2, "line": 215}, "start": {"column": 1, "line": 195}}},
    "genre": "FnValue",
    "name": "kernel/src/vm.rs:200:5: replace uvmlazy -> Result<(), ()> with Ok(())",
    "package": "kernel",
    "replacement": "Ok(())",
    "span": {"end": {"column": 11, "line": 214}, "start": {"column": 5, "line": 200}}
  }
]"#;

    #[test]
    fn a_listing_gives_each_mutant_its_file_function_and_positionless_description() {
        let mutants = parse(LISTING).unwrap();
        assert_eq!(mutants.len(), 2);
        assert_eq!(mutants[0].file, "kernel/src/trap.rs");
        assert_eq!(mutants[0].function, "usertrap");
        assert_eq!(mutants[0].mutation, "replace && with || in usertrap");
        assert_eq!(mutants[0].replacement, "||");
        assert_eq!(
            mutants[1].mutation,
            "replace uvmlazy -> Result<(), ()> with Ok(())"
        );
        assert_eq!(
            mutants[1].removed_lines().collect::<Vec<_>>(),
            ["check()?;", "map()"]
        );
    }

    #[test]
    fn a_mutant_patch_has_git_headers_and_the_hunks_unchanged() {
        let mutant = &parse(LISTING).unwrap()[0];
        let patch = mutant.patch();
        assert!(
            patch.starts_with(
                "diff --git a/kernel/src/trap.rs b/kernel/src/trap.rs\n\
                 --- a/kernel/src/trap.rs\n+++ b/kernel/src/trap.rs\n@@ -78,3 +78,3 @@\n"
            ),
            "{patch}"
        );
        assert!(!patch.contains("+++ replace"));
        // The grader's own patch reader takes it and sees the one file.
        let parsed = crate::shared::patch::parse("m.patch", patch.as_bytes()).unwrap();
        let paths: Vec<&str> = parsed.patches[0].files[0].paths().collect();
        assert!(paths.contains(&"kernel/src/trap.rs"), "{paths:?}");
    }

    #[test]
    fn a_listing_that_is_not_cargo_mutants_json_is_an_error_not_a_panic() {
        assert!(matches!(parse("not json"), Err(ListingError::Parse(_))));
        let no_diff = r#"[{"name": "f.rs:1:1: x", "file": "f.rs"}]"#;
        let err = parse(no_diff).unwrap_err().to_string();
        assert!(err.contains("has no diff"), "{err}");
    }
}
