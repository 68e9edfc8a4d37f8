//! The `xvlab` command as users run it, against a fake QEMU
//! (tests/fake-qemu) so that hangs, panics, floods and Ctrl-C are tested in
//! seconds: exit codes, messages, reports, and that no VM process or
//! temporary directory is left behind.
//!
//! The submission is still really prepared and built (with a build cache
//! shared by these tests), so `cargo` and the riscv64 target must be
//! installed; the fake QEMU then ignores the kernel it is given and behaves
//! as `FAKE_QEMU_MODE` says. A test lab home (`XVLAB_HOME`) carries a small
//! rubric with short timeouts.

mod common;
use common::{copy_tree, repo};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// Two sessions of one test each; `TIMEOUT` is the deadline to fill in.
const RUBRIC: &str = include_str!("fixtures/two-sessions.rubric.toml");

fn fake_qemu() -> PathBuf {
    repo().join("tests/fake-qemu/qemu-system-riscv64")
}

/// Build cache shared by the tests of this file (builds are serialised by
/// xvlab's own lock; the second and later are no-ops).
fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-cache")
}

/// A lab home with the real lab and kernel tree but the test rubric.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new(timeout: &str) -> Home {
        Home::with_rubric(&RUBRIC.replace("TIMEOUT", timeout))
    }

    fn with_rubric(rubric: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&repo().join("labs"), &dir.path().join("labs"));
        copy_tree(
            &repo().join("reference-kernel"),
            &dir.path().join("reference-kernel"),
        );
        copy_tree(&repo().join("grading"), &dir.path().join("grading"));
        std::fs::write(dir.path().join("grading/lazy/rubric.toml"), rubric).unwrap();
        Home { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// An `xvlab` command with the fake QEMU, the test home, the shared cache,
/// a private TMPDIR and a file collecting the fake VMs' pids.
struct Run {
    cmd: Command,
    tmp: tempfile::TempDir,
    pids: PathBuf,
}

impl Run {
    fn new(home: &Home, mode: &str) -> Run {
        let tmp = tempfile::tempdir().unwrap();
        let pids = tmp.path().join("pids");
        let private_tmp = tmp.path().join("tmp");
        std::fs::create_dir_all(&private_tmp).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xvlab"));
        cmd.env("XVLAB_HOME", home.path())
            .env("XVLAB_QEMU", fake_qemu())
            .env("XVLAB_CACHE", cache_dir())
            .env("FAKE_QEMU_MODE", mode)
            .env("FAKE_QEMU_PIDS", &pids)
            .env("TMPDIR", &private_tmp)
            .env("NO_COLOR", "1")
            .current_dir(tmp.path());
        Run { cmd, tmp, pids }
    }

    /// Run it in `dir` (a student copy) instead of the private folder.
    fn in_dir(mut self, dir: &Path) -> Run {
        self.cmd.current_dir(dir);
        self
    }

    fn args(mut self, args: &[&str]) -> Run {
        self.cmd.args(args);
        self
    }

    fn output(mut self) -> (Output, Leftovers) {
        let output = self.cmd.output().unwrap();
        let leftovers = Leftovers {
            pids: self.pids.clone(),
            tmp: self.tmp.path().join("tmp"),
            _keep: self.tmp,
        };
        (output, leftovers)
    }
}

/// What a run may have left behind.
struct Leftovers {
    pids: PathBuf,
    tmp: PathBuf,
    _keep: tempfile::TempDir,
}

impl Leftovers {
    /// The process groups of every fake VM that was started.
    fn groups(&self) -> Vec<i32> {
        std::fs::read_to_string(&self.pids)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// Assert that no member of any VM's process group is alive (zombies
    /// reparented to init are not alive).
    fn assert_no_vm_left(&self) {
        for pgid in self.groups() {
            let alive: Vec<String> = std::fs::read_dir("/proc")
                .unwrap()
                .filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
                .filter(|stat| {
                    // "pid (comm) state ppid pgrp ...": comm may contain
                    // spaces, so split after the last ')'.
                    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
                    let fields: Vec<&str> = rest.split_whitespace().collect();
                    fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z"
                })
                .collect();
            assert!(
                alive.is_empty(),
                "VM process group {pgid} still has live processes: {alive:?}"
            );
            // And the group is gone as far as signals go, unless zombies
            // linger.
            let _ = killpg(Pid::from_raw(pgid), None);
        }
    }

    /// Assert that xvlab left nothing in its TMPDIR.
    fn assert_no_temp_left(&self) {
        let left: Vec<_> = std::fs::read_dir(&self.tmp)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn solution() -> String {
    repo()
        .join("grading/lazy/solution.patch")
        .display()
        .to_string()
}

/// Grade the solution in `home` (the test rubric, the fake QEMU's shell)
/// with `extra` arguments, check it gets full marks and exit 0 and leaves
/// nothing running or behind; what it left, for counting its VMs.
fn grade_to_full_marks(home: &Home, extra: &[&str]) -> Leftovers {
    let (out, left) = Run::new(home, "shell")
        .args(&["grade", "lazy", "--patch", &solution()])
        .args(extra)
        .output();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(text.contains("Score 10/10 · 2/2 passed\n"), "{text}");
    assert!(text.contains("OK (2):\n    echo hi ("), "{text}");
    assert!(text.contains("Score: 10/10"), "{text}");
    left.assert_no_vm_left();
    left.assert_no_temp_left();
    left
}

#[test]
fn a_working_kernel_gets_full_marks_and_exit_0() {
    let left = grade_to_full_marks(&Home::new("10s"), &[]);
    assert_eq!(left.groups().len(), 2, "one VM per session");
}

#[test]
fn with_snapshots_a_program_that_never_waits_boots_its_vms_and_grades_the_same() {
    // `echo -w` prints `-w`, never `echo: waiting for arguments`: the
    // snapshot cannot be taken, and its VMs boot as without --snapshots.
    let rubric = RUBRIC.replace("TIMEOUT", "10s").replacen(
        "total = 10\n",
        "total = 10\nsnapshot_programs = [\"echo\"]\n",
        1,
    );
    let left = grade_to_full_marks(&Home::with_rubric(&rubric), &["--snapshots"]);
    // The boot probe, the one that tried to set up, and the booted one.
    assert_eq!(left.groups().len(), 3);
}

#[test]
fn a_hanging_kernel_is_stopped_at_its_deadline_and_reported_as_a_timeout() {
    let home = Home::new("3s");
    let started = Instant::now();
    let (out, left) = Run::new(&home, "hang")
        .args(&["grade", "lazy", "--patch", &solution()])
        .output();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(100), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("timed out"), "{text}");
    assert!(text.contains("Score: 0/10"), "{text}");
    // The boot probe timed out at its scaled deadline and again on its
    // retry, so the second session's VM never started.
    assert_eq!(left.groups().len(), 2);
    assert!(text.contains("timed out after 3s"), "{text}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    left.assert_no_vm_left();
    left.assert_no_temp_left();
}

/// Give the test home reference durations for its two sessions.
fn write_references(home: &Home, boot: &str, work: &str) {
    std::fs::write(
        home.path().join("grading/lazy/durations.toml"),
        format!("[sessions]\nboot = \"{boot}\"\nwork = \"{work}\"\n"),
    )
    .unwrap();
}

#[test]
fn a_vm_slower_than_its_scaled_deadline_passes_on_its_retry() {
    let home = Home::new("30s");
    // Deadlines of 1.5 s (the floor); the fake takes 2 s to reach its shell.
    write_references(&home, "100ms", "100ms");
    let (out, left) = Run::new(&home, "slow-prompt 2")
        .args(&["grade", "lazy", "--patch", &solution()])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Score: 10/10"), "{}", stdout(&out));
    // Each session timed out once and passed on its retry.
    assert_eq!(left.groups().len(), 4);
    left.assert_no_vm_left();
}

#[test]
fn a_command_that_never_starts_is_stopped_at_the_start_deadline() {
    let rubric = RUBRIC
        .replace("TIMEOUT", "60s")
        .replace("[defaults]\n", "[defaults]\nstart_deadline = \"300ms\"\n");
    let home = Home::with_rubric(&rubric);
    write_references(&home, "100ms", "100ms");
    let (out, left) = Run::new(&home, "hang-after-boot")
        .args(&["grade", "lazy", "--patch", &solution()])
        .output();
    assert_eq!(out.status.code(), Some(100), "{}", stderr(&out));
    let text = stdout(&out);
    // The probe's start deadline and its retry's (four times as long),
    // then the other VM's, with no more retries: not the 1.5 s deadlines.
    assert!(
        text.contains(
            "`echo hi …` printed nothing for 1.2s after it was typed: the program did not start"
        ),
        "{text}"
    );
    assert!(
        text.contains("`echo work …` printed nothing for 0.3s after it was typed"),
        "{text}"
    );
    assert_eq!(left.groups().len(), 3, "the probe, its retry, the other VM");
    left.assert_no_vm_left();
}

#[test]
fn a_kernel_that_hangs_after_boot_costs_scaled_deadlines_not_the_rubric_timeout() {
    let home = Home::new("60s");
    write_references(&home, "100ms", "100ms");
    let started = Instant::now();
    let (out, left) = Run::new(&home, "hang-after-boot")
        .args(&["grade", "lazy", "--patch", &solution()])
        .output();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(100), "{}", stderr(&out));
    let text = stdout(&out);
    // The probe's 1.5 s deadline and its 6 s retry, then no more retries.
    assert!(text.contains("timed out after 6s"), "{text}");
    assert!(text.contains("timed out after 1.5s"), "{text}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    left.assert_no_vm_left();
}

#[test]
fn an_html_report_grades_the_reference_once_and_keeps_it_for_the_next_page() {
    // The `work` test fails (for the solution too: the fake VM does not
    // print it). A rubric of its own (a nonce in a comment) so that no
    // earlier run's kept reference is found in the shared cache.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let rubric = RUBRIC
        .replace("TIMEOUT", "10s")
        .replace("'^work {token}$'", "'^work done {token}$'")
        + &format!("# run {nonce}\n");
    let home = Home::with_rubric(&rubric);
    let page = |run: &str| {
        let (out, left) = Run::new(&home, "shell")
            .args(&["grade", "lazy", "--patch", &solution(), "--format", "html"])
            .args(&["-o", run])
            .output();
        assert_eq!(out.status.code(), Some(100), "{}", stderr(&out));
        left.assert_no_vm_left();
        let html = std::fs::read_to_string(left._keep.path().join(run)).unwrap();
        (html, stderr(&out))
    };
    let (first, said) = page("first.html");
    assert!(
        said.contains("grading the reference solution once"),
        "{said}"
    );
    assert_eq!(first.matches("<tr class=\"test ").count(), 2, "{first}");
    assert!(first.contains("<div class=\"score\">5/10</div>"), "{first}");
    assert!(
        first.contains("<section id=\"test-1\"><h3>work "),
        "{first}"
    );
    assert!(first.contains(" for this report)"), "{first}");
    // The same console as the reference's (the fake VM prints the same).
    assert!(
        first.contains("the same as the reference solution"),
        "{first}"
    );
    let (second, said) = page("second.html");
    assert!(!said.contains("grading the reference"), "{said}");
    assert!(second.contains("kept in the build cache"), "{second}");
}

#[test]
fn ctrl_c_while_the_html_reports_reference_is_graded_writes_the_page_and_exits_130() {
    // The `work` test fails, so the page wants the reference's consoles;
    // a rubric of its own, so that no kept reference is found.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let rubric = RUBRIC
        .replace("TIMEOUT", "60s")
        .replace("'^work {token}$'", "'^work done {token}$'")
        + &format!("# interrupted reference {nonce}\n");
    let home = Home::with_rubric(&rubric);
    // How many VMs the student's own grading starts.
    let (out, left) = Run::new(&home, "shell")
        .args(&["grade", "lazy", "--patch", &solution(), "--format", "json"])
        .output();
    assert_eq!(out.status.code(), Some(100), "{}", stderr(&out));
    let student_vms = std::fs::read_to_string(&left.pids).unwrap().lines().count();
    // The student's VMs run the shell; the reference's hang until Ctrl-C.
    let run = Run::new(&home, &format!("hang-after-vms {student_vms}"))
        .args(&["grade", "lazy", "--patch", &solution(), "--format", "html"])
        .args(&["-o", "page.html"]);
    let (out, left) = interrupt_after_vms(run, student_vms + 1);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("grading the reference solution once"),
        "{}",
        stderr(&out)
    );
    let page = std::fs::read_to_string(left._keep.path().join("page.html")).unwrap();
    assert!(page.contains("<div class=\"score\">5/10</div>"), "{page}");
    assert!(page.contains("interrupted"), "{page}");
    left.assert_no_vm_left();
}

#[test]
fn a_panicking_kernel_is_reported_with_its_panic_line_without_waiting_for_the_deadline() {
    let home = Home::new("60s");
    let started = Instant::now();
    let (out, left) = Run::new(&home, "boot-panic")
        .args(&["grade", "lazy", "--patch", &solution(), "--format", "json"])
        .output();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(100), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let reason = report["tests"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("panic:"), "{report:#}");
    let sessions = report["sessions"].as_array().unwrap();
    // The VM that panicked stopped long before its 60 s deadline (the
    // whole grading includes the build, which is warm or cold).
    let vm_seconds = sessions[0]["duration"].as_f64().unwrap();
    assert!(vm_seconds < 5.0, "the panicked VM ran {vm_seconds}s");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    left.assert_no_vm_left();
}

#[test]
fn a_flooding_kernel_is_cut_at_the_output_cap() {
    let home = Home::new("20s");
    let (out, left) = Run::new(&home, "flood")
        .args(&["grade", "lazy", "--patch", &solution()])
        .output();
    assert_eq!(out.status.code(), Some(100), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("console output exceeded"), "{text}");
    left.assert_no_vm_left();
}

#[test]
fn a_vm_that_ignores_sigterm_is_killed() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("term.log");
    let (out, left) = Run::new(&home, &format!("ignore-term {}", log.display()))
        .args(&["grade", "lazy", "--patch", &solution()])
        .output();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("term"),
        "SIGTERM was sent first"
    );
    left.assert_no_vm_left();
}

/// Start `run`, wait for its first VM, press Ctrl-C; returns its output
/// once it exited (within 10 s) and what it left.
fn interrupt_after_first_vm(run: Run) -> (Output, Leftovers) {
    interrupt_after_vms(run, 1)
}

/// Start `run`, wait until `vms` VMs have started, press Ctrl-C; as
/// [`interrupt_after_first_vm`].
fn interrupt_after_vms(run: Run, vms: usize) -> (Output, Leftovers) {
    let Run { mut cmd, tmp, pids } = run;
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first VM to start (after the build).
    let deadline = Instant::now() + Duration::from_secs(300);
    while std::fs::read_to_string(&pids)
        .unwrap_or_default()
        .lines()
        .count()
        < vms
    {
        assert!(Instant::now() < deadline, "fewer than {vms} VMs started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let interrupted = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(interrupted.elapsed() < Duration::from_secs(10));
    let left = Leftovers {
        pids,
        tmp: tmp.path().join("tmp"),
        _keep: tmp,
    };
    (out, left)
}

#[test]
fn ctrl_c_stops_the_vms_reports_partial_results_and_exits_130() {
    let home = Home::new("120s");
    let run = Run::new(&home, "hang").args(&["grade", "lazy", "--patch", &solution()]);
    let (out, left) = interrupt_after_first_vm(run);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Score:"), "partial results are reported");
    assert!(
        text.contains("interrupted: 2 of 2 tests were not run"),
        "{text}"
    );
    assert!(text.contains("NOT RUN (2):\n    echo hi, work\n"), "{text}");
    assert!(text.contains("grading interrupted: 2 not run"), "{text}");
    assert!(
        !text.contains("FAIL"),
        "tests not run are not failed: {text}"
    );
    left.assert_no_vm_left();
    left.assert_no_temp_left();
}

#[test]
fn ctrl_c_writes_a_json_report_that_says_interrupted_and_not_run() {
    let home = Home::new("120s");
    let out_dir = tempfile::tempdir().unwrap();
    let results = out_dir.path().join("results.json");
    let run = Run::new(&home, "hang").args(&[
        "grade",
        "lazy",
        "--patch",
        &solution(),
        "--format",
        "json",
        "--output",
        results.to_str().unwrap(),
    ]);
    let (out, left) = interrupt_after_first_vm(run);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    assert_eq!(report["status"], "interrupted");
    for test in report["tests"].as_array().unwrap() {
        assert_eq!(test["status"], "not_run", "{test}");
        assert_eq!(test["score"], 0);
    }
    left.assert_no_vm_left();
}

/// Grade `patch` with a Gradescope report; returns the exit code, the
/// report and standard error.
fn grade_for_gradescope(patch: &Path) -> (Option<i32>, serde_json::Value, String) {
    let home = Home::new("20s");
    let out_dir = tempfile::tempdir().unwrap();
    let results = out_dir.path().join("results.json");
    let (out, left) = Run::new(&home, "shell")
        .args(&[
            "grade",
            "lazy",
            "--patch",
            patch.to_str().unwrap(),
            "--format",
            "gradescope",
            "--output",
            results.to_str().unwrap(),
        ])
        .output();
    left.assert_no_vm_left();
    let text = std::fs::read_to_string(&results).expect("results.json is written");
    (
        out.status.code(),
        serde_json::from_str(&text).unwrap(),
        stderr(&out),
    )
}

#[test]
fn a_missing_patch_file_gets_a_report_saying_so_and_exit_108() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report, err) = grade_for_gradescope(&dir.path().join("lazy-submission.patch"));
    assert_eq!(code, Some(108), "{err}");
    assert_eq!(report["score"], 0);
    let output = report["output"].as_str().unwrap();
    assert!(output.contains("cannot read the patch"), "{output}");
    assert!(output.contains("no such file"), "{output}");
    assert!(err.contains("lazy-submission.patch"), "{err}");
}

#[test]
fn a_directory_named_as_the_patch_gets_a_report_saying_so_and_exit_108() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report, err) = grade_for_gradescope(dir.path());
    assert_eq!(code, Some(108), "{err}");
    let output = report["output"].as_str().unwrap();
    assert!(output.contains("it is a directory"), "{output}");
    assert_eq!(report["tests"].as_array().unwrap().len(), 2);
}

