//! Snapshots: one VM of a grading boots, starts a test program that sets up
//! (counts the free pages) and waits for the rest of its command line, and
//! is saved there; each VM that runs that program then starts from the
//! saved machine instead of booting and setting up again, and types only
//! what is left (`-k TOKEN NAME`). Each is still a VM of its own: a crash or
//! a leak in one costs only its test.
//!
//! The mechanism is QEMU's migration, driven over QMP: the saving VM's
//! guest RAM is a file (`memory-backend-file,share=on`), so with the
//! `x-ignore-shared` capability the migration stream holds only the
//! devices' state (about 200 KB) and takes a few milliseconds; its disk is a
//! copy of the image that it writes in place. A restored VM maps that RAM
//! file copy-on-write (`share=off`) and the disk behind `-snapshot`, and
//! loads the device state with `-incoming defer` and `migrate-incoming`.
//! Nothing here needs a tool besides QEMU, and both sides keep QEMU's
//! seccomp sandbox (the streams go over Unix sockets xvlab holds, not
//! through `exec:`).
//!
//! A snapshot that cannot be taken (a kernel that panics or hangs while
//! setting up, a QEMU without these features) or restored is not an
//! outcome: the VMs boot as they would without one ([`Snapshot::take`] and
//! [`Snapshot::run`] say `None`).
//!
//! Gradings use snapshots only when asked (`xvlab grade --snapshots`): a
//! kernel that treats the test programs' command lines specially sees
//! `NAME -w` at exec and the rest only on the console, and can be graded
//! differently for it (see the README).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::FutureExt;
use regex::Regex;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

use crate::run::qemu::{Machine, Start};
use crate::run::session::{
    Continued, FromSnapshot, SessionError, SessionObserver, SessionOutcome, SessionSpec,
    run_continued, run_to_snapshot,
};
use crate::run::transcript::normalise;

/// What a snapshot program (`program`, its real name) prints once it waits
/// for the rest of its command line.
pub fn waiting_line(program: &str) -> String {
    format!("{program}: waiting for arguments")
}

/// How long a QMP or gdbstub step may take: each answers in milliseconds.
const STEP_LIMIT: Duration = Duration::from_secs(5);

/// Unix socket paths are limited to 108 bytes (with the NUL).
const SOCKET_PATH_MAX: usize = 100;

