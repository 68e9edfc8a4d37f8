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
//! cargo runs in the build sandbox where there is one ([`crate::build::sandbox`]),
//! as a process group that is killed whole at its deadline, on Ctrl-C and
//! when xvlab dies ([`crate::shared::process`]).
//!
//! A tree that does not compile is an outcome ([`BuildOutcome::Failed`] with
//! cargo's log), not an error. A build the machine broke (a full disk,
//! memory exhausted, a tool killed by the kernel) is a grader fault,
//! [`BuildError::HostFault`], never charged to the submission.

use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

use crate::build::sandbox::{Sandbox, SandboxError, SandboxMode};
use crate::lab::Lab;
use crate::shared::exit;

/// The target the kernel and user programs are built for.
pub const TARGET: &str = "riscv64gc-unknown-none-elf";

/// Environment variable overriding the cache directory.
pub const CACHE_ENV: &str = "XVLAB_CACHE";

/// How long a build may take before it is stopped (a submission could make
/// the compiler loop, e.g. in const evaluation); a lab's `build_timeout`
/// overrides it. A cold build of the lazy lab takes a few seconds.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(180);

/// Environment variable overriding the build deadline (humantime, `90s`).
pub const BUILD_TIMEOUT_ENV: &str = "XVLAB_BUILD_TIMEOUT";

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
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("read ${BUILD_TIMEOUT_ENV} `{value}`: {message}")]
    BadTimeout { value: String, message: String },
    /// The grading machine failed during the build (see [`host_fault`]).
    #[error("build the kernel: the grading machine failed: {reason}")]
    HostFault {
        reason: String,
        /// cargo's whole output.
        log: String,
    },
}

impl BuildError {
    /// The exit code of `xvlab` for this error (see exit.rs). (A kernel
    /// that does not compile is not an error: [`BuildOutcome::Failed`].)
    pub fn exit_code(&self) -> u8 {
        match self {
            BuildError::NoCargo { .. } | BuildError::NoTarget | BuildError::Sandbox(_) => {
                exit::MISSING_TOOL
            }
            BuildError::BadTimeout { .. } => exit::USAGE,
            BuildError::HostFault { .. } => exit::GRADER_FAULT,
            BuildError::NoCacheDir | BuildError::Io { .. } => exit::FAILURE,
        }
    }
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

/// How to build: resolved from `--sandbox`, the lab and the environment.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Where cargo runs: under bubblewrap or unconfined.
    pub sandbox: Sandbox,
    /// When to stop a build that has not finished.
    pub timeout: Duration,
}

impl BuildOptions {
    /// The options for building `lab`'s submissions: the sandbox `mode`
    /// resolved (see [`Sandbox::resolve`]), the deadline from
    /// `$XVLAB_BUILD_TIMEOUT`, else the lab's `build_timeout`, else
    /// [`BUILD_TIMEOUT`].
    pub fn resolve(
        mode: SandboxMode,
        lab: &Lab,
        cache: &BuildCache,
    ) -> Result<BuildOptions, BuildError> {
        let timeout = match std::env::var(BUILD_TIMEOUT_ENV) {
            Ok(text) if !text.trim().is_empty() => {
                humantime::parse_duration(text.trim()).map_err(|e| BuildError::BadTimeout {
                    value: text.clone(),
                    message: e.to_string(),
                })?
            }
            _ => lab.build_timeout.unwrap_or(BUILD_TIMEOUT),
        };
        Ok(BuildOptions {
            sandbox: Sandbox::resolve(mode, cache.root())?,
            timeout,
        })
    }
}

