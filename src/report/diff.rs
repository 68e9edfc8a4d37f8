//! `xvlab diff A B`: what changed between two gradings ([`Comparison`]).
//!
//! Each side is a folder kept by `xvlab grade --keep` (its `report.json`
//! and its normalised transcripts, `transcripts/*.txt`) or a JSON report
//! (`xvlab grade --format json`). The comparison lists the tests whose
//! status or score changed first, then a unified diff (the `similar`
//! crate) of each text that differs: the normalised transcripts of two
//! kept folders, or the per-test output of two reports (a report holds no
//! transcripts). Kept transcripts mask the per-run token, seals and
//! program names (see `grade::keep`), so two runs of the same kernel
//! compare equal, console interleaving of concurrent output aside.
//!
//! Rendering is pure ([`render`], [`render_json`]) so that it is
//! snapshot-tested; colour only wraps whole lines. The same line diff
//! ([`line_diff`]) gives the HTML report its side-by-side rows
//! ([`side_by_side`]).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use similar::{DiffTag, TextDiff};

/// Unchanged lines shown around each change.
pub const CONTEXT_LINES: usize = 3;

/// The line diff of two texts (transcripts, or a report's test texts):
/// what the unified diffs here and the HTML report's side-by-side diffs
/// are made from.
pub fn line_diff<'a>(old: &'a str, new: &'a str) -> TextDiff<'a, 'a, str> {
    TextDiff::from_lines(old, new)
}

/// One row of a side-by-side diff: a line of A, of B, or of both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// A's line: its number (from 1) and text; `None` where B added one.
    pub old: Option<(usize, String)>,
    /// B's line; `None` where A's was removed.
    pub new: Option<(usize, String)>,
    /// Whether the two sides differ here.
    pub changed: bool,
}

/// A side-by-side diff of `old` and `new` in hunks of rows, with
/// [`CONTEXT_LINES`] unchanged lines around each change; no hunks if the
/// texts are equal. A replaced run of lines pairs A's and B's lines row
/// by row.
pub fn side_by_side(old: &str, new: &str) -> Vec<Vec<Row>> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let line = |lines: &[&str], i: usize| lines.get(i).map(|l| (i + 1, l.to_string()));
    line_diff(old, new)
        .grouped_ops(CONTEXT_LINES)
        .into_iter()
        .map(|group| {
            let mut rows = Vec::new();
            let mut ops = group.into_iter().peekable();
            while let Some(op) = ops.next() {
                let (tag, olds, mut news) = op.as_tag_tuple();
                // A deletion followed by an insertion is a replacement:
                // its lines side by side.
                if tag == DiffTag::Delete
                    && let Some(next) = ops.next_if(|n| n.tag() == DiffTag::Insert)
                {
                    news = next.new_range();
                }
                let changed = tag != DiffTag::Equal;
                let len = olds.len().max(news.len());
                for k in 0..len {
                    rows.push(Row {
                        old: (k < olds.len()).then(|| line(&a, olds.start + k)).flatten(),
                        new: (k < news.len()).then(|| line(&b, news.start + k)).flatten(),
                        changed,
                    });
                }
            }
            rows
        })
        .collect()
}

/// Why a side could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error(
        "read `{}`: it is neither a folder kept by `xvlab grade --keep` (with a report.json) nor a JSON report from `xvlab grade --format json`",
        path.display()
    )]
    NotAGrading { path: PathBuf },
    #[error("read `{}`: no such file or folder", path.display())]
    Missing { path: PathBuf },
    #[error("read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("read `{}`: not a JSON report of `xvlab grade` ({why})", path.display())]
    BadReport { path: PathBuf, why: String },
}

/// One test as a grading reported it.
#[derive(Clone, Debug, PartialEq)]
pub struct TestStatus {
    pub status: String,
    pub score: f64,
    pub max_score: f64,
}

/// One side of a comparison: a grading's tests and its texts.
#[derive(Clone, Debug, Default)]
pub struct Grading {
    /// Tests in report order.
    pub tests: Vec<(String, TestStatus)>,
    /// Comparable texts by name: `transcripts/NAME.txt` of a kept folder,
    /// `test NAME` (output, reason and evidence) of a report.
    pub texts: BTreeMap<String, String>,
    /// The texts are kept transcripts (else a report's test texts): only
    /// texts of the same kind are compared.
    pub transcripts: bool,
}

