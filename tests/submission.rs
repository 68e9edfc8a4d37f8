//! Preparing submissions against the real embedded starter tree with the
//! real `git`: the reference solution, forbidden paths, broken patches,
//! series, work trees — and that a failure leaves nothing behind.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use xvlab::lab::Lab;
use xvlab::lab::assets::Assets;
use xvlab::shared::exit;
use xvlab::shared::patch::PatchError;
use xvlab::submission::{
    Change, ChangedFile, PatchInput, Prepared, Stage, Submission, SubmissionError,
};

fn lab() -> Lab {
    Lab::load(&Assets::Embedded, "lazy").unwrap()
}

fn solution() -> Vec<u8> {
    Assets::Embedded
        .read("grading/lazy/solution.patch")
        .unwrap()
        .into_owned()
}

fn pristine() -> BTreeMap<String, Vec<u8>> {
    let assets = Assets::Embedded;
    let starter = lab().starter;
    assets
        .list(&starter)
        .unwrap()
        .into_iter()
        .map(|p| {
            let bytes = assets.read(&p).unwrap().into_owned();
            (p[starter.len() + 1..].to_string(), bytes)
        })
        .collect()
}

/// Every file below `root`, by relative path.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            assert!(
                !kind.is_symlink(),
                "symbolic link in the prepared tree: {}",
                path.display()
            );
            if kind.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn input(name: &str, text: &str) -> PatchInput {
    PatchInput {
        name: name.to_string(),
        bytes: text.as_bytes().to_vec(),
    }
}

fn prepare(submission: &Submission) -> Prepared {
    let prepared = submission.prepare(&Assets::Embedded, &lab()).unwrap();
    assert_grader_files_are_pristine(&prepared);
    prepared
}

/// Prepare, expecting failure, and check that nothing is left behind.
fn fail(submission: &Submission) -> SubmissionError {
    let parent = tempfile::tempdir().unwrap();
    let err = submission
        .prepare_in(&Assets::Embedded, &lab(), parent.path())
        .expect_err("the submission should be refused");
    let left: Vec<_> = std::fs::read_dir(parent.path()).unwrap().collect();
    assert!(left.is_empty(), "{err}: left behind {left:?}");
    err
}

fn patches(list: &[(&str, &str)]) -> Submission {
    Submission::Patches(list.iter().map(|(n, t)| input(n, t)).collect())
}

fn assert_grader_files_are_pristine(prepared: &Prepared) {
    let lab = lab();
    let got = tree(prepared.path());
    for (path, bytes) in pristine() {
        if !lab.is_editable(&path) {
            assert_eq!(
                got.get(&path),
                Some(&bytes),
                "grader-owned {path} differs from the starter"
            );
        }
    }
    for path in got.keys() {
        assert!(
            lab.is_editable(path) || pristine().contains_key(path),
            "grader-owned {path} is not in the starter"
        );
    }
}

/// The starter tree with `patch` applied by plain `git apply`, for
/// comparison.
fn starter_plus(patch: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    Assets::Embedded
        .extract(&lab().starter, dir.path())
        .unwrap();
    let file = dir.path().join("s.patch");
    std::fs::write(&file, patch).unwrap();
    let status = Command::new("git")
        .args(["apply", "-p1"])
        .arg(&file)
        .current_dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_file(&file).unwrap();
    tree(dir.path())
}

fn modified(paths: &[&str]) -> Vec<ChangedFile> {
    paths
        .iter()
        .map(|p| ChangedFile {
            path: p.to_string(),
            change: Change::Modified,
        })
        .collect()
}

#[test]
fn the_reference_solution_prepares_to_starter_plus_solution() {
    let submission = Submission::Patches(vec![PatchInput {
        name: "solution.patch".to_string(),
        bytes: solution(),
    }]);
    let prepared = prepare(&submission);
    assert_eq!(tree(prepared.path()), starter_plus(&solution()));
    assert_eq!(
        prepared.description,
        "patch solution.patch (3 files changed)"
    );
    assert_eq!(
        prepared.changed,
        modified(&[
            "kernel/src/proc.rs",
            "kernel/src/trap.rs",
            "kernel/src/vm.rs"
        ])
    );
    assert!(prepared.notes.is_empty(), "{:?}", prepared.notes);
}

