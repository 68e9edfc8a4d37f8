//! The grading material stays consistent with the starter tree and the
//! rubric, checked in seconds (the full proof is `xvlab self-test lazy`):
//! the reference solution and every known-bad kernel patch still apply to
//! the starter (so a kernel change cannot silently break them), each patch
//! says what is wrong with it on its first line, and every patch has an
//! expected result.

use std::path::PathBuf;

use xvlab::grade::selftest::{Expected, load_cases};
use xvlab::lab::Lab;
use xvlab::lab::assets::Assets;
use xvlab::submission::{PatchInput, Submission};

/// The lazy lab's grading directory in the repository.
fn grading() -> PathBuf {
    let lab = Lab::load(&Assets::Embedded, "lazy").unwrap();
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(lab.grading)
}

#[test]
fn the_solution_and_every_mutant_apply_or_are_refused_as_expected() {
    let assets = Assets::Embedded;
    let lab = Lab::load(&assets, "lazy").unwrap();
    let cases = load_cases(&assets, &lab).unwrap();
    for case in &cases {
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
        let prepared = submission.prepare(&assets, &lab);
        match case.result {
            Expected::Refused => {
                let Err(e) = prepared else {
                    panic!("{} should be refused", case.name);
                };
                // What `xvlab self-test` compares: the refusal's code.
                let refusal = e.refusal().unwrap_or_else(|| panic!("{}: {e}", case.name));
                assert_eq!(Some(refusal.exit_code), case.exit_code, "{}", case.name);
            }
            Expected::Graded | Expected::BuildFailed => {
                if let Err(e) = prepared {
                    panic!("{} no longer applies to the starter: {e}", case.name);
                }
            }
        }
    }
}

#[test]
fn every_mutant_describes_its_mistake_and_has_an_expected_result() {
    let lab = Lab::load(&Assets::Embedded, "lazy").unwrap();
    let cases = load_cases(&Assets::Embedded, &lab).unwrap();
    let mutants = std::fs::read_dir(grading().join("mutants")).unwrap();
    for entry in mutants {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("{name}: ")) && first.len() > name.len() + 20,
            "{}: the first line should say `{name}: <what is wrong>`",
            path.display()
        );
        let rel = format!("mutants/{name}.patch");
        assert!(
            cases.iter().any(|c| c.patches == [rel.clone()]),
            "{rel} has no expected result in grading/lazy/expected/"
        );
    }
}

/// The handout tells students what score to expect between its steps
/// (the score dips before it rises); the figures are the self-test's
/// expectations for the starter, step 1 alone and steps 1–2, so a rubric
/// change that moves them fails here until the handout says so.
#[test]
fn the_handout_cites_the_scores_the_self_test_expects_between_steps() {
    let lab = Lab::load(&Assets::Embedded, "lazy").unwrap();
    let cases = load_cases(&Assets::Embedded, &lab).unwrap();
    let score = |name: &str| {
        cases
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.score)
            .unwrap_or_else(|| panic!("no expected score for {name}"))
    };
    let handout = Assets::Embedded.read_string(&lab.handout_path()).unwrap();
    let handout = handout.split_whitespace().collect::<Vec<_>>().join(" ");
    for sentence in [
        format!("The starter scores {}/100", score("starter")),
        format!("Step 1 alone scores {}/100", score("no-fault-handler")),
        format!("Steps 1 and 2 as hinted score {}/100", score("steps-1-2")),
    ] {
        assert!(
            handout.contains(&sentence),
            "the handout should say `{sentence}`"
        );
    }
}
