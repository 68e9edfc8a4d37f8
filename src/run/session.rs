//! Sessions: one fresh VM, booted, driven through the shell and stopped. A
//! [`SessionSpec`] says what to type and when to give up; [`run_session`]
//! runs it and yields a [`SessionOutcome`]: how it ended and the console
//! transcript.
//!
//! A session ends in one of the ways [`SessionEnd`] lists; a submission that
//! panics, hangs or floods the console is an outcome, not an error. Only
//! grader faults (QEMU cannot start, the pty fails) are [`SessionError`]s.
//!
//! How the shell is driven:
//! - a *prompt* is `$ ` at the start of a line, counted once per line, so
//!   `$ ` in the middle of a program's output is not one, and background
//!   output after a prompt does not hide it;
//! - each command is typed at a prompt; the console echoes it, and only a
//!   prompt *after that echo* counts as the command having finished, so a
//!   prompt already on its way when we typed is not mistaken for it;
//! - the session completes at the prompt after the last command, or as soon
//!   as an output line (never the echo of a typed command) matches `done`;
//! - a line starting with `panic: ` ends the session once the line after it
//!   (the location) has arrived, or after [`PANIC_GRACE`].
//!
//! The bookkeeping lives in `Conversation`, which is pure and unit-tested;
//! the async loop around it only moves bytes and watches the clocks. The VM
//! is a [`Vm`] guard, stopped with its whole process group on every path,
//! including this future being dropped.

use std::io;
use std::time::Duration;

use regex::Regex;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::run::qemu::{Console, Machine, QemuError, Vm};
use crate::run::transcript::{PROMPT, Transcript, normalise};

/// What one session does.
#[derive(Clone, Debug)]
pub struct SessionSpec {
    /// Name for reports and progress (e.g. `usertests/sbrkarg`).
    pub name: String,
    /// Commands to type, one at each shell prompt, in order.
    pub commands: Vec<String>,
    /// Stop early as soon as an output line matches. Without it, the
    /// session completes when the shell prompts again after the last
    /// command.
    pub done: Option<Regex>,
    /// Budget for the whole session, boot included.
    pub timeout: Duration,
    /// Harts for the VM.
    pub cpus: u32,
    /// Stop once the console has printed this many bytes.
    pub output_cap: usize,
    /// How long a typed command may print nothing at all once the shell
    /// has echoed it: a program that does not start (an `exec` that hangs)
    /// stops the VM then, not at `timeout`. `None`: no such limit.
    pub start_timeout: Option<Duration>,
    /// Start from a snapshot where the program waits, if one can be had
    /// (see [`crate::run::snapshot`]); `None`: boot.
    pub snapshot: Option<FromSnapshot>,
}

/// How a session starts from a snapshot (see [`crate::run::snapshot`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FromSnapshot {
    /// What the snapshot's VM types at its prompt: the program (under its
    /// name on the image) with `-w`.
    pub setup: String,
    /// The line the program prints once it waits.
    pub waiting: String,
    /// What a restored VM types for the program to read.
    pub rest: String,
}

/// How a session ended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SessionEnd {
    /// Every command ran and the shell prompted again (or `done` matched).
    Completed,
    /// The kernel printed `panic: …` (the line, normalised).
    Panicked { line: String },
    /// The deadline, `after` the start of the VM, passed while waiting for
    /// `waiting_for`.
    TimedOut {
        waiting_for: Waiting,
        after: Duration,
    },
    /// The console printed more than `limit` bytes.
    OutputCapped { limit: usize },
    /// QEMU exited by itself (status, if it exited normally).
    QemuExited { status: Option<i32> },
    /// The grader was interrupted (Ctrl-C) and stopped the VM.
    Cancelled,
}

/// What a session was waiting for when it timed out.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Waiting {
    /// The shell's first prompt: the kernel did not boot to a shell.
    FirstPrompt,
    /// The prompt after command `index` (0-based), i.e. for it to finish.
    Command { index: usize, command: String },
    /// Any output of command `index` after its echo (the spec's
    /// `start_timeout`): the program never started.
    Start { index: usize, command: String },
}

/// The result of running a session.
#[derive(Clone, Debug)]
pub struct SessionOutcome {
    pub name: String,
    pub end: SessionEnd,
    pub transcript: Transcript,
    /// Wall-clock time from starting QEMU to stopping it.
    pub duration: Duration,
}

