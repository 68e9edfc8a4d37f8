//! The build sandbox: on Linux, cargo, rustc and the linker run under
//! bubblewrap (`bwrap`) and see only what a build needs ([`Sandbox`]).
//!
//! Inside, the file system is a fresh tmpfs root with
//!
//! - the synchronised kernel tree, read-only, at [`TREE`];
//! - the build cache's target directory, read-write, at [`TARGET_DIR`];
//! - the real Rust toolchain (the sysroot `rustc --print sysroot` names),
//!   read-only, at [`TOOLCHAIN`]: its own `bin/cargo` runs with `RUSTC`
//!   naming its own `bin/rustc`, so neither rustup's proxies nor `~/.rustup`
//!   or `~/.cargo` are needed;
//! - `/usr` and the `/lib*`, `/bin`, `/sbin` links or directories,
//!   read-only, for the dynamically linked tools and the host C compiler
//!   that links the build scripts; from `/etc` only the dynamic loader's
//!   configuration and `alternatives` (where Debian's `cc` points);
//! - an empty tmpfs `/tmp` (also HOME and CARGO_HOME), `/proc` and a
//!   minimal `/dev`.
//!
//! Every namespace is unshared (no network, a pid namespace whose processes
//! all die with the build), the environment is cleared to [`ENV_NAMES`], the
//! sandbox has a terminal session of its own and dies with xvlab. The
//! grader's repository, home directories, the host's `/tmp`, xvlab's own
//! directory and environment are not visible. The kernel workspace has no
//! crates.io dependencies (its Cargo.lock lists only its own crates), so no
//! registry is bound in.
//!
//! [`SandboxMode`] is what the user asked for (`--sandbox auto|require|off`);
//! [`Sandbox::resolve`] turns it into what the build will do, probing
//! bubblewrap once.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Where the kernel tree appears inside the sandbox.
pub const TREE: &str = "/xvlab/tree";
/// Where the cargo target directory appears inside the sandbox.
pub const TARGET_DIR: &str = "/xvlab/target";
/// Where the toolchain's sysroot appears inside the sandbox.
pub const TOOLCHAIN: &str = "/xvlab/toolchain";

/// The environment variables a sandboxed build gets, and nothing else.
pub const ENV_NAMES: [&str; 6] = [
    "PATH",
    "HOME",
    "CARGO_HOME",
    "RUSTC",
    "CARGO_TARGET_DIR",
    "CARGO_TERM_COLOR",
];

/// The bubblewrap program looked up on `PATH`.
pub const BWRAP: &str = "bwrap";

/// What `--sandbox` asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SandboxMode {
    /// Sandbox the build where bubblewrap exists and works; else build
    /// unconfined and say so.
    #[default]
    Auto,
    /// Sandbox the build or fail (exit code 110).
    Require,
    /// Build unconfined.
    Off,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "sandbox the build: {why}; install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`) or pass `--sandbox off`"
    )]
    Unavailable { why: String },
}

/// The Rust toolchain a sandboxed build runs: a sysroot with `bin/cargo`
/// and `bin/rustc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toolchain {
    pub sysroot: PathBuf,
}