impl Grading {
    /// Read a kept folder or a JSON report.
    pub fn load(path: &Path) -> Result<Grading, DiffError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|source| DiffError::Read {
                path: p.to_path_buf(),
                source,
            })
        };
        if path.is_dir() {
            let report = path.join("report.json");
            if !report.is_file() {
                return Err(DiffError::NotAGrading {
                    path: path.to_path_buf(),
                });
            }
            let mut grading = Grading::from_report(&read(&report)?, &report, false)?;
            grading.transcripts = true;
            let dir = path.join("transcripts");
            if dir.is_dir() {
                let entries = std::fs::read_dir(&dir).map_err(|source| DiffError::Read {
                    path: dir.clone(),
                    source,
                })?;
                for entry in entries.flatten() {
                    let file = entry.path();
                    if file.extension().is_some_and(|e| e == "txt")
                        && let Some(stem) = file.file_stem()
                    {
                        let name = stem.to_string_lossy().into_owned();
                        grading.texts.insert(name, read(&file)?);
                    }
                }
            }
            Ok(grading)
        } else if path.is_file() {
            Grading::from_report(&read(path)?, path, true)
        } else {
            Err(DiffError::Missing {
                path: path.to_path_buf(),
            })
        }
    }

    /// Parse a JSON report; with `texts`, each test's output, reason and
    /// evidence become its text.
    pub fn from_report(text: &str, path: &Path, texts: bool) -> Result<Grading, DiffError> {
        let bad = |why: &str| DiffError::BadReport {
            path: path.to_path_buf(),
            why: why.to_string(),
        };
        let value: Value = serde_json::from_str(text).map_err(|_| {
            if text.trim_start().starts_with(['{', '[']) {
                bad("invalid JSON")
            } else {
                DiffError::NotAGrading {
                    path: path.to_path_buf(),
                }
            }
        })?;
        let tests = value
            .get("tests")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no `tests` list"))?;
        let mut grading = Grading::default();
        for test in tests {
            let name = test
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("a test without a name"))?
                .to_string();
            let number = |key| test.get(key).and_then(Value::as_f64).unwrap_or(0.0);
            let status = TestStatus {
                status: test
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_string(),
                score: number("score"),
                max_score: number("max_score"),
            };
            if texts {
                grading
                    .texts
                    .insert(format!("test {name}"), test_text(test));
            }
            grading.tests.push((name, status));
        }
        Ok(grading)
    }
}

/// What a report says of one test, as lines to diff.
fn test_text(test: &Value) -> String {
    let mut s = String::new();
    for key in ["reason", "output"] {
        if let Some(text) = test.get(key).and_then(Value::as_str)
            && !text.is_empty()
        {
            let _ = writeln!(s, "{key}: {}", text.trim_end());
        }
    }
    // `evidence` is `{session, lines}`: the console lines that show why.
    if let Some(lines) = test
        .get("evidence")
        .and_then(|e| e.get("lines"))
        .and_then(Value::as_array)
    {
        for line in lines {
            let line = line
                .as_str()
                .map_or_else(|| line.to_string(), str::to_string);
            let _ = writeln!(s, "evidence: {line}");
        }
    }
    s
}

/// A test whose status or score differs, or that only one side has.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub test: String,
    pub a: Option<TestStatus>,
    pub b: Option<TestStatus>,
}

/// A text that differs, with its unified diff.
#[derive(Clone, Debug, PartialEq)]
pub struct TextChange {
    pub name: String,
    pub diff: String,
}

/// What differs between A and B.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    /// In A's test order, then B's tests that A lacks.
    pub changes: Vec<Change>,
    /// In name order.
    pub texts: Vec<TextChange>,
}

impl Comparison {
    /// Compare `a` with `b` (`a_name`, `b_name` label them).
    pub fn new(a_name: &str, a: &Grading, b_name: &str, b: &Grading) -> Comparison {
        let find = |g: &Grading, name: &str| {
            g.tests
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| s.clone())
        };
        let mut changes = Vec::new();
        for (name, status) in &a.tests {
            let other = find(b, name);
            if other.as_ref() != Some(status) {
                changes.push(Change {
                    test: name.clone(),
                    a: Some(status.clone()),
                    b: other,
                });
            }
        }
        for (name, status) in &b.tests {
            if find(a, name).is_none() {
                changes.push(Change {
                    test: name.clone(),
                    a: None,
                    b: Some(status.clone()),
                });
            }
        }
        // A kept folder's transcripts and a report's test texts are not
        // the same things: compare the tests only.
        let comparable = a.transcripts == b.transcripts;
        let mut names: Vec<&String> = a.texts.keys().chain(b.texts.keys()).collect();
        names.retain(|_| comparable);
        names.sort();
        names.dedup();
        let texts = names
            .into_iter()
            .filter_map(|name| {
                let old = a.texts.get(name).map_or("", String::as_str);
                let new = b.texts.get(name).map_or("", String::as_str);
                (old != new).then(|| TextChange {
                    name: name.clone(),
                    diff: line_diff(old, new)
                        .unified_diff()
                        .context_radius(CONTEXT_LINES)
                        .header(&format!("a/{name}"), &format!("b/{name}"))
                        .to_string(),
                })
            })
            .collect();
        Comparison {
            a: a_name.to_string(),
            b: b_name.to_string(),
            changes,
            texts,
        }
    }

    /// Do A and B differ at all?
    pub fn differs(&self) -> bool {
        !self.changes.is_empty() || !self.texts.is_empty()
    }
}