/// How long a session keeps reading after a `panic:` line for the line after
/// it (the panic's location) before it stops the VM.
pub const PANIC_GRACE: Duration = Duration::from_millis(150);

/// After QEMU exits: how long the console may stay quiet before we stop
/// reading what is left of it, and how long reading it may take at most.
const DRAIN_QUIET: Duration = Duration::from_millis(100);
const DRAIN_LIMIT: Duration = Duration::from_secs(1);

/// Stands in for a timeout beyond what the clock can represent.
const NO_DEADLINE: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// How a kernel panic starts its line.
const PANIC_PREFIX: &str = "panic: ";

/// How much of an unfinished line is examined for a prompt or a panic: a
/// line that has not shown either by then is neither.
const HEAD_BYTES: usize = 64;

/// A grader fault while running a session.
#[derive(Debug, Error)]
pub enum SessionError {
    #[error(transparent)]
    Qemu(#[from] QemuError),
    #[error("read the VM's console")]
    Read(#[source] io::Error),
    #[error("type at the VM's console")]
    Write(#[source] io::Error),
    #[error("wait for QEMU to exit")]
    Wait(#[source] io::Error),
}

/// Hooks into a running session: `--verbose` streams the console through
/// [`console`](SessionObserver::console); tests learn QEMU's process group
/// from [`started`](SessionObserver::started). `()` observes nothing.
pub trait SessionObserver: Send {
    /// QEMU started as process `pid`, which is also its process-group id.
    fn started(&mut self, _pid: u32) {}
    /// Console bytes as they arrive (only those kept under the output cap).
    fn console(&mut self, _bytes: &[u8]) {}
}

impl SessionObserver for () {}

/// Boot a fresh VM of `machine` (with `spec.cpus` harts, never waiting for a
/// debugger), drive its shell through `spec`, stop it, and say how it went.
///
/// Cancelling `cancel` stops the VM and ends the session as
/// [`SessionEnd::Cancelled`] with the transcript so far; a token cancelled
/// before the call boots nothing. Dropping the returned future stops the VM
/// too (synchronously, see [`Vm`]).
pub async fn run_session(
    machine: &Machine,
    spec: &SessionSpec,
    cancel: &CancellationToken,
    observer: &mut dyn SessionObserver,
) -> Result<SessionOutcome, SessionError> {
    let conversation = Conversation::new(spec);
    match run_vm(machine, conversation, cancel, observer, Hooks::default()).await? {
        Ran::Ended(outcome, _) => Ok(outcome),
        // Only a restore can fail to begin.
        Ran::NotBegun => unreachable!("a booted VM always begins"),
    }
}

/// What a VM started from a snapshot continues: the console and commands
/// of the VM the snapshot was taken in, up to the moment it was taken.
#[derive(Clone, Debug, Default)]
pub struct Continued {
    pub raw: Vec<u8>,
    pub typed: Vec<String>,
}

/// Steps around a VM's conversation: `begin` runs once QEMU has started
/// and before anything is typed (false: the VM cannot go on, and is
/// stopped); `end` runs, if the session completed on its `done` line, before
/// the VM is stopped (its result is the session's [`Ran::Ended`] flag).
#[derive(Default)]
pub(crate) struct Hooks<'h> {
    pub begin: Option<futures::future::BoxFuture<'h, bool>>,
    pub end: Option<futures::future::BoxFuture<'h, bool>>,
}

/// How [`run_vm`] went.
pub(crate) enum Ran {
    /// The session ran; the flag is what `end` said (true without one).
    Ended(SessionOutcome, bool),
    /// `begin` said no: the VM was stopped before anything was typed.
    NotBegun,
}

/// Take a snapshot's VM to the point the snapshot is taken: run `spec`
/// (its commands set up and wait; `done` matches the line that says so) on
/// `machine`, then, if it completed, `save` it before the VM stops. What
/// the VM printed and was typed up to then, if the snapshot was taken.
pub(crate) async fn run_to_snapshot(
    machine: &Machine,
    spec: &SessionSpec,
    cancel: &CancellationToken,
    save: futures::future::BoxFuture<'_, bool>,
) -> Result<Option<Continued>, SessionError> {
    let hooks = Hooks {
        begin: None,
        end: Some(save),
    };
    match run_vm(machine, Conversation::new(spec), cancel, &mut (), hooks).await? {
        Ran::Ended(outcome, true) if outcome.end == SessionEnd::Completed => Ok(Some(Continued {
            raw: outcome.transcript.raw().to_vec(),
            // A snapshot's VM completes once its last command waits.
            typed: spec.commands.clone(),
        })),
        _ => Ok(None),
    }
}

/// Run `spec` in a VM that continues `from` (a snapshot's VM, restored by
/// `restore` once QEMU has started): `spec.commands` are the snapshot's
/// commands followed by what to type now, which is typed at once, the
/// program being there waiting for it. `None` if the restore failed.
pub(crate) async fn run_continued(
    machine: &Machine,
    spec: &SessionSpec,
    from: &Continued,
    cancel: &CancellationToken,
    observer: &mut dyn SessionObserver,
    restore: futures::future::BoxFuture<'_, bool>,
) -> Result<Option<SessionOutcome>, SessionError> {
    let conversation = Conversation::continuing(spec, from);
    let hooks = Hooks {
        begin: Some(restore),
        end: None,
    };
    match run_vm(machine, conversation, cancel, observer, hooks).await? {
        Ran::Ended(outcome, _) => Ok(Some(outcome)),
        Ran::NotBegun => Ok(None),
    }
}

async fn run_vm(
    machine: &Machine,
    mut conversation: Conversation<'_>,
    cancel: &CancellationToken,
    observer: &mut dyn SessionObserver,
    hooks: Hooks<'_>,
) -> Result<Ran, SessionError> {
    let spec = conversation.spec;
    let started = Instant::now();
    if cancel.is_cancelled() {
        return Ok(Ran::Ended(
            SessionOutcome {
                name: spec.name.clone(),
                end: SessionEnd::Cancelled,
                transcript: Transcript::new(Vec::new(), &[]),
                duration: Duration::ZERO,
            },
            false,
        ));
    }
    let machine = Machine {
        cpus: spec.cpus,
        gdb: None,
        ..machine.clone()
    };
    let (mut vm, mut console) = Vm::spawn(&machine)?;
    observer.started(vm.pid());
    if let Some(begin) = hooks.begin
        && !begin.await
    {
        vm.stop().await;
        return Ok(Ran::NotBegun);
    }
    // A timeout too large for the clock means no timeout.
    let deadline = started
        .checked_add(spec.timeout)
        .unwrap_or_else(|| started + NO_DEADLINE);
    let end = drive(
        &mut vm,
        &mut console,
        &mut conversation,
        deadline,
        cancel,
        observer,
    )
    .await;
    let saved = match hooks.end {
        Some(save) if matches!(end, Ok(SessionEnd::Completed)) && conversation.done => save.await,
        Some(_) => false,
        None => true,
    };
    // Stop on every path, errors included, before anything else.
    vm.stop().await;
    let duration = started.elapsed();
    let end = end?;
    let (raw, typed) = conversation.into_parts();
    Ok(Ran::Ended(
        SessionOutcome {
            name: spec.name.clone(),
            end,
            transcript: Transcript::new(raw, &typed),
            duration,
        },
        saved,
    ))
}

/// The session's event loop: read the console, type commands, and watch the
/// deadline, the panic grace, cancellation and QEMU's exit, until one of
/// them ends the session.
async fn drive(
    vm: &mut Vm,
    console: &mut Console,
    conversation: &mut Conversation<'_>,
    deadline: Instant,
    cancel: &CancellationToken,
    observer: &mut dyn SessionObserver,
) -> Result<SessionEnd, SessionError> {
    let (mut reader, mut writer) = console.split();
    let mut buf = vec![0u8; 8192];
    // Typed but not yet accepted by the pty.
    let mut input: Vec<u8> = Vec::new();
    // False once the pty hangs up (every holder of its terminal side closed
    // it): from then on only QEMU's exit, the clocks or cancellation remain.
    let mut console_open = true;
    let timeout = tokio::time::sleep_until(deadline);
    let panic_grace = tokio::time::sleep_until(deadline);
    let start = tokio::time::sleep_until(deadline);
    tokio::pin!(timeout, panic_grace, start);
    let mut panic_armed = false;
    let start_timeout = conversation.spec.start_timeout;
    // Armed from a command's echo until its first output.
    let mut start_armed = false;
    loop {
        if let Some(end) = conversation.end(false) {
            return Ok(end);
        }
        if conversation.panicked() && !panic_armed {
            panic_grace.as_mut().reset(Instant::now() + PANIC_GRACE);
            panic_armed = true;
        }
        match (start_timeout, conversation.silent_since_echo()) {
            (Some(limit), true) if !start_armed => {
                start.as_mut().reset(Instant::now() + limit);
                start_armed = true;
            }
            (_, false) => start_armed = false,
            _ => {}
        }
        if let Some(command) = conversation.type_next() {
            input.extend_from_slice(command.as_bytes());
            input.push(b'\n');
        }
        // Clocks and cancellation first: a console that never stops
        // printing must not starve them.
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Ok(SessionEnd::Cancelled),
            () = &mut timeout => {
                return Ok(conversation.end(true).unwrap_or_else(|| SessionEnd::TimedOut {
                    waiting_for: conversation.waiting_for(),
                    after: conversation.spec.timeout,
                }));
            }
            () = &mut start, if start_armed => {
                return Ok(conversation.end(true).unwrap_or_else(|| SessionEnd::TimedOut {
                    waiting_for: conversation.waiting_to_start(),
                    after: start_timeout.unwrap_or_default(),
                }));
            }
            () = &mut panic_grace, if panic_armed => {
                if let Some(end) = conversation.end(true) {
                    return Ok(end);
                }
            }
            read = reader.read(&mut buf), if console_open => match read {
                Ok(0) => console_open = false,
                Ok(n) => observer.console(conversation.feed(&buf[..n])),
                Err(e) if is_hangup(&e) => console_open = false,
                Err(e) => return Err(SessionError::Read(e)),
            },
            written = writer.write(&input), if console_open && !input.is_empty() => match written {
                Ok(0) => console_open = false,
                Ok(n) => {
                    input.drain(..n);
                }
                Err(e) if is_hangup(&e) => console_open = false,
                Err(e) => return Err(SessionError::Write(e)),
            },
            status = vm.wait() => {
                let status = status.map_err(SessionError::Wait)?;
                // What QEMU printed last (its own error message, say) may
                // still sit in the pty.
                if console_open {
                    let rest = drain(&mut reader, conversation, observer);
                    if let Ok(result) = tokio::time::timeout(DRAIN_LIMIT, rest).await {
                        result?;
                    }
                }
                return Ok(conversation.end(true).unwrap_or(SessionEnd::QemuExited {
                    status: status.code(),
                }));
            }
        }
    }
}

/// Read the console until it hangs up, stays quiet for [`DRAIN_QUIET`], or
/// reaches the output cap.
async fn drain(
    reader: &mut pty_process::ReadPty<'_>,
    conversation: &mut Conversation<'_>,
    observer: &mut dyn SessionObserver,
) -> Result<(), SessionError> {
    let mut buf = vec![0u8; 8192];
    while !conversation.capped {
        match tokio::time::timeout(DRAIN_QUIET, reader.read(&mut buf)).await {
            // Quiet for a while, or hung up.
            Err(_) | Ok(Ok(0)) => return Ok(()),
            Ok(Ok(n)) => observer.console(conversation.feed(&buf[..n])),
            Ok(Err(e)) if is_hangup(&e) => return Ok(()),
            Ok(Err(e)) => return Err(SessionError::Read(e)),
        }
    }
    Ok(())
}

/// Linux reports a pty whose other side is closed as EIO.
fn is_hangup(e: &io::Error) -> bool {
    e.raw_os_error() == Some(nix::errno::Errno::EIO as i32)
}

/// What a session has seen of its conversation with the shell: the console
/// bytes kept so far, split into lines as they complete, and what those
/// lines mean (prompts, echoes of typed commands, a panic, the `done`
/// line). Pure: bytes in, decisions out.
#[derive(Debug)]
struct Conversation<'s> {
    spec: &'s SessionSpec,
    /// Console bytes kept, at most `spec.output_cap`.
    raw: Vec<u8>,
    /// More than `spec.output_cap` bytes arrived.
    capped: bool,
    /// Where the current, unfinished line starts in `raw`.
    line_start: usize,
    /// Whether the current line's head has been classified (prompt, panic
    /// or neither), so that each line counts at most once.
    head_known: bool,
    /// Commands typed so far, in order.
    typed: Vec<String>,
    /// The last typed command has not been echoed yet.
    awaiting_echo: bool,
    /// The last typed command was echoed and nothing has come after it.
    silent: bool,
    /// A prompt appeared after the last echo: the shell waits for input.
    prompt_ready: bool,
    panic: Option<PanicSeen>,
    /// An output line matched `spec.done`.
    done: bool,
}

/// A `panic:` line in the console.
#[derive(Debug)]
struct PanicSeen {
    /// Where its line starts in `raw`.
    line_start: usize,
    /// The line, once complete.
    text: Option<String>,
    /// A line after it (the location) is complete too.
    followed: bool,
}

impl<'s> Conversation<'s> {
    fn new(spec: &'s SessionSpec) -> Conversation<'s> {
        Conversation {
            spec,
            raw: Vec::new(),
            capped: false,
            line_start: 0,
            head_known: false,
            typed: Vec::new(),
            awaiting_echo: false,
            silent: false,
            prompt_ready: false,
            panic: None,
            done: false,
        }
    }

    /// Take in console bytes; returns those kept under the output cap.
    fn feed<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        let room = self.spec.output_cap.saturating_sub(self.raw.len());
        let kept = if bytes.len() > room {
            self.capped = true;
            &bytes[..room]
        } else {
            bytes
        };
        let mut scan = self.raw.len();
        self.raw.extend_from_slice(kept);
        while let Some(offset) = self.raw[scan..].iter().position(|&b| b == b'\n') {
            let end = scan + offset;
            self.complete_line(end);
            scan = end + 1;
        }
        if self.raw.len() > self.line_start {
            // Part of a line after the echo: the command printed something.
            self.silent = false;
        }
        if !self.head_known {
            // Only the head of an unfinished line matters, and only its
            // first bytes are normalised, however long the line grows.
            let head_end = self.raw.len().min(self.line_start + HEAD_BYTES);
            let head = normalise(&self.raw[self.line_start..head_end]);
            let long = self.raw.len() - self.line_start >= HEAD_BYTES;
            self.classify_head(&head, long);
        }
        kept
    }

