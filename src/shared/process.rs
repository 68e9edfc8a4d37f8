//! Child process groups that never outlive xvlab: the build's cargo (or the
//! bubblewrap around it) and every QEMU run in process groups of their own,
//! and this module makes sure that whatever way xvlab exits — normally, on
//! Ctrl-C, on a panic, or killed with SIGKILL — the whole group goes with it.
//!
//! Three layers, because each alone has a hole:
//!
//! - [`die_with_xvlab`]: `PR_SET_PDEATHSIG` (Linux) makes the kernel send the
//!   group's leader SIGKILL when its parent dies. The "parent" is the
//!   *thread* that forked it, so children are spawned from threads that live
//!   as long as xvlab (the main thread and tokio's worker threads, never
//!   `spawn_blocking`, whose idle threads exit). It reaches the leader only,
//!   not the leader's own children (cargo's rustc and linker).
//! - The [`Reaper`]: a tiny shell process, started on first use, in a
//!   process group of its own, that reads a pipe from xvlab. xvlab writes
//!   `+ PGID` when it starts a group and `- PGID` when the group is gone.
//!   When the pipe closes — xvlab exited, however it died — the reaper sends
//!   SIGTERM and then SIGKILL to every group still registered, and exits.
//!   It reaches everything in the groups, also grandchildren.
//! - [`Group`]: a guard for a running group. Dropping it (a dropped build
//!   future, an early return) or [`Group::terminate`] sends SIGTERM to the
//!   group, waits a short grace, sends SIGKILL and reaps the leader.
//!
//! A pid namespace (bubblewrap's `--unshare-pid` with `--die-with-parent`)
//! adds a fourth layer for sandboxed builds: when the namespace's first
//! process dies, the kernel kills everything in it.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Child;

/// The grading machine, not a submission, stopped a child: the kernel
/// killed it (SIGKILL: the OOM killer, SIGBUS: a mapped file on a failing
/// or full disk). Carried inside an `io::Error` from where it is seen (see
/// [`HostFault::from_status`]) to the grader's fault handling.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct HostFault {
    pub reason: String,
}

impl HostFault {
    /// The fault, if `status` says `what` died of a signal that only the
    /// machine sends — callers check only statuses of children xvlab has
    /// not signalled itself.
    pub fn from_status(what: &str, status: std::process::ExitStatus) -> Option<HostFault> {
        use std::os::unix::process::ExitStatusExt;
        let reason = match Signal::try_from(status.signal()?).ok()? {
            Signal::SIGKILL => format!("{what} was killed (SIGKILL, out of memory?)"),
            Signal::SIGBUS => format!("{what} crashed with SIGBUS (the disk full or failing?)"),
            _ => return None,
        };
        Some(HostFault { reason })
    }
}

/// How long a group gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_millis(500);

/// The reaper's program: keep the set of registered groups; on end of
/// input, SIGTERM them, wait half a second, SIGKILL them. It ignores the
/// terminal's signals so that Ctrl-C, which xvlab handles, cannot take it
/// down first. `kill -SIG -PGID`, not `kill -SIG -- -PGID`: dash, Debian's
/// `/bin/sh`, takes no `--` there and would kill nothing.
const REAPER_SCRIPT: &str = r#"
trap '' INT HUP QUIT TSTP
groups=' '
while read -r op pg; do
    case $op in
    +) groups="$groups$pg " ;;
    -) kept=' '
       for g in $groups; do [ "$g" = "$pg" ] || kept="$kept$g "; done
       groups=$kept ;;
    esac
done
[ "$groups" = ' ' ] && exit 0
for g in $groups; do kill -TERM "-$g" 2>/dev/null; done
sleep 0.5
for g in $groups; do kill -KILL "-$g" 2>/dev/null; done
exit 0
"#;

/// The watcher process that kills registered groups when xvlab is gone.
pub struct Reaper {
    /// The write end of its pipe; never closed while xvlab runs (the
    /// process exiting closes it).
    pipe: Mutex<Option<ChildStdin>>,
}

