//! Gradescope's autograder: `xvlab gradescope-bundle`, which writes the
//! bundle course staff upload, and `xvlab autograde`, which the bundle's
//! `run_autograder` calls for each submission.
//!
//! The bundle is a zip holding `setup.sh` and `run_autograder` (from
//! `autograder/`, the lab's name filled in) and, under `xvlab/`, what it takes
//! to build xvlab there: the crate's sources (`Cargo.toml`, `Cargo.lock`,
//! `build.rs`, `src/`), the kernel tree, `labs/LAB` and the lab's grading
//! directory (from the lab material in use, so `XVLAB_HOME` and `--rubric`
//! are honoured).
//! Nothing generated is shipped. Entries are sorted and stamped with one
//! fixed time and mode, so the same tree always gives the same bytes.
//!
//! `autograde` grades whatever one thing the submission folder holds: the
//! folder itself or its only entry when it is a student copy, else its only
//! file as a patch or mbox, whatever its name. With nothing, or several
//! files, it grades nothing and writes a `results.json` that says what it
//! found and what to upload instead (every test failed, as for a refused
//! patch).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::{
    Failure, Format, GradeArgs, SandboxArgs, SubmissionArgs, grade_cmd, lab_failure, load_rubric,
    plan_failure, rubric_failure, write_output,
};
use crate::lab::Lab;
use crate::lab::assets::Assets;
use crate::lab::rubric::Rubric;
use crate::report::{Report, gradescope};
use crate::run::plan::{Plan, TestFilter, Token};
use crate::shared::exit;
use crate::submission::worktree::MARKER;
use crate::submission::{Refusal, Stage};

const SETUP_SH: &str = include_str!("autograder/setup.sh");
const RUN_AUTOGRADER: &str = include_str!("autograder/run_autograder");

/// Where the bundle's scripts put the lab's name.
const LAB_PLACEHOLDER: &str = "@LAB@";

/// The crate's own files and folders a build of xvlab needs.
const CRATE_PATHS: &[&str] = &["Cargo.toml", "Cargo.lock", "build.rs", "src"];

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The lab.
    pub lab: String,
    /// Where to write the zip.
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
    /// Ship this rubric instead of the lab's (it is validated first).
    #[arg(long, value_name = "FILE")]
    pub rubric: Option<PathBuf>,
    /// The xvlab source tree to ship (default: the one this xvlab was
    /// built from).
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AutogradeArgs {
    /// The lab.
    pub lab: String,
    /// The folder holding the submission.
    #[arg(long, value_name = "DIR", default_value = "/autograder/submission")]
    pub submission: PathBuf,
    /// Where to write results.json.
    #[arg(
        long,
        short,
        value_name = "FILE",
        default_value = "/autograder/results/results.json"
    )]
    pub output: PathBuf,
    /// VMs to run at once (default: the number of host CPUs).
    #[arg(long, short, value_parser = super::parse_jobs)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

/// One file of the bundle.
struct Entry {
    path: String,
    bytes: Vec<u8>,
    executable: bool,
}

