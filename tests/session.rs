//! Sessions against the fake QEMU (`tests/fake-qemu/qemu-system-riscv64`):
//! every way a session can end, and after each one, that no process of the
//! VM's process group is left running and QEMU itself was reaped.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use regex::Regex;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use xvlab::run::qemu::{Machine, QemuError};
use xvlab::run::session::{
    SessionEnd, SessionError, SessionObserver, SessionOutcome, SessionSpec, Waiting, run_session,
};
use xvlab::run::transcript::LineKind;

/// "Stopped early": far below every session's own timeout, far above any
/// machine's scheduling noise.
const EARLY: Duration = Duration::from_secs(5);

fn fake_qemu() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake-qemu/qemu-system-riscv64")
}

/// A machine whose "kernel" tells the fake QEMU to behave as `mode`.
struct Fake {
    dir: TempDir,
    machine: Machine,
}

fn fake(mode: &str) -> Fake {
    let dir = tempfile::tempdir().expect("temporary directory");
    let kernel = dir.path().join("kernel");
    let image = dir.path().join("fs.img");
    std::fs::write(&kernel, format!("{mode}\n")).expect("write fake kernel");
    std::fs::write(&image, b"").expect("write fake image");
    let machine = Machine::new(fake_qemu(), kernel, image);
    Fake { dir, machine }
}

fn spec(commands: &[&str], timeout: Duration) -> SessionSpec {
    SessionSpec {
        name: "test".to_string(),
        commands: commands.iter().map(|c| c.to_string()).collect(),
        done: None,
        timeout,
        cpus: 1,
        output_cap: 1 << 20,
        start_timeout: None,
        snapshot: None,
    }
}

/// Records QEMU's pid and everything the console printed.
#[derive(Clone, Default)]
struct Recorder {
    pid: Arc<Mutex<Option<u32>>>,
    console: Arc<Mutex<Vec<u8>>>,
}

impl SessionObserver for Recorder {
    fn started(&mut self, pid: u32) {
        *self.pid.lock().expect("lock") = Some(pid);
    }
    fn console(&mut self, bytes: &[u8]) {
        self.console.lock().expect("lock").extend_from_slice(bytes);
    }
}

impl Recorder {
    fn pid(&self) -> u32 {
        self.pid.lock().expect("lock").expect("QEMU was started")
    }
}

/// Processes of process group `pgid` that still count: alive, or dead but
/// not reaped by us (a zombie whose parent is this test). A straggler whose
/// parent died is reaped by init, which the test cannot hurry.
fn leftovers(pgid: u32) -> Vec<String> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...; comm may contain spaces.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(state), Some(ppid), Some(pgrp)) = (fields.first(), fields.get(1), fields.get(2))
        else {
            continue;
        };
        if pgrp.parse::<u32>().ok() != Some(pgid) {
            continue;
        }
        let unreaped_child = *state == "Z" && ppid.parse::<u32>().ok() == Some(me);
        if *state != "Z" || unreaped_child {
            found.push(format!("{head}) {state}"));
        }
    }
    found
}

/// No process of QEMU's group may outlive the session. A straggler that was
/// sent SIGKILL may take a moment to finish dying (it is not our child, so
/// nothing waited for it): allow that, and nothing more.
fn assert_group_gone(recorder: &Recorder) {
    let pid = recorder.pid();
    let mut left = leftovers(pid);
    for _ in 0..40 {
        if left.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
        left = leftovers(pid);
    }
    panic!("processes of QEMU's group {pid} left: {left:?}");
}

async fn run(fake: &Fake, spec: &SessionSpec) -> (SessionOutcome, Recorder) {
    let mut recorder = Recorder::default();
    let outcome = run_session(
        &fake.machine,
        spec,
        &CancellationToken::new(),
        &mut recorder,
    )
    .await
    .expect("session runs");
    assert_group_gone(&recorder);
    (outcome, recorder)
}

fn output(outcome: &SessionOutcome) -> Vec<&str> {
    outcome.transcript.output().collect()
}