#[test]
fn a_work_tree_that_is_missing_or_not_a_copy_gets_a_report_saying_so_and_exit_1() {
    let home = Home::new("10s");
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("notes.txt"), "hello").unwrap();
    for (tree, why) in [
        (files.path().join("missing"), "cannot read work tree"),
        (files.path().to_path_buf(), "has none of the lab's files"),
    ] {
        let (out, left) = Run::new(&home, "shell")
            .args(&[
                "grade",
                "lazy",
                "--tree",
                &tree.display().to_string(),
                "--format",
                "json",
            ])
            .output();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(why), "{err}");
        let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(report["build"]["stage"], "prepare", "{report:#}");
        assert_eq!(report["score"], 0);
        assert!(report["build"]["reason"].as_str().unwrap().contains(why));
        assert!(left.groups().is_empty());
        left.assert_no_temp_left();
    }
}

/// A patch file written for a test.
fn patch_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn bad_patches_get_one_clear_message_and_a_distinct_exit_code_each() {
    let home = Home::new("10s");
    let files = tempfile::tempdir().unwrap();
    let mutants = repo().join("grading/lazy/mutants");
    let user = mutants.join("touches-user.patch").display().to_string();
    let not_applying = mutants.join("does-not-apply.patch").display().to_string();
    let dotdot = patch_file(
        files.path(),
        "escape.patch",
        "diff --git a/kernel/src/../../evil.rs b/kernel/src/../../evil.rs\n\
         new file mode 100644\n--- /dev/null\n+++ b/kernel/src/../../evil.rs\n@@ -0,0 +1 @@\n+x\n",
    );
    let garbage = patch_file(
        files.path(),
        "garbage.patch",
        "this is not a patch\nat all\n",
    );
    let empty = patch_file(files.path(), "empty.patch", "");
    // The paths are clean: the variant says it is a link or a submodule,
    // the CLI does not guess from the path.
    let symlink = patch_file(
        files.path(),
        "symlink.patch",
        "diff --git a/kernel/src/link.rs b/kernel/src/link.rs\nnew file mode 120000\n\
         --- /dev/null\n+++ b/kernel/src/link.rs\n@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n",
    );
    let submodule = patch_file(
        files.path(),
        "submodule.patch",
        "diff --git a/kernel/src/sub b/kernel/src/sub\nnew file mode 160000\nindex 0000000..1234567\n\
         --- /dev/null\n+++ b/kernel/src/sub\n@@ -0,0 +1 @@\n+Subproject commit 1234567890123456789012345678901234567890\n",
    );
    let reads_host = patch_file(
        files.path(),
        "reads-host.patch",
        "--- /dev/null\n+++ b/kernel/src/evil.rs\n@@ -0,0 +1 @@\n+pub const P: &str = include_str!(\"/etc/passwd\");\n",
    );

    let cases: [(&str, &str, u8, &str); 8] = [
        ("user/", user.as_str(), 102, "user/src/bin/lazytests.rs"),
        ("../", dotdot.as_str(), 103, ".."),
        ("symlink", symlink.as_str(), 103, "a symbolic link"),
        ("submodule", submodule.as_str(), 103, "a submodule"),
        ("garbage", garbage.as_str(), 104, "not a patch"),
        ("empty", empty.as_str(), 105, "empty"),
        (
            "does not apply",
            not_applying.as_str(),
            106,
            "does not apply",
        ),
        (
            "reads the host",
            reads_host.as_str(),
            107,
            "kernel/src/evil.rs:1: include_str! reads a file of the grading machine",
        ),
    ];
    let mut codes = Vec::new();
    for (what, patch, code, needle) in cases {
        let (out, left) = Run::new(&home, "shell")
            .args(&["grade", "lazy", "--patch", patch])
            .output();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code.into()), "{what}: {err}");
        assert!(err.contains(needle), "{what}: {err}");
        // One message: a single `xvlab:` line, no Rust panic.
        assert_eq!(err.matches("xvlab:").count(), 1, "{what}: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert!(left.groups().is_empty(), "{what}: no VM may start");
        left.assert_no_temp_left();
        codes.push(code);
    }
    codes.dedup();
    assert_eq!(codes, [102, 103, 104, 105, 106, 107]);
}

