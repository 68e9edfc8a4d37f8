//! QEMU: the lab's RISC-V board as a command line ([`Machine`]), finding the
//! emulator ([`locate_qemu`]), and a running emulator ([`Vm`]): a process in
//! its own session and process group, attached to a pseudo-terminal that is
//! its console.
//!
//! A [`Vm`] is a guard. However it goes away — [`Vm::stop`] on the normal
//! path, or `Drop` when a session's future is dropped, the grader unwinds or
//! returns early — the whole process group gets SIGTERM, a short grace
//! ([`STOP_GRACE`]), then SIGKILL, and the child is reaped. As a last line of
//! defence, if the grader itself dies, the kernel hangs up the pty when its
//! master side closes, and QEMU, whose controlling terminal it is, exits on
//! the SIGHUP; QEMU also gets SIGKILL from the kernel when xvlab dies
//! (`PR_SET_PDEATHSIG`), and xvlab's reaper kills its whole group
//! ([`crate::shared::process`]).
//!
//! Where the QEMU supports it, VMs run under QEMU's seccomp sandbox
//! ([`SECCOMP_SANDBOX`], probed once by [`seccomp_supported`]).
//!
//! `xvlab qemu` (the `make qemu` of the lab) does not use a pty: it runs
//! QEMU in the foreground on the user's own terminal ([`Machine::run_interactive`]).

use std::ffi::{OsStr, OsString};
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use nix::unistd::Pid;
use thiserror::Error;

use crate::shared::exit;
use tokio::process::Child;

/// Environment variable naming the QEMU binary to use instead of the one on
/// `PATH`.
pub const QEMU_ENV: &str = "XVLAB_QEMU";

/// The emulator looked up on `PATH`.
pub const QEMU_PROGRAM: &str = "qemu-system-riscv64";

/// How long a VM gets between SIGTERM and SIGKILL. QEMU exits at once on
/// SIGTERM; the grace only matters for one that is wedged.
pub const STOP_GRACE: Duration = Duration::from_millis(500);

/// A grader fault around QEMU. A kernel that misbehaves is never one of
/// these: it is a session outcome.
#[derive(Debug, Error)]
pub enum QemuError {
    #[error(
        "find `{QEMU_PROGRAM}` on PATH; install QEMU (Debian/Ubuntu: \
         `apt-get install qemu-system-misc`, macOS: `brew install qemu`) \
         or set {QEMU_ENV} to the emulator's path"
    )]
    NotFound,
    #[error("find QEMU at {} (set by {QEMU_ENV}): no such file", path.display())]
    EnvNotFound { path: PathBuf },
    #[error("find the kernel at {}", path.display())]
    KernelMissing { path: PathBuf },
    #[error("find the file-system image at {}", path.display())]
    ImageMissing { path: PathBuf },
    #[error("open a pseudo-terminal for QEMU")]
    Pty(#[source] pty_process::Error),
    #[error("put QEMU's terminal in raw mode")]
    Terminal(#[source] nix::Error),
    #[error("start QEMU ({})", qemu.display())]
    Spawn {
        qemu: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("find a free TCP port for gdb")]
    GdbPort(#[source] io::Error),
}

impl QemuError {
    /// The exit code of `xvlab` for this error (see exit.rs).
    pub fn exit_code(&self) -> u8 {
        match self {
            QemuError::NotFound | QemuError::EnvNotFound { .. } => exit::MISSING_TOOL,
            _ => exit::FAILURE,
        }
    }
}

/// The board a kernel boots on: QEMU's `virt` machine with one virtio disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// The `qemu-system-riscv64` binary (see [`locate_qemu`]).
    pub qemu: PathBuf,
    /// The kernel ELF, loaded at 0x80000000 with no firmware.
    pub kernel: PathBuf,
    /// The file-system image. QEMU runs with `-snapshot`, so the image is
    /// never written and many VMs can share it.
    pub image: PathBuf,
    /// RAM in MiB; xv6's kernel assumes 128.
    pub memory_mib: u32,
    /// Harts.
    pub cpus: u32,
    /// Start halted with a gdb stub on this port of 127.0.0.1.
    pub gdb: Option<u16>,
    /// Run under QEMU's seccomp sandbox ([`SECCOMP_SANDBOX`]); see
    /// [`seccomp_supported`].
    pub seccomp: bool,
    /// Boot the kernel, or take or restore a snapshot
    /// ([`crate::run::snapshot`]).
    pub start: Start,
}

/// How a VM starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Start {
    /// Boot the kernel, guest RAM anonymous, the image behind `-snapshot`.
    #[default]
    Boot,
    /// Boot the kernel to be snapshotted: guest RAM in the file `ram`
    /// (shared, so that it holds the guest's memory when the VM stops),
    /// the image (a copy for this snapshot) written in place, QMP on the
    /// socket `qmp`.
    Save { ram: PathBuf, qmp: PathBuf },
    /// Wait for a snapshot's device state on QMP (`-incoming defer`), guest
    /// RAM a private copy-on-write mapping of the snapshot's `ram`, its
    /// image behind `-snapshot`, and a gdbstub on the socket `gdb` (through
    /// which the restore arms the harts' timers again).
    Restore {
        ram: PathBuf,
        qmp: PathBuf,
        gdb: PathBuf,
    },
}

