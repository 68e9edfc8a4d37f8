//! The Gradescope autograder bundle as Gradescope uses it: written by
//! `xvlab gradescope-bundle`, unpacked in a fresh folder, its scripts
//! checked with `bash -n` and shellcheck, and its `run_autograder` run
//! against submission folders, each writing a results.json checked against
//! Gradescope's documented fields.
//!
//! setup.sh's installs are not run: the `xvlab` under test stands in for
//! the one it would install (`XVLAB_BIN`), and the fake QEMU
//! (tests/fake-qemu) for QEMU, with the small test rubric shipped in the
//! bundle (`--rubric`), so a grading takes a build (shared with the CLI
//! tests' cache) and two fake VMs.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const RUBRIC: &str = include_str!("fixtures/two-sessions.rubric.toml");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes the bundle of the lazy lab with the test rubric to `zip`.
fn bundle(work: &Path, zip: &Path) {
    let rubric = work.join("rubric.toml");
    std::fs::write(&rubric, RUBRIC.replace("TIMEOUT", "20s")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xvlab"))
        .args(["gradescope-bundle", "lazy", "--output"])
        .arg(zip)
        .arg("--rubric")
        .arg(&rubric)
        .env_remove("XVLAB_HOME")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("wrote "));
}

/// Unpacks `zip` into `dir`, keeping the modes it records.
fn unpack(zip: &Path, dir: &Path) {
    let file = std::fs::File::open(zip).unwrap();
    zip::ZipArchive::new(file).unwrap().extract(dir).unwrap();
}

/// Runs the unpacked bundle's run_autograder on `submission`; returns its
/// standard error and the results.json it wrote.
fn run_autograder(source: &Path, submission: &Path, work: &Path) -> (String, Value) {
    let results = work.join("results/results.json");
    let out = Command::new(source.join("run_autograder"))
        .env("XVLAB_AUTOGRADER_SOURCE", source)
        .env("XVLAB_SUBMISSION_DIR", submission)
        .env("XVLAB_RESULTS", &results)
        .env("XVLAB_BIN", env!("CARGO_BIN_EXE_xvlab"))
        .env(
            "XVLAB_QEMU",
            repo().join("tests/fake-qemu/qemu-system-riscv64"),
        )
        .env("FAKE_QEMU_MODE", "shell")
        .env(
            "XVLAB_CACHE",
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-cache"),
        )
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let text = std::fs::read_to_string(&results).unwrap();
    (stderr, serde_json::from_str(&text).unwrap())
}

/// The results.json fields Gradescope documents, with the types it gives
/// them: top-level `score`, `execution_time`, `output`, `tests`, and the
/// optional `output_format`/`stdout_visibility`; per test `name`, `score`,
/// `max_score`, `status`, `output`, `visibility`. Nothing else.
fn check_gradescope_fields(v: &Value) {
    const TOP: &[&str] = &[
        "score",
        "execution_time",
        "output",
        "output_format",
        "stdout_visibility",
        "tests",
    ];
    const TEST: &[&str] = &[
        "name",
        "score",
        "max_score",
        "status",
        "output",
        "visibility",
    ];
    const VISIBILITY: &[&str] = &["visible", "hidden", "after_due_date", "after_published"];
    let top = v.as_object().unwrap();
    assert!(top.keys().all(|k| TOP.contains(&k.as_str())), "{v:#}");
    assert!(v["score"].is_number() && v["execution_time"].is_u64());
    assert!(v["output"].is_string());
    for key in ["output_format", "stdout_visibility"] {
        assert!(!top.contains_key(key), "the test rubric sets no {key}");
    }
    for t in v["tests"].as_array().unwrap() {
        let t = t.as_object().unwrap();
        assert!(t.keys().all(|k| TEST.contains(&k.as_str())), "{t:?}");
        assert!(t["name"].is_string() && t["output"].is_string());
        assert!(t["score"].is_number() && t["max_score"].is_number());
        assert!(["passed", "failed"].contains(&t["status"].as_str().unwrap()));
        if let Some(vis) = t.get("visibility") {
            assert!(VISIBILITY.contains(&vis.as_str().unwrap()));
        }
    }
}