pub fn bundle_cmd(assets: &Assets, args: &BundleArgs) -> Result<u8, Failure> {
    let lab = Lab::load(assets, &args.lab).map_err(lab_failure)?;
    let source = args
        .source
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    if !source.join("Cargo.toml").is_file() || !source.join("src/main.rs").is_file() {
        return Err(Failure::new(
            exit::USAGE,
            format!(
                "`{}` is not xvlab's source tree (no Cargo.toml and src/main.rs): pass --source DIR",
                source.display()
            ),
        ));
    }
    let mut entries = vec![
        script("setup.sh", SETUP_SH, &lab.name),
        script("run_autograder", RUN_AUTOGRADER, &lab.name),
    ];
    for path in CRATE_PATHS {
        source_files(&source, path, &mut entries)?;
    }
    let rubric_path = lab.rubric_path();
    // The lab's material: its starter tree, its folder, its grading
    // directory and its starter patch (wherever lab.toml keeps it).
    let mut shipped = std::collections::BTreeSet::new();
    for prefix in [lab.starter.clone(), lab.folder(), lab.grading.clone()] {
        let listed = assets
            .list(&prefix)
            .map_err(|e| Failure::new(exit::BAD_LAB, format!("failed to {}", super::chain(&e))))?;
        shipped.extend(listed);
    }
    shipped.extend(lab.starter_patch.as_ref().map(|p| p.path.clone()));
    for path in shipped {
        if args.rubric.is_some() && path == rubric_path {
            continue;
        }
        let bytes = assets
            .read(&path)
            .map_err(|e| Failure::new(exit::BAD_LAB, format!("failed to {}", super::chain(&e))))?;
        entries.push(Entry {
            path: format!("xvlab/{path}"),
            bytes: bytes.into_owned(),
            executable: false,
        });
    }
    if let Some(file) = &args.rubric {
        let rubric = Rubric::load(file).map_err(rubric_failure)?;
        if rubric.lab != lab.name {
            return Err(Failure::new(
                exit::BAD_LAB,
                format!(
                    "the rubric `{}` is for lab `{}`, not `{}`",
                    file.display(),
                    rubric.lab,
                    lab.name
                ),
            ));
        }
        entries.push(Entry {
            path: format!("xvlab/{rubric_path}"),
            bytes: std::fs::read(file).map_err(|e| write_failure("read", file, &e))?,
            executable: false,
        });
    } else {
        // The shipped rubric must load: a broken one would fail every
        // student's grading instead of this command.
        load_rubric(assets, &lab)?;
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let zip = write_zip(&entries).map_err(|e| write_failure("write", &args.output, &e))?;
    std::fs::write(&args.output, &zip).map_err(|e| write_failure("write", &args.output, &e))?;
    println!(
        "wrote {} ({} files, {} KiB): upload it as the assignment's autograder (Ubuntu base image)",
        args.output.display(),
        entries.len(),
        zip.len().div_ceil(1024)
    );
    Ok(exit::OK)
}

fn write_failure(what: &str, path: &Path, e: &dyn std::fmt::Display) -> Failure {
    Failure::new(
        exit::FAILURE,
        format!("failed to {what} `{}`: {e}", path.display()),
    )
}

fn script(name: &str, template: &str, lab: &str) -> Entry {
    Entry {
        path: name.to_string(),
        bytes: template.replace(LAB_PLACEHOLDER, lab).into_bytes(),
        executable: true,
    }
}

/// The files at `rel` below `root` (a file, or a folder walked without
/// build output or hidden files), as bundle entries under `xvlab/`.
fn source_files(root: &Path, rel: &str, out: &mut Vec<Entry>) -> Result<(), Failure> {
    let path = root.join(rel);
    let meta = std::fs::symlink_metadata(&path).map_err(|e| write_failure("read", &path, &e))?;
    if meta.is_file() {
        out.push(Entry {
            path: format!("xvlab/{rel}"),
            bytes: std::fs::read(&path).map_err(|e| write_failure("read", &path, &e))?,
            executable: false,
        });
    } else if meta.is_dir() {
        let entries = std::fs::read_dir(&path).map_err(|e| write_failure("read", &path, &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| write_failure("read", &path, &e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if name == "target" || name.starts_with('.') || name.ends_with(".snap.new") {
                continue;
            }
            source_files(root, &format!("{rel}/{name}"), out)?;
        }
    }
    Ok(())
}

/// The zip of `entries` (sorted by the caller), with one fixed time.
fn write_zip(entries: &[Entry]) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for entry in entries {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(if entry.executable { 0o755 } else { 0o644 });
        zip.start_file(entry.path.as_str(), options)?;
        zip.write_all(&entry.bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// What a submission folder holds to grade.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// A student copy (the folder itself, or its only entry).
    Copy(PathBuf),
    /// One file, graded as a patch or mbox whatever its name.
    Patch(PathBuf),
    /// Nothing to grade, or too much: why, for the student.
    Refused(String),
}

/// What to upload, for the messages of a refused folder.
const UPLOAD: &str = "upload exactly one file: your patch (`xvlab pack` writes it) or \
                      `git format-patch` mbox, or your whole student copy";

/// What `dir` holds to grade (hidden entries aside).
fn find(dir: &Path) -> Result<Found, std::io::Error> {
    if dir.join(MARKER).is_file() {
        return Ok(Found::Copy(dir.to_path_buf()));
    }
    let mut files = Vec::new();
    let mut copies = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_file() {
            files.push(path);
        } else if path.join(MARKER).is_file() {
            copies.push(path);
        }
    }
    files.sort();
    copies.sort();
    let names = |paths: &[PathBuf]| {
        paths
            .iter()
            .map(|p| format!("`{}`", p.file_name().unwrap_or_default().to_string_lossy()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(match (files.as_slice(), copies.as_slice()) {
        ([], [copy]) => Found::Copy(copy.clone()),
        ([file], []) => Found::Patch(file.clone()),
        ([], []) => Found::Refused(format!(
            "found nothing to grade in the submission: {UPLOAD}"
        )),
        _ => Found::Refused(format!(
            "found {} things to grade in the submission ({}), so none was graded: {UPLOAD}",
            files.len() + copies.len(),
            names(&[files.clone(), copies.clone()].concat())
        )),
    })
}

pub async fn autograde_cmd(assets: &Assets, args: AutogradeArgs) -> Result<u8, Failure> {
    let found = find(&args.submission).map_err(|e| {
        Failure::new(
            exit::FAILURE,
            format!(
                "failed to read the submission folder `{}`: {e}",
                args.submission.display()
            ),
        )
    })?;
    let submission = match &found {
        Found::Copy(dir) => {
            eprintln!("xvlab: found a student copy in `{}`", dir.display());
            SubmissionArgs {
                tree: Some(dir.clone()),
                patches: Vec::new(),
            }
        }
        Found::Patch(file) => {
            eprintln!("xvlab: found `{}`: grading it as a patch", file.display());
            SubmissionArgs {
                tree: None,
                patches: vec![file.clone()],
            }
        }
        Found::Refused(reason) => {
            eprintln!("xvlab: {reason}");
            let lab = Lab::load(assets, &args.lab).map_err(lab_failure)?;
            let rubric = load_rubric(assets, &lab)?;
            let token = Token::random().map_err(plan_failure)?;
            let filter = TestFilter::new(&[] as &[String]).map_err(plan_failure)?;
            let plan = Plan::new(&rubric, token, &filter).map_err(plan_failure)?;
            let refusal = Refusal {
                stage: Stage::Prepare,
                reason: reason.clone(),
                exit_code: exit::USAGE,
            };
            let report = Report::refused(
                &rubric,
                &plan,
                &format!("folder {}", args.submission.display()),
                &refusal,
                Duration::ZERO,
            );
            write_output(Some(&args.output), &gradescope::render(&report))?;
            return Ok(exit::OK);
        }
    };
    let grade = GradeArgs {
        lab: super::LabArg {
            lab: Some(args.lab),
            lab_option: None,
        },
        submission,
        sandbox: args.sandbox,
        tests: Vec::new(),
        format: Format::Gradescope,
        output: Some(args.output),
        jobs: args.jobs,
        keep: None,
        verbose: false,
        list: false,
        failed: false,
        snapshots: false,
    };
    // results.json is written whatever the result; Gradescope reads it,
    // and a non-zero exit would only add a generic error for the student.
    grade_cmd(assets, grade).await.map(|_| exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_one_thing_to_grade() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(
            matches!(find(d).unwrap(), Found::Refused(r) if r.starts_with("found nothing to grade"))
        );
        std::fs::write(d.join(".hidden"), "x").unwrap();
        std::fs::create_dir(d.join("empty")).unwrap();
        assert!(matches!(find(d).unwrap(), Found::Refused(_)));
        std::fs::write(d.join("my work.txt"), "patch").unwrap();
        assert_eq!(find(d).unwrap(), Found::Patch(d.join("my work.txt")));
        std::fs::write(d.join("b.patch"), "patch").unwrap();
        let Found::Refused(r) = find(d).unwrap() else {
            panic!("two files graded");
        };
        assert!(
            r.starts_with("found 2 things to grade in the submission (`b.patch`, `my work.txt`), so none was graded: upload exactly one file"),
            "{r}"
        );
        let copy = tempfile::tempdir().unwrap();
        std::fs::create_dir(copy.path().join("lazy")).unwrap();
        std::fs::write(copy.path().join("lazy").join(MARKER), "lab = \"lazy\"\n").unwrap();
        assert_eq!(
            find(copy.path()).unwrap(),
            Found::Copy(copy.path().join("lazy"))
        );
        assert_eq!(
            find(&copy.path().join("lazy")).unwrap(),
            Found::Copy(copy.path().join("lazy"))
        );
    }

    #[test]
    fn the_scripts_name_the_lab() {
        let run = script("run_autograder", RUN_AUTOGRADER, "lazy");
        let text = String::from_utf8(run.bytes).unwrap();
        assert!(text.contains("autograde lazy --submission"), "{text}");
        assert!(!text.contains(LAB_PLACEHOLDER));
        assert!(run.executable);
    }
}
