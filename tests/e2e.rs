//! End to end under the real QEMU with the real kernel: `xvlab run`,
//! grading the starter and the reference solution on the lab's own tests,
//! the token defeating canned success lines, and a student's init → edit →
//! pack → grade round trip. (The full self-test, every test of every
//! known-bad submission, is `xvlab self-test lazy`.)
//!
//! These need QEMU, cargo and the riscv64 target. Without QEMU they are
//! skipped with a message — unless `XVLAB_REQUIRE_QEMU` is set, as CI sets
//! it, in which case a missing QEMU fails them.

mod common;
use common::{qemu_available, repo};
use std::path::PathBuf;
use std::process::{Command, Output};

fn xvlab(dir: &std::path::Path, args: &[&str]) -> Output {
    command(dir, args)
        .env_remove("XVLAB_HOME")
        .output()
        .expect("run xvlab")
}

/// `xvlab ARGS` in `dir`, with the tests' build cache and the real QEMU.
fn command(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xvlab"));
    cmd.args(args)
        .current_dir(dir)
        .env(
            "XVLAB_CACHE",
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-cache"),
        )
        .env_remove("XVLAB_QEMU")
        .env("NO_COLOR", "1");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

/// The names of the failed tests of a JSON report.
fn failed(report: &serde_json::Value) -> Vec<String> {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "failed")
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn run_types_commands_and_prints_the_transcript() {
    if !qemu_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = xvlab(
        dir.path(),
        &["run", "lazy", "--", "echo hi", "echo a b | wc"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let transcript = text(&out.stdout);
    let lines: Vec<&str> = transcript.lines().collect();
    assert!(lines.contains(&"hi"), "{transcript}");
    assert!(lines.contains(&"1 2 4 "), "{transcript}");
    assert!(lines.contains(&"$ echo hi"), "{transcript}");
}

#[test]
fn the_reference_solution_passes_the_lab_tests_and_the_starter_fails_map_and_unmap() {
    if !qemu_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let solution = repo().join("grading/lazy/solution.patch");
    let out = xvlab(
        dir.path(),
        &[
            "grade",
            "lazy",
            "--patch",
            solution.to_str().unwrap(),
            "--test",
            "lazy",
            "--test",
            "echo hi",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["score"], report["max_score"], "{report:#}");
    assert!(failed(&report).is_empty());

    let tree = repo().join("reference-kernel");
    let out = xvlab(
        dir.path(),
        &[
            "grade",
            "lazy",
            "--tree",
            tree.to_str().unwrap(),
            "--test",
            "lazy",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(100), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(failed(&report), ["lazy: map", "lazy: unmap"], "{report:#}");
}

#[test]
fn canned_success_lines_without_the_token_score_nothing() {
    if !qemu_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let canned = repo().join("grading/lazy/mutants/canned-output.patch");
    let out = xvlab(
        dir.path(),
        &[
            "grade",
            "lazy",
            "--patch",
            canned.to_str().unwrap(),
            "--test",
            "lazy",
            "--test",
            "usertests: sbrkarg",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(100), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["score"], 0, "{report:#}");
    // The kernel did print the lines, just without the token.
    let evidence = report["tests"][0]["evidence"].to_string();
    assert!(evidence.contains("test lazy alloc: OK"), "{report:#}");
}

#[test]
fn a_student_copy_round_trip_init_pack_grade() {
    if !qemu_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("lazy");
    let out = xvlab(dir.path(), &["init", "lazy", copy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(copy.join("LAB.md").is_file());

    // Nothing changed yet: nothing to hand in.
    let out = xvlab(&copy, &["pack"]);
    assert_eq!(out.status.code(), Some(112), "{}", text(&out.stderr));

    // Do the lab (apply the reference solution) and hand it in.
    let applied = Command::new("git")
        .args([
            "apply",
            repo().join("grading/lazy/solution.patch").to_str().unwrap(),
        ])
        .current_dir(&copy)
        .status()
        .unwrap();
    assert!(applied.success());
    let out = xvlab(&copy, &["pack"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let packed = copy.join("lazy-submission.patch");
    assert!(packed.is_file(), "{}", text(&out.stdout));

    // Grading the work tree and the packed patch agree.
    let out = xvlab(&copy, &["grade", "--test", "lazy: map", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = xvlab(
        dir.path(),
        &[
            "grade",
            "lazy",
            "--patch",
            packed.to_str().unwrap(),
            "--test",
            "lazy: map",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json(&out)["score"], json(&out)["max_score"]);
}

#[test]
fn the_rubric_runs_exactly_the_tests_the_test_programs_list() {
    if !qemu_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = xvlab(
        dir.path(),
        &["run", "lazy", "--", "usertests -l", "lazytests -l"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let transcript = text(&out.stdout);
    let rubric_text = std::fs::read_to_string(repo().join("grading/lazy/rubric.toml")).unwrap();
    let rubric = xvlab::lab::rubric::Rubric::parse(&rubric_text, "rubric.toml").unwrap();
    // Each session runs one VM per test its program lists, in its order.
    for (program, at_least) in [("usertests", 50), ("lazytests", 3)] {
        let command = format!("$ {program} -l");
        let listed: Vec<&str> = transcript
            .lines()
            .skip_while(|l| *l != command)
            .skip(1)
            .take_while(|l| !l.starts_with("$ "))
            .collect();
        assert!(listed.len() >= at_least, "{program}: {transcript}");
        let cases: Vec<&str> = rubric
            .session(program)
            .unwrap()
            .cases
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(cases, listed, "{program}");
    }
}

#[test]
fn the_handouts_journey_step_1_breaks_echo_hi_and_step_2_mends_it() {
    if !qemu_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Step 1 of labs/lazy/README.md: sbrk only grows p.sz.
    let step1 = repo().join("grading/lazy/mutants/no-fault-handler.patch");
    let out = xvlab(
        dir.path(),
        &[
            "run",
            "lazy",
            "--patch",
            step1.to_str().unwrap(),
            "--",
            "echo hi",
        ],
    );
    let transcript = text(&out.stdout);
    assert!(
        transcript.contains("usertrap(): unexpected scause 0x000000000000000f pid="),
        "{transcript}"
    );
    assert!(transcript.contains("            sepc=0x"), "{transcript}");
    assert!(
        transcript.contains("panic: uvmunmap: not mapped"),
        "{transcript}"
    );
    assert_eq!(out.status.code(), Some(100), "the VM panicked");

    // Step 2: a page-fault handler and the uvmunmap fix (the third
    // write-up's solution has exactly these).
    let step2 = repo().join("grading/lazy/mutants/seed-004.patch");
    let out = xvlab(
        dir.path(),
        &[
            "run",
            "lazy",
            "--patch",
            step2.to_str().unwrap(),
            "--",
            "echo hi",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).lines().any(|l| l == "hi"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn diff_of_the_starter_against_the_solution_names_map_and_unmap_first() {
    if !qemu_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (starter, solved) = (dir.path().join("starter"), dir.path().join("solution"));
    let tree = repo().join("reference-kernel");
    let solution = repo().join("grading/lazy/solution.patch");
    for (submission, value, kept) in [("--tree", &tree, &starter), ("--patch", &solution, &solved)]
    {
        let out = xvlab(
            dir.path(),
            &[
                "grade",
                "lazy",
                submission,
                value.to_str().unwrap(),
                "--test",
                "lazy",
                "--keep",
                kept.to_str().unwrap(),
            ],
        );
        assert!(kept.join("report.json").is_file(), "{}", text(&out.stderr));
    }
    let (a, b) = (starter.to_str().unwrap(), solved.to_str().unwrap());
    let out = xvlab(dir.path(), &["diff", "--format", "json", a, b]);
    assert_eq!(out.status.code(), Some(115), "{}", text(&out.stderr));
    let result = json(&out);
    let changed: Vec<&str> = result["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["test"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["lazy: map", "lazy: unmap"], "{result:#}");
    let out = xvlab(dir.path(), &["diff", a, b]);
    let human = text(&out.stdout);
    let first_diff = human.find("\n--- a/").expect(&human);
    assert!(human[..first_diff].contains("lazy: map: failed"), "{human}");
    assert!(
        human[..first_diff].contains("lazy: unmap: failed"),
        "{human}"
    );
}

#[test]
fn a_lab_whose_starter_is_the_kernel_plus_a_patch_grades_and_inits_the_patched_kernel() {
    if !qemu_available() {
        return;
    }
    // The lazy lab, its starter made the reference kernel plus the
    // reference solution: a student's copy starts with the solution's
    // code, and graded as it is has full marks.
    let home = tempfile::tempdir().unwrap();
    for dir in ["labs", "grading", "reference-kernel"] {
        common::copy_tree(&repo().join(dir), &home.path().join(dir));
    }
    let lab_toml = home.path().join("labs/lazy/lab.toml");
    let definition = std::fs::read_to_string(&lab_toml).unwrap();
    std::fs::write(
        &lab_toml,
        format!("{definition}\nstarter_patch = \"grading/lazy/solution.patch\"\n"),
    )
    .unwrap();
    let with_home = |cwd: &std::path::Path, args: &[&str]| {
        command(cwd, args)
            .env("XVLAB_HOME", home.path())
            .output()
            .expect("run xvlab")
    };
    let solution = repo().join("grading/lazy/solution.patch");
    let dir = tempfile::tempdir().unwrap();

    let copy = dir.path().join("copy");
    let out = with_home(dir.path(), &["init", "lazy", copy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let holds_solution = Command::new("git")
        .args(["apply", "--check", "-R", solution.to_str().unwrap()])
        .current_dir(&copy)
        .status()
        .unwrap();
    assert!(
        holds_solution.success(),
        "the copy does not hold the solution"
    );

    let out = with_home(&copy, &["grade", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    assert_eq!(report["score"], report["max_score"], "{report:#}");

    // The solution is in the starter already: handed in again, it does
    // not apply.
    let out = with_home(
        dir.path(),
        &["grade", "lazy", "--patch", solution.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(106), "{}", text(&out.stderr));
}

/// The transcript `--keep` wrote for VM `stem` (its name, `/` as `-`).
fn kept_transcript(keep: &std::path::Path, stem: &str) -> String {
    let path = keep.join("transcripts").join(format!("{stem}.txt"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn with_snapshots_the_solution_scores_full_marks_and_usertests_vms_are_typed_only_their_arguments()
{
    if !qemu_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let solution = repo().join("grading/lazy/solution.patch");
    let grade = |keep: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "grade",
            "lazy",
            "--patch",
            solution.to_str().unwrap(),
            "--format",
            "json",
            "--keep",
            keep.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = xvlab(dir.path(), &args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let report = json(&out);
        assert!(failed(&report).is_empty(), "{report:#}");
        assert_eq!(report["score"], report["max_score"], "{report:#}");
    };
    // Every test: `preempt`, `killstatus` and `forkforkfork` need timer
    // interrupts after the restore.
    let restored = dir.path().join("restored");
    grade(&restored, &["--snapshots"]);
    // Each VM went on from where the saved one waited: its transcript is
    // the saved VM's boot and setup, then its own arguments.
    for case in ["sbrkarg", "preempt", "killstatus"] {
        let t = kept_transcript(&restored, &format!("usertests-{case}"));
        assert!(t.contains("$ usertests -w\n"), "{case}:\n{t}");
        assert!(
            t.contains(&format!("usertests: waiting for arguments\n-k … {case}\n")),
            "{case}:\n{t}"
        );
        assert!(t.contains(&format!("test {case}: OK […]")), "{case}:\n{t}");
    }
    let booted = dir.path().join("booted");
    grade(&booted, &["--test", "usertests: sbrkarg"]);
    let t = kept_transcript(&booted, "usertests-sbrkarg");
    assert!(t.contains("$ usertests -k … sbrkarg\n"), "{t}");
    assert!(!t.contains("waiting for arguments"), "{t}");
}