/// QEMU's `-sandbox` option: seccomp filters that refuse obsolete system
/// calls, gaining privileges, starting processes and changing resource
/// limits or scheduling — none of which an emulator needs — so that a
/// guest that escaped into QEMU can do little with it.
pub const SECCOMP_SANDBOX: &str =
    "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

impl Machine {
    /// xv6's usual board: 128 MiB, 3 harts (like `make qemu`), no gdb.
    pub fn new(qemu: PathBuf, kernel: PathBuf, image: PathBuf) -> Machine {
        Machine {
            qemu,
            kernel,
            image,
            memory_mib: 128,
            cpus: 3,
            gdb: None,
            seccomp: false,
            start: Start::Boot,
        }
    }

    /// QEMU's arguments (without the program name).
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |a: &dyn AsRef<OsStr>| args.push(a.as_ref().to_owned());
        push(&"-machine");
        push(&match self.start {
            Start::Boot => "virt",
            // The RAM of `-object memory-backend-file` below.
            Start::Save { .. } | Start::Restore { .. } => "virt,memory-backend=ram",
        });
        push(&"-bios");
        push(&"none");
        push(&"-kernel");
        push(&self.kernel);
        push(&"-m");
        push(&format!("{}M", self.memory_mib));
        push(&"-smp");
        push(&self.cpus.to_string());
        push(&"-nographic");
        // The kernel's virtio driver speaks the modern (version 2) interface.
        push(&"-global");
        push(&"virtio-mmio.force-legacy=false");
        let mut drive = OsString::from("file=");
        drive.push(drive_path(&self.image));
        drive.push(",if=none,format=raw,id=x0");
        push(&"-drive");
        push(&drive);
        push(&"-device");
        push(&"virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0");
        // Writes go to a temporary overlay: the image stays pristine. A VM
        // to be snapshotted writes its own copy, which its restored VMs
        // then share, each behind an overlay of its own.
        if !matches!(self.start, Start::Save { .. }) {
            push(&"-snapshot");
        }
        if let Start::Save { ram, qmp } | Start::Restore { ram, qmp, .. } = &self.start {
            let shared = matches!(self.start, Start::Save { .. });
            let mut backend = OsString::from("memory-backend-file,id=ram,size=");
            backend.push(format!("{}M,mem-path=", self.memory_mib));
            backend.push(drive_path(ram));
            backend.push(if shared { ",share=on" } else { ",share=off" });
            push(&"-object");
            push(&backend);
            push(&"-qmp");
            push(&unix_server(qmp));
            if let Start::Restore { gdb, .. } = &self.start {
                push(&"-incoming");
                push(&"defer");
                push(&"-gdb");
                push(&unix_server(gdb));
            }
        }
        // A guest reset would reboot into a fresh kernel and muddle the
        // transcript; stop instead.
        push(&"-no-reboot");
        if self.seccomp {
            push(&"-sandbox");
            push(&SECCOMP_SANDBOX);
        }
        if let Some(port) = self.gdb {
            // Loopback only: the stub gives full control of the guest.
            push(&"-S");
            push(&"-gdb");
            push(&format!("tcp:127.0.0.1:{port}"));
        }
        args
    }

    /// Run QEMU in the foreground on the user's terminal, like `make qemu`
    /// (quit with Ctrl-A x), and return its exit status.
    ///
    /// QEMU puts the terminal in raw mode, so Ctrl-C reaches the guest rather
    /// than raising SIGINT; QEMU shares the caller's process group so that it
    /// may read the terminal.
    pub async fn run_interactive(&self) -> Result<ExitStatus, QemuError> {
        self.check_files()?;
        let spawn_error = |source| QemuError::Spawn {
            qemu: self.qemu.clone(),
            source,
        };
        let mut cmd = tokio::process::Command::new(&self.qemu);
        if let Some(dir) = self.scratch_dir() {
            cmd.env("TMPDIR", dir);
        }
        cmd.args(self.args())
            .stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        crate::shared::process::die_with_xvlab(&mut cmd);
        let mut child = cmd.spawn().map_err(spawn_error)?;
        child.wait().await.map_err(spawn_error)
    }

    /// Where QEMU makes the `-snapshot` overlay (`vl.XXXXXX`, via
    /// `TMPDIR`): the image's directory, xvlab's own temporary directory
    /// for the VM. QEMU unlinks the overlay once it has opened it, so one
    /// killed while starting leaves the file behind — there it goes with
    /// that directory, which the next xvlab run sweeps if need be
    /// ([`crate::shared::scratch`]).
    fn scratch_dir(&self) -> Option<&Path> {
        self.image.parent().filter(|d| d.is_dir())
    }

    /// A missing kernel or image is the grader's fault (the build should have
    /// made them); say so instead of letting QEMU complain on the console.
    fn check_files(&self) -> Result<(), QemuError> {
        if !self.kernel.is_file() {
            return Err(QemuError::KernelMissing {
                path: self.kernel.clone(),
            });
        }
        if !self.image.is_file() {
            return Err(QemuError::ImageMissing {
                path: self.image.clone(),
            });
        }
        Ok(())
    }
}

