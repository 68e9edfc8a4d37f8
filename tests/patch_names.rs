//! The patch parser must name the same files `git apply` will touch, or the
//! path checks would check one path while git writes another. Compare the
//! parser with `git apply --numstat` (which parses without applying) on
//! awkward but real-world header shapes.

use std::process::{Command, Stdio};

use std::io::Write as _;
use xvlab::shared::patch;

/// The paths `git apply --numstat -p<strip>` reports for `text`.
fn git_paths(text: &[u8], strip: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("git")
        .args(["apply", "--numstat", "-z", &format!("-p{strip}"), "-"])
        .current_dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "git apply --numstat: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| {
            // `added<TAB>deleted<TAB>path`
            let s = String::from_utf8(s.to_vec()).unwrap();
            s.splitn(3, '\t').nth(2).unwrap().to_string()
        })
        .collect()
}

fn assert_agrees(text: &str, expected: &[&str]) {
    let file = patch::parse("t.patch", text.as_bytes()).unwrap();
    for p in &file.patches {
        let ours: Vec<&str> = p.files.iter().map(|f| f.path()).collect();
        assert_eq!(ours, expected, "parser");
        assert_eq!(
            git_paths(p.text(), p.strip),
            expected,
            "git apply -p{}",
            p.strip
        );
    }
}

#[test]
fn git_diff_with_a_b_prefixes() {
    assert_agrees(
        "diff --git a/kernel/src/vm.rs b/kernel/src/vm.rs\nindex 1..2 100644\n--- a/kernel/src/vm.rs\n+++ b/kernel/src/vm.rs\n@@ -1 +1 @@\n-a\n+b\n",
        &["kernel/src/vm.rs"],
    );
}

#[test]
fn quoted_names_with_spaces_and_octal_escapes() {
    assert_agrees(
        "diff --git \"a/kernel/src/my file.rs\" \"b/kernel/src/my file.rs\"\n--- \"a/kernel/src/my file.rs\"\n+++ \"b/kernel/src/my file.rs\"\n@@ -1 +1 @@\n-a\n+b\n\
         diff --git \"a/kernel/src/\\303\\244.rs\" \"b/kernel/src/\\303\\244.rs\"\nnew file mode 100644\n--- /dev/null\n+++ \"b/kernel/src/\\303\\244.rs\"\n@@ -0,0 +1 @@\n+x\n",
        &["kernel/src/my file.rs", "kernel/src/ä.rs"],
    );
}

#[test]
fn unquoted_names_with_spaces_end_at_a_tab() {
    assert_agrees(
        "diff --git a/kernel/src/my file.rs b/kernel/src/my file.rs\n--- a/kernel/src/my file.rs\t\n+++ b/kernel/src/my file.rs\t\n@@ -1 +1 @@\n-a\n+b\n",
        &["kernel/src/my file.rs"],
    );
}

#[test]
fn diff_u_prefers_the_shorter_name_and_drops_timestamps() {
    assert_agrees(
        "--- kernel/src/vm.rs.orig\t2024-09-02 10:00:00.000000000 +0200\n+++ kernel/src/vm.rs\t2024-09-02 10:05:00.000000000 +0200\n@@ -1 +1 @@\n-a\n+b\n",
        &["kernel/src/vm.rs"],
    );
    // Whitespace damage: the tab before the date became spaces.
    assert_agrees(
        "--- kernel/src/vm.rs   2024-09-02 10:00:00 +0200\n+++ kernel/src/vm.rs   2024-09-02 10:05:00 +0200\n@@ -1 +1 @@\n-a\n+b\n",
        &["kernel/src/vm.rs"],
    );
}

#[test]
fn diff_ru_between_two_trees() {
    assert_agrees(
        "diff -ruN starter/kernel/src/vm.rs mine/kernel/src/vm.rs\n--- starter/kernel/src/vm.rs\t2024-09-02 10:00:00 +0200\n+++ mine/kernel/src/vm.rs\t2024-09-02 10:05:00 +0200\n@@ -1 +1 @@\n-a\n+b\n\
         diff -ruN starter/kernel/src/lazy.rs mine/kernel/src/lazy.rs\n--- starter/kernel/src/lazy.rs\t1970-01-01 00:00:00.000000000 +0000\n+++ mine/kernel/src/lazy.rs\t2024-09-02 10:05:00 +0200\n@@ -0,0 +1 @@\n+x\n",
        &["kernel/src/vm.rs", "kernel/src/lazy.rs"],
    );
}

#[test]
fn git_diff_without_prefixes() {
    assert_agrees(
        "diff --git kernel/src/vm.rs kernel/src/vm.rs\n--- kernel/src/vm.rs\n+++ kernel/src/vm.rs\n@@ -1 +1 @@\n-a\n+b\n",
        &["kernel/src/vm.rs"],
    );
}

#[test]
fn renames_copies_creations_deletions_and_mode_changes() {
    assert_agrees(
        "diff --git a/kernel/src/a.rs b/kernel/src/b c.rs\nsimilarity index 90%\nrename from kernel/src/a.rs\nrename to kernel/src/b c.rs\n--- a/kernel/src/a.rs\n+++ b/kernel/src/b c.rs\t\n@@ -1 +1 @@\n-a\n+b\n\
         diff --git a/kernel/src/c.rs b/kernel/src/d.rs\nsimilarity index 100%\ncopy from kernel/src/c.rs\ncopy to kernel/src/d.rs\n\
         diff --git a/kernel/src/new.rs b/kernel/src/new.rs\nnew file mode 100644\n--- /dev/null\n+++ b/kernel/src/new.rs\n@@ -0,0 +1 @@\n+x\n\
         diff --git a/kernel/src/old.rs b/kernel/src/old.rs\ndeleted file mode 100644\n--- a/kernel/src/old.rs\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n\
         diff --git a/kernel/src/x.rs b/kernel/src/x.rs\nold mode 100644\nnew mode 100755\n\
         diff --git a/kernel/src/empty.rs b/kernel/src/empty.rs\nnew file mode 100644\nindex 0000000..e69de29\n",
        &[
            "kernel/src/b c.rs",
            "kernel/src/d.rs",
            "kernel/src/new.rs",
            "kernel/src/old.rs",
            "kernel/src/x.rs",
            "kernel/src/empty.rs",
        ],
    );
}

#[test]
fn doubled_slashes_collapse() {
    assert_agrees(
        "diff --git a/kernel//src/vm.rs b/kernel//src/vm.rs\n--- a/kernel//src/vm.rs\n+++ b/kernel//src/vm.rs\n@@ -1 +1 @@\n-a\n+b\n",
        &["kernel/src/vm.rs"],
    );
}

#[test]
fn names_that_try_to_leave_the_tree() {
    assert_agrees(
        "diff --git a/../x.rs b/../x.rs\n--- a/../x.rs\n+++ b/../x.rs\n@@ -1 +1 @@\n-a\n+b\n",
        &["../x.rs"],
    );
    assert_agrees(
        "--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n",
        &["/etc/passwd"],
    );
}

#[test]
fn the_reference_solution() {
    let text = xvlab::lab::assets::Assets::Embedded
        .read("grading/lazy/solution.patch")
        .unwrap();
    assert_agrees(
        std::str::from_utf8(&text).unwrap(),
        &[
            "kernel/src/proc.rs",
            "kernel/src/trap.rs",
            "kernel/src/vm.rs",
        ],
    );
}