#[test]
fn dropping_the_prepared_tree_deletes_it() {
    let parent = tempfile::tempdir().unwrap();
    let submission = Submission::Patches(vec![PatchInput {
        name: "solution.patch".to_string(),
        bytes: solution(),
    }]);
    let prepared = submission
        .prepare_in(&Assets::Embedded, &lab(), parent.path())
        .unwrap();
    let path = prepared.path().to_path_buf();
    assert!(path.join("kernel/src/vm.rs").is_file());
    drop(prepared);
    assert!(!path.exists());
}

#[test]
fn crlf_copies_of_the_solution_apply() {
    let crlf = String::from_utf8(solution()).unwrap().replace('\n', "\r\n");
    let prepared = prepare(&patches(&[("solution.patch", &crlf)]));
    assert_eq!(tree(prepared.path()), starter_plus(&solution()));
}

#[test]
fn a_patch_that_changes_a_user_program_is_refused() {
    let err = fail(&patches(&[(
        "s.patch",
        "diff --git a/user/src/bin/usertests.rs b/user/src/bin/usertests.rs\n\
         --- a/user/src/bin/usertests.rs\n\
         +++ b/user/src/bin/usertests.rs\n\
         @@ -1 +1 @@\n-a\n+b\n",
    )]));
    assert!(
        matches!(&err, SubmissionError::Forbidden { path, .. } if path == "user/src/bin/usertests.rs")
    );
    insta::assert_snapshot!(err, @"patch 1 (s.patch) changes `user/src/bin/usertests.rs`, which submissions may not change: only kernel/src/**/*.rs may be edited");
}

#[test]
fn build_files_are_refused_even_late_in_a_series() {
    let err = fail(&patches(&[
        ("a.patch", &String::from_utf8(solution()).unwrap()),
        (
            "b.patch",
            "diff --git a/kernel/build.rs b/kernel/build.rs\n\
             --- a/kernel/build.rs\n\
             +++ b/kernel/build.rs\n\
             @@ -1 +1 @@\n-a\n+b\n",
        ),
    ]));
    insta::assert_snapshot!(err, @"patch 2 (b.patch) changes `kernel/build.rs`, which submissions may not change: only kernel/src/**/*.rs may be edited");
}

#[test]
fn a_patch_that_leaves_the_tree_is_refused() {
    let err = fail(&patches(&[(
        "s.patch",
        "diff --git a/../x.rs b/../x.rs\n\
         new file mode 100644\n\
         --- /dev/null\n\
         +++ b/../x.rs\n\
         @@ -0,0 +1 @@\n+x\n",
    )]));
    assert!(matches!(&err, SubmissionError::Forbidden { path, .. } if path == "../x.rs"));
    insta::assert_snapshot!(err, @"patch 1 (s.patch) creates `../x.rs`: paths may not leave the kernel tree");
}

#[test]
fn a_patch_with_an_absolute_path_is_refused() {
    let err = fail(&patches(&[(
        "s.patch",
        "--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-root:x:0:0::/root:/bin/sh\n+evil\n",
    )]));
    insta::assert_snapshot!(err, @"patch 1 (s.patch) changes `/etc/passwd`: paths may not be absolute");
}

#[test]
fn a_patch_that_makes_a_symbolic_link_is_refused() {
    let err = fail(&patches(&[(
        "s.patch",
        "diff --git a/kernel/src/passwd.rs b/kernel/src/passwd.rs\n\
         new file mode 120000\n\
         index 0000000..3594e94\n\
         --- /dev/null\n\
         +++ b/kernel/src/passwd.rs\n\
         @@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n",
    )]));
    insta::assert_snapshot!(err, @"patch 1 (s.patch) makes `kernel/src/passwd.rs` a symbolic link: submissions may only contain regular files");
}

#[test]
fn a_patch_that_adds_a_submodule_is_refused() {
    let err = fail(&patches(&[(
        "s.patch",
        "diff --git a/kernel/src/sub b/kernel/src/sub\n\
         new file mode 160000\n\
         index 0000000..1234567\n\
         --- /dev/null\n\
         +++ b/kernel/src/sub\n\
         @@ -0,0 +1 @@\n+Subproject commit 1234567890123456789012345678901234567890\n",
    )]));
    insta::assert_snapshot!(err, @"patch 1 (s.patch) makes `kernel/src/sub` a submodule: submissions may only contain regular files");
}

#[test]
fn a_rename_out_of_the_editable_files_is_refused() {
    let err = fail(&patches(&[(
        "s.patch",
        "diff --git a/kernel/src/vm.rs b/kernel/build.rs\n\
         similarity index 100%\n\
         rename from kernel/src/vm.rs\n\
         rename to kernel/build.rs\n",
    )]));
    insta::assert_snapshot!(err, @"patch 1 (s.patch) changes `kernel/build.rs`, which submissions may not change: only kernel/src/**/*.rs may be edited");
}