#[tokio::test]
async fn completes_at_the_prompt_after_the_last_command() {
    let fake = fake("shell");
    let spec = spec(&["echo hello", "echo world"], Duration::from_secs(30));
    let (outcome, recorder) = run(&fake, &spec).await;
    assert_eq!(outcome.end, SessionEnd::Completed);
    assert!(outcome.duration < EARLY, "{:?}", outcome.duration);
    let lines: Vec<_> = outcome
        .transcript
        .lines()
        .iter()
        .map(|l| (l.text.as_str(), l.kind))
        .collect();
    assert!(lines.ends_with(&[
        ("init: starting sh", LineKind::Output),
        ("$ echo hello", LineKind::Input),
        ("hello", LineKind::Output),
        ("$ echo world", LineKind::Input),
        ("world", LineKind::Output),
        ("$ ", LineKind::Output),
    ]));
    // --verbose sees exactly what the transcript keeps.
    assert_eq!(
        *recorder.console.lock().expect("lock"),
        outcome.transcript.raw()
    );
}

#[tokio::test]
async fn background_output_and_dollars_mid_line_do_not_confuse_prompts() {
    let fake = fake("shell");
    let spec = spec(
        &["bg zombie!", "cost", "tick 5", "echo end"],
        Duration::from_secs(30),
    );
    let (outcome, _) = run(&fake, &spec).await;
    assert_eq!(outcome.end, SessionEnd::Completed);
    let out = output(&outcome);
    assert!(out.contains(&"cost: $ 5"));
    assert!(out.contains(&"tick 5"));
    assert!(out.contains(&"end"));
}

#[tokio::test]
async fn an_enormous_timeout_is_no_timeout() {
    let fake = fake("shell");
    let (outcome, _) = run(&fake, &spec(&["echo hi"], Duration::MAX)).await;
    assert_eq!(outcome.end, SessionEnd::Completed);
}

#[tokio::test]
async fn waits_for_a_slow_first_prompt() {
    let fake = fake("slow-prompt 1");
    let spec = spec(&["echo up"], Duration::from_secs(30));
    let (outcome, _) = run(&fake, &spec).await;
    assert_eq!(outcome.end, SessionEnd::Completed);
    assert!(output(&outcome).contains(&"up"));
}

#[tokio::test]
async fn done_line_ends_the_session_early() {
    let fake = fake("shell");
    let mut spec = spec(&["tick 1000", "echo never"], Duration::from_secs(30));
    spec.done = Some(Regex::new("^tick 2$").expect("regex"));
    let (outcome, _) = run(&fake, &spec).await;
    assert_eq!(outcome.end, SessionEnd::Completed);
    assert!(outcome.duration < EARLY, "{:?}", outcome.duration);
    let out = output(&outcome);
    assert!(out.contains(&"tick 2"));
    assert!(!out.contains(&"tick 50"));
    assert!(!outcome.transcript.text().contains("echo never"));
}

#[tokio::test]
async fn done_never_matches_the_echo_of_a_command() {
    let fake = fake("shell");
    let mut spec = spec(&["hang tok-1234"], Duration::from_secs(1));
    spec.done = Some(Regex::new("tok-1234").expect("regex"));
    let (outcome, _) = run(&fake, &spec).await;
    assert_eq!(
        outcome.end,
        SessionEnd::TimedOut {
            waiting_for: Waiting::Command {
                index: 0,
                command: "hang tok-1234".into()
            },
            after: Duration::from_secs(1),
        }
    );
}

#[tokio::test]
async fn kernel_panic_is_reported_at_once_with_its_location() {
    let fake = fake("panic");
    let spec = spec(&["echo hi", "echo never"], Duration::from_secs(30));
    let (outcome, _) = run(&fake, &spec).await;
    assert_eq!(
        outcome.end,
        SessionEnd::Panicked {
            line: "panic: something".into()
        }
    );
    assert!(
        outcome.duration < Duration::from_secs(2),
        "{:?}",
        outcome.duration
    );
    assert!(output(&outcome).contains(&"       at kernel/src/fake.rs:42"));
}

#[tokio::test]
async fn kernel_panic_while_booting() {
    let fake = fake("boot-panic");
    let spec = spec(&["echo hi"], Duration::from_secs(30));
    let (outcome, _) = run(&fake, &spec).await;
    assert_eq!(
        outcome.end,
        SessionEnd::Panicked {
            line: "panic: boot went wrong".into()
        }
    );
    assert!(outcome.duration < Duration::from_secs(2));
}