impl Reaper {
    /// The reaper of this process, started on first use. If it cannot be
    /// started (no `/bin/sh`), registrations are no-ops and the other
    /// layers remain.
    pub fn get() -> &'static Reaper {
        static REAPER: OnceLock<Reaper> = OnceLock::new();
        REAPER.get_or_init(|| {
            let child = Reaper::command().spawn();
            // The child is deliberately never waited for: it outlives us
            // by design and init reaps it.
            let pipe = child.ok().and_then(|mut c| c.stdin.take());
            Reaper {
                pipe: Mutex::new(pipe),
            }
        })
    }

    /// The command that starts a reaper, its input piped.
    fn command() -> std::process::Command {
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.args(["-c", REAPER_SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group: the terminal's signals for xvlab's group do
            // not reach it, and it never kills itself.
            .process_group(0);
        cmd
    }

    fn send(&self, line: &str) {
        let mut pipe = self.pipe.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = pipe.as_mut()
            && p.write_all(line.as_bytes()).is_err()
        {
            // The reaper is gone (killed by someone): stop writing to it.
            *pipe = None;
        }
    }

    /// Kill group `pgid` if xvlab dies before [`Reaper::unregister`].
    pub fn register(&self, pgid: u32) {
        self.send(&format!("+ {pgid}\n"));
    }

    /// Group `pgid` is gone: forget it (its id may be reused).
    pub fn unregister(&self, pgid: u32) {
        self.send(&format!("- {pgid}\n"));
    }
}

/// Make the child that `cmd` starts get SIGKILL when the thread spawning
/// it (see the module docs) goes away, and exit at once if that already
/// happened between fork and the `prctl`. A no-op off Linux.
#[cfg(target_os = "linux")]
#[expect(
    unsafe_code,
    reason = "pre_exec runs between fork and exec; the closure only makes async-signal-safe system calls (prctl, getppid)"
)]
pub fn die_with_xvlab(cmd: &mut tokio::process::Command) {
    let parent = nix::unistd::getpid();
    // SAFETY: prctl and getppid are async-signal-safe system calls; the
    // closure allocates nothing and takes no locks.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::other("xvlab exited"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
pub fn die_with_xvlab(_cmd: &mut tokio::process::Command) {}

/// Limit each process `cmd` starts, and its children, to `bytes` of
/// address space (`RLIMIT_AS`): past it, allocations fail in that process
/// instead of the machine running out of memory.
#[expect(
    unsafe_code,
    reason = "pre_exec runs between fork and exec; the closure only makes an async-signal-safe system call (setrlimit)"
)]
pub fn limit_memory(cmd: &mut tokio::process::Command, bytes: u64) {
    use nix::sys::resource::{Resource, setrlimit};
    // SAFETY: setrlimit is an async-signal-safe system call; the closure
    // allocates nothing and takes no locks.
    unsafe {
        cmd.pre_exec(move || {
            setrlimit(Resource::RLIMIT_AS, bytes, bytes)?;
            Ok(())
        });
    }
}

/// Memory the machine has available now (Linux's `MemAvailable`), if known.
pub fn memory_available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The same for a child started through pty-process (QEMU).
#[cfg(target_os = "linux")]
#[expect(
    unsafe_code,
    reason = "pre_exec runs between fork and exec; the closure only makes async-signal-safe system calls (prctl, getppid)"
)]
pub fn pty_die_with_xvlab(cmd: pty_process::Command) -> pty_process::Command {
    let parent = nix::unistd::getpid();
    // SAFETY: as in die_with_xvlab.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::other("xvlab exited"));
            }
            Ok(())
        })
    }
}

#[cfg(not(target_os = "linux"))]
pub fn pty_die_with_xvlab(cmd: pty_process::Command) -> pty_process::Command {
    cmd
}

/// A running child that leads its own process group, registered with the
/// [`Reaper`]. Killed with its whole group by [`Group::terminate`] or on
/// drop.
#[derive(Debug)]
pub struct Group {
    child: Child,
    pid: Pid,
    /// Set once the group has been killed and the leader reaped.
    done: bool,
}

impl Group {
    /// Spawn `cmd` as the leader of a new process group that dies with
    /// xvlab.
    pub fn spawn(mut cmd: tokio::process::Command) -> std::io::Result<Group> {
        cmd.process_group(0).kill_on_drop(true);
        die_with_xvlab(&mut cmd);
        let child = cmd.spawn()?;
        let pid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .ok_or_else(|| std::io::Error::other("the child has no process id"))?;
        Reaper::get().register(pid.unsigned_abs());
        Ok(Group {
            child,
            pid: Pid::from_raw(pid),
            done: false,
        })
    }

    /// The leader's pid, which is also the group's id.
    pub fn pid(&self) -> u32 {
        self.pid.as_raw().unsigned_abs()
    }

    /// The leader, e.g. to take its output pipes.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Wait for the leader to exit by itself, then make sure nothing else
    /// of its group is left. Cancel-safe.
    pub async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        let status = self.child.wait().await?;
        // Anything the leader left behind in its group goes too.
        self.signal(Signal::SIGKILL);
        self.finish();
        Ok(status)
    }

    /// Stop the group: SIGTERM, up to [`STOP_GRACE`], SIGKILL, reap.
    pub async fn terminate(mut self) {
        self.signal(Signal::SIGTERM);
        let exited = tokio::time::timeout(STOP_GRACE, self.child.wait()).await;
        self.signal(Signal::SIGKILL);
        if !matches!(exited, Ok(Ok(_))) {
            let _ = self.child.wait().await;
        }
        self.finish();
    }

    fn signal(&self, signal: Signal) {
        // ESRCH (the group is gone) is what we want. A group id cannot be
        // reused while the leader is unreaped or any member remains; only
        // after [`Group::wait`] reaped a leader that left no one behind
        // could it name a new group, in the instant before this call.
        let _ = killpg(self.pid, signal);
    }

    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            Reaper::get().unregister(self.pid());
        }
    }
}