#[test]
fn control_characters_in_names_are_shown_escaped() {
    let err = fail(&patches(&[(
        "s.patch",
        "diff --git \"a/kernel/src/\\033[2J.rs\" \"b/kernel/src/\\033[2J.rs\"\n\
         new file mode 100644\n\
         --- /dev/null\n\
         +++ \"b/kernel/src/\\033[2J.rs\"\n\
         @@ -0,0 +1 @@\n+x\n",
    )]));
    insta::assert_snapshot!(err, @r"patch 1 (s.patch) creates `kernel/src/\u{1b}[2J.rs`: paths may not contain control characters");
}

#[test]
fn a_garbage_file_is_not_a_patch() {
    let err = fail(&patches(&[(
        "essay.txt",
        "I implemented lazy allocation.\nIt works!\n",
    )]));
    assert!(matches!(
        err,
        SubmissionError::BadPatch(PatchError::NotAPatch { .. })
    ));
    insta::assert_snapshot!(err, @"essay.txt is not a patch: no `diff --git` or `---`/`+++` headers found");
}

#[test]
fn an_empty_file_has_nothing_to_grade() {
    let err = fail(&patches(&[("s.patch", "")]));
    assert!(matches!(
        err,
        SubmissionError::BadPatch(PatchError::Empty { .. })
    ));
    insta::assert_snapshot!(err, @"s.patch is empty: nothing to grade");
}

#[test]
fn a_truncated_patch_is_malformed() {
    // A patch of its own, not a cut of the solution: the message quotes
    // line numbers, which must not change when the solution does.
    let cut = [
        "diff --git a/kernel/src/vm.rs b/kernel/src/vm.rs",
        "--- a/kernel/src/vm.rs",
        "+++ b/kernel/src/vm.rs",
        "@@ -10,7 +10,8 @@ pub fn kvminit() {",
        "     let a = 1;",
        "-    let b = 2;",
        "+    let b = 3;",
        "+    let c = 4;",
        "",
    ]
    .join("\n");
    let err = fail(&patches(&[("truncated.patch", cut.as_str())]));
    assert!(matches!(
        err,
        SubmissionError::BadPatch(PatchError::Malformed { .. })
    ));
    insta::assert_snapshot!(err, @"truncated.patch is not a valid patch: line 4: the hunk `@@ -10,7 +10,8 @@` of `kernel/src/vm.rs` ends early: the file stops 5 old and 5 new lines short (is it truncated?)");
}

#[test]
fn a_patch_against_other_code_does_not_apply() {
    let err = fail(&patches(&[(
        "old.patch",
        "diff --git a/kernel/src/vm.rs b/kernel/src/vm.rs\n\
         --- a/kernel/src/vm.rs\n\
         +++ b/kernel/src/vm.rs\n\
         @@ -210,3 +210,3 @@\n \
         this line is not in vm.rs\n\
         -neither is this one\n\
         +but we replace it\n \
         and this is not there either\n",
    )]));
    assert!(matches!(
        &err,
        SubmissionError::DoesNotApply { file: Some(f), line: Some(210), .. } if f == "kernel/src/vm.rs"
    ));
    insta::assert_snapshot!(err, @"patch 1 (old.patch) does not apply: its change to kernel/src/vm.rs near line 210 (hunk 1 of 1) does not match the starter code — was it made against a different version?");
}

#[test]
fn a_patch_to_a_missing_file_does_not_apply() {
    let err = fail(&patches(&[(
        "s.patch",
        "--- a/kernel/src/lazy.rs\n+++ b/kernel/src/lazy.rs\n@@ -1 +1 @@\n-a\n+b\n",
    )]));
    insta::assert_snapshot!(err, @"patch 1 (s.patch) does not apply: it changes kernel/src/lazy.rs, which does not exist in the starter code");
}

const SERIES: &str = "\
From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: Ann Student <ann@example.edu>
Date: Mon, 2 Sep 2024 10:00:00 +0200
Subject: [PATCH 1/2] Add lazy.rs

---
 kernel/src/lazy.rs | 1 +
 1 file changed, 1 insertion(+)
 create mode 100644 kernel/src/lazy.rs

