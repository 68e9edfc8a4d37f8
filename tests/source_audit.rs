//! The source audit as preparation runs it, on the real embedded starter
//! tree with the real `git`: the reference solution and every known-bad
//! submission that should build pass it; a patch or work tree that would
//! read the grading machine's files or environment is refused before
//! anything is built, naming `file:line` and the construct, with exit code
//! 107; literals that spell verdicts are flagged for review, not refused.

use std::path::{Path, PathBuf};

use xvlab::grade::selftest::{Expected, load_cases};
use xvlab::lab::Lab;
use xvlab::lab::assets::Assets;
use xvlab::lab::rubric::Rubric;
use xvlab::shared::exit;
use xvlab::submission::audit::{ReviewFlag, Vocabulary};
use xvlab::submission::{PatchInput, Prepared, Submission, SubmissionError};

fn lab() -> Lab {
    Lab::load(&Assets::Embedded, "lazy").unwrap()
}

fn vocabulary() -> Vocabulary {
    let text = Assets::Embedded.read_string(&lab().rubric_path()).unwrap();
    Vocabulary::from_rubric(&Rubric::parse(&text, "rubric.toml").unwrap())
}

fn grading() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(lab().grading)
}

fn patch(name: &str, text: &str) -> Submission {
    Submission::Patches(vec![PatchInput {
        name: name.to_string(),
        bytes: text.as_bytes().to_vec(),
    }])
}

/// A patch that adds `kernel/src/evil.rs` with `lines`.
fn new_file(lines: &[&str]) -> Submission {
    let mut text = format!(
        "--- /dev/null\n+++ b/kernel/src/evil.rs\n@@ -0,0 +1,{} @@\n",
        lines.len()
    );
    for line in lines {
        text.push_str(&format!("+{line}\n"));
    }
    patch("evil.patch", &text)
}

/// A patch that changes `kernel/src/sysfile.rs` (which exists), adding
/// `lines` at the start of `sys_exec`, as the canned-output mutant does.
fn into_sys_exec(lines: &[&str]) -> Submission {
    let mut text = format!(
        "--- a/kernel/src/sysfile.rs\n+++ b/kernel/src/sysfile.rs\n@@ -437,6 +437,{} @@ pub fn sys_exec() -> SysResult {{\n     let mut path_buf = [0u8; MAXPATH];\n     let path = argpath(0, &mut path_buf)?;\n     let uargv = argaddr(1);\n",
        6 + lines.len()
    );
    for line in lines {
        text.push_str(&format!("+{line}\n"));
    }
    text.push_str(" \n     let mut args = ArgPages {\n         pages: [None; MAXARG],\n");
    patch("exec.patch", &text)
}

fn refusal(submission: &Submission) -> (Vec<String>, String) {
    let parent = tempfile::tempdir().unwrap();
    let err = submission
        .prepare_in(&Assets::Embedded, &lab(), parent.path())
        .expect_err("the submission should be refused");
    // Refused before anything was built, and nothing is left behind.
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    assert_eq!(err.exit_code(), exit::SOURCE_REFUSED, "{err}");
    let SubmissionError::SourceRefused { findings, .. } = &err else {
        panic!("wrong refusal: {err}");
    };
    let findings = findings.iter().map(|f| f.to_string()).collect();
    (findings, err.to_string())
}