/// Does `qemu` have a seccomp sandbox (QEMU built with libseccomp, on a
/// kernel with seccomp)? Probed once per QEMU per process: a machine with
/// no board starts under [`SECCOMP_SANDBOX`] and is told to quit on its
/// monitor; a QEMU without seccomp refuses the option and exits with an
/// error.
pub fn seccomp_supported(qemu: &Path) -> bool {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static PROBED: OnceLock<Mutex<HashMap<PathBuf, bool>>> = OnceLock::new();
    let probed = PROBED.get_or_init(Default::default);
    if let Some(known) = probed.lock().ok().and_then(|m| m.get(qemu).copied()) {
        return known;
    }
    let supported = probe_seccomp(qemu);
    if let Ok(mut m) = probed.lock() {
        m.insert(qemu.to_path_buf(), supported);
    }
    supported
}

fn probe_seccomp(qemu: &Path) -> bool {
    use std::io::Write;
    let child = std::process::Command::new(qemu)
        .args(["-sandbox", SECCOMP_SANDBOX])
        .args(["-machine", "none", "-nodefaults", "-display", "none"])
        .args(["-monitor", "stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return false;
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"quit\n");
    }
    // A QEMU that ignores the monitor would hang the probe: give it a few
    // seconds, then treat it as having no sandbox.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

/// A chardev that listens on the Unix socket `path` (QEMU makes it) and
/// does not wait for a client before the VM starts.
fn unix_server(path: &Path) -> OsString {
    let mut socket = OsString::from("unix:");
    socket.push(drive_path(path));
    socket.push(",server=on,wait=off");
    socket
}

/// QEMU's `-drive` option (like `-object` and a chardev's path) is a
/// comma-separated list, so a comma in the path must be doubled.
fn drive_path(path: &Path) -> OsString {
    let s = path.as_os_str().to_string_lossy();
    if s.contains(',') {
        OsString::from(s.replace(',', ",,"))
    } else {
        path.as_os_str().to_owned()
    }
}

/// Find QEMU: `$XVLAB_QEMU` if set, else `qemu-system-riscv64` on `PATH`.
pub fn locate_qemu() -> Result<PathBuf, QemuError> {
    locate_qemu_in(
        std::env::var_os(QEMU_ENV).as_deref(),
        std::env::var_os("PATH").as_deref(),
    )
}

/// [`locate_qemu`] given the values of `$XVLAB_QEMU` and `$PATH`.
pub fn locate_qemu_in(env: Option<&OsStr>, path: Option<&OsStr>) -> Result<PathBuf, QemuError> {
    if let Some(env) = env.filter(|e| !e.is_empty()) {
        let qemu = PathBuf::from(env);
        return if qemu.is_file() {
            Ok(qemu)
        } else {
            Err(QemuError::EnvNotFound { path: qemu })
        };
    }
    let path = path.ok_or(QemuError::NotFound)?;
    std::env::split_paths(path)
        .map(|dir| dir.join(QEMU_PROGRAM))
        .find(|candidate| is_executable(candidate))
        .ok_or(QemuError::NotFound)
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A TCP port on 127.0.0.1 that was free a moment ago, for QEMU's gdb stub.
pub fn free_gdb_port() -> Result<u16, QemuError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(QemuError::GdbPort)?;
    let port = listener.local_addr().map_err(QemuError::GdbPort)?.port();
    Ok(port)
}

/// The console of a [`Vm`]: the master side of its pty. Reading yields what
/// the guest prints (and QEMU's own messages); writing types at the guest's
/// UART.
pub type Console = pty_process::Pty;

/// A running QEMU, leader of its own session and process group. Stopped
/// with its whole group by [`Vm::stop`] or, failing that, on drop.
#[derive(Debug)]
pub struct Vm {
    child: Child,
    /// QEMU's pid, which is also its process-group id.
    pid: Pid,
    /// Set once the group has been killed and the child reaped.
    stopped: bool,
}

impl Vm {
    /// Boot `machine` under a fresh pty and return the VM and its console.
    /// Must be called inside a tokio runtime (the pty and the child are
    /// driven by its reactor).
    pub fn spawn(machine: &Machine) -> Result<(Vm, Console), QemuError> {
        machine.check_files()?;
        let (console, pts) = pty_process::open().map_err(QemuError::Pty)?;
        // QEMU sets its own terminal modes, but only once it runs. Starting
        // raw means nothing is echoed or translated by the line discipline,
        // whatever the child: the only echo is the guest console's.
        let mut modes = tcgetattr(&pts).map_err(QemuError::Terminal)?;
        cfmakeraw(&mut modes);
        tcsetattr(&pts, SetArg::TCSANOW, &modes).map_err(QemuError::Terminal)?;
        // pty-process makes the child a session leader (setsid), hence also
        // the leader of a new process group, with the pty as its
        // controlling terminal.
        let mut command = pty_process::Command::new(&machine.qemu)
            .args(machine.args())
            .kill_on_drop(true);
        if let Some(dir) = machine.scratch_dir() {
            command = command.env("TMPDIR", dir);
        }
        let child = crate::shared::process::pty_die_with_xvlab(command)
            .spawn(pts)
            .map_err(|e| QemuError::Spawn {
                qemu: machine.qemu.clone(),
                source: match e {
                    pty_process::Error::Io(e) => e,
                    other => io::Error::other(other.to_string()),
                },
            })?;
        let pid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .ok_or_else(|| QemuError::Spawn {
                qemu: machine.qemu.clone(),
                source: io::Error::other("the child has no process id"),
            })?;
        // Should xvlab die before stopping it, the reaper kills the group.
        crate::shared::process::Reaper::get().register(pid.unsigned_abs());
        let vm = Vm {
            child,
            pid: Pid::from_raw(pid),
            stopped: false,
        };
        Ok((vm, console))
    }

    /// QEMU's process id, which is also its process-group id.
    pub fn pid(&self) -> u32 {
        self.pid.as_raw().unsigned_abs()
    }

    /// Wait for QEMU to exit by itself. Cancel-safe, for use in `select!`.
    /// A QEMU the kernel killed (SIGKILL, SIGBUS: xvlab only signals a VM
    /// once it has stopped waiting for it) is the grading machine's fault,
    /// an error holding a [`crate::shared::process::HostFault`].
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        let status = self.child.wait().await?;
        match crate::shared::process::HostFault::from_status("QEMU", status) {
            Some(fault) => Err(io::Error::other(fault)),
            None => Ok(status),
        }
    }

    /// Stop the VM: SIGTERM to the process group, up to [`STOP_GRACE`] for
    /// QEMU to exit, SIGKILL to whatever is left, and reap QEMU. Returns
    /// QEMU's exit status if it could be collected.
    pub async fn stop(mut self) -> Option<ExitStatus> {
        self.signal_group(Signal::SIGTERM);
        let status = match tokio::time::timeout(STOP_GRACE, self.child.wait()).await {
            Ok(Ok(status)) => Some(status),
            Ok(Err(_)) | Err(_) => None,
        };
        // Also for a QEMU that exited on SIGTERM (or earlier): anything else
        // left in its group must go. A reaped leader's group id cannot be
        // reused while any member remains, so this reaches only our group.
        self.signal_group(Signal::SIGKILL);
        let status = match status {
            Some(status) => Some(status),
            None => self.child.wait().await.ok(),
        };
        self.stopped = true;
        crate::shared::process::Reaper::get().unregister(self.pid());
        status
    }

    fn signal_group(&self, signal: Signal) {
        // ESRCH (the group is gone) is what we want; nothing else can fail
        // for our own child's group.
        let _ = killpg(self.pid, signal);
    }
}

