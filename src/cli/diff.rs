//! `xvlab diff A B`: the command-line side of [`crate::report::diff`] — its
//! arguments, where its output goes, and its exit code (0 when A and B do
//! not differ, [`exit::DIFFERENT`] when they do, [`exit::USAGE`] when a side
//! is neither a kept folder nor a report).

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Failure, write_output};
use crate::report::diff::{self, Comparison, Detail, Grading};
use crate::report::human::Style;
use crate::shared::exit::{self, chain};

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// A folder kept by `xvlab grade --keep`, or a JSON report.
    pub a: PathBuf,
    /// The other one (what A is compared with).
    pub b: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
    pub format: DiffFormat,
    /// Only the status changes and which transcripts differ (lines removed
    /// and added), not the diffs.
    #[arg(long)]
    pub stat: bool,
    /// Print nothing; only the exit code says whether they differ.
    #[arg(long, short, conflicts_with_all = ["stat", "format"])]
    pub quiet: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Readable text: status changes, then unified diffs (coloured on a
    /// terminal unless NO_COLOR is set).
    Human,
    /// JSON: `differs`, `changes` and `texts`.
    Json,
}

/// Run `xvlab diff`.
pub fn run(args: &DiffArgs) -> Result<u8, Failure> {
    let load = |path: &PathBuf| {
        Grading::load(path).map_err(|e| {
            Failure::new(
                exit::USAGE,
                format!(
                    "failed to {}\n(give two folders written by `xvlab grade --keep DIR`, or two files written by `xvlab grade --format json`)",
                    chain(&e)
                ),
            )
        })
    };
    let a = load(&args.a)?;
    let b = load(&args.b)?;
    let comparison = Comparison::new(
        &args.a.display().to_string(),
        &a,
        &args.b.display().to_string(),
        &b,
    );
    if !args.quiet {
        let text = match args.format {
            DiffFormat::Json => diff::render_json(&comparison),
            DiffFormat::Human => {
                let detail = if args.stat {
                    Detail::Stat
                } else {
                    Detail::Full
                };
                let style = Style::detect(std::io::stdout().is_terminal());
                diff::render(&comparison, detail, style.color)
            }
        };
        write_output(None, &text)?;
    }
    Ok(if comparison.differs() {
        exit::DIFFERENT
    } else {
        exit::OK
    })
}