    /// The line `raw[line_start..end]` is complete (`raw[end]` is `\n`).
    fn complete_line(&mut self, end: usize) {
        let text = normalise(&self.raw[self.line_start..end]);
        self.classify_head(&text, true);
        let echo = self.awaiting_echo
            && self
                .typed
                .last()
                .is_some_and(|command| text.ends_with(command.as_str()));
        if echo {
            self.awaiting_echo = false;
            self.silent = true;
        } else if self
            .spec
            // A sealed program's lines end in ` ~<seal>`, which a `done`
            // written for the unsealed line (`…\]$`) would never match.
            // Ending early on a forged line gains nothing: checks only
            // count lines with valid seals.
            .done
            .as_ref()
            .is_some_and(|re| re.is_match(seal::strip(&text)))
        {
            self.done = true;
        }
        if let Some(panic) = &mut self.panic {
            if panic.line_start == self.line_start {
                panic.text = Some(text);
            } else {
                panic.followed = true;
            }
        }
        if !echo {
            self.silent = false;
        }
        self.line_start = end + 1;
        self.head_known = false;
    }

    /// Look at the start of the current line: a prompt or a panic counts as
    /// soon as it shows; `settled` says no more of the head will come.
    fn classify_head(&mut self, head: &str, settled: bool) {
        if self.head_known {
            return;
        }
        if head.starts_with(PROMPT) {
            self.head_known = true;
            // A prompt before the echo of the last command was printed
            // before the shell read it: it does not mean the command ran.
            if !self.awaiting_echo {
                self.prompt_ready = true;
            }
        } else if head.starts_with(PANIC_PREFIX) {
            self.head_known = true;
            if self.panic.is_none() {
                self.panic = Some(PanicSeen {
                    line_start: self.line_start,
                    text: None,
                    followed: false,
                });
            }
        } else if settled || !(PROMPT.starts_with(head) || PANIC_PREFIX.starts_with(head)) {
            self.head_known = true;
        }
    }

