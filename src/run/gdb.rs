//! What `xvlab qemu --gdb` sets up for a debugger, so that the same
//! command works every time: the kernel at a fixed path
//! (`<dir>/.xvlab/kernel`, in the student copy; git-ignored and never
//! packed), a port stable per user (MIT's 25000 + uid % 5000, the next
//! free one if that is busy), and a `.gdbinit` beside it that loads the
//! kernel's symbols and connects ([`GdbSetup`]).

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

/// Ports are `BASE_PORT + uid % PORT_SPREAD`, as in MIT's xv6 Makefile.
pub const BASE_PORT: u16 = 25000;
const PORT_SPREAD: u32 = 5000;
/// How many ports after the user's own are tried when it is busy.
const PORT_TRIES: u16 = 100;

/// The directory, inside the copy, that holds the kernel gdb reads.
pub const KERNEL_DIR: &str = ".xvlab";

#[derive(Debug, thiserror::Error)]
pub enum GdbError {
    #[error("find a free TCP port for gdb: {first}–{last} are all in use")]
    NoPort { first: u16, last: u16 },
    #[error("{action} `{}` for gdb", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The port `uid` tries first.
pub fn user_port(uid: u32) -> u16 {
    // uid % 5000 < 5000, so the sum fits.
    BASE_PORT + (uid % PORT_SPREAD) as u16
}

/// `first`, or the next port after it that is free on 127.0.0.1.
pub fn free_port_from(first: u16) -> Result<u16, GdbError> {
    let last = first.saturating_add(PORT_TRIES - 1);
    (first..=last)
        .find(|&port| TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok())
        .ok_or(GdbError::NoPort { first, last })
}

/// The kernel, `.gdbinit` and port of a debugging session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GdbSetup {
    /// The kernel ELF gdb loads symbols from (QEMU boots the same file).
    pub kernel: PathBuf,
    /// The `.gdbinit` that connects.
    pub gdbinit: PathBuf,
    pub port: u16,
}

impl GdbSetup {
    /// Copy `kernel` to `dir/.xvlab/kernel` and write `dir/.gdbinit` for
    /// `port`. `dir` should be absolute, so the `.gdbinit` works from
    /// anywhere.
    pub fn write(dir: &Path, kernel: &Path, port: u16) -> Result<GdbSetup, GdbError> {
        let io = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| GdbError::Io {
                action,
                path,
                source,
            }
        };
        let kernel_dir = dir.join(KERNEL_DIR);
        std::fs::create_dir_all(&kernel_dir).map_err(io("create", &kernel_dir))?;
        let setup = GdbSetup {
            kernel: kernel_dir.join("kernel"),
            gdbinit: dir.join(".gdbinit"),
            port,
        };
        std::fs::copy(kernel, &setup.kernel).map_err(io("write", &setup.kernel))?;
        std::fs::write(&setup.gdbinit, setup.gdbinit_text())
            .map_err(io("write", &setup.gdbinit))?;
        Ok(setup)
    }

    /// The `.gdbinit`: the architecture first (a multi-arch gdb would
    /// otherwise guess from the host), then the symbols, then the stub.
    pub fn gdbinit_text(&self) -> String {
        format!(
            "# Written by `xvlab qemu --gdb` (again at every boot): loads the kernel's\n\
             # symbols and connects to the waiting QEMU.\n\
             set confirm off\n\
             set architecture riscv:rv64\n\
             file {kernel}\n\
             target remote 127.0.0.1:{port}\n",
            kernel = self.kernel.display(),
            port = self.port,
        )
    }

    /// What to tell the user: the one command to type, and how to let a
    /// plain `gdb-multiarch` in the copy read the `.gdbinit` itself.
    pub fn instructions(&self) -> String {
        let gdbinit = self.gdbinit.display();
        format!(
            "QEMU is waiting for gdb on 127.0.0.1:{port}. In another terminal, type:\n  \
             gdb-multiarch -x {gdbinit}\n\
             (any gdb with RISC-V support will do). To have gdb read it by itself when\n\
             started in this directory, add this line to ~/.config/gdb/gdbinit:\n  \
             add-auto-load-safe-path {gdbinit}\n\
             Then e.g. `break kernel::trap::usertrap` and `continue`.",
            port = self.port,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_stable_per_user_and_skip_busy_ones() {
        assert_eq!(user_port(0), 25000);
        assert_eq!(user_port(1000), 26000);
        assert_eq!(user_port(5001), 25001);
        assert_eq!(user_port(u32::MAX), 25000 + (u32::MAX % 5000) as u16);

        let busy = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = busy.local_addr().unwrap().port();
        let chosen = free_port_from(port).unwrap();
        assert!(chosen > port && chosen < port + PORT_TRIES, "{chosen}");
    }

    #[test]
    fn the_kernel_and_gdbinit_are_at_fixed_paths_in_the_copy() {
        let dir = tempfile::tempdir().unwrap();
        let built = dir.path().join("built-kernel");
        std::fs::write(&built, b"\x7fELF kernel").unwrap();
        let setup = GdbSetup::write(dir.path(), &built, 26001).unwrap();
        assert_eq!(setup.kernel, dir.path().join(".xvlab/kernel"));
        assert_eq!(std::fs::read(&setup.kernel).unwrap(), b"\x7fELF kernel");
        let init = std::fs::read_to_string(dir.path().join(".gdbinit")).unwrap();
        assert!(init.contains("set architecture riscv:rv64\n"), "{init}");
        assert!(
            init.contains(&format!("file {}\n", setup.kernel.display())),
            "{init}"
        );
        assert!(init.ends_with("target remote 127.0.0.1:26001\n"), "{init}");
        let says = setup.instructions();
        assert!(
            says.contains(&format!("gdb-multiarch -x {}", setup.gdbinit.display())),
            "{says}"
        );
        assert!(says.contains("add-auto-load-safe-path"), "{says}");
        // Written again at the next boot, over the old ones.
        let again = GdbSetup::write(dir.path(), &built, 26002).unwrap();
        assert_eq!(again.kernel, setup.kernel);
    }
}
