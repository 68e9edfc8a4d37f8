//! The file-system image a VM boots with: the user programs and a README in
//! the root directory, in xv6's on-disk format (the `xv6fs` crate, which the
//! kernel shares). Sessions run QEMU with `-snapshot`, so one image serves
//! every VM of a grading and is never modified.

use std::path::{Path, PathBuf};

use xv6fs::ImageBuilder;

use crate::kbuild::Program;

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
}

/// Build an image holding `readme` as `README`, the programs, and `extra`
/// files (instructors' own test binaries) under their file names.
pub fn build_image(
    readme: &[u8],
    programs: &[Program],
    extra: &[PathBuf],
) -> Result<Vec<u8>, ImageError> {
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
        add(&program.name, &data)?;
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
) -> Result<(), ImageError> {
    let bytes = build_image(readme, programs, extra)?;
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
        let bytes = build_image(b"read me", &programs, &[extra]).unwrap();
        let img = xv6fs::Image::parse(&bytes).unwrap();
        assert_eq!(img.read_file("/README").unwrap(), b"read me");
        assert_eq!(img.read_file("/echo").unwrap(), b"\x7fELF fake");
        assert_eq!(img.read_file("/mytest").unwrap(), b"extra");
        img.fsck().unwrap();
    }

    #[test]
    fn clashing_names_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let extra = dir.path().join("README");
        std::fs::write(&extra, b"x").unwrap();
        let err = build_image(b"r", &[], &[extra]).unwrap_err();
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
            build_image(b"", &programs, &[]),
            Err(ImageError::Read { .. })
        ));
    }
}
