//! The reference solution's consoles, which the HTML report diffs each
//! failed test's console against ([`reference`]): the lab's reference
//! solution (`solution.patch` of its grading directory) graded once with
//! the whole rubric, and its consoles (masked as `--keep` masks them) kept
//! in the build cache under `<cache>/reference/<lab>/<key>.json`. The key
//! hashes what decides them — the solution, the rubric, the starter tree
//! with its test programs, the reference durations and xvlab's version —
//! as mutation analysis's resume keys do ([`super::pool::KeyBase`]), so a
//! second page does not grade the solution again, and changed material
//! does.
//!
//! The reference is a help, not part of the verdict: whatever keeps it
//! from being had (a solution that does not build, Ctrl-C, a broken
//! cache) is said on the page ([`Reference::Unavailable`]), never an error
//! of the grading.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::pool;
use super::{Options, Reporter, grade, kept_consoles};
use crate::build::kbuild::BuildCache;
use crate::lab::Lab;
use crate::lab::assets::Assets;
use crate::lab::rubric::Rubric;
use crate::report::html::Reference;
use crate::run::plan::{Plan, TestFilter, Token};
use crate::shared::exit::chain;
use crate::submission::{PatchInput, Submission};

/// What is kept of a reference grading.
#[derive(Debug, Serialize, Deserialize)]
struct Kept {
    graded_at: String,
    sessions: BTreeMap<String, Vec<String>>,
}

/// What grading the reference needs.
#[derive(Clone, Copy)]
pub struct ReferenceContext<'a> {
    pub assets: &'a Assets,
    pub lab: &'a Lab,
    pub rubric: &'a Rubric,
    /// How the submission was graded (VMs at once, the build sandbox);
    /// nothing is kept and no console is shown.
    pub options: &'a Options,
    pub cache: &'a BuildCache,
    pub qemu: &'a Path,
    pub cancel: &'a CancellationToken,
    /// Shown the reference's grading as it runs.
    pub reporter: &'a dyn Reporter,
}

/// The cache file of `lab`'s reference under `key`.
fn path(cache: &BuildCache, lab: &str, key: &str) -> PathBuf {
    cache
        .root()
        .join("reference")
        .join(lab)
        .join(format!("{key}.json"))
}

/// The reference solution's consoles: from the cache, else graded now
/// (and kept when it built and ran to the end). `announce` is told before
/// a grading starts (it takes a while: the whole rubric).
pub async fn reference(ctx: &ReferenceContext<'_>, announce: impl FnOnce()) -> Reference {
    match lookup_or_grade(ctx, announce).await {
        Ok(reference) => reference,
        Err(why) => Reference::Unavailable(why),
    }
}

async fn lookup_or_grade(
    ctx: &ReferenceContext<'_>,
    announce: impl FnOnce(),
) -> Result<Reference, String> {
    let lab = &ctx.lab.name;
    let rubric_text = ctx
        .assets
        .read_string(&ctx.lab.rubric_path())
        .map_err(|e| format!("failed to {}", chain(&e)))?;
    let key = pool::material(ctx.assets, ctx.lab, &rubric_text, &[])
        .map_err(|e| format!("failed to {}", chain(&e)))?
        .key("reference consoles", b"");
    let file = path(ctx.cache, lab, key.as_str());
    if let Some(kept) = std::fs::read(&file)
        .ok()
        .and_then(|b| serde_json::from_slice::<Kept>(&b).ok())
    {
        return Ok(Reference::Graded {
            graded_at: kept.graded_at,
            cached: true,
            sessions: kept.sessions,
        });
    }
    let patch = ctx
        .assets
        .read(&ctx.lab.solution_path())
        .map_err(|e| format!("failed to {}", chain(&e)))?
        .into_owned();
    let submission = Submission::Patches(vec![PatchInput {
        name: "solution.patch".to_string(),
        bytes: patch,
    }]);
    let token = Token::random().map_err(|e| format!("failed to {}", chain(&e)))?;
    let plan = Plan::new(ctx.rubric, token, &TestFilter::all())
        .map_err(|e| format!("failed to {}", chain(&e)))?;
    let options = Options {
        keep: None,
        verbose: false,
        fail_fast: false,
        ..ctx.options.clone()
    };
    announce();
    let graded = grade(
        ctx.assets,
        ctx.lab,
        ctx.rubric,
        &plan,
        &submission,
        &options,
        ctx.cache,
        ctx.qemu,
        ctx.reporter,
        ctx.cancel,
    )
    .await
    .map_err(|e| format!("grading it failed: {}", chain(&e)))?;
    let report = graded.report;
    if report.interrupted {
        return Err("its grading was interrupted".to_string());
    }
    if !report.built() {
        return Err(format!(
            "the reference solution was not graded ({})",
            report.status().replace('_', " ")
        ));
    }
    let kept = Kept {
        graded_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        sessions: kept_consoles(&plan, &graded.outcomes),
    };
    // Best effort: without the cache the next page grades it again.
    let _ = store(&file, &kept);
    Ok(Reference::Graded {
        graded_at: kept.graded_at,
        cached: false,
        sessions: kept.sessions,
    })
}

/// Write `kept` to `file` through a temporary file, so that an
/// interrupted write leaves no half a result.
fn store(file: &Path, kept: &Kept) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_vec(kept).map_err(std::io::Error::other)?;
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::fs::write(tmp.path(), json)?;
    tmp.persist(file).map_err(|e| e.error)?;
    Ok(())
}