#[tokio::test]
async fn times_out_waiting_for_the_first_prompt() {
    for mode in ["hang", "hang-silent"] {
        let fake = fake(mode);
        let spec = spec(&["echo hi"], Duration::from_secs(1));
        let (outcome, _) = run(&fake, &spec).await;
        assert_eq!(
            outcome.end,
            SessionEnd::TimedOut {
                waiting_for: Waiting::FirstPrompt,
                after: Duration::from_secs(1),
            },
            "{mode}"
        );
        assert!(outcome.duration >= Duration::from_secs(1));
        assert!(outcome.duration < EARLY, "{:?}", outcome.duration);
    }
}

#[tokio::test]
async fn times_out_waiting_for_a_command() {
    let fake = fake("shell");
    let spec = spec(&["echo a", "hang", "echo b"], Duration::from_secs(1));
    let (outcome, _) = run(&fake, &spec).await;
    assert_eq!(
        outcome.end,
        SessionEnd::TimedOut {
            waiting_for: Waiting::Command {
                index: 1,
                command: "hang".into()
            },
            after: Duration::from_secs(1),
        }
    );
    assert!(output(&outcome).contains(&"a"));
}

#[tokio::test]
async fn flood_is_capped() {
    for (mode, commands) in [("flood", &[][..]), ("shell", &["flood"][..])] {
        let fake = fake(mode);
        let mut spec = spec(commands, Duration::from_secs(30));
        spec.output_cap = 64 * 1024;
        let (outcome, _) = run(&fake, &spec).await;
        assert_eq!(
            outcome.end,
            SessionEnd::OutputCapped { limit: 64 * 1024 },
            "{mode}"
        );
        assert_eq!(outcome.transcript.raw().len(), 64 * 1024);
        assert!(outcome.duration < EARLY, "{:?}", outcome.duration);
    }
}

#[tokio::test]
async fn qemu_exiting_by_itself_ends_the_session() {
    let fake = fake("exit 3");
    let (outcome, _) = run(&fake, &spec(&["echo hi"], Duration::from_secs(30))).await;
    assert_eq!(outcome.end, SessionEnd::QemuExited { status: Some(3) });

    let fake = self::fake("shell");
    let spec = spec(&["echo a", "poweroff 7", "echo b"], Duration::from_secs(30));
    let (outcome, _) = run(&fake, &spec).await;
    assert_eq!(outcome.end, SessionEnd::QemuExited { status: Some(7) });
    assert!(outcome.duration < EARLY);
}

#[tokio::test]
async fn qemu_failing_to_start_leaves_its_message_in_the_transcript() {
    let fake = fake("fail-start");
    let (outcome, _) = run(&fake, &spec(&["echo hi"], Duration::from_secs(30))).await;
    assert_eq!(outcome.end, SessionEnd::QemuExited { status: Some(1) });
    assert!(
        outcome
            .transcript
            .text()
            .contains("Could not open 'fs.img'"),
        "{}",
        outcome.transcript.text()
    );
}

#[tokio::test]
async fn vm_ignoring_sigterm_is_killed() {
    let fake = fake("shell");
    let marker = fake.dir.path().join("term-log");
    std::fs::write(
        &fake.machine.kernel,
        format!("ignore-term {}\n", marker.display()),
    )
    .expect("write fake kernel");
    let spec = spec(&["echo hi"], Duration::from_secs(30));
    // `run` checks that the group is gone.
    let (outcome, _) = run(&fake, &spec).await;
    assert_eq!(outcome.end, SessionEnd::Completed);
    // It got SIGTERM, shrugged it off, and still went away.
    let log = std::fs::read_to_string(&marker).unwrap_or_default();
    assert!(log.contains("term"), "SIGTERM was not delivered: {log:?}");
}