/// How much [`render`] shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Status changes and full diffs.
    Full,
    /// Status changes and the names of the texts that differ.
    Stat,
}

fn points(s: &TestStatus) -> String {
    format!("{}/{}", s.score, s.max_score)
}

fn side(s: Option<&TestStatus>) -> String {
    s.map_or_else(
        || "absent".to_string(),
        |s| format!("{} {}", s.status, points(s)),
    )
}

/// The comparison for people: a summary line, the status changes, then the
/// diffs (or, with [`Detail::Stat`], which texts differ). `color` wraps
/// removed lines in red, added lines in green and hunk headers in cyan.
pub fn render(c: &Comparison, detail: Detail, color: bool) -> String {
    let mut s = String::new();
    if !c.differs() {
        let _ = writeln!(s, "no differences between {} and {}", c.a, c.b);
        return s;
    }
    let _ = writeln!(
        s,
        "{} and {} differ: {} test(s) changed, {} text(s) differ",
        c.a,
        c.b,
        c.changes.len(),
        c.texts.len()
    );
    if !c.changes.is_empty() {
        let _ = writeln!(s, "\nStatus changes (A → B):");
        for change in &c.changes {
            let _ = writeln!(
                s,
                "  {}: {} → {}",
                change.test,
                side(change.a.as_ref()),
                side(change.b.as_ref())
            );
        }
    }
    if !c.texts.is_empty() {
        let _ = writeln!(s, "\nTexts that differ:");
        for text in &c.texts {
            match detail {
                Detail::Stat => {
                    let (removed, added) = counts(&text.diff);
                    let _ = writeln!(s, "  {}: -{removed} +{added}", text.name);
                }
                Detail::Full => {
                    s.push('\n');
                    for line in text.diff.lines() {
                        let _ = writeln!(s, "{}", paint(line, color));
                    }
                }
            }
        }
    }
    s
}

/// Lines removed and added by a unified diff (headers not counted).
fn counts(diff: &str) -> (usize, usize) {
    let body = diff
        .lines()
        .filter(|l| !l.starts_with("---") && !l.starts_with("+++"));
    body.fold((0, 0), |(r, a), l| match l.as_bytes().first() {
        Some(b'-') => (r + 1, a),
        Some(b'+') => (r, a + 1),
        _ => (r, a),
    })
}

fn paint(line: &str, color: bool) -> String {
    let code = match line.as_bytes().first() {
        _ if !color => return line.to_string(),
        _ if line.starts_with("---") || line.starts_with("+++") => "1",
        Some(b'-') => "31",
        Some(b'+') => "32",
        Some(b'@') => "36",
        _ => return line.to_string(),
    };
    format!("\x1b[{code}m{line}\x1b[0m")
}