/// A patch adding `kernel/src/evil.rs` with every way of reading the host
/// that the audit refuses, one per line.
const READS_HOST: &[&str] = &[
    r#"pub const A: &str = include_str!("/etc/passwd");"#,
    r#"pub const B: &[u8] = ::core::include_bytes!("/etc/passwd");"#,
    r#"include!("/etc/evil.rs");"#,
    r#"pub const D: &str = env!("HOME");"#,
    r#"pub const E: Option<&str> = option_env!("HOME");"#,
    "use core::include_str as innocent;",
    r#"#[path = "/etc/evil.rs"] mod evil;"#,
    r#"#[cfg_attr(all(), path = "/etc/evil.rs")] mod evil2;"#,
    r#"core::arch::global_asm!(".incbin \"/etc/passwd\"");"#,
    r#"core::arch::global_asm!(concat!(".inc", "lude \"/etc/x.s\""));"#,
];

fn reads_host_patch(dir: &Path) -> String {
    let mut text = format!(
        "--- /dev/null\n+++ b/kernel/src/evil.rs\n@@ -0,0 +1,{} @@\n",
        READS_HOST.len()
    );
    for line in READS_HOST {
        text.push_str(&format!("+{line}\n"));
    }
    patch_file(dir, "reads-host.patch", &text)
}

#[test]
fn source_that_reads_the_host_is_refused_before_the_build_with_a_json_report() {
    let home = Home::new("10s");
    let files = tempfile::tempdir().unwrap();
    let patch = reads_host_patch(files.path());
    let results = files.path().join("report.json");
    let (out, left) = Run::new(&home, "shell")
        .args(&[
            "grade",
            "lazy",
            "--patch",
            &patch,
            "--format",
            "json",
            "--output",
            &results.display().to_string(),
        ])
        .output();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(107), "{err}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&results).unwrap()).unwrap();
    // Refused by the audit, so never built and no VM ran.
    assert_eq!(report["build"]["status"], "refused", "{report:#}");
    assert_eq!(report["build"]["stage"], "audit", "{report:#}");
    assert_eq!(report["build"]["exit_code"], 107, "{report:#}");
    assert!(left.groups().is_empty());
    assert_eq!(report["score"], 0);
    let reason = report["build"]["reason"].as_str().unwrap();
    for line in 1..=READS_HOST.len() {
        let at = format!("kernel/src/evil.rs:{line}: ");
        assert!(reason.contains(&at), "no finding at {at}: {reason}");
        assert!(err.contains(&at), "no finding at {at}: {err}");
    }
    for construct in [
        "include_str! reads",
        "include_bytes! reads",
        "include! reads",
        "env! reads",
        "option_env! reads",
        "#[path]",
        ".incbin",
        ".include",
    ] {
        assert!(reason.contains(construct), "{construct}: {reason}");
    }
    assert!(
        report["tests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "failed"
                && t["output"].as_str().unwrap().contains("include_str!"))
    );
    left.assert_no_temp_left();
}