fn prepared(submission: &Submission) -> Prepared {
    submission
        .prepare(&Assets::Embedded, &lab())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn each_host_read_form_is_refused_with_its_file_line_and_construct() {
    let cases: &[(&str, &str)] = &[
        (
            r#"pub const P: &str = include_str!("/etc/passwd");"#,
            "include_str! reads a file of the grading machine at build time",
        ),
        (
            r#"pub const P: &[u8] = ::core::include_bytes!("/etc/shadow");"#,
            "include_bytes! reads a file",
        ),
        (r#"include!("/etc/evil.rs");"#, "include! reads a file"),
        (
            r#"pub const H: &str = env!("HOME");"#,
            "env! reads the grading machine's build environment at build time",
        ),
        (
            r#"pub const H: Option<&str> = core::option_env!("HOME");"#,
            "option_env! reads the grading machine's build environment",
        ),
        (
            "use core::include_str as innocent;",
            "`use` of include_str!",
        ),
        (
            "macro_rules! m { ($x:ident) => { $x!(\"/etc/passwd\") } } pub const P: &str = m!(include_str);",
            "`include_str` in a macro can expand to include_str!",
        ),
        (
            r#"pub const P: &str = r#include_str /* ! */ !("/etc/passwd");"#,
            "include_str! reads a file",
        ),
        (
            r#"#[path = "/etc/evil.rs"] mod evil;"#,
            "#[path] makes rustc read a module from anywhere on the grading machine",
        ),
        (
            r#"#[cfg_attr(all(), path = "/etc/evil.rs")] mod evil;"#,
            "#[path] makes rustc read a module",
        ),
        (
            r#"#[doc = include_str!("/etc/passwd")] pub fn f() {}"#,
            "include_str! reads a file",
        ),
        (
            r#"core::arch::global_asm!(".incbin \"/etc/passwd\"");"#,
            "the assembler directive .incbin reads a file of the grading machine at build time",
        ),
        (
            "core::arch::global_asm!(r#\"  .include \"/etc/x.s\"\"#);",
            "the assembler directive .include reads a file",
        ),
        (
            r#"core::arch::global_asm!(concat!(".inc", "bin \"/etc/passwd\""));"#,
            "the assembler directive .incbin reads a file",
        ),
        (
            r#"#[debugger_visualizer(gdb_script_file = "/etc/passwd")] mod v {}"#,
            "#[debugger_visualizer] embeds a file",
        ),
    ];
    for (line, construct) in cases {
        let (findings, message) = refusal(&new_file(&["// an innocent first line", line]));
        assert!(
            findings
                .iter()
                .any(|f| f.starts_with("kernel/src/evil.rs:2: ") && f.contains(construct)),
            "{line}: {findings:?}"
        );
        assert!(
            message.starts_with("kernel/src/evil.rs:2: ")
                && message.contains("submissions may not"),
            "{message}"
        );
    }
}

#[test]
fn a_change_to_an_existing_file_is_audited_too() {
    let (findings, _) = refusal(&into_sys_exec(&[
        "    let _secret = include_bytes!(\"/etc/shadow\");",
    ]));
    assert_eq!(
        findings,
        [
            "kernel/src/sysfile.rs:440: include_bytes! reads a file of the grading machine at build time; submissions may not use it"
        ]
    );
}

#[test]
fn every_finding_of_every_file_is_listed_one_per_line() {
    let (findings, message) = refusal(&new_file(&[
        r#"pub const A: &str = include_str!("/etc/passwd");"#,
        r#"pub const B: &str = env!("HOME");"#,
    ]));
    assert_eq!(findings.len(), 2);
    assert_eq!(message, findings.join("\n"));
}

#[test]
fn a_work_tree_that_reads_the_host_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    Assets::Embedded
        .extract(&lab().starter, dir.path())
        .unwrap();
    let trap = dir.path().join("kernel/src/trap.rs");
    let mut text = std::fs::read_to_string(&trap).unwrap();
    let line = text.lines().count() + 1;
    text.push_str("const HOME: &str = env!(\"HOME\");\n");
    std::fs::write(&trap, text).unwrap();
    let (findings, _) = refusal(&Submission::WorkTree(dir.path().to_path_buf()));
    assert_eq!(findings.len(), 1);
    assert!(
        findings[0].starts_with(&format!("kernel/src/trap.rs:{line}: env! reads")),
        "{findings:?}"
    );
}

#[test]
fn words_in_comments_and_strings_are_not_refused() {
    prepared(&new_file(&[
        "// include_str!(\"/etc/passwd\") would read a file: we do not.",
        "/// Unlike env!, this reads nothing; nor does #[path = \"x\"].",
        "pub const S: &str = \"include_str! and incbin are only words here\";",
        "pub fn my_include_str(env: u32) -> u32 { env }",
    ]));
}

#[test]
fn the_solution_and_every_submission_expected_to_build_pass_the_audit() {
    let assets = Assets::Embedded;
    let vocabulary = vocabulary();
    for case in load_cases(&assets, &lab()).unwrap() {
        if case.result == Expected::Refused {
            continue;
        }
        let inputs: Vec<PatchInput> = case
            .patches
            .iter()
            .map(|p| PatchInput::read(&grading().join(p)).unwrap())
            .collect();
        let submission = if inputs.is_empty() {
            Submission::Starter
        } else {
            Submission::Patches(inputs)
        };
        let prepared = match submission.prepare(&assets, &lab()) {
            Ok(p) => p,
            Err(e) => panic!("{}: {e}", case.name),
        };
        let review = prepared.review(&vocabulary);
        // The known-bad submissions that print the test programs' success
        // lines themselves are flagged where they spell them; none other.
        if ["canned-output", "exec-forger"].contains(&case.name.as_str()) {
            assert!(
                review.iter().any(|f| {
                    let f = f.to_string();
                    f.starts_with("kernel/src/sysfile.rs:") && f.contains(" spells the verdict ")
                }),
                "{}: {review:?}",
                case.name
            );
        } else {
            assert_eq!(review, Vec::<ReviewFlag>::new(), "{}", case.name);
        }
    }
}

#[test]
fn a_kernel_that_prints_a_verdict_is_flagged_for_review_not_refused() {
    let prepared = prepared(&into_sys_exec(&[
        "    if path.ends_with(b\"usertests\") {",
        "        crate::println!(\"test sbrkarg: OK\");",
        "        crate::proc::exit(0);",
        "    }",
    ]));
    let review: Vec<String> = prepared
        .review(&vocabulary())
        .iter()
        .map(ReviewFlag::to_string)
        .collect();
    assert_eq!(
        review,
        [
            "kernel/src/sysfile.rs:440: the string \"usertests\" spells the test program \"usertests\"",
            "kernel/src/sysfile.rs:441: the string \"test sbrkarg: OK\" spells the verdict line \"test sbrkarg: OK\"",
        ]
    );
}

#[test]
fn the_starter_tree_has_nothing_to_audit() {
    let prepared = prepared(&Submission::Starter);
    assert!(prepared.review(&vocabulary()).is_empty());
    assert!(
        Path::new(prepared.path())
            .join("kernel/src/trap.rs")
            .is_file()
    );
}