impl Drop for Group {
    /// The path for a group nobody stopped (a dropped future, an early
    /// return). Drop cannot await, so this polls with short sleeps, for at
    /// most about two [`STOP_GRACE`]s.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.signal(Signal::SIGTERM);
        poll_until_exited(&mut self.child, STOP_GRACE);
        self.signal(Signal::SIGKILL);
        poll_until_exited(&mut self.child, STOP_GRACE);
        self.finish();
    }
}

/// Wait up to `limit` for `child` to exit, without an async runtime.
pub fn poll_until_exited(child: &mut Child, limit: Duration) {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(None) => {}
            // Exited, or cannot be waited for: nothing more to do here.
            Ok(Some(_)) | Err(_) => return,
        }
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Run `cmd` as a process group with piped output (no input) until it
/// exits, or until `timeout` (then kill the group and return `None`).
/// Dropping the future kills the group too (the [`Group`] guard). An error
/// is a failure to start it (the program missing) or to wait for it.
pub async fn output(
    mut cmd: tokio::process::Command,
    timeout: Duration,
) -> std::io::Result<Option<std::process::Output>> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut group = Group::spawn(cmd)?;
    let mut stdout = group.child_mut().stdout.take();
    let mut stderr = group.child_mut().stderr.take();
    let run = async {
        let (out, err) = tokio::join!(read_all(stdout.take()), read_all(stderr.take()));
        let status = group.wait().await;
        (out, err, status)
    };
    match tokio::time::timeout(timeout, run).await {
        Ok((stdout, stderr, status)) => Ok(Some(std::process::Output {
            status: status?,
            stdout,
            stderr,
        })),
        Err(_) => {
            group.terminate().await;
            Ok(None)
        }
    }
}

/// Everything from `pipe` until it closes. A read error only shortens the
/// output.
async fn read_all(pipe: Option<impl tokio::io::AsyncRead + Unpin>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut pipe) = pipe {
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut pipe, &mut buf).await;
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_limited_command_and_its_children_get_the_memory_limit() {
        let mut cmd = tokio::process::Command::new("sh");
        // The shell's child reports its limit, in KiB.
        cmd.args(["-c", "sh -c 'ulimit -v'"]);
        limit_memory(&mut cmd, 3 << 30);
        let out = cmd.output().await.unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            (3u64 << 20).to_string()
        );
    }

    fn alive(pid: i32) -> bool {
        // A zombie is not alive.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            let rest = &s[s.rfind(')').map_or(0, |i| i + 2)..];
            !rest.starts_with('Z')
        })
    }

    /// A group whose leader starts a grandchild that ignores SIGTERM.
    fn stubborn() -> (Group, std::path::PathBuf, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild");
        let mut cmd = tokio::process::Command::new("/bin/sh");
        cmd.arg("-c").arg(format!(
            "(trap '' TERM; while :; do sleep 1; done) & echo $! > {}; wait",
            pidfile.display()
        ));
        (Group::spawn(cmd).unwrap(), pidfile, dir)
    }

    async fn grandchild(pidfile: &std::path::Path) -> i32 {
        for _ in 0..200 {
            if let Ok(text) = std::fs::read_to_string(pidfile)
                && let Ok(pid) = text.trim().parse()
            {
                return pid;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no grandchild started");
    }

    /// The reaper's own kill, as when xvlab dies: a reaper of this test's
    /// own (the process's reaper must live on) is told of a group, and its
    /// input closes.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn dash_takes_no_double_dash_in_kill_so_the_reaper_names_groups_without_it() {
        let (group, pidfile, _dir) = stubborn();
        let pid = grandchild(&pidfile).await;
        let mut reaper = Reaper::command().spawn().unwrap();
        let mut input = reaper.stdin.take().unwrap();
        writeln!(input, "+ {}", group.pid()).unwrap();
        drop(input);
        let status = reaper.wait().unwrap();
        assert!(status.success());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!alive(pid), "grandchild {pid} survived the reaper");
        drop(group);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn terminate_kills_the_whole_group_even_what_ignores_sigterm() {
        let (group, pidfile, _dir) = stubborn();
        let pid = grandchild(&pidfile).await;
        assert!(alive(pid));
        group.terminate().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!alive(pid), "grandchild {pid} survived");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn dropping_the_guard_kills_the_whole_group() {
        let (group, pidfile, _dir) = stubborn();
        let pid = grandchild(&pidfile).await;
        drop(group);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!alive(pid), "grandchild {pid} survived");
    }
}