#[tokio::test]
async fn cancellation_stops_the_vm_and_keeps_the_transcript() {
    let fake = fake("shell");
    let spec = spec(&["echo a", "hang"], Duration::from_secs(30));
    let cancel = CancellationToken::new();
    let mut recorder = Recorder::default();
    let canceller = {
        let cancel = cancel.clone();
        let console = recorder.console.clone();
        tokio::spawn(async move {
            // Cancel once the second command is running.
            while !String::from_utf8_lossy(&console.lock().expect("lock")).contains("$ hang\n") {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            cancel.cancel();
        })
    };
    let outcome = run_session(&fake.machine, &spec, &cancel, &mut recorder)
        .await
        .expect("session runs");
    canceller.await.expect("canceller");
    assert_group_gone(&recorder);
    assert_eq!(outcome.end, SessionEnd::Cancelled);
    assert!(outcome.duration < EARLY);
    assert!(outcome.transcript.text().contains("$ hang\n"));
}

#[tokio::test]
async fn cancelled_before_start_boots_nothing() {
    let fake = fake("shell");
    let cancel = CancellationToken::new();
    cancel.cancel();
    let mut recorder = Recorder::default();
    let outcome = run_session(
        &fake.machine,
        &spec(&["echo a"], Duration::from_secs(30)),
        &cancel,
        &mut recorder,
    )
    .await
    .expect("session runs");
    assert_eq!(outcome.end, SessionEnd::Cancelled);
    assert_eq!(*recorder.pid.lock().expect("lock"), None);
}

#[tokio::test]
async fn dropping_the_session_future_stops_the_vm() {
    // Also when the VM ignores SIGTERM: the synchronous path must SIGKILL.
    for mode in ["shell", "ignore-term /dev/null"] {
        let fake = fake(mode);
        let spec = spec(&["hang"], Duration::from_secs(30));
        let mut recorder = Recorder::default();
        let cancel = CancellationToken::new();
        let session = run_session(&fake.machine, &spec, &cancel, &mut recorder);
        let cut = tokio::time::timeout(Duration::from_secs(1), session).await;
        assert!(cut.is_err(), "{mode}: the session should still be running");
        assert_group_gone(&recorder);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_sessions_do_not_interfere() {
    // Spawning also proves the session future is Send, as an orchestrator
    // running sessions on a multi-threaded runtime needs.
    let handles: Vec<_> = (0..6)
        .map(|i| {
            tokio::spawn(async move {
                let fake = fake("shell");
                let echo = format!("echo session-{i}");
                run(&fake, &spec(&[echo.as_str()], Duration::from_secs(30)))
                    .await
                    .0
            })
        })
        .collect();
    for (i, handle) in handles.into_iter().enumerate() {
        let outcome = handle.await.expect("session task");
        assert_eq!(outcome.end, SessionEnd::Completed);
        let out = output(&outcome);
        assert_eq!(
            out[out.len() - 2..],
            [format!("session-{i}").as_str(), "$ "]
        );
    }
}

#[tokio::test]
async fn missing_qemu_is_a_grader_error() {
    let mut fake = fake("shell");
    fake.machine.qemu = fake.dir.path().join("no-such-qemu");
    let err = run_session(
        &fake.machine,
        &spec(&["echo a"], Duration::from_secs(30)),
        &CancellationToken::new(),
        &mut (),
    )
    .await
    .expect_err("QEMU cannot start");
    assert!(matches!(err, SessionError::Qemu(QemuError::Spawn { .. })));
    assert!(err.to_string().starts_with("start QEMU ("), "{err}");
}

#[tokio::test]
async fn interactive_launcher_returns_qemu_status() {
    // Silent: the launcher's output goes to the test's own terminal.
    let fake = fake("silent-exit 5");
    let status = fake.machine.run_interactive().await.expect("QEMU runs");
    assert_eq!(status.code(), Some(5));
}

#[tokio::test]
async fn group_members_that_outlive_qemu_are_killed() {
    // A process of QEMU's group that ignores SIGTERM and SIGHUP, left behind
    // when QEMU stops on SIGTERM, exits by itself, or is dropped.
    let fake = fake("shell");
    let (outcome, _) = run(
        &fake,
        &spec(&["stubborn", "echo a"], Duration::from_secs(30)),
    )
    .await;
    assert_eq!(outcome.end, SessionEnd::Completed);

    let spec = spec(&["stubborn", "poweroff 4"], Duration::from_secs(30));
    let (outcome, _) = run(&fake, &spec).await;
    assert_eq!(outcome.end, SessionEnd::QemuExited { status: Some(4) });

    let spec = self::spec(&["stubborn", "hang"], Duration::from_secs(30));
    let mut recorder = Recorder::default();
    let cancel = CancellationToken::new();
    let session = run_session(&fake.machine, &spec, &cancel, &mut recorder);
    let cut = tokio::time::timeout(Duration::from_secs(1), session).await;
    assert!(cut.is_err(), "the session should still be running");
    assert_group_gone(&recorder);
}