#[test]
fn the_test_only_switch_skips_the_audit() {
    let home = Home::new("10s");
    let files = tempfile::tempdir().unwrap();
    // Not a module of the kernel, so it builds without reading anything;
    // the audit alone refuses it.
    let patch = patch_file(
        files.path(),
        "unused.patch",
        "--- /dev/null\n+++ b/kernel/src/unused.rs\n@@ -0,0 +1 @@\n+pub const H: &str = env!(\"HOME\");\n",
    );
    let (out, _) = Run::new(&home, "shell")
        .args(&["grade", "lazy", "--patch", &patch])
        .output();
    assert_eq!(out.status.code(), Some(107), "{}", stderr(&out));
    let mut run = Run::new(&home, "shell").args(&["grade", "lazy", "--patch", &patch]);
    run.cmd.env("XVLAB_TEST_SKIP_AUDIT", "1");
    let (out, _) = run.output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// The solution with `sys_exec` printing a verdict itself, as the
/// canned-output mutant does.
const PRINTS_VERDICT: &str = "\
--- a/kernel/src/sysfile.rs
+++ b/kernel/src/sysfile.rs
@@ -437,6 +437,10 @@ pub fn sys_exec() -> SysResult {
     let mut path_buf = [0u8; MAXPATH];
     let path = argpath(0, &mut path_buf)?;
     let uargv = argaddr(1);
+    if path.ends_with(b\"sbrkarg\") {
+        crate::println!(\"test sbrkarg: OK\");
+        crate::proc::exit(0);
+    }
 
     let mut args = ArgPages {
         pages: [None; MAXARG],
";

/// A rubric whose test looks for `test sbrkarg: OK`, as the lazy lab's
/// does (the fake QEMU's shell prints it when told to): the review's
/// vocabulary comes from the rubric.
const VERDICT_RUBRIC: &str = include_str!("fixtures/verdict.rubric.toml");

#[test]
fn a_kernel_that_prints_a_verdict_is_flagged_for_review_in_every_format() {
    let home = Home::with_rubric(VERDICT_RUBRIC);
    let files = tempfile::tempdir().unwrap();
    let patch = patch_file(files.path(), "forge.patch", PRINTS_VERDICT);
    let flag = "kernel/src/sysfile.rs:441: the string \"test sbrkarg: OK\" spells the verdict line \"test sbrkarg: OK\"";

    let (out, _) = Run::new(&home, "shell")
        .args(&["grade", "lazy", "--patch", &patch])
        .output();
    // Flagged, not refused: graded as usual.
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let review = text.find("Review: ").expect(&text);
    assert!(review < text.find("build: OK").unwrap(), "{text}");
    assert!(text.contains(&format!("    {flag}\n")), "{text}");

    let (out, _) = Run::new(&home, "shell")
        .args(&["grade", "lazy", "--patch", &patch, "--format", "json"])
        .output();
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let review = report["review"].as_array().unwrap();
    assert!(
        review.iter().any(|r| r["file"] == "kernel/src/sysfile.rs"
            && r["line"] == 441
            && r["reason"]
                .as_str()
                .unwrap()
                .contains("\"test sbrkarg: OK\"")),
        "{report:#}"
    );
    assert_eq!(report["score"], 10);

    let (out, _) = Run::new(&home, "shell")
        .args(&["grade", "lazy", "--patch", &patch, "--format", "gradescope"])
        .output();
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let tests = report["tests"].as_array().unwrap();
    let entry = tests
        .iter()
        .find(|t| t["name"] == "review: suspicious submission")
        .expect("a review entry");
    assert_eq!(entry["visibility"], "hidden");
    assert_eq!(
        (entry["score"].as_u64(), entry["max_score"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(
        entry["output"].as_str().unwrap().contains(flag),
        "{entry:#}"
    );
    assert_eq!(report["score"], 10);
}

#[test]
fn a_kernel_that_does_not_compile_is_an_outcome_with_the_compiler_errors() {
    let home = Home::new("10s");
    let patch = repo().join("grading/lazy/mutants/does-not-compile.patch");
    let (out, left) = Run::new(&home, "shell")
        .args(&["grade", "lazy", "--patch", &patch.display().to_string()])
        .output();
    assert_eq!(out.status.code(), Some(101), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("error[E0425]"), "{text}");
    assert!(text.contains("kernel/src/trap.rs"), "{text}");
    assert!(text.contains("Score: 0/10"), "{text}");
    assert!(left.groups().is_empty());
    left.assert_no_temp_left();
}

#[test]
fn a_missing_qemu_is_named_with_the_commands_that_install_it() {
    let home = Home::new("10s");
    let mut run = Run::new(&home, "shell").args(&["grade", "lazy", "--patch", &solution()]);
    run.cmd
        .env("XVLAB_QEMU", "/nonexistent/qemu-system-riscv64");
    let (out, left) = run.output();
    assert_eq!(out.status.code(), Some(110));
    assert!(stderr(&out).contains("XVLAB_QEMU"), "{}", stderr(&out));
    left.assert_no_temp_left();

    let mut run = Run::new(&home, "shell").args(&["doctor"]);
    run.cmd
        .env("XVLAB_QEMU", "/nonexistent/qemu-system-riscv64");
    let (out, _) = run.output();
    assert_eq!(out.status.code(), Some(110));
    assert!(
        stdout(&out).contains("apt-get install -y qemu-system-misc"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn usage_errors_exit_2() {
    let home = Home::new("10s");
    let (out, _) = Run::new(&home, "shell")
        .args(&["grade", "--bogus"])
        .output();
    assert_eq!(out.status.code(), Some(2));
    let (out, _) = Run::new(&home, "shell")
        .args(&[
            "grade",
            "lazy",
            "--patch",
            &solution(),
            "--test",
            "no such test",
        ])
        .output();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no such test"));
}

#[test]
fn check_rubric_accepts_the_lab_and_refuses_a_broken_rubric() {
    let home = Home::new("10s");
    let (out, _) = Run::new(&home, "shell")
        .args(&["check-rubric", "lazy"])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("ok"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("rubric.toml");
    std::fs::write(
        &bad,
        RUBRIC
            .replace("TIMEOUT", "10s")
            .replace("points = 5", "points = 4"),
    )
    .unwrap();
    let (out, _) = Run::new(&home, "shell")
        .args(&["check-rubric", &bad.display().to_string()])
        .output();
    assert_eq!(out.status.code(), Some(111));
    assert!(stderr(&out).contains("add up"), "{}", stderr(&out));
}

#[test]
fn keep_writes_the_tree_build_log_transcripts_and_report() {
    let home = Home::new("10s");
    let keep = tempfile::tempdir().unwrap();
    let (out, left) = Run::new(&home, "shell")
        .args(&[
            "grade",
            "lazy",
            "--patch",
            &solution(),
            "--keep",
            &keep.path().display().to_string(),
        ])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(keep.path().join("tree/kernel/src/vm.rs").is_file());
    assert!(keep.path().join("build.log").is_file());
    let transcript = std::fs::read_to_string(keep.path().join("transcripts/boot.txt")).unwrap();
    assert!(transcript.contains("init: starting sh"), "{transcript}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(keep.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(report["score"], 10);
    left.assert_no_temp_left();
}

#[test]
fn a_refused_patch_still_gets_a_gradescope_report_saying_why() {
    let home = Home::new("10s");
    let user = repo().join("grading/lazy/mutants/touches-user.patch");
    let out_dir = tempfile::tempdir().unwrap();
    let results = out_dir.path().join("results.json");
    let (out, left) = Run::new(&home, "shell")
        .args(&[
            "grade",
            "lazy",
            "--patch",
            &user.display().to_string(),
            "--format",
            "gradescope",
            "--output",
            &results.display().to_string(),
        ])
        .output();
    assert_eq!(out.status.code(), Some(102), "{}", stderr(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&results).unwrap()).unwrap();
    assert_eq!(report["score"], 0);
    let output = report["output"].as_str().unwrap();
    assert!(
        output.contains("refused") && output.contains("user/src/bin/lazytests.rs"),
        "{output}"
    );
    assert!(
        report["tests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "failed")
    );
    left.assert_no_temp_left();
}

#[test]
fn a_refused_patch_is_a_result_with_its_stage_in_every_format_and_its_kinds_exit_code() {
    let home = Home::new("10s");
    let user = repo()
        .join("grading/lazy/mutants/touches-user.patch")
        .display()
        .to_string();
    let why = "patch 1 (touches-user.patch) changes `user/src/bin/lazytests.rs`";

    let (out, left) = Run::new(&home, "shell")
        .args(&["grade", "lazy", "--patch", &user])
        .output();
    assert_eq!(out.status.code(), Some(102), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("prepare: REFUSED\n    {why}")),
        "{text}"
    );
    assert!(
        text.contains("all 2 tests failed: the submission was refused when it was prepared\n"),
        "{text}"
    );
    assert!(text.ends_with("Score: 0/10\n"), "{text}");
    assert!(left.groups().is_empty(), "no VM may start");

    let files = tempfile::tempdir().unwrap();
    for format in ["json", "gradescope"] {
        let results = files.path().join(format!("{format}.json"));
        let (out, left) = Run::new(&home, "shell")
            .args(&[
                "grade",
                "lazy",
                "--patch",
                &user,
                "--format",
                format,
                "--output",
                &results.display().to_string(),
            ])
            .output();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(102), "{format}: {err}");
        assert_eq!(err.matches("xvlab:").count(), 1, "{format}: {err}");
        assert!(err.contains(why), "{format}: {err}");
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&results).unwrap()).unwrap();
        assert_eq!(report["score"], 0, "{format}");
        let output = report["output"].as_str().unwrap();
        assert!(
            output.contains(&format!(
                "the submission was refused when it was prepared: {why}"
            )),
            "{format}: {output}"
        );
        let tests = report["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 2, "{format}");
        for test in tests {
            assert_eq!(test["status"], "failed", "{format}: {test}");
            assert_eq!(test["score"], 0, "{format}: {test}");
            assert!(
                test["output"].as_str().unwrap().contains(why),
                "{format}: {test}"
            );
        }
        if format == "json" {
            assert_eq!(report["status"], "refused");
            assert_eq!(report["build"]["stage"], "prepare");
            assert_eq!(report["build"]["exit_code"], 102);
            assert!(report["sessions"].as_array().unwrap().is_empty());
        }
        assert!(left.groups().is_empty(), "{format}: no VM may start");
        left.assert_no_temp_left();
    }

    // `build` refuses it with the same code and message, and no report.
    let output = files.path().join("built");
    let (out, left) = Run::new(&home, "shell")
        .args(&[
            "build",
            "--lab",
            "lazy",
            "--patch",
            &user,
            "--output",
            &output.display().to_string(),
        ])
        .output();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(102), "{err}");
    assert!(err.contains(&format!("xvlab: {why}")), "{err}");
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(!output.exists());
    left.assert_no_temp_left();
}

/// A rubric in which every kernel fails the test `fails` at once, while
/// the VM of `slow` hangs far longer than a test may take.
const FAIL_FAST_RUBRIC: &str = include_str!("fixtures/fail-fast.rubric.toml");

#[test]
fn mutants_are_killed_by_the_first_failed_test_without_waiting_for_the_others_and_kept() {
    let home = Home::with_rubric(FAIL_FAST_RUBRIC);
    let started = Instant::now();
    let (out, left) = Run::new(&home, "shell")
        .args(&[
            "mutants", "lazy", "--sample", "1", "--jobs", "4", "--force", "--format", "json",
        ])
        .output();
    let elapsed = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["judged"], 1);
    assert_eq!(report["survived"], 0);
    let mutant = &report["mutants"][0];
    assert_eq!(mutant["outcome"], "killed", "{mutant}");
    assert_eq!(mutant["test"], "fails", "{mutant}");
    assert!(
        mutant["diff"]
            .as_str()
            .unwrap()
            .starts_with("diff --git a/kernel/src/"),
        "{mutant}"
    );
    // The hanging VM was cancelled when `fails` failed, not waited for.
    assert!(elapsed < Duration::from_secs(55), "took {elapsed:?}");
    // The probe, `fails` and, unless `fails` had failed before it was
    // due to start, `slow`: both are right, and neither waits for it.
    let groups = left.groups().len();
    assert!(
        (2..=3).contains(&groups),
        "{groups} VMs started: the probe, `fails` and perhaps `slow`"
    );
    left.assert_no_vm_left();
    left.assert_no_temp_left();

    // A rerun grades nothing: the result is kept by the mutant's key.
    let (out, left) = Run::new(&home, "shell")
        .args(&["mutants", "lazy", "--sample", "1", "--jobs", "4"])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0 graded now, 1 kept from earlier runs"),
        "{}",
        stdout(&out)
    );
    assert!(left.groups().is_empty(), "a kept result boots no VM");
}

#[test]
fn a_mutant_no_test_kills_is_shown_with_its_diff_and_exits_113() {
    // Under the test rubric and the fake QEMU every kernel passes.
    let home = Home::new("10s");
    let (out, left) = Run::new(&home, "shell")
        .args(&["mutants", "lazy", "--sample", "1", "--jobs", "2"])
        .output();
    assert_eq!(
        out.status.code(),
        Some(113),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(text.contains("1 survived"), "{text}");
    assert!(text.contains("survived: kernel/src/"), "{text}");
    assert!(text.contains("~ changed by cargo-mutants ~"), "{text}");
    left.assert_no_vm_left();

    // Listed as equivalent, the same mutant passes the analysis.
    let listed = Run::new(&home, "shell")
        .args(&[
            "mutants", "lazy", "--list", "--sample", "1", "--format", "json",
        ])
        .output()
        .0;
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let m = &listed[0];
    let entry = format!(
        "[[mutant]]\nfile = '{}'\nfunction = '{}'\nmutation = '{}'\nreason = 'the test rubric cannot tell'\n",
        m["file"].as_str().unwrap(),
        m["function"].as_str().unwrap(),
        m["mutation"].as_str().unwrap()
    );
    std::fs::write(
        home.path().join("grading/lazy/equivalent-mutants.toml"),
        entry,
    )
    .unwrap();
    let (out, _) = Run::new(&home, "shell")
        .args(&["mutants", "lazy", "--sample", "1", "--jobs", "2"])
        .output();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("1 equivalent, 0 survived"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn mutants_list_names_the_mutants_of_the_solution_and_a_missing_cargo_mutants_says_how_to_install_it()
 {
    let home = Home::new("10s");
    let (out, left) = Run::new(&home, "shell")
        .args(&["mutants", "lazy", "--list"])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("replace growproc -> Result<(), ()> with Ok(())"),
        "{text}"
    );
    assert!(text.lines().all(|l| l.starts_with("kernel/src/")), "{text}");
    assert!(left.groups().is_empty(), "listing boots nothing");
    left.assert_no_temp_left();

    let mut run = Run::new(&home, "shell").args(&["mutants", "lazy", "--list"]);
    run.cmd
        .env("XVLAB_CARGO_MUTANTS", "/nonexistent/cargo-mutants");
    let (out, _) = run.output();
    assert_eq!(out.status.code(), Some(110));
    assert!(
        stderr(&out).contains("cargo install --locked cargo-mutants"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ctrl_c_stops_a_mutation_analysis_keeps_what_was_judged_and_exits_130() {
    let home = Home::new("120s");
    // One mutant judged and kept.
    let (out, _) = Run::new(&home, "shell")
        .args(&["mutants", "lazy", "--sample", "1", "--jobs", "1", "--force"])
        .output();
    assert_eq!(out.status.code(), Some(113), "{}", stderr(&out));
    // The next run reports it at once and is interrupted grading another.
    let run = Run::new(&home, "hang").args(&["mutants", "lazy", "--sample", "2", "--jobs", "1"]);
    let (out, left) = interrupt_after_first_vm(run);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("interrupted: the results are partial"),
        "{text}"
    );
    assert!(text.contains("1 judged"), "{text}");
    assert!(text.contains("1 kept from earlier runs"), "{text}");
    left.assert_no_vm_left();
    left.assert_no_temp_left();
}

/// Grade the solution under the fake QEMU in `mode`, keeping the files in
/// `dir`; returns the run's output.
fn grade_kept(home: &Home, mode: &str, dir: &Path) -> Output {
    let (out, _) = Run::new(home, mode)
        .args(&[
            "grade",
            "lazy",
            "--patch",
            &solution(),
            "--keep",
            &dir.display().to_string(),
        ])
        .output();
    out
}

fn diff(home: &Home, args: &[&str]) -> Output {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    Run::new(home, "shell").args(&all).output().0
}

#[test]
fn kept_transcripts_of_two_runs_mask_the_token_and_diff_clean() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for kept in [&a, &b] {
        let out = grade_kept(&home, "shell", kept);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let text = std::fs::read_to_string(a.join("transcripts/boot.txt")).unwrap();
    // The token is typed and echoed; kept normalised, it is masked.
    assert!(text.contains("$ echo hi …\nhi …\n"), "{text}");
    let raw = String::from_utf8_lossy(&std::fs::read(a.join("transcripts/boot.raw")).unwrap())
        .into_owned();
    let token = raw
        .lines()
        .find_map(|l| l.strip_prefix("hi "))
        .expect("the raw transcript holds the token")
        .trim();
    assert!(!token.is_empty() && !text.contains(token), "{text}");
    let out = diff(&home, &[&a.display().to_string(), &b.display().to_string()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).starts_with("no differences"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn diff_lists_status_changes_first_then_the_transcript_diffs() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let (good, bad) = (dir.path().join("good"), dir.path().join("bad"));
    assert_eq!(grade_kept(&home, "shell", &good).status.code(), Some(0));
    assert_eq!(grade_kept(&home, "panic", &bad).status.code(), Some(100));
    let out = diff(
        &home,
        &[&good.display().to_string(), &bad.display().to_string()],
    );
    assert_eq!(out.status.code(), Some(115), "{}", stderr(&out));
    let text = stdout(&out);
    let change = text.find("echo hi: passed 5/5 → failed 0/5").expect(&text);
    let hunk = text.find("--- a/boot\n+++ b/boot\n").expect(&text);
    assert!(change < hunk, "{text}");
    assert!(text.contains("+panic: something"), "{text}");
    // Not a terminal: no colour.
    assert!(!text.contains('\x1b'), "{text}");

    let out = diff(
        &home,
        &[
            "--stat",
            &good.display().to_string(),
            &bad.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(115));
    assert!(stdout(&out).contains("  boot: -"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("@@"), "{}", stdout(&out));

    let out = diff(
        &home,
        &[
            "--quiet",
            &good.display().to_string(),
            &bad.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(115));
    assert_eq!(stdout(&out), "");

    let out = diff(
        &home,
        &[
            "--format",
            "json",
            &good.display().to_string(),
            &bad.display().to_string(),
        ],
    );
    let result: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(result["differs"], true);
    assert_eq!(result["changes"][0]["test"], "echo hi");
    assert_eq!(result["changes"][0]["b"]["status"], "failed");
}

#[test]
fn diff_compares_two_json_reports_by_their_tests() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for mode in ["shell", "panic"] {
        let path = dir.path().join(format!("{mode}.json"));
        let (out, _) = Run::new(&home, mode)
            .args(&["grade", "lazy", "--patch", &solution(), "--format", "json"])
            .args(&["-o", &path.display().to_string()])
            .output();
        assert!(path.is_file(), "{}", stderr(&out));
        reports.push(path.display().to_string());
    }
    let out = diff(&home, &[&reports[0], &reports[0]]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = diff(&home, &[&reports[0], &reports[1]]);
    assert_eq!(out.status.code(), Some(115), "{}", stderr(&out));
    assert!(stdout(&out).contains("echo hi: passed 5/5 → failed 0/5"));
    assert!(
        stdout(&out).contains("--- a/test echo hi"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn diff_of_what_is_not_a_grading_says_what_to_give_it() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello\n").unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = dir.path().join("missing");
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"tests\": 3}").unwrap();
    for (path, says) in [
        (&text, "neither a folder kept by"),
        (&empty, "neither a folder kept by"),
        (&missing, "no such file or folder"),
        (&broken, "no `tests` list"),
    ] {
        let p = path.display().to_string();
        let out = diff(&home, &[&p, &p]);
        assert_eq!(out.status.code(), Some(2), "{p}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(says) && err.contains("--keep DIR"),
            "{p}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = diff(&home, &[&text.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn keep_into_a_folder_that_is_not_empty_is_refused_and_left_alone() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("transcripts-of-another-run.txt");
    std::fs::write(&old, "old\n").unwrap();
    let (out, left) = Run::new(&home, "shell")
        .args(&["grade", "lazy", "--patch", &solution()])
        .args(&["--keep", &dir.path().display().to_string()])
        .output();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not an empty folder"),
        "{}",
        stderr(&out)
    );
    assert_eq!(left.groups().len(), 0, "nothing was graded");
    assert_eq!(std::fs::read_to_string(&old).unwrap(), "old\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// A class folder: the solution twice (a patch, and an mbox with its own
/// header), a patch that touches a user program (refused), one that does
/// not compile, and a student folder holding a patch; beside it a
/// Gradescope export of one submission with its metadata.
fn class(dir: &Path) -> (PathBuf, PathBuf) {
    let solution = std::fs::read_to_string(solution()).unwrap();
    let class = dir.join("class");
    std::fs::create_dir_all(class.join("erin")).unwrap();
    std::fs::write(class.join("alice.patch"), &solution).unwrap();
    std::fs::write(
        class.join("bob.mbox"),
        format!("From: Bob <bob@example.edu>\nSubject: lazy\n\n{solution}"),
    )
    .unwrap();
    for (id, mutant) in [("carol", "touches-user"), ("dave", "does-not-compile")] {
        std::fs::copy(
            repo().join(format!("grading/lazy/mutants/{mutant}.patch")),
            class.join(format!("{id}.patch")),
        )
        .unwrap();
    }
    std::fs::write(
        class.join("erin/0001-lazy.patch"),
        format!("Subject: erin\n\n{solution}"),
    )
    .unwrap();
    let export = dir.join("export");
    std::fs::create_dir_all(export.join("submission_7")).unwrap();
    std::fs::write(
        export.join("submission_7/lazy.patch"),
        format!("Subject: frank\n\n{solution}"),
    )
    .unwrap();
    std::fs::write(
        export.join("submission_metadata.yml"),
        "submission_7:\n  :submitters:\n  - :name: Frank Example\n    :sid: '42'\n    :email: frank@example.edu\n  :score: 0.0\n",
    )
    .unwrap();
    (class, export)
}

fn grade_all(home: &Home, args: &[&str]) -> (Output, Leftovers) {
    let mut all = vec!["grade-all", "lazy", "--jobs", "2"];
    all.extend_from_slice(args);
    Run::new(home, "shell").args(&all).output()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_class_is_graded_in_one_command_and_a_rerun_grades_nothing_again() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let (class, export) = class(dir.path());
    let out = dir.path().join("out");
    let args = [
        class.to_str().unwrap(),
        export.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    let (o, left) = grade_all(&home, &args);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let book = read(&out.join("gradebook.csv"));
    assert_eq!(
        book,
        "id,name,email,sid,score,max,status,review,echo hi,work\n\
         alice,,,,10,10,graded,,5,5\n\
         bob,,,,10,10,graded,,5,5\n\
         carol,,,,0,10,refused,,0,0\n\
         dave,,,,0,10,not_built,,0,0\n\
         erin,,,,10,10,graded,,5,5\n\
         submission_7,Frank Example,frank@example.edu,42,10,10,graded,,5,5\n"
    );
    // Each student's reports are what `grade` writes.
    let report: serde_json::Value =
        serde_json::from_str(&read(&out.join("students/carol/report.json"))).unwrap();
    assert_eq!(report["status"], "refused");
    assert_eq!(report["build"]["exit_code"], 102);
    let results: serde_json::Value =
        serde_json::from_str(&read(&out.join("students/alice/results.json"))).unwrap();
    assert_eq!(results["score"], 10);
    let summary = stdout(&o);
    assert!(
        summary.contains("refused:\n  carol: patch 1 (carol.patch) changes `user/"),
        "{summary}"
    );
    assert!(
        summary.contains("did not build:\n  dave: error"),
        "{summary}"
    );
    assert!(summary.contains("6 of 6 graded now"), "{summary}");
    left.assert_no_vm_left();
    left.assert_no_temp_left();

    let (o, left) = grade_all(&home, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("0 of 6 graded now"), "{}", stdout(&o));
    assert!(left.groups().is_empty(), "a rerun boots no VM");
    assert_eq!(read(&out.join("gradebook.csv")), book);
}

#[test]
fn identical_hand_ins_share_one_grading_but_each_report_names_its_own_file() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("class");
    // Two students' folders holding the same kernel tree.
    for id in ["ann", "ben"] {
        common::copy_tree(&home.path().join("reference-kernel"), &class.join(id));
    }
    let out = dir.path().join("out");
    let (o, left) = grade_all(
        &home,
        &[class.to_str().unwrap(), "--output", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert_eq!(left.groups().len(), 2, "one grading: its two VMs");
    for (id, other) in [("ann", "ben"), ("ben", "ann")] {
        let report: serde_json::Value =
            serde_json::from_str(&read(&out.join(format!("students/{id}/report.json")))).unwrap();
        let said = report["submission"].as_str().unwrap();
        assert!(said.ends_with(&format!("class/{id}")), "{id}: {said}");
        let page = read(&out.join(format!("students/{id}/report.html")));
        assert!(page.contains(&format!("class/{id}")), "{id}'s page");
        assert!(
            !page.contains(&format!("class/{other}")),
            "{id}'s page names {other}"
        );
    }
}

#[test]
fn class_inputs_that_cannot_be_used_get_one_clear_message_and_exit_2() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let (class, _) = class(dir.path());
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(class.join("alice.patch"), other.join("alice.diff")).unwrap();
    let out = dir.path().join("out");
    let (o, _) = grade_all(
        &home,
        &[
            class.to_str().unwrap(),
            other.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("the id `alice` is both"),
        "{}",
        stderr(&o)
    );
    let missing = dir.path().join("missing");
    let (o, _) = grade_all(
        &home,
        &[missing.to_str().unwrap(), "-o", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("failed to read"), "{}", stderr(&o));
    let (o, _) = grade_all(
        &home,
        &[
            class.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--partition",
            "hash:4/3",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!out.exists(), "nothing graded, nothing written");
}

#[test]
fn an_interrupted_class_keeps_what_finished_and_a_rerun_completes_the_same_gradebook() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let (class, _) = class(dir.path());
    let out = dir.path().join("out");
    let args = [
        "grade-all",
        "lazy",
        "--jobs",
        "2",
        class.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    let Run { mut cmd, tmp, pids } = Run::new(&home, "shell").args(&args);
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // SIGTERM (as a job scheduler sends it) once a first result is kept.
    let kept = out.join("kept");
    let count = || {
        std::fs::read_dir(&kept)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                    .count()
            })
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    while count() == 0 {
        assert!(Instant::now() < deadline, "nothing was graded");
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let finished = count();
    assert!(finished < 5, "{finished} of 5 finished before SIGTERM");
    assert!(
        stderr(&o).contains("run the same command again"),
        "{}",
        stderr(&o)
    );
    Leftovers {
        pids,
        tmp: tmp.path().join("tmp"),
        _keep: tmp,
    }
    .assert_no_vm_left();

    let (o, left) = Run::new(&home, "shell").args(&args).output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let now = format!("{} of 5 graded now", 5 - finished);
    assert!(stdout(&o).contains(&now), "{now}: {}", stdout(&o));
    left.assert_no_vm_left();
    // The same gradebook as a run that was never interrupted.
    let fresh = dir.path().join("fresh");
    let (o, _) = grade_all(
        &home,
        &[class.to_str().unwrap(), "-o", fresh.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for file in ["gradebook.csv", "summary.json"] {
        assert_eq!(read(&out.join(file)), read(&fresh.join(file)), "{file}");
    }
}

/// The line of the GitHub Actions workflow that grades a shard, for shard
/// `k` (its `${{ matrix.shard }}` filled in).
fn workflow_shard_command(k: u32) -> String {
    let workflow = read(&repo().join("examples/github-actions/grade-class.yml"));
    let line = workflow
        .lines()
        .find_map(|l| l.trim().strip_prefix("run: bash examples/class.sh shard"))
        .expect("the workflow grades its shard with examples/class.sh");
    format!(
        "bash examples/class.sh shard{}",
        line.replace("${{ matrix.shard }}", &k.to_string())
    )
}

#[test]
fn shards_of_the_ci_and_slurm_examples_merge_into_the_unsharded_gradebook_byte_for_byte() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let (class, _) = class(dir.path());
    let whole = dir.path().join("whole");
    let (o, _) = grade_all(
        &home,
        &[class.to_str().unwrap(), "-o", whole.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let expected = read(&whole.join("gradebook.csv"));

    // GitHub Actions: the workflow's own command lines, run where the
    // checkout would be (the class in submissions/).
    let ci = dir.path().join("ci");
    std::fs::create_dir_all(&ci).unwrap();
    std::os::unix::fs::symlink(repo().join("examples"), ci.join("examples")).unwrap();
    std::os::unix::fs::symlink(&class, ci.join("submissions")).unwrap();
    let shell = |cwd: &Path, script: &str, env: &[(&str, String)]| {
        let mut run = Run::new(&home, "shell");
        run.cmd = Command::new("bash");
        run.cmd
            .args(["-c", script])
            .current_dir(cwd)
            .env("XVLAB", env!("CARGO_BIN_EXE_xvlab"))
            .env("XVLAB_HOME", home.path())
            .env("XVLAB_QEMU", fake_qemu())
            .env("XVLAB_CACHE", cache_dir())
            .env("FAKE_QEMU_MODE", "shell")
            .env("JOBS", "2");
        for (k, v) in env {
            run.cmd.env(k, v);
        }
        let (o, left) = run.output();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{script}: {}\n{}",
            stdout(&o),
            stderr(&o)
        );
        left.assert_no_vm_left();
    };
    for k in 1..=3 {
        shell(&ci, &workflow_shard_command(k), &[]);
    }
    shell(&ci, "bash examples/class.sh merge out", &[]);
    assert_eq!(read(&ci.join("out/class/gradebook.csv")), expected);
    assert_eq!(
        read(&ci.join("out/class/summary.json")),
        read(&whole.join("summary.json"))
    );
    // The class's JUnit file and index page, as the unsharded run's but
    // for the timings (each student's grading took its own time) and the
    // hand-ins' paths (the workflow names the class `submissions/`).
    let timeless = |text: String| {
        let text = regex::Regex::new(r#"time="[0-9.]+""#)
            .unwrap()
            .replace_all(&text, "time=\"\"")
            .into_owned();
        regex::Regex::new(r"[0-9]+(\.[0-9]+)? ?s\b")
            .unwrap()
            .replace_all(&text, "S")
            .into_owned()
    };
    for file in ["junit.xml", "index.html"] {
        let merged = read(&ci.join("out/class").join(file));
        let unsharded =
            read(&whole.join(file)).replace(&format!("{}/", class.display()), "submissions/");
        assert_eq!(timeless(merged), timeless(unsharded), "{file}");
    }
    // As a CI reporter reads it: a suite per student of all three shards,
    // sorted by id, and a link per student to their copied page.
    assert_junit_and_index(
        &ci.join("out/class"),
        &["alice", "bob", "carol", "dave", "erin"],
    );

    // A shard without a student's report (written by an older xvlab) is
    // refused before anything is written, saying what to do.
    let (old, model) = (1..=3)
        .map(|k| ci.join(format!("out/shard-{k}")))
        .find_map(|shard| {
            let student = std::fs::read_dir(shard.join("students"))
                .ok()?
                .next()?
                .ok()?;
            Some((shard, student.path().join("model.json")))
        })
        .expect("a shard with a student");
    std::fs::remove_file(&model).unwrap();
    let merged = dir.path().join("merged-old");
    let mut run =
        Run::new(&home, "shell").args(&["merge", merged.to_str().unwrap(), old.to_str().unwrap()]);
    run.cmd.current_dir(&ci);
    let (o, _) = run.output();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("model.json cannot be read"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("grade the shard again"),
        "{}",
        stderr(&o)
    );
    assert!(!merged.join("gradebook.csv").exists());

    // Slurm: the job script itself, as each array task runs it.
    let slurm = dir.path().join("slurm");
    for k in 1..=3 {
        shell(
            dir.path(),
            &format!(
                "bash {} {} {}",
                repo().join("examples/slurm/grade-class.sbatch").display(),
                class.display(),
                slurm.display()
            ),
            &[
                ("SLURM_ARRAY_TASK_ID", k.to_string()),
                ("SLURM_ARRAY_TASK_COUNT", "3".to_string()),
                ("SLURM_SUBMIT_DIR", repo().display().to_string()),
            ],
        );
    }
    shell(
        dir.path(),
        &format!(
            "bash {} merge {}",
            repo().join("examples/class.sh").display(),
            slurm.display()
        ),
        &[],
    );
    assert_eq!(read(&slurm.join("class/gradebook.csv")), expected);
}

#[test]
fn a_grader_fault_is_retried_listed_and_graded_again_by_the_next_run() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let (class, _) = class(dir.path());
    let out = dir.path().join("out");
    // An emulator that cannot be started: every VM is a grader fault.
    let broken = dir.path().join("qemu-system-riscv64");
    std::fs::write(&broken, "not a program\n").unwrap();
    let args = [class.to_str().unwrap(), "-o", out.to_str().unwrap()];
    let mut all = vec!["grade-all", "lazy", "--jobs", "2"];
    all.extend_from_slice(&args);
    let mut run = Run::new(&home, "shell").args(&all);
    run.cmd.env("XVLAB_QEMU", &broken);
    let (o, left) = run.output();
    assert_eq!(o.status.code(), Some(116), "{}\n{}", stdout(&o), stderr(&o));
    let book = read(&out.join("gradebook.csv"));
    assert!(book.contains("\nalice,,,,0,10,grader_fault,"), "{book}");
    assert!(book.contains("\ncarol,,,,0,10,refused,"), "{book}");
    let summary = stdout(&o);
    assert!(
        summary.contains("grader faults (not graded; rerun to grade them again):\n  alice: "),
        "{summary}"
    );
    left.assert_no_temp_left();

    // With QEMU back, only the three faulted submissions are graded.
    let (o, _) = grade_all(&home, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("3 of 5 graded now"), "{}", stdout(&o));
    assert!(read(&out.join("gradebook.csv")).contains("\nalice,,,,10,10,graded,"));
}

/// The real QEMU on PATH; `None` (the test skips) if it is not installed,
/// unless `XVLAB_REQUIRE_QEMU` is set, as CI sets it.
fn real_qemu() -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("qemu-system-riscv64"))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("XVLAB_REQUIRE_QEMU").is_none(),
            "qemu-system-riscv64 is required (XVLAB_REQUIRE_QEMU is set)"
        );
    }
    found
}

#[test]
fn under_real_qemu_the_gradebook_rows_are_the_solo_gradings_results() {
    let Some(qemu) = real_qemu() else {
        return;
    };
    let home = Home::new("10s");
    // Deadlines from the rubric alone: the reference durations are for
    // the real rubric's sessions.
    let _ = std::fs::remove_file(home.path().join("grading/lazy/durations.toml"));
    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("class");
    std::fs::create_dir_all(&class).unwrap();
    let mut solo: Vec<(&str, Vec<String>)> = Vec::new();
    for (id, patch) in [
        ("solution", repo().join("grading/lazy/solution.patch")),
        (
            "refused",
            repo().join("grading/lazy/mutants/touches-user.patch"),
        ),
        (
            "unbuilt",
            repo().join("grading/lazy/mutants/does-not-compile.patch"),
        ),
        (
            "hangs",
            repo().join("grading/lazy/mutants/hangs-at-boot.patch"),
        ),
    ] {
        let to = class.join(format!("{id}.patch"));
        std::fs::copy(patch, &to).unwrap();
        solo.push((id, vec!["--patch".into(), to.display().to_string()]));
    }
    // The starter, as a student copy.
    let starter = class.join("starter");
    let (o, _) = Run::new(&home, "shell")
        .args(&["init", "lazy", starter.to_str().unwrap()])
        .output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    solo.push((
        "starter",
        vec!["--tree".into(), starter.display().to_string()],
    ));

    let with_qemu = |args: &[&str]| {
        let mut run = Run::new(&home, "shell").args(args);
        run.cmd
            .env("XVLAB_QEMU", &qemu)
            .env_remove("FAKE_QEMU_MODE");
        run.output()
    };
    let out = dir.path().join("out");
    let (o, left) = with_qemu(&[
        "grade-all",
        "lazy",
        "--jobs",
        "1",
        class.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    left.assert_no_temp_left();
    let summary: serde_json::Value =
        serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    let rows = summary["students"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    for (id, args) in &solo {
        let mut all = vec!["grade", "lazy", "--jobs", "1", "--format", "json"];
        all.extend(args.iter().map(String::as_str));
        let (o, _) = with_qemu(&all);
        let report: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{id}: {e}: {}", stderr(&o)));
        let row = rows.iter().find(|r| r["id"] == *id).unwrap();
        for field in ["score", "max_score", "status"] {
            assert_eq!(row[field], report[field], "{id}: {field}");
        }
        let scores = |tests: &serde_json::Value| -> Vec<(String, u64)> {
            tests
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    (
                        t["name"].as_str().unwrap().to_string(),
                        t["score"].as_u64().unwrap(),
                    )
                })
                .collect()
        };
        assert_eq!(scores(&row["tests"]), scores(&report["tests"]), "{id}");
    }
    let status = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap()["status"].clone();
    assert_eq!(status("solution"), "graded");
    assert_eq!(status("refused"), "refused");
    assert_eq!(status("unbuilt"), "not_built");
    let hangs = rows.iter().find(|r| r["id"] == "hangs").unwrap();
    assert_eq!(hangs["score"], 0, "{hangs}");
}

/// A student copy made by `xvlab init` in `parent`.
fn init_copy(home: &Home, parent: &Path) -> PathBuf {
    let copy = parent.join("copy");
    let (out, _) = Run::new(home, "shell")
        .args(&["init", "lazy", &copy.display().to_string()])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    copy
}

/// A student's own program: a user program against the user library.
const HELLO: &str = "//! hello: a student's own program.\n\n#![no_std]\n#![no_main]\n\nuse user::{Args, FdWriter};\n\nuser::entry!(main);\n\nfn main(_args: Args) -> i32 {\n    let mut out = FdWriter::new(1);\n    out.write_bytes(b\"hello from my program\\n\");\n    out.flush();\n    0\n}\n";

#[test]
fn a_copys_own_programs_are_built_onto_the_image_for_build_but_never_shadow_or_reach_grade() {
    let home = Home::new("30s");
    let files = tempfile::tempdir().unwrap();
    let copy = init_copy(&home, files.path());
    std::fs::write(copy.join("user/src/bin/hello.rs"), HELLO).unwrap();
    std::fs::write(files.path().join("mine.rs"), HELLO).unwrap();
    let built = files.path().join("built");
    let copy_arg = copy.display().to_string();
    let mine = files.path().join("mine.rs").display().to_string();
    let (out, left) = Run::new(&home, "shell")
        .args(&["build", "--tree", &copy_arg, "--add", &mine, "--output"])
        .args(&[&built.display().to_string()])
        .output();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("hello.rs"), "not 'ignored': {err}");
    let image = std::fs::read(built.join("fs.img")).unwrap();
    let image = xv6fs::Image::parse(&image).unwrap();
    for program in ["/hello", "/mine", "/usertests"] {
        let elf = image.read_file(program).unwrap();
        assert!(elf.starts_with(b"\x7fELF"), "{program}");
    }
    left.assert_no_temp_left();

    // A source or a binary named like a grader program is refused.
    let shadow = files.path().join("usertests.rs");
    std::fs::write(&shadow, HELLO).unwrap();
    let not_elf = files.path().join("notes");
    std::fs::write(&not_elf, "not a program").unwrap();
    for (add, why) in [
        (&shadow, "`usertests` is one of the starter's programs"),
        (&not_elf, "is not a RISC-V 64-bit ELF program"),
    ] {
        let (out, _) = Run::new(&home, "shell")
            .args(&["build", "--tree", &copy_arg, "--add"])
            .args(&[&add.display().to_string(), "--output"])
            .args(&[&files.path().join("x").display().to_string()])
            .output();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(why), "{}", stderr(&out));
    }

    // A source that reads the host is refused by the same audit.
    std::fs::write(
        copy.join("user/src/bin/peek.rs"),
        HELLO.replace(
            "b\"hello from my program\\n\"",
            "include_bytes!(\"/etc/passwd\")",
        ),
    )
    .unwrap();
    let (out, _) = Run::new(&home, "shell")
        .args(&["build", "--tree", &copy_arg, "--output"])
        .args(&[&files.path().join("y").display().to_string()])
        .output();
    assert_eq!(out.status.code(), Some(107), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("user/src/bin/peek.rs"),
        "{}",
        stderr(&out)
    );

    // Grading builds only the grader's programs.
    std::fs::remove_file(copy.join("user/src/bin/peek.rs")).unwrap();
    let keep = files.path().join("kept");
    let (out, _) = Run::new(&home, "shell")
        .args(&["grade", "--tree", &copy_arg, "--format", "json", "--keep"])
        .args(&[&keep.display().to_string()])
        .output();
    assert!(
        keep.join("tree/user/src/bin/usertests").is_dir(),
        "{}",
        stderr(&out)
    );
    assert!(!keep.join("tree/user/src/bin/hello.rs").exists());
}

#[test]
fn jobs_0_is_refused_by_every_command_that_takes_jobs() {
    let home = Home::new("10s");
    for command in ["grade", "self-test", "mutants", "grade-all"] {
        let (out, _) = Run::new(&home, "shell")
            .args(&[command, "lazy", "--jobs", "0"])
            .output();
        assert_eq!(out.status.code(), Some(2), "{command}");
        assert!(
            stderr(&out).contains("0 VMs would run nothing: give at least 1"),
            "{command}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn every_command_takes_the_lab_as_an_argument_and_still_as_lab() {
    let home = Home::new("30s");
    let out_dir = tempfile::tempdir().unwrap();
    for lab in [&["lazy"][..], &["--lab", "lazy"]] {
        let (out, _) = Run::new(&home, "shell")
            .args(&["run"])
            .args(lab)
            .args(&["--", "echo hi"])
            .output();
        assert_eq!(out.status.code(), Some(0), "{lab:?}: {}", stderr(&out));
        let dest = out_dir.path().join(lab.len().to_string());
        let (out, _) = Run::new(&home, "shell")
            .args(&["build"])
            .args(lab)
            .args(&["--output", &dest.display().to_string()])
            .output();
        assert_eq!(out.status.code(), Some(0), "{lab:?}: {}", stderr(&out));
        assert!(dest.join("fs.img").is_file());
    }
    let (out, _) = Run::new(&home, "shell")
        .args(&["run", "nosuchlab", "--", "ls"])
        .output();
    assert_eq!(out.status.code(), Some(111), "{}", stderr(&out));
}

#[test]
fn qemu_gdb_keeps_the_kernel_and_a_gdbinit_in_the_copy_on_a_port_stable_per_user() {
    let home = Home::new("30s");
    let files = tempfile::tempdir().unwrap();
    let copy = init_copy(&home, files.path());
    let uid = nix::unistd::getuid().as_raw();
    let mut ports = Vec::new();
    for _ in 0..2 {
        let (out, left) = Run::new(&home, "exit")
            .args(&["qemu", "--gdb", "--tree", &copy.display().to_string()])
            .output();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{err}");
        let gdbinit = copy.join(".gdbinit");
        assert!(
            err.contains(&format!("gdb-multiarch -x {}", gdbinit.display())),
            "{err}"
        );
        assert!(err.contains("add-auto-load-safe-path"), "{err}");
        let init = std::fs::read_to_string(&gdbinit).unwrap();
        assert!(init.contains("set architecture riscv:rv64"), "{init}");
        let kernel = copy.join(".xvlab/kernel");
        assert!(
            init.contains(&format!("file {}", kernel.display())),
            "{init}"
        );
        assert!(std::fs::read(&kernel).unwrap().starts_with(b"\x7fELF"));
        let port: u16 = init
            .lines()
            .find_map(|l| l.strip_prefix("target remote 127.0.0.1:"))
            .unwrap()
            .parse()
            .unwrap();
        // The user's own port, or one of the next when it is busy.
        let own = 25000 + (uid % 5000) as u16;
        assert!((own..own + 100).contains(&port), "{port}");
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
        ports.push(port);
        left.assert_no_temp_left();
    }
    assert_eq!(ports[0], ports[1], "the same port at every boot");
    // Nothing of it shows in git, and nothing of it is packed.
    let status = std::process::Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(&copy)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout), "");
}

#[test]
fn list_names_the_tests_with_points_and_session_without_building() {
    let home = Home::new("10s");
    let (out, left) = Run::new(&home, "fail-start")
        .args(&["grade", "lazy", "--list"])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "echo hi    5  boot\nwork       5  work\n2 tests, 10 points\n"
    );
    assert!(left.groups().is_empty(), "no VM booted");
    let (out, _left) = Run::new(&home, "fail-start")
        .args(&[
            "grade", "lazy", "--list", "--test", "work", "--format", "json",
        ])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let tests: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        tests,
        serde_json::json!([{ "name": "work", "points": 5, "session": "work" }])
    );
}

#[test]
fn failed_reruns_what_failed_in_the_copys_last_grading() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("lazy");
    let (out, _left) = Run::new(&home, "shell")
        .args(&["init", "lazy", copy.to_str().unwrap()])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let grade = |mode: &str, args: &[&str]| {
        let mut all = vec!["grade"];
        all.extend_from_slice(args);
        Run::new(&home, mode).in_dir(&copy).args(&all).output()
    };

    let (out, _left) = grade("shell", &["--failed"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("has not been graded yet"),
        "{}",
        stderr(&out)
    );

    // Every command panics the fake kernel: both tests fail.
    let (out, _left) = grade("panic", &[]);
    assert_eq!(out.status.code(), Some(100), "{}", stderr(&out));
    // Then only `work` is graded, and passes; `--failed` runs `echo hi`.
    let (out, _left) = grade("shell", &["--test", "work"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (out, left) = grade("shell", &["--failed"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Score 5/5 · 1/1 passed"), "{text}");
    assert!(text.contains("echo hi ("), "{text}");
    assert_eq!(left.groups().len(), 1, "only the boot VM ran");

    let (out, left) = grade("shell", &["--failed"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("every test passed"),
        "{}",
        stderr(&out)
    );
    assert!(left.groups().is_empty(), "nothing ran");
    // The record is the copy's, not the student's work: git ignores it.
    let status = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(&copy)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout), "");
    assert!(copy.join(".xvlab/last.json").is_file());
}

/// A JUnit suite as [`junit_suites`] reads it.
type Suite = (String, [u64; 4], Option<(String, String, String)>);

/// Per suite of a JUnit file, as `junitparser` (a JUnit consumer from
/// PyPI; scripts/setup.sh installs it) reads it: the name and the counts
/// of tests, failures, errors and skipped; and the first case's result
/// (kind, type and message), `None` if it passed.
fn junit_suites(path: &Path) -> Vec<Suite> {
    const READER: &str = r#"
import json, sys
from junitparser import JUnitXml
out = []
for suite in JUnitXml.fromfile(sys.argv[1]):
    first = [[type(r).__name__, r.type, r.message] for case in suite for r in case.result][:1]
    out.append([suite.name, [suite.tests, suite.failures, suite.errors, suite.skipped],
                first[0] if first else None])
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", READER])
        .arg(path)
        .output()
        .expect("python3 runs (scripts/setup.sh installs junitparser)");
    assert!(
        out.status.success(),
        "junitparser failed (scripts/setup.sh installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The links of an HTML page, in order.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

/// What a CI reporter and a person opening the index see of a run of
/// [`class`] (`ids`: the students it had): a suite per student with the
/// right counts, and a link per student to a page that exists.
fn assert_junit_and_index(out: &Path, ids: &[&str]) {
    let suites = junit_suites(&out.join("junit.xml"));
    let counts: Vec<_> = suites
        .iter()
        .map(|(id, counts, first)| {
            let kind = first.as_ref().map(|(kind, ty, _)| format!("{kind} {ty}"));
            (id.as_str(), *counts, kind)
        })
        .collect();
    let expected: Vec<_> = ids
        .iter()
        .map(|&id| match id {
            "carol" => (id, [2, 2, 0, 0], Some("Failure refused".to_string())),
            "dave" => (id, [2, 2, 0, 0], Some("Failure not_built".to_string())),
            _ => (id, [2, 0, 0, 0], None),
        })
        .collect();
    assert_eq!(counts, expected);
    // The refused and the unbuilt fail with their reason.
    let message = |id: &str| {
        let suite = suites.iter().find(|s| s.0 == id).unwrap();
        suite.2.as_ref().unwrap().2.clone()
    };
    assert!(
        message("carol").contains("(carol.patch) changes `user/"),
        "{}",
        message("carol")
    );
    assert!(
        message("dave").contains("did not build"),
        "{}",
        message("dave")
    );
    let index = read(&out.join("index.html"));
    let pages = links(&index);
    let want: Vec<String> = ids
        .iter()
        .map(|id| format!("students/{id}/report.html"))
        .collect();
    assert_eq!(pages, want, "{index}");
    for page in &pages {
        let html = read(&out.join(page));
        assert!(html.starts_with("<!DOCTYPE html>"), "{page}");
    }
    assert!(read(&out.join("students/alice/report.html")).contains("10/10"));
}

#[test]
fn a_class_gets_a_junit_file_and_an_html_index_also_when_resumed_and_only_of_its_roster() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let (class, _) = class(dir.path());
    let out = dir.path().join("out");
    let args = [class.to_str().unwrap(), "-o", out.to_str().unwrap()];
    let (o, _) = grade_all(&home, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let all = ["alice", "bob", "carol", "dave", "erin"];
    assert_junit_and_index(&out, &all);
    let xml = read(&out.join("junit.xml"));

    // Resumed from kept results only: the same complete files.
    std::fs::remove_file(out.join("junit.xml")).unwrap();
    std::fs::remove_file(out.join("index.html")).unwrap();
    let (o, left) = grade_all(&home, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("0 of 5 graded now"), "{}", stdout(&o));
    assert!(left.groups().is_empty(), "a rerun boots no VM");
    assert_junit_and_index(&out, &all);
    assert_eq!(read(&out.join("junit.xml")), xml);

    // Bob left the class: his folder goes, and no file lists him.
    std::fs::remove_file(class.join("bob.mbox")).unwrap();
    let (o, _) = grade_all(&home, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("(not in this run's roster): bob\n"),
        "{}",
        stdout(&o)
    );
    assert!(!out.join("students/bob").exists());
    let left: Vec<_> = std::fs::read_dir(out.join("students"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(left, ["alice", "carol", "dave", "erin"]);
    assert_junit_and_index(&out, &["alice", "carol", "dave", "erin"]);
    let book = read(&out.join("gradebook.csv"));
    assert!(!book.contains("\nbob,"), "{book}");
    let summary: serde_json::Value =
        serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert_eq!(summary["submissions"], 4);
}

#[test]
fn a_grader_fault_is_retried_exactly_once_and_the_summary_says_so() {
    let home = Home::new("10s");
    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("class");
    std::fs::create_dir_all(&class).unwrap();
    std::fs::copy(solution(), class.join("alice.patch")).unwrap();
    let out = dir.path().join("out");
    // One test, so one VM an attempt: the VMs started count the attempts.
    let args = [
        "grade-all",
        "lazy",
        class.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--test",
        "echo",
        "--force",
    ];
    // The first VM dies as the OOM killer kills: the retry grades it.
    let (o, left) = Run::new(&home, "killed-first 1").args(&args).output();
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains(
            "retried once after a grader fault (1):\n  alice: QEMU was killed (SIGKILL, out of memory?); the retry graded it\n"
        ),
        "{}",
        stdout(&o)
    );
    assert_eq!(left.groups().len(), 2, "one attempt and one retry");
    assert!(read(&out.join("gradebook.csv")).contains("\nalice,,,,5,5,graded,"));

    // Every VM dies: retried once, not again, and listed as a fault.
    let (o, left) = Run::new(&home, "killed-first 100").args(&args).output();
    assert_eq!(o.status.code(), Some(116), "{}\n{}", stdout(&o), stderr(&o));
    let summary = stdout(&o);
    assert!(
        summary.contains(
            "retried once after a grader fault (1):\n  alice: QEMU was killed (SIGKILL, out of memory?); failed again\n"
        ),
        "{summary}"
    );
    assert!(
        summary.contains("grader faults (not graded; rerun to grade them again):\n  alice: QEMU"),
        "{summary}"
    );
    assert_eq!(left.groups().len(), 2, "one attempt and one retry");
    left.assert_no_vm_left();
}