    /// A conversation that goes on from `from`, where the program its last
    /// command started waits for the next one, to be typed at once.
    fn continuing(spec: &'s SessionSpec, from: &Continued) -> Conversation<'s> {
        let mut conversation = Conversation::new(spec);
        conversation.feed(&from.raw);
        conversation.typed = from.typed.clone();
        conversation.awaiting_echo = false;
        conversation.silent = false;
        conversation.done = false;
        conversation.prompt_ready = true;
        conversation
    }

    /// The next command to type, if the shell is waiting for one; it is
    /// recorded as typed.
    fn type_next(&mut self) -> Option<&'s str> {
        if !self.prompt_ready || self.panic.is_some() || self.capped || self.done {
            return None;
        }
        let spec: &'s SessionSpec = self.spec;
        let command = spec.commands.get(self.typed.len())?;
        self.typed.push(command.clone());
        self.prompt_ready = false;
        self.awaiting_echo = true;
        Some(command)
    }

    fn panicked(&self) -> bool {
        self.panic.is_some()
    }

    /// Has the last typed command been echoed, with nothing after it yet?
    fn silent_since_echo(&self) -> bool {
        self.silent
    }

    /// What a start timeout waited for: output of the command typed last.
    fn waiting_to_start(&self) -> Waiting {
        match self.waiting_for() {
            Waiting::Command { index, command } => Waiting::Start { index, command },
            other => other,
        }
    }

