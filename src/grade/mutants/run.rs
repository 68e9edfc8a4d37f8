//! Running a mutation analysis ([`run`], giving a [`Analysis`]): list the
//! mutants of the lab's reference solution, grade each one as the patch
//! series [solution, mutant] with fail-fast on, and classify the result,
//! reusing the results of earlier runs by key.
//!
//! The mutants share one pool of VMs and one build cache
//! ([`crate::grade::pool`]): while one mutant's VMs run, the next one
//! builds.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::equivalent::{self, Entry, Equivalents};
use super::listing::{self, ListingError, Mutant};
use super::outcome::{self, Outcome};
use crate::build::kbuild::BuildCache;
use crate::grade::pool::{self, Item, KeyBase, ManyOptions, Store};
use crate::grade::progress::Progress;
use crate::grade::{self, GradeError, Options};
use crate::lab::Lab;
use crate::lab::assets::{AssetError, Assets};
use crate::lab::deadline::References;
use crate::lab::rubric::Rubric;
use crate::run::plan::{Plan, PlanError, TestFilter, Token};
use crate::shared::exit;
use crate::submission::{PatchInput, Submission, SubmissionError};

#[derive(Debug, thiserror::Error)]
pub enum MutantsError {
    #[error(transparent)]
    Listing(#[from] ListingError),
    #[error(transparent)]
    Equivalents(#[from] equivalent::EquivalentsError),
    #[error("read the grading material of `{lab}`")]
    Assets {
        lab: String,
        #[source]
        source: AssetError,
    },
    #[error("apply the reference solution for cargo-mutants")]
    Solution(#[source] SubmissionError),
    #[error("write the reference solution to a temporary file")]
    TempFile(#[source] std::io::Error),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Grade(#[from] GradeError),
}

impl MutantsError {
    /// The exit code of `xvlab mutants` for this error (see exit.rs).
    pub fn exit_code(&self) -> u8 {
        match self {
            MutantsError::Listing(ListingError::Missing) => exit::MISSING_TOOL,
            MutantsError::Listing(_) => exit::MUTANTS_FAILED,
            MutantsError::Equivalents(_) | MutantsError::Assets { .. } => exit::BAD_LAB,
            MutantsError::Plan(e) => e.exit_code(),
            MutantsError::Grade(e) => e.exit_code(),
            MutantsError::Solution(_) | MutantsError::TempFile(_) => exit::FAILURE,
        }
    }
}

/// How to run the analysis.
#[derive(Clone, Debug)]
pub struct MutantsOptions {
    /// How the mutants are graded (`fail_fast` is forced on).
    pub many: ManyOptions,
    /// Grade only this many mutants, spread evenly over the listing.
    pub sample: Option<usize>,
}

/// One mutant's result.
#[derive(Clone, Debug)]
pub struct Judged {
    pub mutant: Mutant,
    pub outcome: Outcome,
    /// The equivalent-mutants entry that lists it.
    pub equivalent: Option<Entry>,
    /// How long its grading took (in the run that graded it).
    pub duration: Duration,
    /// Kept from an earlier run, not graded now.
    pub kept: bool,
}

impl Judged {
    /// Does this mutant fail the analysis: it survived and is not listed
    /// as equivalent?
    pub fn is_gap(&self) -> bool {
        matches!(self.outcome, Outcome::Survived { .. }) && self.equivalent.is_none()
    }

    /// Listed as equivalent, but a test kills it: the entry is stale.
    pub fn is_stale_equivalent(&self) -> bool {
        self.equivalent.is_some() && !matches!(self.outcome, Outcome::Survived { .. })
    }

    /// The one-line verdict on this mutant, saying when it is listed as
    /// equivalent (the progress line as it is judged, and the report's).
    pub fn outcome_line(&self) -> String {
        match (&self.outcome, &self.equivalent) {
            (Outcome::Survived { .. }, Some(_)) => "equivalent".to_string(),
            (Outcome::Survived { .. }, None) => "SURVIVED".to_string(),
            (outcome, Some(_)) => format!("{} (listed as equivalent)", outcome.in_words()),
            (outcome, None) => outcome.in_words(),
        }
    }
}

/// The whole analysis.
#[derive(Clone, Debug)]
pub struct Analysis {
    pub lab: String,
    /// The lab's equivalent-mutants file within the assets, for messages.
    pub equivalents_path: String,
    /// Mutants cargo-mutants generated (before `--sample`).
    pub generated: usize,
    /// The mutants judged, in listing order.
    pub judged: Vec<Judged>,
    /// Equivalent-mutants entries that match no generated mutant.
    pub unmatched: Vec<Entry>,
    /// Ctrl-C stopped it: the mutants not judged are missing.
    pub interrupted: bool,
    pub wall_time: Duration,
}

impl Analysis {
    /// Mutants with `outcome.kind() == kind`.
    pub fn count(&self, kind: &str) -> usize {
        self.judged
            .iter()
            .filter(|j| j.outcome.kind() == kind)
            .count()
    }

    /// Listed as equivalent and indeed survived.
    pub fn equivalents(&self) -> usize {
        self.judged
            .iter()
            .filter(|j| j.equivalent.is_some() && matches!(j.outcome, Outcome::Survived { .. }))
            .count()
    }

    /// Survivors not listed as equivalent.
    pub fn gaps(&self) -> impl Iterator<Item = &Judged> {
        self.judged.iter().filter(|j| j.is_gap())
    }
}

/// The lab's reference solution patch.
fn solution(assets: &Assets, lab: &Lab) -> Result<Vec<u8>, MutantsError> {
    assets
        .read(&lab.solution_path())
        .map(|b| b.into_owned())
        .map_err(|source| MutantsError::Assets {
            lab: lab.name.clone(),
            source,
        })
}

/// The lab's equivalent mutants (none if the lab lists none).
pub fn equivalents(assets: &Assets, lab: &Lab) -> Result<Equivalents, MutantsError> {
    let path = lab.equivalent_mutants_path();
    match assets.read_string(&path) {
        Ok(text) => Ok(Equivalents::parse(&text, &path)?),
        Err(AssetError::NotFound { .. }) => Ok(Equivalents::default()),
        Err(source) => Err(MutantsError::Assets {
            lab: lab.name.clone(),
            source,
        }),
    }
}

/// The mutants of `lab`'s reference solution: the starter with the
/// solution applied, in a scratch directory, listed by cargo-mutants.
pub async fn list(assets: &Assets, lab: &Lab) -> Result<Vec<Mutant>, MutantsError> {
    let program = listing::locate()?;
    let solution = solution(assets, lab)?;
    let submission = Submission::Patches(vec![PatchInput {
        name: "solution.patch".to_string(),
        bytes: solution.clone(),
    }]);
    let prepared = submission
        .prepare(assets, lab)
        .map_err(MutantsError::Solution)?;
    let dir = tempfile::Builder::new()
        .prefix(&crate::shared::scratch::prefix("mutants"))
        .tempdir()
        .map_err(MutantsError::TempFile)?;
    let patch = dir.path().join("solution.patch");
    std::fs::write(&patch, &solution).map_err(MutantsError::TempFile)?;
    Ok(listing::list(&program, prepared.path(), &patch).await?)
}

/// `count` of `mutants`, spread evenly over the listing (the same ones
/// every run of the same listing).
pub fn sample(mutants: Vec<Mutant>, count: usize) -> Vec<Mutant> {
    let len = mutants.len();
    if count >= len {
        return mutants;
    }
    let picked: Vec<usize> = (0..count).map(|i| i * len / count).collect();
    mutants
        .into_iter()
        .enumerate()
        .filter(|(i, _)| picked.contains(i))
        .map(|(_, m)| m)
        .collect()
}

/// Everything but the mutant that decides its outcome (see
/// [`pool::Key`]): the lab's material and the test selection.
fn key_base(
    assets: &Assets,
    lab: &Lab,
    rubric_text: &str,
    tests: &[String],
) -> Result<KeyBase, MutantsError> {
    pool::material(assets, lab, rubric_text, tests).map_err(|source| MutantsError::Assets {
        lab: lab.name.clone(),
        source,
    })
}

/// What every grading of the run shares.
struct Context<'a> {
    assets: &'a Assets,
    lab: &'a Lab,
    rubric: &'a Rubric,
    filter: &'a TestFilter,
    options: &'a Options,
    cache: &'a BuildCache,
    qemu: &'a Path,
    cancel: &'a CancellationToken,
    references: &'a References,
    solution: &'a [u8],
}

/// Grade `mutants` (already listed and sampled), reusing kept results
/// unless `force`; `generated` is the size of the whole listing.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    assets: &Assets,
    lab: &Lab,
    rubric: (&Rubric, &str),
    mutants: Vec<Mutant>,
    generated: usize,
    options: &MutantsOptions,
    cache: &BuildCache,
    qemu: &Path,
    progress: &Progress,
    cancel: &CancellationToken,
) -> Result<Analysis, MutantsError> {
    let started = Instant::now();
    let (rubric, rubric_text) = rubric;
    let equivalents = equivalents(assets, lab)?;
    let filter = TestFilter::new(&options.many.tests)?;
    // Fail early on a pattern that matches no test.
    Plan::new(rubric, Token::random()?, &filter)?;
    let base = key_base(assets, lab, rubric_text, &options.many.tests)?;
    let store = Store::new(pool::cache_dir(cache.root(), "mutants", &lab.name));
    let references = grade::load_references(assets, lab)?;
    let solution = solution(assets, lab)?;
    let grading = Options {
        fail_fast: true,
        keep: None,
        ..options.many.grading.clone()
    };
    let context = Context {
        assets,
        lab,
        rubric,
        filter: &filter,
        options: &grading,
        cache,
        qemu,
        cancel,
        references: &references,
        solution: &solution,
    };

    let unmatched = equivalents
        .unmatched(&mutants)
        .into_iter()
        .cloned()
        .collect();
    progress.counting(mutants.len(), "mutant(s)");
    let total = mutants.len();
    let mut done = 0usize;
    let mut judged: Vec<(usize, Judged)> = Vec::new();
    let items = mutants
        .into_iter()
        .map(|mutant| Item {
            key: base.key("mutant", mutant.patch().as_bytes()),
            name: mutant.name.clone(),
            item: mutant,
        })
        .collect();
    let pool = options.many.pool(&store, progress, cancel);
    let ran = pool
        .run(
            items,
            |mutant, vms| grade_one(&context, mutant, vms),
            |finished| {
                done += 1;
                let j = Judged {
                    equivalent: equivalents.find(&finished.item.item).cloned(),
                    mutant: finished.item.item,
                    outcome: finished.kept.value,
                    duration: finished.kept.duration,
                    kept: finished.was_kept,
                };
                progress.counted(&format!(
                    "[{done}/{total}] {}: {}{}",
                    j.mutant.name,
                    j.outcome_line(),
                    if j.kept { " (kept)" } else { "" }
                ));
                judged.push((finished.index, j));
            },
        )
        .await;
    progress.finish();
    ran?;
    judged.sort_by_key(|(i, _)| *i);
    Ok(Analysis {
        lab: lab.name.clone(),
        equivalents_path: lab.equivalent_mutants_path(),
        generated,
        judged: judged.into_iter().map(|(_, j)| j).collect(),
        unmatched,
        interrupted: cancel.is_cancelled(),
        wall_time: started.elapsed(),
    })
}

/// Grade one mutant; `None` if Ctrl-C stopped it.
async fn grade_one(
    context: &Context<'_>,
    mutant: Mutant,
    vms: usize,
) -> Result<Option<Outcome>, MutantsError> {
    let submission = Submission::Patches(vec![
        PatchInput {
            name: "solution.patch".to_string(),
            bytes: context.solution.to_vec(),
        },
        PatchInput {
            name: "mutant.patch".to_string(),
            bytes: mutant.patch().into_bytes(),
        },
    ]);
    let plan = Plan::new(context.rubric, Token::random()?, context.filter)?;
    let options = Options {
        jobs: vms,
        ..context.options.clone()
    };
    let graded = grade::grade(
        context.assets,
        context.lab,
        context.rubric,
        &plan,
        &submission,
        &options,
        context.cache,
        context.qemu,
        &(),
        context.cancel,
    )
    .await;
    match graded {
        Ok(graded) => Ok(outcome::classify(
            &graded.report,
            graded.stopped_by.as_deref(),
            &plan,
            context.references,
        )),
        Err(GradeError::Interrupted) => Ok(None),
        // A series the grader refuses is a report (and `not_applied`, see
        // `outcome::classify`); what is left is a fault.
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(n: usize) -> Vec<Mutant> {
        (0..n)
            .map(|i| Mutant {
                name: format!("m{i}"),
                file: "f.rs".into(),
                function: "g".into(),
                mutation: format!("m{i}"),
                replacement: String::new(),
                diff: String::new(),
            })
            .collect()
    }

    #[test]
    fn a_sample_is_spread_over_the_listing_and_the_same_every_time() {
        let names = |ms: Vec<Mutant>| ms.into_iter().map(|m| m.name).collect::<Vec<_>>();
        assert_eq!(names(sample(named(10), 3)), ["m0", "m3", "m6"]);
        assert_eq!(names(sample(named(10), 3)), names(sample(named(10), 3)));
        assert_eq!(sample(named(4), 9).len(), 4);
    }

    #[test]
    fn the_key_base_covers_the_test_programs_of_the_starter_tree() {
        let lab = Lab::load(&Assets::Embedded, "lazy").unwrap();
        let a = key_base(&Assets::Embedded, &lab, "rubric", &[]).unwrap();
        let b = key_base(&Assets::Embedded, &lab, "rubric", &["sbrk".to_string()]).unwrap();
        assert_ne!(a.key("mutant", b"m"), b.key("mutant", b"m"));
        let files = Assets::Embedded.list(&lab.starter).unwrap();
        assert!(
            files.iter().any(|f| f.contains("/user/")),
            "the user programs are part of the key: {files:?}"
        );
    }
}
