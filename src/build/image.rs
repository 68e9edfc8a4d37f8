//! The file-system image a VM boots with: the user programs and a README in
//! the root directory, in xv6's on-disk format (the `xv6fs` crate, which the
//! kernel shares). Sessions run QEMU with `-snapshot`, so one image serves
//! every VM of a grading and is never modified.
//!
//! For a graded run the image also seals the test programs ([`Sealing`]):
//! each sealed program is written under its random name, with the run's key
//! over its marker region ([`seal_program`]), and its usual name is not on
//! the image at all.

use std::path::{Path, PathBuf};

use xv6fs::ImageBuilder;

use crate::build::kbuild::Program;
use crate::run::plan::Sealing;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("read `{}` for the file-system image", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("write the file-system image `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("put `{name}` on the file-system image: {source}")]
    Format {
        name: String,
        #[source]
        source: xv6fs::Error,
    },
    #[error("put `{}` on the file-system image: its name is not valid UTF-8", path.display())]
    BadName { path: PathBuf },
    #[error(
        "seal `{name}`: its key marker occurs {count} times in the program, not once (is it built from the pristine user library?)"
    )]
    Marker { name: String, count: usize },
    #[error("seal `{name}`: the kernel tree builds no program of that name")]
    NoSuchProgram { name: String },
}

/// `elf` with the run's key written over its one key marker.
pub fn seal_program(
    name: &str,
    elf: &[u8],
    key: &[u8; seal::KEY_LEN],
) -> Result<Vec<u8>, ImageError> {
    let at: Vec<usize> = elf
        .windows(seal::KEY_LEN)
        .enumerate()
        .filter(|(_, w)| *w == seal::MARKER)
        .map(|(i, _)| i)
        .collect();
    // Twice would mean the program may read the other copy: refuse rather
    // than guess.
    let [at] = at[..] else {
        return Err(ImageError::Marker {
            name: name.to_string(),
            count: at.len(),
        });
    };
    let mut out = elf.to_vec();
    out[at..at + seal::KEY_LEN].copy_from_slice(key);
    Ok(out)
}

/// Build an image holding `readme` as `README`, the programs, and `extra`
/// files (instructors' own test binaries) under their file names; with a
/// `sealing`, its programs sealed and renamed.
pub fn build_image(
    readme: &[u8],
    programs: &[Program],
    extra: &[PathBuf],
    sealing: Option<&Sealing>,
) -> Result<Vec<u8>, ImageError> {
    if let Some(sealing) = sealing
        && let Some((missing, _)) = sealing
            .names()
            .iter()
            .find(|(real, _)| !programs.iter().any(|p| &p.name == real))
    {
        return Err(ImageError::NoSuchProgram {
            name: missing.clone(),
        });
    }
    let mut builder = ImageBuilder::default();
    let mut add = |name: &str, data: &[u8]| {
        builder
            .add_file(name, data)
            .map(|_| ())
            .map_err(|source| ImageError::Format {
                name: name.to_string(),
                source,
            })
    };
    add("README", readme)?;
    for program in programs {
        let data = std::fs::read(&program.path).map_err(|source| ImageError::Read {
            path: program.path.clone(),
            source,
        })?;
        match sealing.and_then(|s| s.image_name(&program.name).map(|n| (s, n))) {
            Some((s, name)) => add(name, &seal_program(&program.name, &data, s.key_bytes())?)?,
            None => add(&program.name, &data)?,
        }
    }
    for path in extra {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| ImageError::BadName { path: path.clone() })?;
        let data = std::fs::read(path).map_err(|source| ImageError::Read {
            path: path.clone(),
            source,
        })?;
        add(name, &data)?;
    }
    Ok(builder.finish())
}

/// Build the image and write it to `dest`.
pub fn write_image(
    dest: &Path,
    readme: &[u8],
    programs: &[Program],
    extra: &[PathBuf],
    sealing: Option<&Sealing>,
) -> Result<(), ImageError> {
    let bytes = build_image(readme, programs, extra, sealing)?;
    std::fs::write(dest, bytes).map_err(|source| ImageError::Write {
        path: dest.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_holds_readme_programs_and_extras() {
        let dir = tempfile::tempdir().unwrap();
        let prog = dir.path().join("echo.elf");
        std::fs::write(&prog, b"\x7fELF fake").unwrap();
        let extra = dir.path().join("mytest");
        std::fs::write(&extra, b"extra").unwrap();
        let programs = [Program {
            name: "echo".into(),
            path: prog,
        }];
        let bytes = build_image(b"read me", &programs, &[extra], None).unwrap();
        let img = xv6fs::Image::parse(&bytes).unwrap();
        assert_eq!(img.read_file("/README").unwrap(), b"read me");
        assert_eq!(img.read_file("/echo").unwrap(), b"\x7fELF fake");
        assert_eq!(img.read_file("/mytest").unwrap(), b"extra");
        img.fsck().unwrap();
    }

    #[test]
    fn sealed_programs_get_the_key_and_their_random_name() {
        let dir = tempfile::tempdir().unwrap();
        let elf = [b"\x7fELF head ".as_slice(), &seal::MARKER, b" tail"].concat();
        let prog = dir.path().join("usertests");
        std::fs::write(&prog, &elf).unwrap();
        let echo = dir.path().join("echo");
        std::fs::write(&echo, b"echo").unwrap();
        let programs = [
            Program {
                name: "usertests".into(),
                path: prog,
            },
            Program {
                name: "echo".into(),
                path: echo,
            },
        ];
        let key = [0x5a; seal::KEY_LEN];
        let sealing = Sealing::new(key, vec![("usertests".into(), "qwertyu".into())]);
        let bytes = build_image(b"", &programs, &[], Some(&sealing)).unwrap();
        let img = xv6fs::Image::parse(&bytes).unwrap();
        let sealed = img.read_file("/qwertyu").unwrap();
        assert_eq!(
            sealed,
            [b"\x7fELF head ".as_slice(), &key, b" tail"].concat()
        );
        assert!(img.read_file("/usertests").is_err());
        assert_eq!(img.read_file("/echo").unwrap(), b"echo");

        let missing = Sealing::new(key, vec![("lazytests".into(), "asdfgh".into())]);
        let err = build_image(b"", &programs, &[], Some(&missing)).unwrap_err();
        assert!(matches!(err, ImageError::NoSuchProgram { .. }), "{err}");
    }

    #[test]
    fn a_program_must_hold_the_marker_exactly_once() {
        let key = [1; seal::KEY_LEN];
        for count in [0, 2] {
            let elf = seal::MARKER.repeat(count);
            let err = seal_program("usertests", &elf, &key).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "seal `usertests`: its key marker occurs {count} times in the program, not once (is it built from the pristine user library?)"
                )
            );
        }
    }

    #[test]
    fn clashing_names_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let extra = dir.path().join("README");
        std::fs::write(&extra, b"x").unwrap();
        let err = build_image(b"r", &[], &[extra], None).unwrap_err();
        assert!(
            err.to_string()
                .contains("put `README` on the file-system image"),
            "{err}"
        );
    }

    #[test]
    fn missing_program_is_a_read_error() {
        let programs = [Program {
            name: "ghost".into(),
            path: PathBuf::from("/nonexistent/ghost"),
        }];
        assert!(matches!(
            build_image(b"", &programs, &[], None),
            Err(ImageError::Read { .. })
        ));
    }
}