/// A machine saved where a program waits, and what its VM printed until
/// then. Its folder (RAM file, disk copy, device state) goes when it is
/// dropped.
#[derive(Debug)]
pub struct Snapshot {
    dir: PathBuf,
    /// The device state, as the saving VM sent it.
    state: Vec<u8>,
    continued: Continued,
    /// Sockets of restored VMs, numbered.
    next: AtomicUsize,
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Snapshot {
    /// Boot `machine` in `dir` (a new folder, made here), type `from.setup`
    /// at its prompt, and save the machine once `from.waiting` is printed,
    /// all within `timeout`. `None`: no snapshot (see the module's doc).
    pub async fn take(
        machine: &Machine,
        from: &FromSnapshot,
        dir: &Path,
        base: &SessionSpec,
        cancel: &CancellationToken,
    ) -> Result<Option<Snapshot>, SessionError> {
        let qmp = dir.join("qmp.sock");
        let out = dir.join("out.sock");
        if out.as_os_str().len() > SOCKET_PATH_MAX || std::fs::create_dir(dir).is_err() {
            return Ok(None);
        }
        let remove = |snapshot: Option<Snapshot>| {
            if snapshot.is_none() {
                let _ = std::fs::remove_dir_all(dir);
            }
            Ok(snapshot)
        };
        let disk = dir.join("disk.img");
        if std::fs::copy(&machine.image, &disk).is_err() {
            return remove(None);
        }
        let saving = Machine {
            image: disk,
            start: Start::Save {
                ram: dir.join("ram"),
                qmp: qmp.clone(),
            },
            ..machine.clone()
        };
        let waiting = format!("^{}$", regex::escape(&from.waiting));
        let spec = SessionSpec {
            name: format!("{} (snapshot)", base.name),
            commands: vec![from.setup.clone()],
            done: Regex::new(&waiting).ok(),
            snapshot: None,
            ..base.clone()
        };
        let mut state = Vec::new();
        let save = save(&qmp, &out, &mut state).map(|r| r.is_ok()).boxed();
        let Some(continued) = run_to_snapshot(&saving, &spec, cancel, save).await? else {
            return remove(None);
        };
        // The waiting line must be the last thing printed: anything after it
        // would be printed again by every restored VM's program.
        let text = normalise(&continued.raw);
        if !text.trim_end().ends_with(from.waiting.as_str()) || state.is_empty() {
            return remove(None);
        }
        remove(Some(Snapshot {
            dir: dir.to_path_buf(),
            state,
            continued,
            next: AtomicUsize::new(0),
        }))
    }

    /// Run `spec` (a session of the plan that starts from this snapshot,
    /// `from` its [`FromSnapshot`]) in a VM of `machine` restored from it.
    /// `None` if the restore failed: boot the session instead.
    pub async fn run(
        &self,
        machine: &Machine,
        spec: &SessionSpec,
        from: &FromSnapshot,
        cancel: &CancellationToken,
        observer: &mut dyn SessionObserver,
    ) -> Result<Option<SessionOutcome>, SessionError> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let qmp = self.dir.join(format!("q{n}.sock"));
        let incoming = self.dir.join(format!("i{n}.sock"));
        let gdb = self.dir.join(format!("g{n}.sock"));
        if incoming.as_os_str().len() > SOCKET_PATH_MAX {
            return Ok(None);
        }
        let restoring = Machine {
            image: self.dir.join("disk.img"),
            start: Start::Restore {
                ram: self.dir.join("ram"),
                qmp: qmp.clone(),
                gdb: gdb.clone(),
            },
            ..machine.clone()
        };
        let spec = SessionSpec {
            commands: vec![from.setup.clone(), from.rest.clone()],
            ..spec.clone()
        };
        let restore = restore(&qmp, &incoming, &gdb, machine.cpus, &self.state)
            .map(|r| r.is_ok())
            .boxed();
        let outcome = run_continued(
            &restoring,
            &spec,
            &self.continued,
            cancel,
            observer,
            restore,
        )
        .await;
        for socket in [&qmp, &incoming, &gdb] {
            let _ = std::fs::remove_file(socket);
        }
        outcome
    }
}

/// Where the `virt` machine's ACLINT puts hart 0's `mtimecmp`; hart `i`'s
/// is `8 * i` further.
const MTIMECMP: u64 = 0x0200_4000;

/// Arm each hart's machine timer again. QEMU 7.2 (Debian 12's) saves the
/// `mtimecmp` registers but not the pending timer event behind them, so a
/// restored VM would never take another timer interrupt (no `sleep`, no
/// preemption). Writing each register back with its own value, as the guest
/// would, schedules the event again; a deadline already past raises the
/// interrupt at once, as it would have on the saving VM. The gdbstub is the
/// only way in from outside that writes device registers (QMP has none);
/// attaching it stops the VM, detaching lets it run on.
async fn rearm_timers(path: &Path, harts: u32) -> Result<(), StepFailed> {
    let mut gdb = Gdb::connect(path).await?;
    // Addresses are physical: the registers, not the guest's mappings.
    gdb.expect_ok("Qqemu.PhyMemMode:1").await?;
    for hart in 0..u64::from(harts) {
        let at = MTIMECMP + 8 * hart;
        let value = gdb.command(&format!("m{at:x},8")).await?;
        if value.len() != 16 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StepFailed);
        }
        gdb.expect_ok(&format!("M{at:x},8:{value}")).await?;
    }
    gdb.expect_ok("D").await
}

/// A connection to QEMU's gdbstub: the remote serial protocol's packets
/// (`$body#checksum`, each acknowledged with `+`).
struct Gdb {
    stream: UnixStream,
    /// Bytes read and not yet taken as a packet.
    buffer: Vec<u8>,
}

impl Gdb {
    async fn connect(path: &Path) -> Result<Gdb, StepFailed> {
        Ok(Gdb {
            stream: connect_when_listening(path).await?,
            buffer: Vec::new(),
        })
    }