diff --git a/kernel/src/lazy.rs b/kernel/src/lazy.rs
new file mode 100644
index 0000000..1111111
--- /dev/null
+++ b/kernel/src/lazy.rs
@@ -0,0 +1 @@
+// first version
-- 
2.45.2


From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001
From: Ann Student <ann@example.edu>
Date: Mon, 2 Sep 2024 11:00:00 +0200
Subject: [PATCH 2/2] Improve lazy.rs

---
 kernel/src/lazy.rs | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/kernel/src/lazy.rs b/kernel/src/lazy.rs
index 1111111..2222222 100644
--- a/kernel/src/lazy.rs
+++ b/kernel/src/lazy.rs
@@ -1 +1 @@
-// first version
+// second version
-- 
2.45.2

";

#[test]
fn an_mbox_series_applies_in_order() {
    let prepared = prepare(&patches(&[("series.mbox", SERIES)]));
    assert_eq!(
        std::fs::read_to_string(prepared.path().join("kernel/src/lazy.rs")).unwrap(),
        "// second version\n"
    );
    assert_eq!(
        prepared.description,
        "patch series series.mbox (2 patches, 1 file changed)"
    );
    assert_eq!(
        prepared.changed,
        [ChangedFile {
            path: "kernel/src/lazy.rs".to_string(),
            change: Change::Added
        }]
    );
}

#[test]
fn several_patch_files_apply_in_the_order_given() {
    let (first, second) = SERIES.split_at(SERIES.find("From 2222").unwrap());
    let prepared = prepare(&patches(&[("1.patch", first), ("2.patch", second)]));
    assert_eq!(
        std::fs::read_to_string(prepared.path().join("kernel/src/lazy.rs")).unwrap(),
        "// second version\n"
    );
    assert_eq!(
        prepared.description,
        "patches 1.patch, 2.patch (2 patches, 1 file changed)"
    );

    let err = fail(&patches(&[("2.patch", second), ("1.patch", first)]));
    insta::assert_snapshot!(err, @"patch 1 (2.patch) does not apply: it changes kernel/src/lazy.rs, which does not exist in the starter code");
}

#[test]
fn a_later_patch_of_a_series_that_does_not_apply_says_so() {
    let broken = SERIES.replace("-// first version", "-// some other version");
    let err = fail(&patches(&[("series.mbox", &broken)]));
    insta::assert_snapshot!(err, @"patch 2 (series.mbox, 2 of 2) does not apply: its change to kernel/src/lazy.rs near line 1 (hunk 1 of 1) does not match the code as patch 1 left it — are the patches in the right order, and made against this lab's starter code?");
}

#[test]
fn plain_diff_u_made_inside_the_tree_applies() {
    // `diff -u vm.rs.orig vm.rs`, run from the tree's root: no a/ b/.
    let vm = String::from_utf8(pristine()["kernel/src/vm.rs"].clone()).unwrap();
    let lines: Vec<&str> = vm.lines().take(4).collect();
    let text = format!(
        "--- kernel/src/vm.rs.orig\t2024-09-02 10:00:00.000000000 +0200\n\
         +++ kernel/src/vm.rs\t2024-09-02 10:05:00.000000000 +0200\n\
         @@ -1,4 +1,4 @@\n-{}\n+// changed\n {}\n {}\n {}\n",
        lines[0], lines[1], lines[2], lines[3]
    );
    let prepared = prepare(&patches(&[("s.diff", &text)]));
    let got = std::fs::read_to_string(prepared.path().join("kernel/src/vm.rs")).unwrap();
    assert!(got.starts_with("// changed\n"));
    assert_eq!(prepared.changed, modified(&["kernel/src/vm.rs"]));
}

#[test]
fn git_diff_no_prefix_applies() {
    let text = String::from_utf8(solution())
        .unwrap()
        .replace(" a/kernel", " kernel")
        .replace(" b/kernel", " kernel");
    let prepared = prepare(&patches(&[("s.patch", &text)]));
    assert_eq!(tree(prepared.path()), starter_plus(&solution()));
}

#[test]
fn reading_patch_files_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fix.patch");
    std::fs::write(&path, solution()).unwrap();
    let input = PatchInput::read(&path).unwrap();
    assert_eq!(input.name, "fix.patch");
    let err = PatchInput::read(&dir.path().join("missing.patch")).unwrap_err();
    assert!(matches!(err, SubmissionError::Unreadable { .. }));
    assert!(
        err.to_string().starts_with("cannot read the patch `"),
        "{err}"
    );
    assert!(err.to_string().contains("no such file"), "{err}");
    let err = PatchInput::read(dir.path()).unwrap_err();
    assert!(err.to_string().contains("it is a directory"), "{err}");
}

