//! `xvlab doctor`: checks that the tools xvlab needs are installed — QEMU,
//! cargo, the Rust target for the kernel, git, and on Linux bubblewrap for
//! the build sandbox — and says exactly how to install what is missing
//! ([`diagnose`], [`Check`]). Whether QEMU has its seccomp sandbox is
//! reported too, as a warning only: VMs run without it where it is missing;
//! so are cargo-mutants, which only `xvlab mutants` needs, and a gdb that
//! knows RISC-V, which only `xvlab qemu --gdb` needs.

use std::path::PathBuf;
use std::process::Command;

use crate::build::kbuild::TARGET;

/// The result of checking one tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was checked ("QEMU", "git", …).
    pub what: &'static str,
    /// What was found (a version line), or `None` if missing.
    pub found: Option<String>,
    /// Why it is needed.
    pub needed_for: &'static str,
    /// Commands that install it: (platform, command).
    pub fix: Vec<(&'static str, String)>,
    /// Why it is missing, when that is more than "not installed".
    pub problem: Option<String>,
    /// Whether xvlab needs it (else a missing one is only a warning).
    pub required: bool,
}

impl Check {
    /// Found, or not needed.
    pub fn ok(&self) -> bool {
        self.found.is_some() || !self.required
    }
}

/// The first line a command prints for `args`, if it runs and succeeds.
fn first_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next().map(|l| l.trim().to_string())
}

/// Is the standard library for `TARGET` in the active toolchain's sysroot?
fn target_installed() -> Option<String> {
    let sysroot = first_line("rustc", &["--print", "sysroot"])?;
    let dir = PathBuf::from(sysroot).join("lib/rustlib").join(TARGET);
    dir.is_dir()
        .then(|| format!("{TARGET} in {}", dir.display()))
}

/// The build sandbox: bubblewrap found and able to make its namespaces.
fn sandbox_check() -> Check {
    let probed = crate::build::sandbox::probe();
    Check {
        what: "sandbox",
        found: probed.as_ref().ok().map(|bwrap| {
            let version = first_line(&bwrap.to_string_lossy(), &["--version"]).unwrap_or_default();
            format!("{version} at {} (builds are sandboxed)", bwrap.display())
        }),
        needed_for: "sandboxing the builds of untrusted submissions (`--sandbox`)",
        fix: vec![(
            "Debian/Ubuntu",
            "sudo apt-get install -y bubblewrap".to_string(),
        )],
        problem: probed.err(),
        required: cfg!(target_os = "linux"),
    }
}

/// QEMU's seccomp sandbox (`-sandbox`), optional.
fn seccomp_check(qemu: &str) -> Check {
    let supported = crate::run::qemu::seccomp_supported(std::path::Path::new(qemu));
    Check {
        what: "QEMU seccomp",
        found: supported.then(|| "-sandbox on (VMs run under seccomp)".to_string()),
        needed_for: "confining QEMU (VMs run without it)",
        fix: vec![(
            "Debian/Ubuntu",
            "sudo apt-get install -y qemu-system-misc (built with seccomp)".to_string(),
        )],
        problem: None,
        required: false,
    }
}

/// Check every tool.
pub fn diagnose(qemu: &str) -> Vec<Check> {
    let qemu_found = first_line(qemu, &["--version"]);
    let mut checks = vec![
        Check {
            what: "QEMU",
            found: qemu_found.clone(),
            needed_for: "booting the kernel (qemu-system-riscv64)",
            fix: vec![
                (
                    "Debian/Ubuntu",
                    "sudo apt-get install -y qemu-system-misc".to_string(),
                ),
                ("macOS", "brew install qemu".to_string()),
            ],
            problem: None,
            required: true,
        },
        Check {
            what: "cargo",
            found: first_line("cargo", &["--version"]),
            needed_for: "building submissions",
            fix: vec![(
                "any",
                "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh".to_string(),
            )],
            problem: None,
            required: true,
        },
        Check {
            what: "Rust target",
            found: target_installed(),
            needed_for: "compiling the kernel and the user programs",
            fix: vec![("any", format!("rustup target add {TARGET}"))],
            problem: None,
            required: true,
        },
        Check {
            what: "git",
            found: first_line("git", &["--version"]),
            needed_for: "applying patches, `xvlab init` and `xvlab pack`",
            fix: vec![
                ("Debian/Ubuntu", "sudo apt-get install -y git".to_string()),
                ("macOS", "xcode-select --install".to_string()),
            ],
            problem: None,
            required: true,
        },
    ];
    if cfg!(target_os = "linux") {
        checks.push(sandbox_check());
    }
    if qemu_found.is_some() {
        checks.push(seccomp_check(qemu));
    }
    checks.push(cargo_mutants_check());
    checks.push(gdb_check());
    checks
}