    /// The next packet's body, acknowledged.
    async fn packet(&mut self) -> Result<String, StepFailed> {
        loop {
            // Acknowledgements of what we sent, and anything before a
            // packet's start, carry nothing.
            let start = self.buffer.iter().position(|&b| b == b'$');
            self.buffer.drain(..start.unwrap_or(self.buffer.len()));
            if let Some(end) = self.buffer.iter().position(|&b| b == b'#')
                && self.buffer.len() >= end + 3
            {
                let body = String::from_utf8_lossy(&self.buffer[1..end]).into_owned();
                self.buffer.drain(..end + 3);
                // The stub may close as soon as it has answered (as it does
                // on detaching): an acknowledgement it cannot read is no
                // failure, and a connection gone fails the next read.
                let _ = self.stream.write_all(b"+").await;
                return Ok(body);
            }
            let mut chunk = [0u8; 512];
            let read = tokio::time::timeout(STEP_LIMIT, self.stream.read(&mut chunk))
                .await
                .map_err(failed)??;
            if read == 0 {
                return Err(StepFailed);
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }

    /// Send a command; its answer. Stop replies (`T…`, `S…`: the stub says
    /// so when it stops the VM on connecting) are not answers.
    async fn command(&mut self, body: &str) -> Result<String, StepFailed> {
        let sum = body.bytes().fold(0u8, |sum, b| sum.wrapping_add(b));
        let packet = format!("${body}#{sum:02x}");
        self.stream.write_all(packet.as_bytes()).await?;
        loop {
            let answer = self.packet().await?;
            if !answer.starts_with(['T', 'S']) {
                return Ok(answer);
            }
        }
    }

    async fn expect_ok(&mut self, body: &str) -> Result<(), StepFailed> {
        match self.command(body).await?.as_str() {
            "OK" => Ok(()),
            _ => Err(StepFailed),
        }
    }
}

/// Connect to a socket QEMU listens on, which it makes as it starts: a
/// freshly started QEMU is given a moment.
async fn connect_when_listening(path: &Path) -> Result<UnixStream, StepFailed> {
    let started = tokio::time::Instant::now();
    loop {
        match UnixStream::connect(path).await {
            Ok(stream) => return Ok(stream),
            Err(_) if started.elapsed() < STEP_LIMIT => {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Err(_) => return Err(StepFailed),
        }
    }
}

/// Why a QMP or gdbstub step failed (only ever turned into "no snapshot").
#[derive(Debug)]
struct StepFailed;

impl From<std::io::Error> for StepFailed {
    fn from(_: std::io::Error) -> StepFailed {
        StepFailed
    }
}

/// For `map_err`: what failed does not matter, only that it did.
fn failed<E>(_: E) -> StepFailed {
    StepFailed
}

/// A QMP connection: JSON commands and their answers, one per line, with
/// events in between.
struct Qmp {
    reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    writer: tokio::net::unix::OwnedWriteHalf,
}

impl Qmp {
    /// Connect to the socket QEMU listens on (which it makes as it starts,
    /// so a freshly started QEMU is given a moment) and leave the
    /// handshake done.
    async fn connect(path: &Path) -> Result<Qmp, StepFailed> {
        let (read, writer) = connect_when_listening(path).await?.into_split();
        let mut qmp = Qmp {
            reader: BufReader::new(read),
            writer,
        };
        qmp.line().await?; // the greeting
        qmp.execute("qmp_capabilities", json!({})).await?;
        Ok(qmp)
    }

    async fn line(&mut self) -> Result<Value, StepFailed> {
        let mut line = String::new();
        let read = tokio::time::timeout(STEP_LIMIT, self.reader.read_line(&mut line))
            .await
            .map_err(failed)?
            .map_err(failed)?;
        if read == 0 {
            return Err(StepFailed);
        }
        serde_json::from_str(&line).map_err(failed)
    }

    /// Run a command; its `return` value.
    async fn execute(&mut self, command: &str, arguments: Value) -> Result<Value, StepFailed> {
        let mut text = json!({ "execute": command, "arguments": arguments }).to_string();
        text.push('\n');
        self.writer.write_all(text.as_bytes()).await?;
        loop {
            let answer = self.line().await?;
            if let Some(value) = answer.get("return") {
                return Ok(value.clone());
            }
            if answer.get("error").is_some() {
                return Err(StepFailed);
            }
            // An event: not the answer.
        }
    }

    /// Skip the guest's RAM in the stream (it is in the shared file).
    async fn ignore_shared(&mut self) -> Result<(), StepFailed> {
        let capabilities = json!({
            "capabilities": [{ "capability": "x-ignore-shared", "state": true }]
        });
        self.execute("migrate-set-capabilities", capabilities)
            .await
            .map(drop)
    }

    /// Wait for the migration, either way, to complete.
    async fn completed(&mut self) -> Result<(), StepFailed> {
        let started = tokio::time::Instant::now();
        while started.elapsed() < STEP_LIMIT {
            let status = self.execute("query-migrate", json!({})).await?;
            match status.get("status").and_then(Value::as_str) {
                Some("completed") => return Ok(()),
                Some("failed" | "cancelled") => return Err(StepFailed),
                _ => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
        Err(StepFailed)
    }
}

/// Migrate the running VM whose QMP is at `qmp` to `out` (a socket made
/// here), keeping the stream in `state`.
async fn save(qmp: &Path, out: &Path, state: &mut Vec<u8>) -> Result<(), StepFailed> {
    let mut qmp = Qmp::connect(qmp).await?;
    qmp.ignore_shared().await?;
    let listener = UnixListener::bind(out)?;
    let uri = format!("unix:{}", out.display());
    qmp.execute("migrate", json!({ "uri": uri })).await?;
    let (mut stream, _) = tokio::time::timeout(STEP_LIMIT, listener.accept())
        .await
        .map_err(failed)?
        .map_err(failed)?;
    // QEMU closes the stream once it has sent everything.
    tokio::time::timeout(STEP_LIMIT, stream.read_to_end(state))
        .await
        .map_err(failed)?
        .map_err(failed)?;
    qmp.completed().await
}

/// Load `state` into the VM waiting with `-incoming defer` whose QMP is at
/// `qmp`, through `incoming` (a socket it makes); once loaded, it runs, and
/// its `harts` timers are armed again through its gdbstub at `gdb`.
async fn restore(
    qmp: &Path,
    incoming: &Path,
    gdb: &Path,
    harts: u32,
    state: &[u8],
) -> Result<(), StepFailed> {
    let mut qmp = Qmp::connect(qmp).await?;
    qmp.ignore_shared().await?;
    let uri = format!("unix:{}", incoming.display());
    qmp.execute("migrate-incoming", json!({ "uri": uri }))
        .await?;
    let mut stream = UnixStream::connect(incoming).await?;
    tokio::time::timeout(STEP_LIMIT, stream.write_all(state))
        .await
        .map_err(failed)?
        .map_err(failed)?;
    stream.shutdown().await?;
    qmp.completed().await?;
    // The saving VM was running when it was saved, so this one runs once
    // loaded; make sure before anything is typed at it.
    let started = tokio::time::Instant::now();
    while started.elapsed() < STEP_LIMIT {
        let status = qmp.execute("query-status", json!({})).await?;
        if status.get("running").and_then(Value::as_bool) == Some(true) {
            return rearm_timers(gdb, harts).await;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Err(StepFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksum of a remote-protocol packet's body.
    fn checksum(body: &[u8]) -> u8 {
        body.iter().fold(0u8, |sum, &b| sum.wrapping_add(b))
    }

    /// A gdbstub that answers each packet it reads with `answer(body)`,
    /// preceded by `noise` once (what QEMU may send first), after
    /// acknowledging it as QEMU does. It checks every checksum, and returns
    /// the bodies read and how many acknowledgements the client sent.
    async fn stub(
        mut stream: UnixStream,
        noise: &'static [u8],
        answer: impl Fn(&str) -> String,
    ) -> (Vec<String>, usize) {
        let mut bodies = Vec::new();
        let mut acks = 0;
        let mut pending = Vec::new();
        let mut noise = Some(noise);
        loop {
            let mut chunk = [0u8; 256];
            let n = stream.read(&mut chunk).await.unwrap();
            if n == 0 {
                return (bodies, acks);
            }
            pending.extend_from_slice(&chunk[..n]);
            loop {
                acks += pending.iter().take_while(|&&b| b == b'+').count();
                let skip = pending.iter().take_while(|&&b| b == b'+').count();
                pending.drain(..skip);
                let Some(end) = pending.iter().position(|&b| b == b'#') else {
                    break;
                };
                if pending.len() < end + 3 {
                    break;
                }
                assert_eq!(pending[0], b'$', "{pending:?}");
                let body = pending[1..end].to_vec();
                let sum = std::str::from_utf8(&pending[end + 1..end + 3]).unwrap();
                assert_eq!(sum, format!("{:02x}", checksum(&body)));
                pending.drain(..end + 3);
                let body = String::from_utf8(body).unwrap();
                let reply = answer(&body);
                let mut out = b"+".to_vec();
                if let Some(n) = noise.take() {
                    out.extend_from_slice(n);
                }
                out.extend_from_slice(
                    format!("${reply}#{:02x}", checksum(reply.as_bytes())).as_bytes(),
                );
                stream.write_all(&out).await.unwrap();
                bodies.push(body);
                if reply == "OK" && bodies.last().map(String::as_str) == Some("D") {
                    return (bodies, acks);
                }
            }
        }
    }

    #[tokio::test]
    async fn a_stop_reply_and_acknowledgements_are_not_an_answer() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        // Attaching stops the VM, and QEMU says so with a stop reply.
        let stub = tokio::spawn(stub(theirs, b"$T05thread:p01.01;#00", |body| {
            assert_eq!(body, "m2004000,8");
            "00a1b2c3d4e5f607".to_string()
        }));
        let mut gdb = Gdb {
            stream: ours,
            buffer: Vec::new(),
        };
        assert_eq!(gdb.command("m2004000,8").await.unwrap(), "00a1b2c3d4e5f607");
        drop(gdb);
        let (bodies, acks) = stub.await.unwrap();
        assert_eq!(bodies, ["m2004000,8"]);
        // The stop reply and the answer are both acknowledged.
        assert_eq!(acks, 2);
    }

    /// A [`stub`] listening on a socket of its own, for one connection.
    fn listening_stub(
        answer: fn(&str) -> String,
    ) -> (
        tempfile::TempDir,
        PathBuf,
        tokio::task::JoinHandle<(Vec<String>, usize)>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let stub = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            stub(stream, b"", answer).await
        });
        (dir, path, stub)
    }

    #[tokio::test]
    async fn rearming_writes_each_harts_mtimecmp_back_then_detaches_though_the_stub_closes_at_once()
    {
        let (_dir, path, stub) = listening_stub(|body| match body {
            "m2004000,8" => "1111111111111111".to_string(),
            "m2004008,8" => "2222222222222222".to_string(),
            _ => "OK".to_string(),
        });
        rearm_timers(&path, 2).await.unwrap();
        let (bodies, _) = stub.await.unwrap();
        assert_eq!(
            bodies,
            [
                "Qqemu.PhyMemMode:1",
                "m2004000,8",
                "M2004000,8:1111111111111111",
                "m2004008,8",
                "M2004008,8:2222222222222222",
                "D",
            ]
        );
    }

    #[tokio::test]
    async fn a_timer_the_stub_will_not_read_fails_the_restore() {
        let (_dir, path, stub) = listening_stub(|body| match body {
            "Qqemu.PhyMemMode:1" => "OK".to_string(),
            _ => "E14".to_string(),
        });
        assert!(rearm_timers(&path, 1).await.is_err());
        let (bodies, _) = stub.await.unwrap();
        // Nothing is written from an answer that is not a register's value.
        assert_eq!(bodies, ["Qqemu.PhyMemMode:1", "m2004000,8"]);
    }

    #[tokio::test]
    async fn no_stub_listening_fails_within_the_step_limit() {
        let dir = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        assert!(
            rearm_timers(&dir.path().join("none.sock"), 1)
                .await
                .is_err()
        );
        assert!(started.elapsed() < STEP_LIMIT + Duration::from_secs(2));
    }
}