/// The comparison as JSON: `differs`, `changes` (test, a, b; a side absent
/// is null) and `texts` (name, diff).
pub fn render_json(c: &Comparison) -> String {
    let status = |s: &Option<TestStatus>| {
        s.as_ref()
            .map(|s| json!({ "status": s.status, "score": s.score, "max_score": s.max_score }))
    };
    let value = json!({
        "a": c.a,
        "b": c.b,
        "differs": c.differs(),
        "changes": c.changes.iter().map(|ch| json!({
            "test": ch.test,
            "a": status(&ch.a),
            "b": status(&ch.b),
        })).collect::<Vec<_>>(),
        "texts": c.texts.iter().map(|t| json!({ "name": t.name, "diff": t.diff })).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: &str, score: f64) -> TestStatus {
        TestStatus {
            status: status.to_string(),
            score,
            max_score: 5.0,
        }
    }

    fn grading(tests: &[(&str, &str, f64)], texts: &[(&str, &str)]) -> Grading {
        Grading {
            tests: tests
                .iter()
                .map(|(n, s, p)| (n.to_string(), status(s, *p)))
                .collect(),
            texts: texts
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
            transcripts: true,
        }
    }

    #[test]
    fn a_kept_folder_and_a_report_compare_their_tests_only() {
        let kept = grading(&[("t", "passed", 5.0)], &[("boot", "hi\n")]);
        let report = Grading {
            transcripts: false,
            ..grading(&[("t", "passed", 5.0)], &[("test t", "")])
        };
        assert!(!Comparison::new("a", &kept, "b", &report).differs());
    }

    #[test]
    fn equal_gradings_do_not_differ() {
        let g = grading(&[("lazy: map", "passed", 5.0)], &[("boot", "hi\n")]);
        let c = Comparison::new("a", &g, "b", &g);
        assert!(!c.differs());
        assert_eq!(
            render(&c, Detail::Full, false),
            "no differences between a and b\n"
        );
    }

    fn starter_and_solution() -> Comparison {
        let a = grading(
            &[
                ("lazy: map", "failed", 0.0),
                ("lazy: unmap", "failed", 0.0),
                ("echo hi", "passed", 5.0),
                ("gone", "passed", 5.0),
            ],
            &[(
                "lazytests-alloc",
                "$ lazytests -k … alloc\npanic: uvmunmap: not mapped\n",
            )],
        );
        let b = grading(
            &[
                ("lazy: map", "passed", 5.0),
                ("lazy: unmap", "passed", 5.0),
                ("echo hi", "passed", 5.0),
                ("new", "failed", 0.0),
            ],
            &[
                (
                    "lazytests-alloc",
                    "$ lazytests -k … alloc\ntest lazy alloc: OK […]\n",
                ),
                ("only-b", "x\n"),
            ],
        );
        Comparison::new("starter", &a, "solution", &b)
    }

    #[test]
    fn status_changes_come_first_then_diffs() {
        let c = starter_and_solution();
        insta::assert_snapshot!(render(&c, Detail::Full, false));
    }

    #[test]
    fn stat_names_what_differs_without_the_diffs() {
        let c = starter_and_solution();
        insta::assert_snapshot!(render(&c, Detail::Stat, false));
    }

    #[test]
    fn colour_wraps_whole_lines_only() {
        let c = starter_and_solution();
        let coloured = render(&c, Detail::Full, true);
        assert!(coloured.contains("\x1b[31m-panic: uvmunmap: not mapped\x1b[0m"));
        assert!(coloured.contains("\x1b[32m+test lazy alloc: OK […]\x1b[0m"));
        let stripped = coloured
            .replace("\x1b[0m", "")
            .replace("\x1b[1m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[36m", "");
        assert_eq!(stripped, render(&c, Detail::Full, false));
    }

    #[test]
    fn side_by_side_pairs_replaced_lines_and_keeps_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\npanic: x\n";
        let new = "a\nb\nc\nd\ne\nf\ng\nh\nok 1\nok 2\n";
        let hunks = side_by_side(old, new);
        assert_eq!(hunks.len(), 1);
        let rows = &hunks[0];
        // Three lines of context, then the change.
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].old, Some((6, "f".to_string())));
        assert!(!rows[0].changed);
        assert_eq!(rows[3].old, Some((9, "panic: x".to_string())));
        assert_eq!(rows[3].new, Some((9, "ok 1".to_string())));
        assert_eq!(rows[4].old, None);
        assert_eq!(rows[4].new, Some((10, "ok 2".to_string())));
        assert!(rows[3].changed && rows[4].changed);
        assert!(side_by_side(old, old).is_empty());
    }

    #[test]
    fn json_says_whether_and_what_differs() {
        let c = starter_and_solution();
        let v: Value = serde_json::from_str(&render_json(&c)).unwrap();
        assert_eq!(v["differs"], true);
        assert_eq!(v["changes"][0]["test"], "lazy: map");
        assert_eq!(v["changes"][2]["b"], Value::Null);
        assert_eq!(v["changes"][3]["a"], Value::Null);
        assert_eq!(v["texts"][1]["name"], "only-b");
    }

    #[test]
    fn a_report_gives_tests_and_their_texts() {
        let report = r#"{"tests": [{"name": "t", "status": "failed", "score": 0,
            "max_score": 2, "reason": "missing a line", "output": "", "evidence": {"session": "s", "lines": ["a", "b"]}}]}"#;
        let g = Grading::from_report(report, Path::new("r.json"), true).unwrap();
        assert_eq!(
            g.tests[0].1,
            TestStatus {
                status: "failed".into(),
                score: 0.0,
                max_score: 2.0
            }
        );
        assert_eq!(
            g.texts["test t"],
            "reason: missing a line\nevidence: a\nevidence: b\n"
        );
    }

    #[test]
    fn what_is_not_a_report_says_so() {
        let p = Path::new("x");
        let e = Grading::from_report("hello", p, true).unwrap_err();
        assert!(matches!(e, DiffError::NotAGrading { .. }), "{e}");
        let e = Grading::from_report("{\"score\": 1}", p, true).unwrap_err();
        assert!(e.to_string().contains("no `tests` list"), "{e}");
        let e = Grading::from_report("{ broken", p, true).unwrap_err();
        assert!(e.to_string().contains("invalid JSON"), "{e}");
    }
}
