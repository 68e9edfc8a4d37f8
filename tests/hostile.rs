//! Hostile submissions and a failing grading machine, as an instructor
//! would check them: the build sandbox keeps host files from rustc; a build
//! that spins is stopped at its deadline with everything it started; `kill
//! -9` of xvlab leaves no cargo, rustc, bubblewrap or QEMU behind, and the
//! next run removes its temporary directories; a full disk is the grading
//! machine's fault (exit code 120, a report saying so) and grading works
//! again once there is room; `doctor` reports the sandbox.
//!
//! Kernels are really built (cargo and the riscv64 target are needed); VMs
//! are the fake QEMU of tests/fake-qemu, except where a test says it boots
//! the real one (then it is skipped without QEMU, as in tests/e2e.rs).
//! Sandbox tests are skipped where bubblewrap cannot run, unless
//! `XVLAB_REQUIRE_SANDBOX` is set; the full-disk test is skipped where
//! mounting a tmpfs is not permitted.

mod common;
use common::{copy_tree, qemu_available, repo};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The CLI tests' rubric (two sessions of one test each), with a 30 s
/// deadline.
fn rubric() -> String {
    include_str!("fixtures/two-sessions.rubric.toml").replace("TIMEOUT", "30s")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A lab home (XVLAB_HOME) with the real lab and kernel but the small test
/// rubric, and a private TMPDIR; `xvlab` commands run with the fake QEMU.
struct Env {
    dir: tempfile::TempDir,
    cache: PathBuf,
}

impl Env {
    /// With a build cache of its own, so that processes and files of this
    /// test's builds can be told from everyone else's.
    fn new() -> Env {
        Env::with_rubric(&rubric())
    }

    fn with_rubric(rubric: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        // The lazy lab only: with it the only lab, commands need not name it.
        copy_tree(&repo().join("labs/lazy"), &home.join("labs/lazy"));
        copy_tree(
            &repo().join("reference-kernel"),
            &home.join("reference-kernel"),
        );
        copy_tree(&repo().join("grading/lazy"), &home.join("grading/lazy"));
        std::fs::write(home.join("grading/lazy/rubric.toml"), rubric).unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        let cache = dir.path().join("cache");
        Env { dir, cache }
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    fn xvlab(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xvlab"));
        cmd.args(args)
            .env("XVLAB_HOME", self.dir.path().join("home"))
            .env(
                "XVLAB_QEMU",
                repo().join("tests/fake-qemu/qemu-system-riscv64"),
            )
            .env("XVLAB_CACHE", &self.cache)
            .env("FAKE_QEMU_MODE", "shell")
            .env("TMPDIR", self.tmp())
            .env("NO_COLOR", "1")
            .env_remove("XVLAB_BUILD_TIMEOUT")
            .current_dir(self.dir.path());
        cmd
    }

    /// A patch file changing kernel/src/main.rs: `edit` gets the starter's
    /// text and returns the new one.
    fn patch(&self, name: &str, edit: impl Fn(&str) -> String) -> String {
        let original =
            std::fs::read_to_string(repo().join("reference-kernel/kernel/src/main.rs")).unwrap();
        let (a, b) = (self.dir.path().join("a.rs"), self.dir.path().join("b.rs"));
        std::fs::write(&a, &original).unwrap();
        std::fs::write(&b, edit(&original)).unwrap();
        let out = Command::new("diff")
            .args(["-u", "--label", "a/kernel/src/main.rs"])
            .args(["--label", "b/kernel/src/main.rs"])
            .arg(&a)
            .arg(&b)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "diff: {}", text(&out.stderr));
        let path = self.dir.path().join(name);
        std::fs::write(&path, &out.stdout).unwrap();
        path.display().to_string()
    }

    /// Every file below the private TMPDIR and `more`, as text.
    fn files_text(&self, more: &Path) -> String {
        fn walk(dir: &Path, out: &mut String) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if let Ok(bytes) = std::fs::read(&p) {
                    out.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
        }
        let mut out = String::new();
        walk(&self.tmp(), &mut out);
        walk(more, &mut out);
        out
    }
}

fn solution() -> String {
    repo()
        .join("grading/lazy/solution.patch")
        .display()
        .to_string()
}

/// Can bubblewrap run here? If not, the sandbox tests are skipped (or
/// fail, with XVLAB_REQUIRE_SANDBOX set).
fn sandbox_available() -> bool {
    let ok = Command::new("bwrap")
        .args(["--unshare-all", "--die-with-parent", "--ro-bind", "/", "/"])
        .args(["--proc", "/proc", "--dev", "/dev", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("XVLAB_REQUIRE_SANDBOX").is_none(),
            "bubblewrap is required (XVLAB_REQUIRE_SANDBOX is set)"
        );
        eprintln!("skipping: bubblewrap is not installed or cannot run here");
    }
    ok
}

#[test]
fn the_sandbox_keeps_host_files_from_the_build_and_off_would_let_it_read_them() {
    if !sandbox_available() {
        return;
    }
    let env = Env::new();
    // A file of the grader's, outside the kernel tree.
    let secret_file = env.dir.path().join("grader-secret.txt");
    let secret = "GRADER-SECRET-7f3a9c";
    std::fs::write(&secret_file, secret).unwrap();
    let patch = env.patch("read-secret.patch", |src| {
        src.replace(
            "        println!(\"xv6 kernel is booting\");",
            &format!(
                "        println!(\"xv6 kernel is booting\");\n        println!(\"{{}}\", core::hint::black_box(include_str!(\"{}\")));",
                secret_file.display()
            ),
        )
    });

    // The source audit refuses it before any build...
    let out = env
        .xvlab(&["grade", "lazy", "--patch", &patch, "--sandbox", "require"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(107), "{}", text(&out.stderr));

    // ... and with the audit switched off (a test-only switch), sandboxed:
    // rustc cannot see the file, so the kernel does not build, and nothing
    // the student sees holds the secret.
    let keep = env.dir.path().join("keep");
    let out = env
        .xvlab(&["grade", "lazy", "--patch", &patch, "--sandbox", "require"])
        .env("XVLAB_TEST_SKIP_AUDIT", "1")
        .args(["--format", "json", "--keep", &keep.display().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(101), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["build"]["sandboxed"], true, "{report:#}");
    let errors = report["build"]["errors"].as_str().unwrap();
    assert!(
        errors.contains("couldn't read") && errors.contains("grader-secret.txt"),
        "{errors}"
    );
    assert!(!text(&out.stdout).contains(secret));
    assert!(!text(&out.stderr).contains(secret));
    assert!(
        !env.files_text(&keep).contains(secret),
        "kept files hold it"
    );

    // /etc/hostname is a host file too.
    let hostname = env.patch("read-hostname.patch", |src| {
        src.replace(
            "        println!(\"xv6 kernel is booting\");",
            "        println!(\"xv6 kernel is booting\");\n        println!(\"{}\", include_str!(\"/etc/hostname\"));",
        )
    });
    let out = env
        .xvlab(&["build", "--patch", &hostname, "--sandbox", "require"])
        .env("XVLAB_TEST_SKIP_AUDIT", "1")
        .args(["--output", &env.dir.path().join("h").display().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(101), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("/etc/hostname"),
        "{}",
        text(&out.stderr)
    );

    // Unconfined, the same patch reads the file into the kernel: the
    // sandbox is what stopped it.
    let built = env.dir.path().join("built");
    let out = env
        .xvlab(&["build", "--patch", &patch, "--sandbox", "off"])
        .env("XVLAB_TEST_SKIP_AUDIT", "1")
        .args(["--output", &built.display().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("NOT sandboxed (--sandbox off)"),
        "{}",
        text(&out.stderr)
    );
    let kernel = std::fs::read(built.join("kernel")).unwrap();
    assert!(
        kernel.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the unconfined build did not read the secret"
    );

    // And under the real QEMU it would be on the console, in the
    // transcript.
    if qemu_available() {
        let out = env
            .xvlab(&[
                "run",
                "--patch",
                &patch,
                "--sandbox",
                "off",
                "--",
                "echo hi",
            ])
            .env("XVLAB_TEST_SKIP_AUDIT", "1")
            .env_remove("XVLAB_QEMU")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains(secret), "{}", text(&out.stdout));
    }
}

/// A patch whose kernel makes rustc evaluate a constant for ever.
fn spinning_patch(env: &Env) -> String {
    env.patch("spin.patch", |src| {
        format!(
            "{src}\n#[allow(long_running_const_eval)]\npub const SPIN: u64 = {{\n    let mut i: u64 = 1;\n    while i != 0 {{\n        i = i.wrapping_mul(3) | 1;\n    }}\n    i\n}};\n"
        )
    })
}

/// A live process: its command line and start time (to tell it from a
/// later process with a recycled pid).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Proc {
    cmdline: String,
    start: String,
}

fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Every live (not zombie) process, by pid.
fn processes() -> BTreeMap<i32, (Proc, i32, i32)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Some(f) = stat_fields(pid) else { continue };
        if f[0] == "Z" || f.len() < 20 {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| text(&b).replace('\0', " "))
            .unwrap_or_default();
        let (ppid, pgrp) = (f[1].parse().unwrap_or(0), f[2].parse().unwrap_or(0));
        out.insert(
            pid,
            (
                Proc {
                    cmdline,
                    start: f[19].clone(),
                },
                ppid,
                pgrp,
            ),
        );
    }
    out
}

/// The live descendants of `root`.
fn descendants(root: i32) -> BTreeMap<i32, Proc> {
    let all = processes();
    let mut found = BTreeMap::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, (p, ppid, _)) in &all {
            if *ppid == parent && !found.contains_key(pid) {
                found.insert(*pid, p.clone());
                frontier.push(*pid);
            }
        }
    }
    found
}

