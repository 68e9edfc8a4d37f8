//! Without `git` on PATH, applying patches and making a student copy fail
//! with their own clear error, and leave nothing behind. This binary holds a
//! single test because it changes the process's PATH.

use xvlab::lab::Lab;
use xvlab::lab::assets::Assets;
use xvlab::submission::student::{self, StudentError};
use xvlab::submission::{PatchInput, Submission, SubmissionError};

#[test]
fn missing_git_is_its_own_error() {
    let empty = tempfile::tempdir().unwrap();
    #[expect(
        unsafe_code,
        reason = "set_var is unsafe; this is the only test in its binary, so no other thread reads the environment"
    )]
    // SAFETY: no other thread of this process is running.
    unsafe {
        std::env::set_var("PATH", empty.path());
    }
    let lab = Lab::load(&Assets::Embedded, "lazy").unwrap();

    let parent = tempfile::tempdir().unwrap();
    let solution = Assets::Embedded
        .read("grading/lazy/solution.patch")
        .unwrap()
        .into_owned();
    let submission = Submission::Patches(vec![PatchInput {
        name: "solution.patch".to_string(),
        bytes: solution,
    }]);
    let err = submission
        .prepare_in(&Assets::Embedded, &lab, parent.path())
        .unwrap_err();
    assert!(matches!(err, SubmissionError::GitMissing), "{err}");
    insta::assert_snapshot!(err, @"cannot apply patches: `git` is not installed or not on PATH");
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);

    let dir = parent.path().join("lazy");
    let err = student::init(&Assets::Embedded, &lab, &dir).unwrap_err();
    assert!(matches!(err, StudentError::GitMissing), "{err}");
    assert!(!dir.exists());
}
