//! `xvlab init` and `xvlab pack` with the real assets and real git, and
//! the round trip: init, edit, pack, prepare the packed patch.

use std::path::Path;
use std::process::Command;

use xvlab::lab::Lab;
use xvlab::lab::assets::Assets;
use xvlab::submission::student::{self, StudentCopy, StudentError};
use xvlab::submission::{PatchInput, Submission};

fn lab() -> Lab {
    Lab::load(&Assets::Embedded, "lazy").unwrap()
}

/// Run git in `dir` as a student would (with an identity for commits).
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Ann", "-c", "user.email=ann@example.edu"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn init() -> (tempfile::TempDir, StudentCopy) {
    let parent = tempfile::tempdir().unwrap();
    let copy = student::init(&Assets::Embedded, &lab(), &parent.path().join("lazy")).unwrap();
    (parent, copy)
}

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, f(text)).unwrap();
}

#[test]
fn init_makes_a_clean_repository_whose_first_commit_is_the_starter() {
    let (parent, copy) = init();
    let root = parent.path().join("lazy");
    assert_eq!(copy.root, root);
    assert_eq!(copy.lab, "lazy");
    assert!(root.join("kernel/src/vm.rs").is_file());
    assert!(root.join("user/src/bin/sh.rs").is_file());
    let marker = std::fs::read_to_string(root.join(".xvlab.toml")).unwrap();
    assert!(marker.contains("lab = \"lazy\""), "{marker}");
    let ignore = std::fs::read_to_string(root.join(".gitignore")).unwrap();
    assert!(
        ignore.contains("/target/") && ignore.contains("/lazy-submission.patch"),
        "{ignore}"
    );
    let has_handout = Assets::Embedded.read(&lab().handout_path()).is_ok();
    assert_eq!(root.join("LAB.md").is_file(), has_handout);

    assert_eq!(git(&root, &["status", "--porcelain"]), "");
    let log = git(&root, &["log", "--format=%s%d"]);
    assert_eq!(
        log.trim(),
        "Starter code of the lazy lab (Lazy page allocation) (HEAD -> main, tag: starter)"
    );
    // The README is about the copy: the commands that work in it, not the
    // reference kernel's developer instructions.
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for says in [
        "xvlab qemu",
        "xvlab grade",
        "xvlab pack",
        "LAB.md",
        "user/src/bin/NAME.rs",
    ] {
        assert!(readme.contains(says), "{says}: {readme}");
    }
    assert!(!readme.contains("--tree reference-kernel"), "{readme}");
    // The committed kernel tree is otherwise the pristine one.
    let starter = lab().starter;
    for path in Assets::Embedded.list(&starter).unwrap() {
        let rel = &path[starter.len() + 1..];
        if rel == "README.md" {
            continue;
        }
        let committed = Command::new("git")
            .args(["show", &format!("starter:{rel}")])
            .current_dir(&root)
            .output()
            .unwrap();
        assert_eq!(
            committed.stdout,
            *Assets::Embedded.read(&path).unwrap(),
            "{rel}"
        );
    }
    // The copy is found from anywhere inside it.
    assert_eq!(StudentCopy::find(&root.join("kernel/src")).unwrap(), copy);
}

#[test]
fn a_copys_own_readme_is_neither_graded_nor_noted_as_ignored() {
    let (parent, _copy) = init();
    let root = parent.path().join("lazy");
    let prepared = Submission::WorkTree(root.clone())
        .prepare(&Assets::Embedded, &lab())
        .unwrap();
    assert!(prepared.notes.is_empty(), "{:?}", prepared.notes);
    // The tree that is built has the starter's README.
    let starter = lab().starter;
    assert_eq!(
        std::fs::read(prepared.path().join("README.md")).unwrap(),
        *Assets::Embedded
            .read(&format!("{starter}/README.md"))
            .unwrap()
    );
}

#[test]
fn init_refuses_a_directory_that_is_not_empty_and_leaves_it_alone() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::write(parent.path().join("notes.txt"), "mine").unwrap();
    let err = student::init(&Assets::Embedded, &lab(), parent.path()).unwrap_err();
    assert!(matches!(err, StudentError::NotEmpty { .. }));
    assert!(err.to_string().ends_with(
        "already exists and is not an empty directory: choose a new directory for the lab"
    ));
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 1);

    let file = parent.path().join("notes.txt");
    assert!(matches!(
        student::init(&Assets::Embedded, &lab(), &file),
        Err(StudentError::NotEmpty { .. })
    ));
}

#[test]
fn init_accepts_an_existing_empty_directory() {
    let parent = tempfile::tempdir().unwrap();
    let copy = student::init(&Assets::Embedded, &lab(), parent.path()).unwrap();
    assert!(copy.root.join("kernel/src/vm.rs").is_file());
}