/// Wait until a descendant of `child` whose command line contains `what`
/// runs; all descendants then.
fn wait_for_descendant(child: &mut Child, what: &str, limit: Duration) -> BTreeMap<i32, Proc> {
    let deadline = Instant::now() + limit;
    loop {
        let found = descendants(child.id() as i32);
        if found.values().any(|p| p.cmdline.contains(what)) {
            return found;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("xvlab exited ({status}) before `{what}` started");
        }
        assert!(Instant::now() < deadline, "no `{what}` started: {found:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Assert that none of `procs` is alive, giving the kernel a moment to
/// finish a pid namespace's teardown.
fn assert_all_gone(procs: &BTreeMap<i32, Proc>, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = processes();
        let alive: Vec<(&i32, &Proc)> = procs
            .iter()
            .filter(|(pid, p)| now.get(pid).is_some_and(|(q, _, _)| q.start == p.start))
            .collect();
        if alive.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: still alive: {alive:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Assert that no live process's command line mentions `path`.
fn assert_none_mentions(path: &Path) {
    let needle = path.display().to_string();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<_> = processes()
            .into_iter()
            .filter(|(_, (p, _, _))| p.cmdline.contains(&needle))
            .map(|(pid, (p, _, _))| (pid, p.cmdline))
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "left running: {left:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn spin_is_killed_at_its_deadline(sandbox: &str) {
    let env = Env::new();
    let patch = spinning_patch(&env);
    let out_dir = env.dir.path().join("out").display().to_string();
    let started = Instant::now();
    let mut child = env
        .xvlab(&["build", "--patch", &patch, "--sandbox", sandbox])
        .args(["--output", &out_dir])
        .env("XVLAB_BUILD_TIMEOUT", "25s")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The kernel crate's rustc, spinning (its crate name is `kernel`).
    let seen = wait_for_descendant(&mut child, "--crate-name kernel", Duration::from_secs(120));
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(101), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("did not finish within 25s"),
        "{}",
        text(&out.stderr)
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(
        seen.values().any(|p| p.cmdline.contains("cargo")),
        "{seen:#?}"
    );
    assert_all_gone(&seen, "after the deadline");
    assert_none_mentions(&env.cache);
}

#[test]
fn a_spinning_unconfined_build_is_killed_at_its_deadline_with_everything_it_started() {
    spin_is_killed_at_its_deadline("off");
}

#[test]
fn a_spinning_sandboxed_build_is_killed_at_its_deadline_with_everything_it_started() {
    if !sandbox_available() {
        return;
    }
    spin_is_killed_at_its_deadline("require");
}

/// The names left in the private TMPDIR.
fn temp_left(env: &Env) -> Vec<String> {
    std::fs::read_dir(env.tmp())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn kill_9_mid_build(sandbox: &str) {
    let env = Env::new();
    let patch = spinning_patch(&env);
    let out_dir = env.dir.path().join("out").display().to_string();
    let mut child = env
        .xvlab(&["build", "--patch", &patch, "--sandbox", sandbox])
        .args(["--output", &out_dir])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let seen = wait_for_descendant(&mut child, "--crate-name kernel", Duration::from_secs(120));
    assert!(
        !temp_left(&env).is_empty(),
        "the run has its prepared tree in TMPDIR"
    );
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    assert_all_gone(&seen, "after kill -9 of xvlab");
    assert_none_mentions(&env.cache);

    // The next run sweeps the dead run's temporary directory.
    let out = env.xvlab(&["check-rubric", "lazy"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(temp_left(&env), Vec::<String>::new());
}

#[test]
fn kill_9_mid_unconfined_build_leaves_no_process_and_the_next_run_no_temp_dir() {
    kill_9_mid_build("off");
}

#[test]
fn kill_9_mid_sandboxed_build_leaves_no_process_and_the_next_run_no_temp_dir() {
    if !sandbox_available() {
        return;
    }
    kill_9_mid_build("require");
}

#[test]
fn kill_9_mid_vms_leaves_no_vm_and_the_next_run_no_temp_dir() {
    let env = Env::new();
    let pids = env.dir.path().join("vm-pids");
    let mut child = env
        .xvlab(&["grade", "lazy", "--patch", &solution(), "--jobs", "2"])
        .env("FAKE_QEMU_MODE", "hang")
        .env("FAKE_QEMU_PIDS", &pids)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while std::fs::read_to_string(&pids)
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "no VM started");
        assert!(child.try_wait().unwrap().is_none(), "xvlab exited early");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    // The VM's whole group: the fake QEMU and its `sleep`.
    let groups: Vec<i32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let members: BTreeMap<i32, Proc> = processes()
        .into_iter()
        .filter(|(_, (_, _, pgrp))| groups.contains(pgrp))
        .map(|(pid, (p, _, _))| (pid, p))
        .collect();
    assert!(members.len() >= 2, "the VM and its child: {members:#?}");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    assert_all_gone(&members, "after kill -9 of xvlab");
    assert_none_mentions(&env.tmp());

    assert!(temp_left(&env).iter().any(|n| n.starts_with("xvlab-vm-")));
    let out = env.xvlab(&["check-rubric", "lazy"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(temp_left(&env), Vec::<String>::new());
}

/// A tmpfs mounted for a test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// `None` (with a message) where mounting is not permitted.
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs {
                dir: dir.to_path_buf(),
            }),
            Ok(o) => {
                eprintln!(
                    "skipping: cannot mount a tmpfs here: {}",
                    text(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("skipping: cannot run mount: {e}");
                None
            }
        }
    }

    fn resize(&self, size: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).output();
    }
}

#[test]
fn a_full_disk_is_the_grading_machines_fault_and_grading_works_once_there_is_room() {
    let env = Env::new();
    // Room for the synchronised tree, not for the build.
    let Some(disk) = Tmpfs::mount(&env.cache, "4m") else {
        return;
    };
    let results = env.dir.path().join("r.json");
    let grade = |format: &str| {
        env.xvlab(&["grade", "lazy", "--patch", &solution(), "--format", format])
            .args(["--output", &results.display().to_string()])
            .output()
            .unwrap()
    };
    for format in ["json", "gradescope"] {
        let out = grade(format);
        assert_eq!(out.status.code(), Some(120), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("the grading machine failed"),
            "{}",
            text(&out.stderr)
        );
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&results).unwrap()).unwrap();
        let output = report["output"].as_str().unwrap();
        assert!(
            output.contains("grading machine failed") && output.contains("disk"),
            "{output}"
        );
        assert!(!output.contains("did not build"), "{output}");
        for t in report["tests"].as_array().unwrap() {
            let why = t["output"].as_str().unwrap();
            assert!(why.contains("not the submission's fault"), "{why}");
        }
        if format == "json" {
            assert_eq!(report["build"]["status"], "grader_fault", "{report:#}");
        }
    }

    // Room again: the same cache builds and grades.
    disk.resize("512m");
    let out = grade("json");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&results).unwrap()).unwrap();
    assert_eq!(report["score"], 10, "{report:#}");
    assert_eq!(report["build"]["status"], "ok");
}

/// A directory with a `bwrap` that cannot make namespaces, as in a
/// container that forbids them.
fn broken_bwrap(dir: &Path) -> std::ffi::OsString {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("bwrap");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut path = bin.into_os_string();
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    path
}

#[test]
fn doctor_reports_the_sandbox() {
    let env = Env::new();
    if sandbox_available() {
        let out = env.xvlab(&["doctor"]).output().unwrap();
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("ok       sandbox      bubblewrap"),
            "{stdout}"
        );
    }
    let path = broken_bwrap(env.dir.path());
    let out = env.xvlab(&["doctor"]).env("PATH", &path).output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(110), "{stdout}");
    assert!(stdout.contains("MISSING  sandbox"), "{stdout}");
    assert!(
        stdout.contains("No permissions to create new namespace"),
        "{stdout}"
    );
    assert!(stdout.contains("apt-get install -y bubblewrap"), "{stdout}");
}