/// Build the kernel tree prepared in `prepared` for `lab`.
///
/// cargo (or the bubblewrap around it) leads a process group of its own
/// (see [`crate::shared::process`]): at the deadline, or when this future is
/// dropped (Ctrl-C), the whole group is killed, rustc and the linker
/// included, and none of it outlives xvlab.
pub async fn build(
    prepared: &Path,
    lab: &str,
    cache: &BuildCache,
    options: &BuildOptions,
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

    // Build scripts record absolute paths (the linker script's), and the
    // sandbox shows the tree and the target directory at paths of its own,
    // so sandboxed and unconfined builds cannot share a target directory.
    let target_dir = base.join(if options.sandbox.is_sandboxed() {
        "target-sandboxed"
    } else {
        "target"
    });
    std::fs::create_dir_all(&target_dir).map_err(io("create", &target_dir))?;
    let started = Instant::now();
    let cargo_args = ["build", "--release", "--offline", "--locked"];
    let cmd = match options.sandbox.command(&tree, &target_dir, &cargo_args) {
        Some((bwrap, args)) => {
            let mut cmd = tokio::process::Command::new(bwrap);
            // bubblewrap itself needs no environment; --setenv gives the
            // build its own.
            cmd.args(args).env_clear();
            cmd
        }
        None => {
            let mut cmd = tokio::process::Command::new(
                std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
            );
            cmd.args(cargo_args)
                .current_dir(&tree)
                .env("CARGO_TARGET_DIR", &target_dir)
                .env("CARGO_TERM_COLOR", "never")
                // Flags from the grader's environment must not change how
                // a submission builds.
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .env_remove("CARGO_BUILD_TARGET")
                .env_remove("CARGO_BUILD_RUSTFLAGS");
            cmd
        }
    };
    let mut cmd = cmd;
    crate::shared::process::limit_memory(&mut cmd, BUILD_MEMORY);
    let output = match crate::shared::process::output(cmd, options.timeout)
        .await
        .map_err(|source| BuildError::NoCargo { source })?
    {
        Some(output) => output,
        None => {
            return Ok(BuildOutcome::Failed {
                log: format!(
                    "error: the build did not finish within {}",
                    humantime::format_duration(options.timeout)
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
        // Out of memory with the machine's memory to spare: the build hit
        // its own limit, and the submission asked for that much.
        if over_memory_limit_hit(&log, crate::shared::process::memory_available()) {
            log.insert_str(0, &over_memory_limit());
            return Ok(BuildOutcome::Failed { log, duration });
        }
        // cargo itself (or bubblewrap) killed by a signal nobody in xvlab
        // sent is the machine's doing too.
        let reason = host_fault(&log).or_else(|| {
            output
                .status
                .signal()
                .map(|signal| format!("the build was killed by signal {signal}"))
        });
        if let Some(reason) = reason {
            return Err(BuildError::HostFault {
                reason: format!("{reason} ({})", disk_space(&target_dir)),
                log,
            });
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

/// How much room is left where the build writes, for a host fault's
/// reason: a full disk shows up as many different errors.
fn disk_space(dir: &Path) -> String {
    match nix::sys::statvfs::statvfs(dir) {
        Ok(s) => {
            #[allow(
                clippy::unnecessary_cast,
                reason = "u64 on Linux, narrower types elsewhere"
            )]
            let free = s.blocks_available() as u64 * s.fragment_size() as u64;
            format!(
                "{:.1} MiB free on the disk of `{}`",
                free as f64 / (1024.0 * 1024.0),
                dir.display()
            )
        }
        Err(e) => format!("the free space of `{}` is unknown: {e}", dir.display()),
    }
}

/// Lines of a build log that start a new block: anything at column 0 but
/// a source snippet (`12 | code`), which is where a submission's own text
/// can appear at column 0.
fn starts_block(line: &str) -> bool {
    let snippet = line
        .split_once('|')
        .is_some_and(|(gutter, _)| gutter.trim().chars().all(|c| c.is_ascii_digit()));
    !line.is_empty() && !line.starts_with(char::is_whitespace) && !snippet
}

/// The warnings of a build log, each its whole block (`warning: …`, its
/// location and snippet), without cargo's `generated N warnings` summaries.
pub fn warnings(log: &str) -> Vec<String> {
    let text = crate::run::transcript::normalise(log.as_bytes());
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if starts_block(line) {
            inside = line.starts_with("warning") && !line.contains(" generated ");
            if inside {
                blocks.push(Vec::new());
            }
        }
        if inside && let Some(block) = blocks.last_mut() {
            block.push(line);
        }
    }
    blocks
        .into_iter()
        .map(|b| b.join("\n").trim_end().to_string())
        .collect()
}

/// The most address space each process of a build may take. A kernel of
/// these labs compiles in well under 1 GiB; a submission that needs more
/// (a static array of terabytes, say) fails to build rather than taking
/// the grading machine's memory.
pub const BUILD_MEMORY: u64 = 8 << 30;

/// The reason [`host_fault`] gives for memory running out.
const OUT_OF_MEMORY: &str = "out of memory";

/// Did a failed build run out of its own memory limit ([`BUILD_MEMORY`]),
/// rather than the machine run out of memory: memory ran out (as
/// [`host_fault`] reads the log) while the machine has `available` memory
/// to spare?
fn over_memory_limit_hit(log: &str, available: Option<u64>) -> bool {
    host_fault(log).is_some_and(|r| r.starts_with(OUT_OF_MEMORY))
        && available.is_some_and(|m| m >= BUILD_MEMORY)
}

/// The first line of the log of a build that ran out of its memory limit.
fn over_memory_limit() -> String {
    format!(
        "error: the build needed more than {} GiB of memory in one process, \
         the most a build may take: does the kernel declare a huge static or \
         constant? (rustc's own message follows)\n\n",
        BUILD_MEMORY >> 30
    )
}

/// Does a build log show that the machine, not the submission, failed: a
/// full disk, memory exhausted, a tool killed by SIGKILL (the OOM killer)
/// or SIGBUS (a file mapped from a failing disk)? The reason, if so.
///
/// A submission can make rustc print any text (`compile_error!`), so a
/// marker only counts outside rustc's diagnostics about the source: such a
/// diagnostic always has a `--> file:line` location, and its message's
/// later lines are indented. Compiler crashes (an ICE, SIGSEGV, SIGABRT)
/// are not host faults.
pub fn host_fault(log: &str) -> Option<String> {
    let text = crate::run::transcript::normalise(log.as_bytes());
    let lines: Vec<&str> = text.lines().collect();
    // A linker writing through a memory map of its output gets SIGBUS,
    // not ENOSPC, when the disk fills up.
    const KILLED: &str = "a build tool was killed (SIGKILL, out of memory?)";
    const BUS: &str = "a build tool crashed with SIGBUS (the disk full or failing?)";
    let markers: [(&str, &str); 11] = [
        ("No space left on device", "the disk is full"),
        ("os error 28", "the disk is full"),
        ("Disk quota exceeded", "the disk quota is exhausted"),
        ("Cannot allocate memory", OUT_OF_MEMORY),
        ("memory allocation of ", OUT_OF_MEMORY),
        ("LLVM ERROR: out of memory", OUT_OF_MEMORY),
        ("signal: 9, SIGKILL", KILLED),
        ("signal: 9 (SIGKILL)", KILLED),
        ("signal 9 [Killed]", KILLED),
        ("SIGBUS", BUS),
        ("signal 7 [Bus error]", BUS),
    ];
    let mut block_start = 0;
    for (i, line) in lines.iter().enumerate() {
        if starts_block(line) {
            block_start = i;
        }
        let Some((_, why)) = markers.iter().find(|(m, _)| line.contains(m)) else {
            continue;
        };
        if !line.starts_with(char::is_whitespace) && !starts_block(line) {
            continue; // a source snippet line
        }
        let block_end = lines[i + 1..]
            .iter()
            .position(|l| starts_block(l))
            .map_or(lines.len(), |n| i + 1 + n);
        let located = lines[block_start..block_end]
            .iter()
            .any(|l| l.trim_start().starts_with("--> "));
        if !located {
            return Some(format!("{why}: {}", line.trim()));
        }
    }
    None
}

/// The user programs of a kernel tree ([`crate::shared::layout`]).
pub fn program_names(tree: &Path) -> Result<Vec<String>, BuildError> {
    use crate::shared::layout;
    let names = list_files(&tree.join(layout::BIN_DIR))?
        .iter()
        .filter_map(|rel| {
            let rel = rel.to_str()?.replace(std::path::MAIN_SEPARATOR, "/");
            layout::program_of(&rel).map(str::to_string)
        })
        .collect::<std::collections::BTreeSet<_>>();
    Ok(names.into_iter().collect())
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
    fn host_faults_are_found_in_cargos_and_the_tools_own_lines() {
        let cases = [
            (
                "   Compiling kernel v0.1.0 (/xvlab/tree/kernel)\n\
                 error: failed to write `/xvlab/target/release/deps/kernel.o`: No space left on device (os error 28)\n\n\
                 error: could not compile `kernel` (bin \"kernel\") due to 1 previous error\n",
                "the disk is full",
            ),
            (
                "error: failed to create directory `/xvlab/target/release`\n\nCaused by:\n  No space left on device (os error 28)\n",
                "the disk is full",
            ),
            (
                "error: could not compile `kernel` (bin \"kernel\")\n\nCaused by:\n  process didn't exit successfully: `/xvlab/toolchain/bin/rustc --crate-name kernel` (signal: 9, SIGKILL: kill)\n",
                "SIGKILL",
            ),
            (
                "error: linking with `rust-lld` failed: signal: 7 (SIGBUS)\n  |\n  = note: \"rust-lld\" \"-flavor\" \"gnu\"\n",
                "SIGBUS",
            ),
            (
                "memory allocation of 8589934592 bytes failed\nerror: could not compile `kernel`\n",
                "out of memory",
            ),
            // What a linker on a full tmpfs gives (its output is mapped).
            (
                "error: linking with `cc` failed: exit status: 1\n  |\n  = note:  \"cc\" \"-m64\"\n  = note: PLEASE submit a bug report\n          collect2: fatal error: ld terminated with signal 7 [Bus error]\n          compilation terminated.\n",
                "SIGBUS",
            ),
        ];
        for (log, why) in cases {
            let reason = host_fault(log).unwrap_or_else(|| panic!("no fault in {log}"));
            assert!(reason.contains(why), "{reason}");
        }
    }

    #[test]
    fn a_submission_cannot_claim_a_host_fault_and_compiler_crashes_are_not_one() {
        // compile_error! with the words of a fault, over several lines: its
        // later lines are indented, it has a location, and its source line
        // shows up as a snippet.
        let forged = "error: No space left on device (os error 28)\n\
                      \x20      process didn't exit successfully: (signal: 9, SIGKILL: kill)\n\
                      \x20--> kernel/src/trap.rs:1:1\n\
                      \x20 |\n\
                      1 | compile_error!(\"No space left on device (os error 28) memory allocation of 1 bytes failed\");\n\
                      \x20 | ^^^^^^^^^^^^^^\n\n\
                      error: could not compile `kernel` (bin \"kernel\") due to 1 previous error\n";
        assert_eq!(host_fault(forged), None);
        let deprecated_note = "warning: use of deprecated function `f`\n --> kernel/src/main.rs:9:5\n  |\n  = note: No space left on device\n";
        assert_eq!(host_fault(deprecated_note), None);
        let ice = "error: the compiler unexpectedly panicked. this is a bug.\n\nthread 'rustc' panicked at compiler/rustc_middle/src/ty/mod.rs:1:1\n";
        assert_eq!(host_fault(ice), None);
        let overflow = "error: rustc interrupted by SIGSEGV, printing backtrace\n\nCaused by:\n  process didn't exit successfully: `rustc` (signal: 11, SIGSEGV: invalid memory reference)\n";
        assert_eq!(host_fault(overflow), None);
        assert_eq!(host_fault(crate::report::tests::BUILD_LOG), None);
    }

    #[test]
    fn warnings_are_whole_blocks_without_cargos_summaries() {
        let log = "   Compiling kernel v0.1.0 (/xvlab/tree/kernel)\n\
                   warning: unused variable: `pa`\n  --> kernel/src/vm.rs:3:9\n   |\n\
                   3 |     let pa = 0;\n   |         ^^ help: prefix it: `_pa`\n\n\
                   warning: unused import: `X`\n --> kernel/src/trap.rs:1:5\n\n\
                   warning: `kernel` (bin \"kernel\") generated 2 warnings\n\
                   \x20   Finished `release` profile [optimized] target(s) in 2.1s\n";
        let found = warnings(log);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("warning: unused variable: `pa`"));
        assert!(found[0].contains("3 |     let pa = 0;"), "{}", found[0]);
        assert_eq!(
            found[1],
            "warning: unused import: `X`\n --> kernel/src/trap.rs:1:5"
        );
        assert!(warnings("    Finished `release` profile\n").is_empty());
    }

    #[test]
    fn memory_running_out_with_memory_to_spare_is_the_builds_own_limit() {
        let log = "   Compiling kernel v0.1.0\nmemory allocation of 1099511627776 bytes failed\n\
                   error: could not compile `kernel` (bin \"kernel\")\n";
        assert!(over_memory_limit_hit(log, Some(BUILD_MEMORY * 2)));
        // A machine short of memory is the machine's fault.
        assert!(!over_memory_limit_hit(log, Some(BUILD_MEMORY / 4)));
        assert!(!over_memory_limit_hit(log, None));
        // Other failures are neither.
        assert!(!over_memory_limit_hit(
            "error[E0425]: cannot find function\n --> kernel/src/a.rs:1:1\n",
            Some(u64::MAX)
        ));
        assert!(over_memory_limit().contains("8 GiB"));
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
