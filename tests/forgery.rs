//! Red team, under the real QEMU: kernels that forge the test programs'
//! verdicts (tests/fixtures/forgery/*.patch and the `exec-forger` and
//! `canned-output` mutants) must score nothing on what they forged, and the
//! grading must say why (a forged line, in the failing tests' reasons).
//!
//! - `exec-forger`: intercepts exec when the command line has `-k TOKEN`
//!   and prints a passing run's lines with that token.
//! - `unknown-exec-forger`: intercepts exec of every program the shell
//!   does not usually run, whatever it is called, and prints lines that
//!   look sealed.
//! - `rewriting-forger`: lets the programs run on the eager starter kernel
//!   but turns `FAILED` into `OK` in every console write.
//!
//! Like tests/e2e.rs, these are skipped without QEMU unless
//! `XVLAB_REQUIRE_QEMU` is set.

mod common;
use common::{qemu_available, repo};
use std::path::PathBuf;
use std::process::{Command, Output};

/// The JSON report of grading `patch` (relative to the repository) on the
/// lazytests tests and `usertests: sbrkarg`.
fn grade(patch: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out: Output = Command::new(env!("CARGO_BIN_EXE_xvlab"))
        .args(["grade", "lazy", "--patch"])
        .arg(repo().join(patch))
        .args([
            "--test",
            "lazy:*",
            "--test",
            "usertests: sbrkarg",
            "--format",
            "json",
        ])
        .current_dir(dir.path())
        .env(
            "XVLAB_CACHE",
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-cache"),
        )
        .env_remove("XVLAB_HOME")
        .env_remove("XVLAB_QEMU")
        .env("NO_COLOR", "1")
        .output()
        .expect("run xvlab");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(100), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"))
}

/// (name, passed, reason) of every test in a JSON report.
fn tests(report: &serde_json::Value) -> Vec<(String, bool, String)> {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["status"] == "passed",
                t["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn test<'a>(all: &'a [(String, bool, String)], name: &str) -> &'a (String, bool, String) {
    all.iter()
        .find(|t| t.0 == name)
        .unwrap_or_else(|| panic!("no test {name}: {all:#?}"))
}

const LAZY: [&str; 3] = ["lazy: map", "lazy: unmap", "lazy: out of memory"];

/// Every lazytests test and `usertests: sbrkarg` failed, each because of a
/// forged line.
fn assert_all_forged(report: &serde_json::Value) {
    assert_eq!(report["score"], 0, "{report:#}");
    let all = tests(report);
    for name in LAZY.iter().chain(&["usertests: sbrkarg"]) {
        let (_, passed, reason) = test(&all, name);
        assert!(!passed, "{name}: {report:#}");
        assert!(reason.starts_with("forged "), "{name}: {reason}");
    }
}

/// The report carries review flags for an instructor: the forged console
/// lines, and (`in_source`) literals of the patch that spell verdicts.
fn assert_flagged(report: &serde_json::Value, in_source: bool) {
    let review = report["review"].as_array().expect("a review list");
    let reasons: Vec<&str> = review
        .iter()
        .map(|f| f["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("forged console output: ")),
        "{reasons:#?}"
    );
    if in_source {
        assert!(
            review.iter().any(|f| f["file"]
                .as_str()
                .is_some_and(|f| f.starts_with("kernel/src/"))),
            "{review:#?}"
        );
    }
}

#[test]
fn a_kernel_that_answers_for_the_test_programs_scores_nothing() {
    if !qemu_available() {
        return;
    }
    let report = grade("grading/lazy/mutants/exec-forger.patch");
    assert_all_forged(&report);
    assert_flagged(&report, true);
    let all = tests(&report);
    // Each lazytests test runs in a VM of its own, where the forger prints
    // its made-up run before the real program could start.
    let (_, _, reason) = test(&all, "lazy: map");
    assert!(
        reason.starts_with("forged verdict: line `test ")
            && reason.ends_with("` came before the test program's sealed start line"),
        "{reason}"
    );
}

#[test]
fn a_kernel_that_intercepts_unknown_programs_and_fakes_seals_scores_nothing() {
    if !qemu_available() {
        return;
    }
    let report = grade("tests/fixtures/forgery/unknown-exec-forger.patch");
    assert_all_forged(&report);
    assert_flagged(&report, true);
    let all = tests(&report);
    let (_, _, reason) = test(&all, "usertests: sbrkarg");
    assert!(
        reason.starts_with("forged start line: `usertests starting ~"),
        "{reason}"
    );
}

#[test]
fn a_kernel_that_rewrites_failed_to_ok_loses_the_session_it_rewrote() {
    if !qemu_available() {
        return;
    }
    let report = grade("tests/fixtures/forgery/rewriting-forger.patch");
    assert_flagged(&report, false);
    let all = tests(&report);
    // The eager kernel fails `lazy: map` and `lazy: unmap` honestly; the
    // line rewritten in each one's VM costs that test.
    for (name, line) in [("lazy: map", "lazy alloc"), ("lazy: unmap", "lazy unmap")] {
        let (_, passed, reason) = test(&all, name);
        assert!(!passed, "{name}: {report:#}");
        assert!(
            reason.starts_with(&format!("forged verdict: line `test {line}: OK […] ~")),
            "{name}: {reason}"
        );
    }
    // The out-of-memory test passes on the eager kernel and sbrkarg prints
    // nothing to rewrite: they pass on their merits, and are all it scores.
    let mut honest = 0;
    for name in ["lazy: out of memory", "usertests: sbrkarg"] {
        assert!(test(&all, name).1, "{name}: {report:#}");
        honest += report["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()["max_score"]
            .as_u64()
            .unwrap();
    }
    assert_eq!(report["score"], honest, "{report:#}");
}