#[test]
fn the_bundle_unpacked_elsewhere_grades_a_submission_folder() {
    let work = tempfile::tempdir().unwrap();
    let (zip, again) = (work.path().join("a.zip"), work.path().join("b.zip"));
    bundle(work.path(), &zip);
    bundle(work.path(), &again);
    assert!(
        std::fs::read(&zip).unwrap() == std::fs::read(&again).unwrap(),
        "two bundles of the same tree differ"
    );

    let source = work.path().join("source");
    unpack(&zip, &source);
    // What it takes to build xvlab there, and nothing generated.
    for shipped in [
        "setup.sh",
        "run_autograder",
        "xvlab/Cargo.toml",
        "xvlab/Cargo.lock",
        "xvlab/build.rs",
        "xvlab/src/main.rs",
        "xvlab/reference-kernel/kernel/src/vm.rs",
        "xvlab/labs/lazy/lab.toml",
        "xvlab/grading/lazy/rubric.toml",
    ] {
        assert!(source.join(shipped).is_file(), "{shipped} is missing");
    }
    assert!(!source.join("xvlab/target").exists());
    assert!(!source.join("xvlab/reference-kernel/target").exists());
    assert_eq!(
        std::fs::read_to_string(source.join("xvlab/grading/lazy/rubric.toml")).unwrap(),
        RUBRIC.replace("TIMEOUT", "20s")
    );
    let setup = std::fs::read_to_string(source.join("setup.sh")).unwrap();
    for needed in [
        "qemu-system-misc",
        "rustup target add",
        "riscv64gc-unknown-none-elf",
        "cargo install --locked --path",
    ] {
        assert!(setup.contains(needed), "setup.sh lacks {needed}");
    }
    for script in ["setup.sh", "run_autograder"] {
        let path = source.join(script);
        let syntax = Command::new("bash").arg("-n").arg(&path).status().unwrap();
        assert!(syntax.success(), "bash -n {script}");
        let lint = Command::new("shellcheck")
            .arg(&path)
            .output()
            .expect("shellcheck runs (scripts/setup.sh installs it)");
        assert!(
            lint.status.success(),
            "shellcheck {script}: {}",
            String::from_utf8_lossy(&lint.stdout)
        );
    }

    // The reference solution, under a name no one would guess.
    let submission = work.path().join("submission");
    std::fs::create_dir(&submission).unwrap();
    std::fs::copy(
        repo().join("grading/lazy/solution.patch"),
        submission.join("Final version (2).txt"),
    )
    .unwrap();
    let (stderr, v) = run_autograder(&source, &submission, work.path());
    assert!(
        stderr.contains("found `")
            && stderr.contains("Final version (2).txt`: grading it as a patch"),
        "{stderr}"
    );
    check_gradescope_fields(&v);
    assert_eq!(v["score"], 10);
    let tests: Vec<_> = v["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert_eq!(tests, [("echo hi", "passed"), ("work", "passed")]);
}

/// A work folder holding the bundle unpacked (`source`) and an empty
/// submission folder.
fn unpacked_bundle() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let zip = work.path().join("autograder.zip");
    bundle(work.path(), &zip);
    let source = work.path().join("source");
    unpack(&zip, &source);
    let submission = work.path().join("submission");
    std::fs::create_dir(&submission).unwrap();
    (work, source, submission)
}

#[test]
fn a_folder_with_nothing_or_two_patches_is_refused_in_results_json() {
    let (work, source, submission) = unpacked_bundle();

    let (stderr, v) = run_autograder(&source, &submission, work.path());
    assert!(stderr.contains("found nothing to grade"), "{stderr}");
    check_gradescope_fields(&v);
    assert_eq!(v["score"], 0);
    let output = v["output"].as_str().unwrap();
    assert!(
        output.contains("found nothing to grade in the submission: upload exactly one file"),
        "{output}"
    );
    assert!(
        v["tests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "failed" && t["score"] == 0)
    );

    for name in ["a.patch", "b.mbox"] {
        std::fs::copy(
            repo().join("grading/lazy/solution.patch"),
            submission.join(name),
        )
        .unwrap();
    }
    let (stderr, v) = run_autograder(&source, &submission, work.path());
    check_gradescope_fields(&v);
    assert_eq!(v["score"], 0);
    let output = v["output"].as_str().unwrap();
    assert!(
        output.contains(
            "found 2 things to grade in the submission (`a.patch`, `b.mbox`), so none was graded"
        ),
        "{output}"
    );
    assert!(stderr.contains("so none was graded"), "{stderr}");
}

#[test]
fn a_student_copy_uploaded_whole_is_graded() {
    let (work, source, submission) = unpacked_bundle();
    let copy = submission.join("my-lazy");
    let init = Command::new(env!("CARGO_BIN_EXE_xvlab"))
        .args(["init", "lazy"])
        .arg(&copy)
        .env_remove("XVLAB_HOME")
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let (stderr, v) = run_autograder(&source, &submission, work.path());
    assert!(
        stderr.contains(&format!("found a student copy in `{}`", copy.display())),
        "{stderr}"
    );
    check_gradescope_fields(&v);
    // The fake VMs pass the test rubric whatever the kernel: what matters
    // is that the copy was found, built and graded.
    assert_eq!(v["score"], 10, "{v:#}");
}