    /// How the session ends, if it does now. A panic waits for the line
    /// after it unless `panic_grace_over`.
    fn end(&self, panic_grace_over: bool) -> Option<SessionEnd> {
        if let Some(panic) = &self.panic {
            return (panic.followed || panic_grace_over || self.capped).then(|| {
                let line = match &panic.text {
                    Some(text) => text.clone(),
                    None => normalise(&self.raw[panic.line_start..]),
                };
                SessionEnd::Panicked { line }
            });
        }
        if self.capped {
            return Some(SessionEnd::OutputCapped {
                limit: self.spec.output_cap,
            });
        }
        let all_ran = self.prompt_ready && self.typed.len() == self.spec.commands.len();
        (self.done || all_ran).then_some(SessionEnd::Completed)
    }

    /// What the session is waiting for: the first prompt, or the prompt
    /// after the command typed last.
    fn waiting_for(&self) -> Waiting {
        match self.typed.len().checked_sub(1) {
            None => Waiting::FirstPrompt,
            Some(index) => Waiting::Command {
                index,
                command: self.typed[index].clone(),
            },
        }
    }

    /// The console bytes and the commands typed, for the transcript.
    fn into_parts(self) -> (Vec<u8>, Vec<String>) {
        (self.raw, self.typed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::transcript::LineKind;

    fn spec(commands: &[&str]) -> SessionSpec {
        SessionSpec {
            name: "t".to_string(),
            commands: commands.iter().map(|c| c.to_string()).collect(),
            done: None,
            timeout: Duration::from_secs(10),
            cpus: 1,
            output_cap: 1 << 20,
            start_timeout: None,
            snapshot: None,
        }
    }

    /// Feed `chunks` in order, typing whenever the shell is ready, and
    /// return what was typed after each chunk.
    fn run(conv: &mut Conversation<'_>, chunks: &[&str]) -> Vec<Option<String>> {
        chunks
            .iter()
            .map(|chunk| {
                conv.feed(chunk.as_bytes());
                conv.type_next().map(str::to_string)
            })
            .collect()
    }

    #[test]
    fn a_command_is_silent_from_its_echo_to_its_first_output() {
        let spec = spec(&["usertests"]);
        let mut conv = Conversation::new(&spec);
        assert!(
            !conv.silent_since_echo(),
            "booting is not a command's silence"
        );
        run(&mut conv, &["init: starting sh\n$ "]);
        assert!(!conv.silent_since_echo(), "typed, not echoed yet");
        run(&mut conv, &["usert", "ests\n"]);
        assert!(conv.silent_since_echo());
        assert_eq!(
            conv.waiting_to_start(),
            Waiting::Start {
                index: 0,
                command: "usertests".into()
            }
        );
        // The first byte of output ends the silence, before its line does.
        run(&mut conv, &["u"]);
        assert!(!conv.silent_since_echo());
        run(&mut conv, &["sertests starting\n"]);
        assert!(!conv.silent_since_echo());
    }

    #[test]
    fn a_restored_vm_types_the_rest_at_once_and_its_transcript_reads_as_one_session() {
        let mut spec = spec(&["usertests -w", "-k t1 sbrkarg"]);
        spec.done = Regex::new(r"^ALL TESTS PASSED \[t1\]$").ok();
        let from = Continued {
            raw: b"init: starting sh\n$ usertests -w\nusertests: waiting for arguments\n".to_vec(),
            typed: vec!["usertests -w".to_string()],
        };
        let mut conv = Conversation::continuing(&spec, &from);
        // The program waits: no prompt is needed for what it reads.
        assert_eq!(conv.type_next(), Some("-k t1 sbrkarg"));
        assert_eq!(conv.type_next(), None);
        assert_eq!(conv.end(false), None);
        conv.feed(b"-k t1 sbrkarg\ntest sbrkarg: OK [t1]\n");
        assert_eq!(conv.end(false), None);
        conv.feed(b"ALL TESTS PASSED [t1]\n");
        assert_eq!(conv.end(false), Some(SessionEnd::Completed));
        let (raw, typed) = conv.into_parts();
        let transcript = Transcript::new(raw, &typed);
        let lines: Vec<(&str, bool)> = transcript
            .lines()
            .iter()
            .map(|l| (l.text.as_str(), l.kind == LineKind::Input))
            .collect();
        // The snapshot's boot and setup, then this VM's own part. What the
        // program read is its echo, with no prompt before it.
        assert_eq!(
            lines,
            [
                ("init: starting sh", false),
                ("$ usertests -w", true),
                ("usertests: waiting for arguments", false),
                ("-k t1 sbrkarg", false),
                ("test sbrkarg: OK [t1]", false),
                ("ALL TESTS PASSED [t1]", false),
            ]
        );
    }

    #[test]
    fn echo_and_output_in_one_read_are_not_silence() {
        let spec = spec(&["echo hi"]);
        let mut conv = Conversation::new(&spec);
        run(&mut conv, &["$ "]);
        run(&mut conv, &["echo hi\nhi\n"]);
        assert!(!conv.silent_since_echo());
    }

    #[test]
    fn types_at_each_prompt_and_completes_at_the_last() {
        let spec = spec(&["echo a", "echo b"]);
        let mut conv = Conversation::new(&spec);
        let typed = run(
            &mut conv,
            &[
                "xv6 kernel is booting\n",
                "init: starting sh\n$ ",
                "echo a\n",
                "a\n$ ",
            ],
        );
        assert_eq!(
            typed,
            [None, Some("echo a".into()), None, Some("echo b".into())]
        );
        assert_eq!(conv.end(false), None);
        conv.feed(b"echo b\nb\n");
        assert_eq!(conv.end(false), None);
        conv.feed(b"$ ");
        assert_eq!(conv.end(false), Some(SessionEnd::Completed));
    }

    #[test]
    fn prompt_split_across_reads_counts_once() {
        let spec = spec(&["x", "y"]);
        let mut conv = Conversation::new(&spec);
        assert_eq!(run(&mut conv, &["$"]), [None]);
        assert_eq!(run(&mut conv, &[" "]), [Some("x".into())]);
        // The rest of the prompt's line (the echo) is not another prompt.
        assert_eq!(run(&mut conv, &["x", "\n", "out\n"]), [None, None, None]);
    }

    #[test]
    fn dollar_mid_line_is_not_a_prompt() {
        let spec = spec(&["price"]);
        let mut conv = Conversation::new(&spec);
        run(&mut conv, &["$ "]);
        conv.feed(b"price\ncost: $ 5\nnow $ ");
        assert_eq!(conv.end(false), None);
        conv.feed(b"\n$ ");
        assert_eq!(conv.end(false), Some(SessionEnd::Completed));
    }

    #[test]
    fn background_output_after_a_prompt_does_not_hide_it() {
        let spec = spec(&["echo hi"]);
        let mut conv = Conversation::new(&spec);
        // One read holds the prompt and a background line printed after it.
        assert_eq!(run(&mut conv, &["$ zombie!\n"]), [Some("echo hi".into())]);
        conv.feed(b"echo hi\nhi\n$ done\n");
        assert_eq!(conv.end(false), Some(SessionEnd::Completed));
    }

    #[test]
    fn prompt_before_the_echo_does_not_finish_the_command() {
        let spec = spec(&["sleep"]);
        let mut conv = Conversation::new(&spec);
        run(&mut conv, &["$ "]);
        // A second prompt was already on its way when we typed.
        conv.feed(b"\n$ ");
        assert_eq!(conv.end(false), None);
        conv.feed(b"sleep\n");
        assert_eq!(conv.end(false), None);
        conv.feed(b"$ ");
        assert_eq!(conv.end(false), Some(SessionEnd::Completed));
    }

    #[test]
    fn done_matches_output_but_never_the_echo() {
        let mut spec = spec(&["usertests -k tok42", "never typed"]);
        spec.done = Some(Regex::new("tok42").unwrap());
        let mut conv = Conversation::new(&spec);
        run(&mut conv, &["$ "]);
        conv.feed(b"usertests -k tok42\nrunning\n");
        assert_eq!(conv.end(false), None);
        conv.feed(b"tok42 ALL OK\n");
        assert_eq!(conv.end(false), Some(SessionEnd::Completed));
        // Done ends the session before the next command.
        conv.feed(b"$ ");
        assert_eq!(conv.type_next(), None);
    }

    #[test]
    fn done_needs_a_complete_line() {
        let mut spec = spec(&["t"]);
        spec.done = Some(Regex::new("^ok$").unwrap());
        let mut conv = Conversation::new(&spec);
        run(&mut conv, &["$ ", "t\n", "ok"]);
        assert_eq!(conv.end(false), None);
        conv.feed(b"ay\nok\r\n");
        assert_eq!(conv.end(false), Some(SessionEnd::Completed));
    }

    #[test]
    fn panic_waits_for_its_location_line_or_the_grace() {
        let spec = spec(&["a", "b"]);
        let mut conv = Conversation::new(&spec);
        run(&mut conv, &["$ ", "a\n"]);
        conv.feed(b"panic: uvmunmap: not mapped\n");
        assert!(conv.panicked());
        assert_eq!(conv.end(false), None);
        let panicked = Some(SessionEnd::Panicked {
            line: "panic: uvmunmap: not mapped".into(),
        });
        assert_eq!(conv.end(true), panicked);
        conv.feed(b"       at kernel/src/vm.rs:10\n");
        assert_eq!(conv.end(false), panicked);
        // Nothing more is typed into a panicked kernel.
        conv.feed(b"$ ");
        assert_eq!(conv.type_next(), None);
    }

    #[test]
    fn panic_is_seen_before_its_line_ends() {
        let spec = spec(&[]);
        let mut conv = Conversation::new(&spec);
        conv.feed(b"boot\npanic: kal");
        assert!(conv.panicked());
        assert_eq!(
            conv.end(true),
            Some(SessionEnd::Panicked {
                line: "panic: kal".into()
            })
        );
        conv.feed(b"loc\n");
        assert_eq!(
            conv.end(true),
            Some(SessionEnd::Panicked {
                line: "panic: kalloc".into()
            })
        );
    }

    #[test]
    fn panic_mid_line_is_not_a_panic() {
        let spec = spec(&[]);
        let mut conv = Conversation::new(&spec);
        conv.feed(b"test: panic: expected\n");
        assert!(!conv.panicked());
    }

    #[test]
    fn no_commands_completes_at_first_prompt() {
        let spec = spec(&[]);
        let mut conv = Conversation::new(&spec);
        conv.feed(b"init: starting sh\n");
        assert_eq!(conv.end(false), None);
        conv.feed(b"$ ");
        assert_eq!(conv.end(false), Some(SessionEnd::Completed));
    }

    #[test]
    fn output_beyond_the_cap_is_dropped() {
        let mut spec = spec(&["x"]);
        spec.output_cap = 10;
        let mut conv = Conversation::new(&spec);
        assert_eq!(conv.feed(b"12345"), b"12345");
        assert_eq!(conv.end(false), None);
        assert_eq!(conv.feed(b"67890"), b"67890");
        assert_eq!(conv.end(false), None);
        assert_eq!(conv.feed(b"abc"), b"");
        assert_eq!(
            conv.end(false),
            Some(SessionEnd::OutputCapped { limit: 10 })
        );
        let (raw, _) = conv.into_parts();
        assert_eq!(raw, b"1234567890");
    }

    #[test]
    fn waiting_for_names_the_command_typed_last() {
        let spec = spec(&["a", "b"]);
        let mut conv = Conversation::new(&spec);
        assert_eq!(conv.waiting_for(), Waiting::FirstPrompt);
        run(&mut conv, &["$ ", "a\n", "$ "]);
        assert_eq!(
            conv.waiting_for(),
            Waiting::Command {
                index: 1,
                command: "b".into()
            }
        );
    }

    #[test]
    fn carriage_returns_and_escapes_do_not_hide_a_prompt() {
        let spec = spec(&["a"]);
        let mut conv = Conversation::new(&spec);
        assert_eq!(run(&mut conv, &["init\r\n\x1b[0m$ "]), [Some("a".into())]);
    }

    #[test]
    fn a_long_line_is_classified_from_its_head() {
        let spec = spec(&["a"]);
        let mut conv = Conversation::new(&spec);
        let long = "x".repeat(10_000);
        conv.feed(long.as_bytes());
        assert!(conv.head_known);
        conv.feed(b"\n$ ");
        assert_eq!(conv.type_next(), Some("a"));
    }
}