#[test]
fn patch_files_are_read_when_prepared_and_one_that_cannot_be_is_refused_with_108() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fix.patch");
    std::fs::write(&path, solution()).unwrap();
    let missing = dir.path().join("missing.patch");
    let prepared = prepare(&Submission::PatchFiles(vec![path.clone()]));
    assert_eq!(tree(prepared.path()), starter_plus(&solution()));
    // A series with an unreadable member is refused before anything is
    // applied, at the preparing stage, with the code of its kind.
    let submission = Submission::PatchFiles(vec![path, missing.clone()]);
    let refusal = fail(&submission).refusal().expect("a refusal");
    assert_eq!(refusal.stage, Stage::Prepare);
    assert_eq!(refusal.exit_code, exit::PATCH_UNREADABLE);
    assert!(
        refusal.reason.contains("no such file"),
        "{}",
        refusal.reason
    );
    assert_eq!(
        submission.describe(),
        format!(
            "patch {}, {}",
            dir.path().join("fix.patch").display(),
            missing.display()
        )
    );
}

#[test]
fn refusals_say_which_stage_refused_and_faults_of_the_grader_are_not_refusals() {
    for (text, stage, code) in [
        (
            "--- a/user/src/bin/sh.rs\n+++ b/user/src/bin/sh.rs\n@@ -1 +1 @@\n-a\n+b\n",
            Stage::Prepare,
            exit::PATCH_NOT_EDITABLE,
        ),
        (
            "--- /dev/null\n+++ b/kernel/src/evil.rs\n@@ -0,0 +1 @@\n+pub const P: &str = env!(\"HOME\");\n",
            Stage::Audit,
            exit::SOURCE_REFUSED,
        ),
    ] {
        let err = fail(&patches(&[("x.patch", text)]));
        let refusal = err.refusal().unwrap();
        assert_eq!((refusal.stage, refusal.exit_code), (stage, code), "{err}");
        assert_eq!(refusal.reason, err.to_string());
    }
    // Not the student's to fix: an error of the grading, not a result.
    assert_eq!(SubmissionError::GitMissing.refusal(), None);
    let io = SubmissionError::Io {
        action: "write `/tmp/x`".to_string(),
        source: std::io::Error::other("disk"),
    };
    assert_eq!(io.refusal(), None);
}

// ---------------------------------------------------------------------------
// Work trees

/// A work tree: the starter tree plus the changes `edit` makes.
fn work_tree(edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    Assets::Embedded
        .extract(&lab().starter, dir.path())
        .unwrap();
    edit(dir.path());
    dir
}

#[test]
fn a_work_tree_contributes_its_editable_files_only() {
    let dir = work_tree(|root| {
        std::fs::write(
            root.join("user/src/bin/sh.rs"),
            "fn main() { /* no shell */ }\n",
        )
        .unwrap();
        std::fs::write(root.join("user/src/bin/cheat.rs"), "fn main() {}\n").unwrap();
        std::fs::write(root.join("kernel/src/lazy.rs"), "// new\n").unwrap();
        std::fs::create_dir_all(root.join("kernel/src/lazy")).unwrap();
        std::fs::write(root.join("kernel/src/lazy/mod.rs"), "// new dir\n").unwrap();
        std::fs::remove_file(root.join("kernel/src/stat.rs")).unwrap();
        let mut vm = std::fs::read_to_string(root.join("kernel/src/vm.rs")).unwrap();
        vm.push_str("// lazy\n");
        std::fs::write(root.join("kernel/src/vm.rs"), vm).unwrap();
        // Build output, git's own files, editor settings: never looked at.
        std::fs::create_dir_all(root.join("target/debug")).unwrap();
        std::fs::write(root.join("target/debug/kernel"), "ELF").unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::create_dir_all(root.join(".vscode")).unwrap();
        std::fs::write(root.join(".vscode/settings.json"), "{}").unwrap();
        // The copy's own files.
        std::fs::write(root.join(".xvlab.toml"), "lab = \"lazy\"\n").unwrap();
        std::fs::write(root.join("LAB.md"), "# Lazy\n").unwrap();
    });
    let prepared = prepare(&Submission::WorkTree(dir.path().to_path_buf()));
    let got = tree(prepared.path());
    assert_eq!(got["user/src/bin/sh.rs"], pristine()["user/src/bin/sh.rs"]);
    assert!(!got.contains_key("user/src/bin/cheat.rs"));
    assert_eq!(got["kernel/src/lazy.rs"], b"// new\n");
    assert_eq!(got["kernel/src/lazy/mod.rs"], b"// new dir\n");
    assert!(!got.contains_key("kernel/src/stat.rs"));
    assert!(got["kernel/src/vm.rs"].ends_with(b"// lazy\n"));
    assert!(
        !got.keys().any(|p| p.starts_with("target/")
            || p.starts_with(".git/")
            || p.starts_with(".vscode/"))
    );
    let change = |path: &str, change| ChangedFile {
        path: path.to_string(),
        change,
    };
    assert_eq!(
        prepared.changed,
        [
            change("kernel/src/lazy.rs", Change::Added),
            change("kernel/src/lazy/mod.rs", Change::Added),
            change("kernel/src/stat.rs", Change::Deleted),
            change("kernel/src/vm.rs", Change::Modified),
        ]
    );
    assert_eq!(
        prepared.notes,
        [
            "ignored your new file user/src/bin/cheat.rs: only kernel/src/**/*.rs may be edited",
            "ignored your changes to user/src/bin/sh.rs: only kernel/src/**/*.rs may be edited",
        ]
    );
    assert!(
        prepared.description.starts_with("work tree "),
        "{}",
        prepared.description
    );
}