#[test]
fn without_a_working_bubblewrap_auto_builds_unconfined_and_says_so_and_require_refuses() {
    let env = Env::new();
    let path = broken_bwrap(env.dir.path());
    let out: Output = env
        .xvlab(&["grade", "lazy", "--patch", &solution()])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("build: NOT sandboxed (bubblewrap unusable: bwrap: No permissions"),
        "{stdout}"
    );

    let out = env
        .xvlab(&[
            "grade",
            "lazy",
            "--patch",
            &solution(),
            "--sandbox",
            "require",
        ])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(110), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("apt-get install bubblewrap"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_vm_the_machine_kills_is_the_grading_machines_fault() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    // A QEMU that the OOM killer takes as soon as it starts.
    let qemu = env.dir.path().join("oom-killed-qemu");
    std::fs::write(&qemu, "#!/bin/sh\nkill -KILL $$\n").unwrap();
    std::fs::set_permissions(&qemu, std::fs::Permissions::from_mode(0o755)).unwrap();
    let results = env.dir.path().join("r.json");
    let out = env
        .xvlab(&["grade", "lazy", "--patch", &solution(), "--format", "json"])
        .args(["--output", &results.display().to_string()])
        .env("XVLAB_QEMU", &qemu)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(120), "{}", text(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&results).unwrap()).unwrap();
    assert_eq!(report["build"]["status"], "grader_fault", "{report:#}");
    let reason = report["build"]["reason"].as_str().unwrap();
    assert!(reason.contains("QEMU was killed (SIGKILL"), "{reason}");
}