impl Drop for Vm {
    /// The path for a VM nobody stopped (a dropped session future, an early
    /// return, a panic). Drop cannot await, so this polls the child with
    /// short sleeps; it blocks for at most about two [`STOP_GRACE`]s, and
    /// for a few milliseconds when QEMU honours SIGTERM.
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        self.signal_group(Signal::SIGTERM);
        poll_until_exited(&mut self.child, STOP_GRACE);
        self.signal_group(Signal::SIGKILL);
        // SIGKILL cannot be ignored; the bound only covers a child stuck in
        // the kernel, which tokio's orphan reaper collects later.
        poll_until_exited(&mut self.child, STOP_GRACE);
        self.stopped = true;
        crate::shared::process::Reaper::get().unregister(self.pid());
    }
}

/// Wait up to `limit` for `child` to exit, without an async runtime.
fn poll_until_exited(child: &mut Child, limit: Duration) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        Machine::new(
            PathBuf::from("/usr/bin/qemu-system-riscv64"),
            PathBuf::from("/k/kernel"),
            PathBuf::from("/k/fs,1.img"),
        )
    }

    fn args(m: &Machine) -> Vec<String> {
        m.args()
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn command_line_is_xv6_virt_board() {
        let m = Machine {
            cpus: 2,
            ..machine()
        };
        assert_eq!(
            args(&m).join(" "),
            "-machine virt -bios none -kernel /k/kernel -m 128M -smp 2 -nographic \
             -global virtio-mmio.force-legacy=false \
             -drive file=/k/fs,,1.img,if=none,format=raw,id=x0 \
             -device virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0 -snapshot -no-reboot"
        );
    }

    /// The command line of a VM that starts as `start`, checked to take
    /// its RAM from the memory backend.
    fn line_of(start: Start) -> String {
        let line = args(&Machine { start, ..machine() }).join(" ");
        assert!(
            line.starts_with("-machine virt,memory-backend=ram "),
            "{line}"
        );
        line
    }

    #[test]
    fn a_vm_to_be_saved_has_its_ram_in_a_shared_file_writes_its_image_and_listens_for_qmp() {
        let line = line_of(Start::Save {
            ram: PathBuf::from("/s,1/ram"),
            qmp: PathBuf::from("/s,1/qmp.sock"),
        });
        assert!(
            line.contains(
                "-object memory-backend-file,id=ram,size=128M,mem-path=/s,,1/ram,share=on \
                 -qmp unix:/s,,1/qmp.sock,server=on,wait=off"
            ),
            "{line}"
        );
        // Its image is the snapshot's own copy, written in place.
        assert!(!line.contains("-snapshot"), "{line}");
        assert!(!line.contains("-incoming"), "{line}");
    }

    #[test]
    fn a_restored_vm_maps_the_ram_privately_waits_for_its_state_and_has_a_gdbstub_socket() {
        let line = line_of(Start::Restore {
            ram: PathBuf::from("/s/ram"),
            qmp: PathBuf::from("/s/q0.sock"),
            gdb: PathBuf::from("/s/g0.sock"),
        });
        assert!(
            line.contains(
                "-object memory-backend-file,id=ram,size=128M,mem-path=/s/ram,share=off \
                 -qmp unix:/s/q0.sock,server=on,wait=off -incoming defer \
                 -gdb unix:/s/g0.sock,server=on,wait=off"
            ),
            "{line}"
        );
        // The snapshot's image is shared by every restored VM: each writes
        // an overlay.
        assert!(line.contains(" -snapshot "), "{line}");
        // No TCP port: the gdbstub is a socket in xvlab's own folder.
        assert!(!line.contains("tcp:"), "{line}");
    }

    #[test]
    fn the_seccomp_sandbox_is_asked_for_when_supported() {
        let m = Machine {
            seccomp: true,
            ..machine()
        };
        let with = args(&m);
        let at = with.iter().position(|a| a == "-sandbox").unwrap();
        assert_eq!(
            with[at + 1],
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
        );
        assert!(!args(&machine()).contains(&"-sandbox".to_string()));
    }

    #[test]
    fn seccomp_probe_fails_for_a_qemu_that_refuses_it() {
        // `false` exits 1 like a QEMU built without seccomp.
        assert!(!seccomp_supported(Path::new("/bin/false")));
        assert!(!seccomp_supported(Path::new("/nonexistent/qemu")));
    }

    #[test]
    fn gdb_stub_halts_and_listens_on_loopback() {
        let m = Machine {
            gdb: Some(26000),
            ..machine()
        };
        let args = args(&m);
        assert!(args.ends_with(&["-S".into(), "-gdb".into(), "tcp:127.0.0.1:26000".into()]));
    }

    #[test]
    fn env_override_wins_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("my-qemu");
        std::fs::write(&fake, "").unwrap();
        let path = OsString::from("/nonexistent");
        assert_eq!(
            locate_qemu_in(Some(fake.as_os_str()), Some(&path)).unwrap(),
            fake
        );
        let missing = dir.path().join("nope");
        assert!(matches!(
            locate_qemu_in(Some(missing.as_os_str()), Some(&path)),
            Err(QemuError::EnvNotFound { .. })
        ));
    }

    #[test]
    fn path_lookup_needs_an_executable() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join(QEMU_PROGRAM);
        std::fs::write(&bin, "").unwrap();
        let path = std::env::join_paths(["/nonexistent".as_ref(), dir.path()]).unwrap();
        // Not executable yet: not found, and the message says how to install.
        let err = locate_qemu_in(None, Some(&path)).unwrap_err();
        assert!(err.to_string().contains("apt-get install qemu-system-misc"));
        assert!(err.to_string().contains("brew install qemu"));
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(locate_qemu_in(None, Some(&path)).unwrap(), bin);
        // An empty override is as good as none.
        assert_eq!(
            locate_qemu_in(Some(OsStr::new("")), Some(&path)).unwrap(),
            bin
        );
        assert!(matches!(
            locate_qemu_in(None, None),
            Err(QemuError::NotFound)
        ));
    }

    #[test]
    fn free_gdb_port_is_nonzero() {
        assert_ne!(free_gdb_port().unwrap(), 0);
    }

    #[test]
    fn spawn_refuses_missing_kernel_or_image() {
        let dir = tempfile::tempdir().unwrap();
        let kernel = dir.path().join("kernel");
        let image = dir.path().join("fs.img");
        let m = Machine::new(PathBuf::from("/bin/true"), kernel.clone(), image.clone());
        assert!(matches!(
            Vm::spawn(&m),
            Err(QemuError::KernelMissing { .. })
        ));
        std::fs::write(&kernel, "").unwrap();
        assert!(matches!(Vm::spawn(&m), Err(QemuError::ImageMissing { .. })));
    }
}
