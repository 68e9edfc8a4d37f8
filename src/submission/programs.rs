//! A student's own user programs (MIT's `UPROGS`), for `xvlab run`, `qemu`
//! and `build` only — never for `grade`, which boots only the grader's
//! programs.
//!
//! Two kinds: Rust sources, built as user programs against the copy's user
//! library (the new `user/src/bin/NAME.rs` files of a student copy, and
//! `--add NAME.rs`), and ready-made binaries (`--add NAME`, checked to be a
//! RISC-V 64-bit ELF). A source is written into the prepared tree's
//! `user/src/bin/` and audited like any changed source before the tree is
//! built, in the same build sandbox. No student program may take the name
//! of one of the starter's programs: it would shadow the grader's.

use std::path::{Path, PathBuf};

use crate::submission::audit;
use crate::submission::{Prepared, SubmissionError, ignored_new_file, io_error, tree_error};

pub use crate::shared::layout::BIN_DIR;

/// The longest file name xv6's directories hold (`DIRSIZ`).
const MAX_NAME: usize = 14;

/// The student programs of a `run`, `qemu` or `build`.
#[derive(Clone, Debug, Default)]
pub struct StudentPrograms {
    /// The student copy whose new `user/src/bin/*.rs` files are built.
    pub work_tree: Option<PathBuf>,
    /// `--add` sources (`*.rs`), built the same way.
    pub sources: Vec<PathBuf>,
    /// `--add` binaries, put on the image as they are.
    pub binaries: Vec<PathBuf>,
}

impl StudentPrograms {
    /// `--add` files sorted into sources (`*.rs`) and binaries.
    pub fn new(work_tree: Option<PathBuf>, added: &[PathBuf]) -> StudentPrograms {
        let (sources, binaries) = added
            .iter()
            .cloned()
            .partition(|p| p.extension().is_some_and(|e| e == "rs"));
        StudentPrograms {
            work_tree,
            sources,
            binaries,
        }
    }
}

/// The program name of a source or binary file: its file name without a
/// `.rs`, checked to be one a user can type and the image can hold.
fn program_name(path: &Path) -> Result<String, SubmissionError> {
    let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let name = file.strip_suffix(".rs").unwrap_or(file);
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(name.to_string())
    } else {
        Err(SubmissionError::Program {
            message: format!(
                "`{}` cannot be a program: its name must be a letter then letters, digits, `_` or `-`, at most {MAX_NAME} characters",
                path.display()
            ),
        })
    }
}

/// Is `name` one of the programs of the kernel tree at `root` (a
/// `NAME.rs` or a `NAME/` directory in its `user/src/bin`)?
fn is_tree_program(root: &Path, name: &str) -> bool {
    let bin = root.join(BIN_DIR);
    bin.join(format!("{name}.rs")).exists() || bin.join(name).exists()
}

/// Refuse `--add FILE` as a binary unless it is a RISC-V 64-bit ELF
/// executable (an xv6 program), and unless its name is free: a binary
/// named like a grader's program would shadow it on the image.
/// `tree` is the kernel tree whose programs it must not shadow.
pub fn check_binary(path: &Path, tree: &Path) -> Result<(), SubmissionError> {
    let name = program_name(path)?;
    if is_tree_program(tree, &name) {
        return Err(shadowing(path, &name));
    }
    let bytes = std::fs::read(path).map_err(tree_error(format!("read `{}`", path.display())))?;
    // e_ident: magic, ELFCLASS64 (2), little-endian (1); e_machine at 18:
    // EM_RISCV (243).
    let riscv64 = bytes.len() >= 20
        && bytes.starts_with(b"\x7fELF")
        && bytes[4] == 2
        && bytes[5] == 1
        && u16::from_le_bytes([bytes[18], bytes[19]]) == 243;
    if riscv64 {
        Ok(())
    } else {
        Err(SubmissionError::Program {
            message: format!(
                "`{}` is not a RISC-V 64-bit ELF program: `--add` takes a Rust source (`NAME.rs`, built against the user library) or an xv6 binary",
                path.display()
            ),
        })
    }
}

