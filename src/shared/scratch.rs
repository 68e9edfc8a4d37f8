//! xvlab's temporary directories (`xvlab-<kind>-<pid>-<start>-<random>` in
//! the temp dir): names that record their owner ([`prefix`]), and the sweep
//! that removes those whose owner is gone ([`sweep`]).
//!
//! A temporary directory is removed by its guard when xvlab exits normally,
//! on errors and on Ctrl-C; only a process killed outright (SIGKILL, a
//! crash, a power cut) leaves one behind. The owner is the creating
//! process's id plus its start time (clock ticks since boot, from
//! `/proc/<pid>/stat`), so that a recycled pid does not make a dead owner
//! look alive. The next xvlab run sweeps the directories of owners that
//! are gone — never one whose owner is alive, and only the current user's.

use std::path::Path;

/// The directory-name prefix for a temporary directory of `kind` (`vm`,
/// `submission`, `pack`) owned by this process.
pub fn prefix(kind: &str) -> String {
    let pid = std::process::id();
    format!("xvlab-{kind}-{pid}-{}-", start_time(pid).unwrap_or(0))
}

/// The start time of process `pid` (Linux: field 22 of /proc/PID/stat),
/// or `None` where there is no such process or no /proc. A zombie has no
/// start time: it is gone as far as its directories are concerned.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    // Field 3 (state) is fields[0], so field 22 is fields[19].
    fields.get(19)?.parse().ok()
}

/// The owner recorded in a directory name, if it is one of ours.
fn owner(name: &str) -> Option<(u32, u64)> {
    let rest = name.strip_prefix("xvlab-")?;
    let mut parts = rest.split('-');
    let _kind = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    let start = parts.next()?.parse().ok()?;
    // The random part tempfile adds.
    parts.next()?;
    Some((pid, start))
}

/// Is the process that made a directory with this owner still running?
fn alive(pid: u32, start: u64) -> bool {
    if Path::new("/proc/self/stat").exists() {
        return start_time(pid) == Some(start);
    }
    // No /proc (macOS): only the pid can be checked; a recycled one keeps
    // the directory, which is the safe mistake.
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    !matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None),
        Err(nix::errno::Errno::ESRCH)
    )
}

/// Remove the temporary directories under `dir` whose owner is gone and
/// which belong to the current user. Best effort: what cannot be read or
/// removed is left. Returns how many were removed.
pub fn sweep(dir: &Path) -> usize {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let uid = nix::unistd::geteuid().as_raw();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((pid, start)) = name.to_str().and_then(owner) else {
            continue;
        };
        let path = entry.path();
        let ours = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir() && m.uid() == uid);
        if ours && !alive(pid, start) && std::fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// [`sweep`] the system's temp dir, where xvlab makes its directories.
pub fn sweep_temp_dir() -> usize {
    sweep(&std::env::temp_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_record_this_process_as_owner() {
        let p = prefix("vm");
        let (pid, start) = owner(&format!("{p}AbC123")).unwrap();
        assert_eq!(pid, std::process::id());
        assert!(alive(pid, start));
        assert_eq!(owner("xvlab-vm-12-34"), None, "no random part");
        assert_eq!(owner("xvlab-vm-abc-34-x"), None);
        assert_eq!(owner("other-vm-1-2-x"), None);
    }

    #[test]
    fn sweep_removes_only_directories_of_dead_owners() {
        let tmp = tempfile::tempdir().unwrap();
        // A process that has exited (and been reaped): its pid is gone.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = child.id();
        child.wait().unwrap();
        let dead = tmp.path().join(format!("xvlab-vm-{dead_pid}-1-x1"));
        // Our own pid with another start time: a recycled pid.
        let recycled = tmp
            .path()
            .join(format!("xvlab-vm-{}-1-x2", std::process::id()));
        let live = tmp.path().join(format!("{}x3", prefix("submission")));
        let foreign = tmp.path().join("xvlab-notes");
        for d in [&dead, &recycled, &live, &foreign] {
            std::fs::create_dir_all(d.join("inner")).unwrap();
        }
        assert_eq!(sweep(tmp.path()), 2);
        assert!(!dead.exists());
        assert!(!recycled.exists());
        assert!(live.exists(), "the owner is alive");
        assert!(foreign.exists(), "no owner recorded: not ours to judge");
    }
}