#[test]
fn a_work_tree_with_a_deleted_grader_file_gets_it_back() {
    let dir = work_tree(|root| std::fs::remove_file(root.join("kernel/build.rs")).unwrap());
    let prepared = prepare(&Submission::WorkTree(dir.path().to_path_buf()));
    assert!(prepared.path().join("kernel/build.rs").is_file());
    assert_eq!(
        prepared.notes,
        ["ignored your deletion of kernel/build.rs: only kernel/src/**/*.rs may be edited"]
    );
    assert!(prepared.changed.is_empty());
}

#[test]
fn a_work_tree_with_a_symbolic_link_in_the_kernel_is_refused() {
    let dir = work_tree(|root| {
        std::fs::remove_file(root.join("kernel/src/vm.rs")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("kernel/src/vm.rs")).unwrap();
    });
    let err = fail(&Submission::WorkTree(dir.path().to_path_buf()));
    assert!(matches!(&err, SubmissionError::Forbidden { path, .. } if path == "kernel/src/vm.rs"));
    assert!(
        err.to_string().ends_with(
            "has `kernel/src/vm.rs` as a symbolic link or special file: submissions may only contain regular files"
        ),
        "{err}"
    );
}

#[test]
fn a_directory_that_is_not_a_copy_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    let err = fail(&Submission::WorkTree(dir.path().to_path_buf()));
    assert!(matches!(err, SubmissionError::NotAKernelTree { .. }));
    assert!(
        err.to_string().ends_with(
            "has none of the lab's files (kernel/src/**/*.rs): is it a copy made by `xvlab init`?"
        ),
        "{err}"
    );
    // Both are the student's to fix: refused, with a report, not faults.
    let refusal = err.refusal().unwrap();
    assert_eq!(
        (refusal.stage, refusal.exit_code),
        (Stage::Prepare, exit::FAILURE)
    );
    let err = fail(&Submission::WorkTree(dir.path().join("missing")));
    assert!(
        matches!(err, SubmissionError::UnreadableTree { .. }),
        "{err}"
    );
    let refusal = err.refusal().unwrap();
    assert_eq!(
        (refusal.stage, refusal.exit_code),
        (Stage::Prepare, exit::FAILURE)
    );
    // The reason keeps the I/O error: what is missing, and why.
    assert!(
        refusal.reason.starts_with("cannot read work tree ")
            && refusal.reason.contains("os error 2"),
        "{}",
        refusal.reason
    );
}

#[test]
fn new_files_without_prefixes_land_in_the_directory_that_exists() {
    for (header, name) in [
        ("+++ kernel/src/lazy.rs", "p0.patch"),
        ("+++ mine/kernel/src/lazy.rs", "p1.patch"),
        ("+++ b/kernel/src/lazy.rs", "ab.patch"),
    ] {
        let text = format!("--- /dev/null\n{header}\n@@ -0,0 +1 @@\n+// lazy\n");
        let prepared = prepare(&patches(&[(name, &text)]));
        assert_eq!(
            prepared.changed,
            [ChangedFile {
                path: "kernel/src/lazy.rs".to_string(),
                change: Change::Added
            }],
            "{name}"
        );
    }
}