fn shadowing(path: &Path, name: &str) -> SubmissionError {
    SubmissionError::Program {
        message: format!(
            "`{}` cannot be a program: `{name}` is one of the starter's programs, and yours would replace it; give yours another name",
            path.display()
        ),
    }
}

impl Prepared {
    /// Add `programs`' sources to this prepared tree's user programs,
    /// audited like the submission's own changes, and check its binaries
    /// ([`check_binary`]). A work tree's new program is no longer
    /// "ignored" in the notes.
    pub fn add_programs(&mut self, programs: &StudentPrograms) -> Result<(), SubmissionError> {
        let mut sources = Vec::new();
        if let Some(tree) = &programs.work_tree {
            let dir = tree.join(BIN_DIR);
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for entry in entries {
                    let entry = entry.map_err(tree_error(format!("read `{}`", dir.display())))?;
                    let path = entry.path();
                    let is_file = entry.file_type().is_ok_and(|t| t.is_file());
                    let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
                        continue;
                    };
                    // The starter's own programs (the prepared tree has
                    // them, pristine) are the grader's, changed or not.
                    if !is_file
                        || !file.ends_with(".rs")
                        || self.path().join(BIN_DIR).join(file).exists()
                    {
                        continue;
                    }
                    sources.push(path);
                }
            }
        }
        sources.sort();
        sources.extend(programs.sources.iter().cloned());
        for path in &sources {
            let name = program_name(path)?;
            if is_tree_program(self.path(), &name) {
                return Err(shadowing(path, &name));
            }
            let bytes =
                std::fs::read(path).map_err(tree_error(format!("read `{}`", path.display())))?;
            let rel = format!("{BIN_DIR}/{name}.rs");
            let target = self.path().join(&rel);
            std::fs::write(&target, &bytes)
                .map_err(io_error(format!("write `{}`", target.display())))?;
            let note = ignored_new_file(&rel);
            self.notes.retain(|n| !n.starts_with(&note));
            self.sources
                .push((rel, String::from_utf8_lossy(&bytes).into_owned()));
        }
        for binary in &programs.binaries {
            check_binary(binary, self.path())?;
        }
        if std::env::var_os(crate::submission::SKIP_AUDIT_ENV).is_some_and(|v| v == "1") {
            return Ok(());
        }
        let findings: Vec<_> = self
            .sources
            .iter()
            .filter(|(rel, _)| rel.starts_with(BIN_DIR))
            .flat_map(|(rel, text)| audit::host_reads(rel, text))
            .collect();
        if findings.is_empty() {
            Ok(())
        } else {
            Err(SubmissionError::source_refused(findings))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf(machine: u16) -> Vec<u8> {
        let mut bytes = b"\x7fELF\x02\x01\x01".to_vec();
        bytes.resize(18, 0);
        bytes.extend(machine.to_le_bytes());
        bytes.resize(64, 0);
        bytes
    }

    #[test]
    fn binaries_must_be_riscv64_elf_and_not_shadow_the_graders() {
        let dir = tempfile::tempdir().unwrap();
        let tree = Path::new("reference-kernel");
        let good = dir.path().join("hello");
        std::fs::write(&good, elf(243)).unwrap();
        check_binary(&good, tree).unwrap();

        let x86 = dir.path().join("hostprog");
        std::fs::write(&x86, elf(62)).unwrap();
        let err = check_binary(&x86, tree).unwrap_err().to_string();
        assert!(err.contains("is not a RISC-V 64-bit ELF program"), "{err}");

        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "hello").unwrap();
        assert!(check_binary(&text, tree).is_err());

        let shadow = dir.path().join("usertests");
        std::fs::write(&shadow, elf(243)).unwrap();
        let err = check_binary(&shadow, tree).unwrap_err().to_string();
        assert!(err.contains("is one of the starter's programs"), "{err}");
    }

    #[test]
    fn names_must_be_typable_and_fit_a_directory_entry() {
        for bad in ["1st.rs", "a b.rs", "waytoolongprogramname.rs", ".rs"] {
            assert!(program_name(Path::new(bad)).is_err(), "{bad}");
        }
        assert_eq!(program_name(Path::new("x/my_prog.rs")).unwrap(), "my_prog");
    }
}