#[test]
fn ctrl_c_mid_build_stops_everything_the_build_started() {
    let env = Env::new();
    let patch = spinning_patch(&env);
    let out_dir = env.dir.path().join("out").display().to_string();
    let mut child = env
        .xvlab(&["build", "--patch", &patch, "--output", &out_dir])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = wait_for_descendant(&mut child, "--crate-name kernel", Duration::from_secs(120));
    let interrupted = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(interrupted.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_all_gone(&seen, "after Ctrl-C");
    assert_none_mentions(&env.cache);
    assert_eq!(temp_left(&env), Vec::<String>::new(), "xvlab cleaned up");
}

#[test]
fn kill_9_mid_real_vms_leaves_no_qemu() {
    if !qemu_available() {
        return;
    }
    // `cat` reads the console for ever: the VM runs until it is stopped.
    let env = Env::with_rubric(
        &rubric().replace("commands = [\"echo hi {token}\"]", "commands = [\"cat\"]"),
    );
    let mut child = env
        .xvlab(&["grade", "lazy", "--patch", &solution()])
        .env_remove("XVLAB_QEMU")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let seen = wait_for_descendant(&mut child, "qemu-system-riscv64", Duration::from_secs(300));
    let qemu_group: Vec<i32> = seen
        .iter()
        .filter(|(_, p)| p.cmdline.contains("qemu-system-riscv64"))
        .map(|(pid, _)| *pid)
        .collect();
    assert!(!qemu_group.is_empty());
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    assert_all_gone(&seen, "after kill -9 of xvlab");
    assert_none_mentions(&env.tmp());
    let out = env.xvlab(&["check-rubric", "lazy"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(temp_left(&env), Vec::<String>::new());
}