#[test]
fn init_edit_pack_and_prepare_round_trip() {
    let (_parent, copy) = init();
    let root = copy.root.clone();
    // The reference solution, applied and committed as the student would.
    let solution = Assets::Embedded
        .read("grading/lazy/solution.patch")
        .unwrap();
    std::fs::write(root.join("../solution.patch"), &*solution).unwrap();
    git(&root, &["apply", "../solution.patch"]);
    git(&root, &["commit", "-qam", "lazy allocation"]);
    // Then more, uncommitted: a change, a new untracked kernel file, a
    // deleted kernel file, and a change to a grader-owned file.
    edit(&root.join("kernel/src/trap.rs"), |t| t + "// more\n");
    std::fs::write(root.join("kernel/src/lazy.rs"), "// helper\n").unwrap();
    std::fs::remove_file(root.join("kernel/src/stat.rs")).unwrap();
    edit(&root.join("user/src/bin/sh.rs"), |t| t + "// mine\n");
    std::fs::write(root.join("user/src/bin/cheat.rs"), "fn main() {}\n").unwrap();
    let status_before = git(&root, &["status", "--porcelain"]);

    let packed = copy.pack(&lab(), None).unwrap();
    assert_eq!(packed.path, root.join("lazy-submission.patch"));
    assert_eq!(
        packed.files,
        [
            "kernel/src/lazy.rs",
            "kernel/src/proc.rs",
            "kernel/src/stat.rs",
            "kernel/src/trap.rs",
            "kernel/src/vm.rs"
        ]
    );
    assert_eq!(
        packed.left_out,
        ["user/src/bin/cheat.rs", "user/src/bin/sh.rs"]
    );
    // The student's index and status are untouched (the patch is ignored).
    assert_eq!(git(&root, &["status", "--porcelain"]), status_before);

    let input = PatchInput::read(&packed.path).unwrap();
    let prepared = Submission::Patches(vec![input])
        .prepare(&Assets::Embedded, &lab())
        .unwrap();
    assert_eq!(
        prepared.description,
        "patch lazy-submission.patch (5 files changed)"
    );
    let starter = lab().starter;
    for path in Assets::Embedded.list(&starter).unwrap() {
        let rel = &path[starter.len() + 1..];
        let got = std::fs::read(prepared.path().join(rel)).ok();
        let expected = if lab().is_editable(rel) {
            std::fs::read(root.join(rel)).ok()
        } else {
            Some(Assets::Embedded.read(&path).unwrap().into_owned())
        };
        assert_eq!(got, expected, "{rel}");
    }
    assert_eq!(
        std::fs::read(prepared.path().join("kernel/src/lazy.rs")).unwrap(),
        b"// helper\n"
    );

    // Grading the work tree itself gives the same tree.
    let from_tree = Submission::WorkTree(root.clone())
        .prepare(&Assets::Embedded, &lab())
        .unwrap();
    assert_eq!(from_tree.changed, prepared.changed);
    assert_eq!(
        from_tree.notes,
        [
            "ignored your new file user/src/bin/cheat.rs: only kernel/src/**/*.rs may be edited",
            "ignored your changes to user/src/bin/sh.rs: only kernel/src/**/*.rs may be edited",
        ]
    );
}

#[test]
fn pack_writes_where_it_is_told_but_not_into_the_kernel_sources() {
    let (parent, copy) = init();
    edit(&copy.root.join("kernel/src/vm.rs"), |t| t + "// lazy\n");
    let out = parent.path().join("hand-in.patch");
    let packed = copy.pack(&lab(), Some(&out)).unwrap();
    assert_eq!(packed.path, out);
    assert_eq!(packed.files, ["kernel/src/vm.rs"]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("diff --git a/kernel/src/vm.rs b/kernel/src/vm.rs\n"),
        "{text}"
    );

    let err = copy
        .pack(&lab(), Some(&copy.root.join("kernel/src/out.rs")))
        .unwrap_err();
    assert!(matches!(err, StudentError::OutputInsideEditable { .. }));
}

#[test]
fn pack_refuses_when_nothing_graded_changed() {
    let (_parent, copy) = init();
    let err = copy.pack(&lab(), None).unwrap_err();
    assert!(matches!(&err, StudentError::NoChanges { left_out, .. } if left_out.is_empty()));
    insta::assert_snapshot!(err, @"nothing to pack: none of the files you may edit (kernel/src/**/*.rs) changed since the starter commit");

    edit(&copy.root.join("user/src/bin/sh.rs"), |t| t + "// mine\n");
    let err = copy.pack(&lab(), None).unwrap_err();
    insta::assert_snapshot!(err, @"nothing to pack: none of the files you may edit (kernel/src/**/*.rs) changed since the starter commit; you changed user/src/bin/sh.rs, which is not graded");
    assert!(!copy.default_pack_path().exists());
}

#[test]
fn pack_finds_the_starter_without_its_tag() {
    let (_parent, copy) = init();
    git(&copy.root, &["tag", "-d", "starter"]);
    edit(&copy.root.join("kernel/src/vm.rs"), |t| t + "// lazy\n");
    git(&copy.root, &["commit", "-qam", "work"]);
    let packed = copy.pack(&lab(), None).unwrap();
    assert_eq!(packed.files, ["kernel/src/vm.rs"]);
}

#[test]
fn pack_refuses_a_symbolic_link_among_the_kernel_sources() {
    let (_parent, copy) = init();
    std::os::unix::fs::symlink("/etc/passwd", copy.root.join("kernel/src/passwd.rs")).unwrap();
    let err = copy.pack(&lab(), None).unwrap_err();
    assert!(matches!(err, StudentError::Forbidden { .. }), "{err}");
}

#[test]
fn pack_without_git_history_says_so() {
    let (_parent, copy) = init();
    std::fs::remove_dir_all(copy.root.join(".git")).unwrap();
    let err = copy.pack(&lab(), None).unwrap_err();
    assert!(matches!(err, StudentError::NotARepository { .. }), "{err}");
}
