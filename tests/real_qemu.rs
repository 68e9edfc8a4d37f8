//! One session under the real QEMU with the reference kernel: the command
//! line boots, the shell's prompt and echo look as the runner expects, and
//! the VM is gone afterwards. Skipped, with a message saying why, when QEMU
//! or the built kernel is missing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::killpg;
use nix::unistd::Pid;
use tokio_util::sync::CancellationToken;
use xv6fs::ImageBuilder;
use xvlab::run::qemu::{Machine, Vm, free_gdb_port, locate_qemu};
use xvlab::run::session::{SessionEnd, SessionObserver, SessionSpec, run_session};

const PROGRAMS: &[&str] = &["init", "sh", "echo", "cat", "ls"];

fn release_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("reference-kernel/target/riscv64gc-unknown-none-elf/release")
}

#[derive(Default)]
struct Pid0(Arc<Mutex<Option<u32>>>);

impl SessionObserver for Pid0 {
    fn started(&mut self, pid: u32) {
        *self.0.lock().expect("lock") = Some(pid);
    }
}

/// QEMU and the release directory, or why the test cannot run.
fn prerequisites() -> Result<(PathBuf, PathBuf), String> {
    let qemu = locate_qemu().map_err(|e| format!("failed to {e}"))?;
    let release = release_dir();
    let missing: Vec<_> = std::iter::once("kernel")
        .chain(PROGRAMS.iter().copied())
        .filter(|p| !release.join(p).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{missing:?} not built; run `cd reference-kernel && cargo build --release`"
        ));
    }
    Ok((qemu, release))
}

#[tokio::test]
async fn reference_kernel_boots_and_runs_commands() {
    let (qemu, release) = match prerequisites() {
        Ok(found) => found,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };

    let dir = tempfile::tempdir().expect("temporary directory");
    let mut builder = ImageBuilder::default();
    for program in PROGRAMS {
        let data = std::fs::read(release.join(program)).expect("read user program");
        builder.add_file(program, &data).expect("add to image");
    }
    builder
        .add_file("README", b"hello from the image\n")
        .expect("add README");
    let image = dir.path().join("fs.img");
    std::fs::write(&image, builder.finish()).expect("write image");

    let machine = Machine::new(qemu, release.join("kernel"), image);
    let spec = SessionSpec {
        name: "real".into(),
        commands: vec!["echo hello xvlab".into(), "cat README".into()],
        done: None,
        timeout: Duration::from_secs(30),
        cpus: 2,
        output_cap: 1 << 20,
        start_timeout: None,
        snapshot: None,
    };
    let mut observer = Pid0::default();
    let outcome = run_session(&machine, &spec, &CancellationToken::new(), &mut observer)
        .await
        .expect("session runs");
    let text = outcome.transcript.text();
    assert_eq!(outcome.end, SessionEnd::Completed, "{text}");
    let output: Vec<&str> = outcome.transcript.output().collect();
    assert!(output.contains(&"hello xvlab"), "{text}");
    assert!(output.contains(&"hello from the image"), "{text}");
    assert!(
        outcome.duration < Duration::from_secs(10),
        "{:?}",
        outcome.duration
    );
    // QEMU is a single process: its group is gone once it is reaped.
    let pid = observer.0.lock().expect("lock").expect("QEMU started");
    let pgid = Pid::from_raw(i32::try_from(pid).expect("pid fits"));
    assert_eq!(killpg(pgid, None), Err(nix::errno::Errno::ESRCH));
}

#[tokio::test]
async fn gdb_stub_listens_on_the_chosen_port() {
    let (qemu, release) = match prerequisites() {
        Ok(found) => found,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let image = dir.path().join("fs.img");
    std::fs::write(&image, ImageBuilder::default().finish()).expect("write image");
    let mut machine = Machine::new(qemu, release.join("kernel"), image);
    let port = free_gdb_port().expect("free port");
    machine.gdb = Some(port);
    let (vm, _console) = Vm::spawn(&machine).expect("QEMU starts");
    let mut connected = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            connected = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pgid = Pid::from_raw(i32::try_from(vm.pid()).expect("pid fits"));
    vm.stop().await;
    assert!(connected, "nothing listens on 127.0.0.1:{port}");
    assert_eq!(killpg(pgid, None), Err(nix::errno::Errno::ESRCH));
}