impl Toolchain {
    /// The sysroot of the `rustc` that `cargo` in `dir` would use (rustup
    /// picks the toolchain by directory), resolved through symbolic links.
    pub fn locate(dir: &Path) -> Result<Toolchain, String> {
        let rustc = std::env::var_os("RUSTC")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "rustc".into());
        let out = std::process::Command::new(&rustc)
            .args(["--print", "sysroot"])
            // The cache may not exist yet before the first build.
            .current_dir(if dir.is_dir() { dir } else { Path::new("/") })
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run `{} --print sysroot`: {e}", rustc.to_string_lossy()))?;
        if !out.status.success() {
            return Err(format!(
                "`{} --print sysroot` failed: {}",
                rustc.to_string_lossy(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let sysroot = std::fs::canonicalize(&text)
            .map_err(|e| format!("find the Rust sysroot `{text}`: {e}"))?;
        for tool in ["bin/cargo", "bin/rustc"] {
            if !sysroot.join(tool).is_file() {
                return Err(format!(
                    "the Rust sysroot `{}` has no {tool}",
                    sysroot.display()
                ));
            }
        }
        Ok(Toolchain { sysroot })
    }
}

/// How the build will run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sandbox {
    /// Under bubblewrap.
    Bubblewrap {
        bwrap: PathBuf,
        toolchain: Toolchain,
    },
    /// Unconfined, and why (for the report: `bubblewrap missing`, ...).
    Unconfined { why: String },
}

impl Sandbox {
    /// Resolve `mode`: probe bubblewrap (once per process) and find the
    /// toolchain. `dir` is where the build will run (for rustup's
    /// per-directory toolchain choice).
    pub fn resolve(mode: SandboxMode, dir: &Path) -> Result<Sandbox, SandboxError> {
        if mode == SandboxMode::Off {
            return Ok(Sandbox::Unconfined {
                why: "--sandbox off".to_string(),
            });
        }
        let found = probe().and_then(|bwrap| {
            let toolchain = Toolchain::locate(dir)?;
            Ok(Sandbox::Bubblewrap { bwrap, toolchain })
        });
        match (found, mode) {
            (Ok(sandbox), _) => Ok(sandbox),
            (Err(why), SandboxMode::Require) => Err(SandboxError::Unavailable { why }),
            (Err(why), _) => Ok(Sandbox::Unconfined { why }),
        }
    }

    pub fn is_sandboxed(&self) -> bool {
        matches!(self, Sandbox::Bubblewrap { .. })
    }

    /// A few words for reports: `bubblewrap`, or why there is no sandbox.
    pub fn describe(&self) -> String {
        match self {
            Sandbox::Bubblewrap { .. } => "bubblewrap".to_string(),
            Sandbox::Unconfined { why } => why.clone(),
        }
    }

    /// The program and arguments that run `cargo_args` in `tree` with
    /// target directory `target`, or `None` when unconfined (the caller
    /// runs cargo itself).
    pub fn command(
        &self,
        tree: &Path,
        target: &Path,
        cargo_args: &[&str],
    ) -> Option<(PathBuf, Vec<OsString>)> {
        let Sandbox::Bubblewrap { bwrap, toolchain } = self else {
            return None;
        };
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |parts: &[&dyn AsRef<std::ffi::OsStr>]| {
            args.extend(parts.iter().map(|p| p.as_ref().to_owned()));
        };
        push(&[
            &"--unshare-all",
            &"--die-with-parent",
            &"--new-session",
            &"--clearenv",
        ]);
        push(&[&"--ro-bind", &"/usr", &"/usr"]);
        // Merged-/usr systems have these as links into /usr; others as
        // directories of their own.
        for top in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            match std::fs::read_link(top) {
                Ok(link) => push(&[&"--symlink", &link, &top]),
                Err(_) if Path::new(top).is_dir() => push(&[&"--ro-bind", &top, &top]),
                Err(_) => {}
            }
        }
        for etc in [
            "/etc/ld.so.cache",
            "/etc/ld.so.conf",
            "/etc/ld.so.conf.d",
            "/etc/alternatives",
        ] {
            push(&[&"--ro-bind-try", &etc, &etc]);
        }
        push(&[&"--ro-bind", &toolchain.sysroot, &TOOLCHAIN]);
        push(&[&"--ro-bind", &tree, &TREE]);
        push(&[&"--bind", &target, &TARGET_DIR]);
        push(&[&"--proc", &"/proc", &"--dev", &"/dev", &"--tmpfs", &"/tmp"]);
        let path = format!("{TOOLCHAIN}/bin:/usr/bin:/bin");
        let rustc = format!("{TOOLCHAIN}/bin/rustc");
        let values: [(&str, &str); 6] = [
            ("PATH", &path),
            ("HOME", "/tmp/home"),
            ("CARGO_HOME", "/tmp/cargo-home"),
            ("RUSTC", &rustc),
            ("CARGO_TARGET_DIR", TARGET_DIR),
            ("CARGO_TERM_COLOR", "never"),
        ];
        debug_assert!(values.iter().map(|(k, _)| *k).eq(ENV_NAMES));
        for (name, value) in values {
            push(&[&"--setenv", &name, &value]);
        }
        push(&[&"--chdir", &TREE, &"--"]);
        let cargo = format!("{TOOLCHAIN}/bin/cargo");
        push(&[&cargo]);
        for a in cargo_args {
            push(&[a]);
        }
        Some((bwrap.clone(), args))
    }
}

/// Find bubblewrap and check, once per process, that it can make the
/// namespaces a build needs (it cannot in some containers). The error
/// says why not.
pub fn probe() -> Result<PathBuf, String> {
    static PROBED: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    PROBED.get_or_init(probe_uncached).clone()
}

fn probe_uncached() -> Result<PathBuf, String> {
    if !cfg!(target_os = "linux") {
        return Err("bubblewrap is Linux only".to_string());
    }
    let bwrap = find_on_path(BWRAP).ok_or_else(|| "bubblewrap missing".to_string())?;
    let out = std::process::Command::new(&bwrap)
        .args([
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--ro-bind",
            "/",
            "/",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "true",
        ])
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("bubblewrap unusable: {e}"))?;
    if out.status.success() {
        Ok(bwrap)
    } else {
        Err(format!(
            "bubblewrap unusable: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_is_unconfined_and_says_so() {
        let s = Sandbox::resolve(SandboxMode::Off, Path::new(".")).unwrap();
        assert!(!s.is_sandboxed());
        assert_eq!(s.describe(), "--sandbox off");
        assert_eq!(
            s.command(Path::new("/t"), Path::new("/o"), &["build"]),
            None
        );
    }

    #[test]
    fn the_sandbox_binds_only_what_a_build_needs() {
        let s = Sandbox::Bubblewrap {
            bwrap: PathBuf::from("/usr/bin/bwrap"),
            toolchain: Toolchain {
                sysroot: PathBuf::from("/home/u/.rustup/toolchains/stable"),
            },
        };
        let (program, args) = s
            .command(
                Path::new("/c/build/lazy/tree"),
                Path::new("/c/build/lazy/target"),
                &["build", "--offline"],
            )
            .unwrap();
        assert_eq!(program, PathBuf::from("/usr/bin/bwrap"));
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let line = args.join(" ");
        for needle in [
            "--unshare-all --die-with-parent --new-session --clearenv",
            "--ro-bind /home/u/.rustup/toolchains/stable /xvlab/toolchain",
            "--ro-bind /c/build/lazy/tree /xvlab/tree",
            "--bind /c/build/lazy/target /xvlab/target",
            "--setenv RUSTC /xvlab/toolchain/bin/rustc",
            "--setenv CARGO_TARGET_DIR /xvlab/target",
            "--chdir /xvlab/tree -- /xvlab/toolchain/bin/cargo build --offline",
        ] {
            assert!(line.contains(needle), "{needle} in {line}");
        }
        // Writable binds: the target directory only (and the tmpfs).
        let writable: Vec<&String> = args
            .windows(2)
            .filter(|w| w[0] == "--bind")
            .map(|w| &w[1])
            .collect();
        assert_eq!(writable, ["/c/build/lazy/target"]);
        // Nothing of the host's home, /tmp or /etc beyond the loader's.
        let sources: Vec<&String> = args
            .windows(2)
            .filter(|w| w[0].starts_with("--ro-bind") || w[0] == "--bind")
            .map(|w| &w[1])
            .collect();
        for s in sources {
            assert!(
                !s.starts_with("/tmp") && !s.starts_with("/root") && s != "/etc" && s != "/",
                "{s}"
            );
        }
        let names: Vec<&String> = args
            .windows(2)
            .filter(|w| w[0] == "--setenv")
            .map(|w| &w[1])
            .collect();
        assert_eq!(names, ENV_NAMES);
    }
}