/// Can `gdb` debug a RISC-V 64-bit kernel? A plain gdb built for the host
/// only refuses the architecture (`Undefined item: "riscv:rv64"`).
fn gdb_knows_riscv(gdb: &str) -> bool {
    Command::new(gdb)
        .args(["-nx", "-batch", "-ex", "set architecture riscv:rv64"])
        .output()
        .is_ok_and(|out| out.status.success() && out.stderr.is_empty())
}

/// A gdb for `xvlab qemu --gdb`: gdb-multiarch, or a gdb with RISC-V.
fn gdb_check() -> Check {
    let found = ["gdb-multiarch", "riscv64-unknown-elf-gdb", "gdb"]
        .into_iter()
        .filter(|gdb| gdb_knows_riscv(gdb))
        .find_map(|gdb| first_line(gdb, &["--version"]).map(|v| format!("{gdb}: {v}")));
    Check {
        what: "gdb",
        found,
        needed_for: "`xvlab qemu --gdb` (a gdb that knows riscv:rv64)",
        fix: vec![
            (
                "Debian/Ubuntu",
                "sudo apt-get install -y gdb-multiarch".to_string(),
            ),
            ("macOS", "brew install riscv64-elf-gdb".to_string()),
        ],
        problem: None,
        required: false,
    }
}

/// cargo-mutants, for `xvlab mutants` only.
fn cargo_mutants_check() -> Check {
    let found = crate::grade::mutants::listing::locate()
        .ok()
        .and_then(|program| {
            let version = first_line(&program.to_string_lossy(), &["mutants", "--version"])?;
            Some(format!("{version} at {}", program.display()))
        });
    Check {
        what: "cargo-mutants",
        found,
        needed_for: "`xvlab mutants` (mutation analysis of a rubric)",
        fix: vec![(
            "any",
            crate::grade::mutants::listing::INSTALL_HINT.to_string(),
        )],
        problem: None,
        required: false,
    }
}

/// The report `xvlab doctor` prints.
pub fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        match &c.found {
            Some(found) => out.push_str(&format!("ok       {:<12} {found}\n", c.what)),
            None => {
                let label = if c.required { "MISSING " } else { "warning " };
                out.push_str(&format!(
                    "{label} {:<12} needed for {}\n",
                    c.what, c.needed_for
                ));
                if let Some(problem) = &c.problem {
                    out.push_str(&format!("         {problem}\n"));
                }
                for (platform, cmd) in &c.fix {
                    out.push_str(&format!("         {platform:<14} {cmd}\n"));
                }
            }
        }
    }
    if checks.iter().all(Check::ok) {
        out.push_str("everything xvlab needs is installed\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tools_come_with_install_commands() {
        let checks = diagnose("/nonexistent/qemu-system-riscv64");
        let qemu = &checks[0];
        assert!(!qemu.ok());
        let text = render(&checks);
        assert!(text.contains("MISSING  QEMU"), "{text}");
        assert!(
            text.contains("sudo apt-get install -y qemu-system-misc"),
            "{text}"
        );
        assert!(text.contains("brew install qemu"), "{text}");
        assert!(!text.contains("everything xvlab needs is installed"));
    }

    #[test]
    fn present_tools_show_their_version() {
        let checks = diagnose("/nonexistent");
        let git = checks.iter().find(|c| c.what == "git").unwrap();
        // The test suite itself needs git, so it is installed here.
        assert!(
            git.found
                .as_deref()
                .unwrap_or("")
                .starts_with("git version")
        );
        assert!(render(&checks).contains("ok       git"));
    }

    #[test]
    fn a_gdb_without_riscv_is_a_warning_that_names_gdb_multiarch() {
        assert!(!gdb_knows_riscv("/nonexistent/gdb"));
        // `true` succeeds silently: the check reads the exit status and
        // gdb's complaint, not the name.
        assert!(gdb_knows_riscv("true"));
        assert!(!gdb_knows_riscv("false"));
        let missing = Check {
            found: None,
            ..gdb_check()
        };
        assert!(missing.ok(), "gdb is optional");
        let text = render(&[missing]);
        assert!(text.starts_with("warning  gdb"), "{text}");
        assert!(text.contains("apt-get install -y gdb-multiarch"), "{text}");
    }
}
