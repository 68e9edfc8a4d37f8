//! A class's results ([`Gradebook`], one [`Row`] per student) and what is
//! written from them: `gradebook.csv`, `summary.json` and the human
//! summary at the end of a batch.
//!
//! Both files hold no timings and no paths of this machine, and list the
//! students sorted by id, so that a rerun, or shards merged, write them
//! byte for byte the same (timings are in each student's own report). The
//! gradebook is read back from `summary.json` to merge shards.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::report::Report;

/// One student's line of the gradebook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub email: String,
    pub sid: String,
    #[serde(flatten)]
    pub marks: Marks,
}

/// One test of a row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCell {
    pub name: String,
    pub score: u32,
    pub passed: bool,
    /// The test has no verdict (its VM was stopped before it ended): it
    /// scores nothing but was not failed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_run: bool,
}

/// What a report puts in a row (the student's own fields are added by
/// the gradebook).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marks {
    pub score: u32,
    pub max_score: u32,
    pub status: String,
    pub reason: String,
    pub review: Vec<String>,
    pub tests: Vec<TestCell>,
}

impl Marks {
    pub fn of(report: &Report) -> Marks {
        let reason = match &report.build {
            crate::report::Build::Refused(r) => r.reason.clone(),
            crate::report::Build::Failed { errors, .. } => errors
                .lines()
                .next()
                .unwrap_or("the kernel did not build")
                .to_string(),
            crate::report::Build::Fault { reason } => reason.clone(),
            _ => String::new(),
        };
        Marks {
            score: report.score(),
            max_score: report.max_score(),
            status: report.status().to_string(),
            reason,
            review: report.review.iter().map(|f| f.to_string()).collect(),
            tests: report
                .tests
                .iter()
                .map(|t| TestCell {
                    name: t.name.clone(),
                    score: t.score(),
                    passed: t.passed(),
                    not_run: t.not_run,
                })
                .collect(),
        }
    }
}

/// A class's rows, with what identifies the lab material they were
/// graded with (shards of different material are not merged).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gradebook {
    pub lab: String,
    /// The lab material's version (a hash: see `grade::pool::material`).
    pub material: String,
    /// Sorted by id.
    pub students: Vec<Row>,
}

/// `summary.json`: the gradebook and the class's statistics.
#[derive(Serialize)]
struct Summary<'a> {
    lab: &'a str,
    material: &'a str,
    submissions: usize,
    by_status: BTreeMap<&'a str, usize>,
    /// Students per score.
    distribution: BTreeMap<u32, usize>,
    /// Tests by how many students failed them, most first.
    most_failed: Vec<(String, usize)>,
    students: &'a [Row],
}

#[derive(Deserialize)]
struct SummaryIn {
    lab: String,
    material: String,
    students: Vec<Row>,
}

impl Gradebook {
    pub fn new(lab: &str, material: &str, mut students: Vec<Row>) -> Gradebook {
        students.sort_by(|a, b| a.id.cmp(&b.id));
        Gradebook {
            lab: lab.to_string(),
            material: material.to_string(),
            students,
        }
    }

    /// The test names, in rubric order (every row has the same tests: one
    /// rubric, one selection).
    fn columns(&self) -> Vec<&str> {
        self.students
            .iter()
            .max_by_key(|r| r.marks.tests.len())
            .map(|r| r.marks.tests.iter().map(|t| t.name.as_str()).collect())
            .unwrap_or_default()
    }

    /// `gradebook.csv`: id, name, email, sid, score, max, status, review
    /// flags, then a column per test (points scored), RFC 4180 quoting.
    pub fn csv(&self) -> String {
        let columns = self.columns();
        let mut out = String::new();
        let mut header = vec![
            "id", "name", "email", "sid", "score", "max", "status", "review",
        ];
        header.extend(columns.iter().copied());
        push_record(&mut out, header.iter().map(|s| s.to_string()));
        for r in &self.students {
            let mut cells = vec![
                r.id.clone(),
                r.name.clone(),
                r.email.clone(),
                r.sid.clone(),
                r.marks.score.to_string(),
                r.marks.max_score.to_string(),
                r.marks.status.clone(),
                r.marks.review.join("; "),
            ];
            for c in &columns {
                cells.push(
                    r.marks
                        .tests
                        .iter()
                        .find(|t| t.name == *c)
                        .map(|t| t.score.to_string())
                        .unwrap_or_default(),
                );
            }
            push_record(&mut out, cells.into_iter());
        }
        out
    }

    fn by_status(&self) -> BTreeMap<&str, usize> {
        let mut by = BTreeMap::new();
        for r in &self.students {
            *by.entry(r.marks.status.as_str()).or_insert(0) += 1;
        }
        by
    }

    fn distribution(&self) -> BTreeMap<u32, usize> {
        let mut d = BTreeMap::new();
        for r in &self.students {
            *d.entry(r.marks.score).or_insert(0) += 1;
        }
        d
    }

    /// Tests failed by at least one student, most-failed first (then by
    /// name, for a stable order). Only graded submissions' tests that ran
    /// count: a refused or unbuilt submission fails every test, and would
    /// otherwise push the tests students find hard down the list.
    fn most_failed(&self) -> Vec<(String, usize)> {
        let mut failed: BTreeMap<&str, usize> = BTreeMap::new();
        for r in self.students.iter().filter(|r| r.marks.status == "graded") {
            for t in r.marks.tests.iter().filter(|t| !t.passed && !t.not_run) {
                *failed.entry(t.name.as_str()).or_insert(0) += 1;
            }
        }
        let mut list: Vec<(String, usize)> = failed
            .into_iter()
            .map(|(n, c)| (n.to_string(), c))
            .collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        list
    }

    /// `summary.json`, pretty-printed with a final newline.
    pub fn summary_json(&self) -> String {
        let summary = Summary {
            lab: &self.lab,
            material: &self.material,
            submissions: self.students.len(),
            by_status: self.by_status(),
            distribution: self.distribution(),
            most_failed: self.most_failed(),
            students: &self.students,
        };
        format!(
            "{}\n",
            serde_json::to_string_pretty(&summary).expect("a summary serialises")
        )
    }

    /// Read a gradebook back from its `summary.json`.
    pub fn from_summary_json(text: &str) -> Result<Gradebook, serde_json::Error> {
        let s: SummaryIn = serde_json::from_str(text)?;
        Ok(Gradebook::new(&s.lab, &s.material, s.students))
    }

    /// The human summary: score distribution, most-failed tests, and the
    /// submissions that were refused, did not build or hit a grader fault.
    pub fn human(&self) -> String {
        let mut s = format!("{} submission(s) of `{}`", self.students.len(), self.lab);
        let by = self.by_status();
        let parts: Vec<String> = by.iter().map(|(k, n)| format!("{n} {k}")).collect();
        if !parts.is_empty() {
            s.push_str(&format!(": {}", parts.join(", ")));
        }
        s.push('\n');
        let max = self
            .students
            .iter()
            .map(|r| r.marks.max_score)
            .max()
            .unwrap_or(0);
        let widest = self.distribution().values().copied().max().unwrap_or(1);
        s.push_str("\nscores:\n");
        for (score, n) in self.distribution().iter().rev() {
            let bar = "#".repeat((n * 40).div_ceil(widest));
            s.push_str(&format!("  {score:>4}/{max:<4} {n:>4}  {bar}\n"));
        }
        let failed = self.most_failed();
        if !failed.is_empty() {
            s.push_str("\nmost-failed tests:\n");
            for (name, n) in failed.iter().take(10) {
                s.push_str(&format!("  {n:>4}  {name}\n"));
            }
        }
        for (status, title) in [
            ("refused", "refused"),
            ("not_built", "did not build"),
            (
                "grader_fault",
                "grader faults (not graded; rerun to grade them again)",
            ),
        ] {
            let rows: Vec<&Row> = self
                .students
                .iter()
                .filter(|r| r.marks.status == status)
                .collect();
            if rows.is_empty() {
                continue;
            }
            s.push_str(&format!("\n{title}:\n"));
            for r in rows {
                s.push_str(&format!("  {}: {}\n", r.id, r.marks.reason));
            }
        }
        s
    }
}

/// One CSV record: cells quoted where they hold a comma, a quote or a
/// line break; CRLF line ends are not used (LF only, which spreadsheet
/// programs read). A cell a spreadsheet would run as a formula (`=`, `+`,
/// `-`, `@`, a tab or a carriage return first) gets a leading `'`: names
/// and emails come from the students (a Gradescope export's metadata), and
/// the gradebook is opened by staff in a spreadsheet. No cell xvlab writes
/// itself starts so: ids, statuses and scores (never negative) stay as
/// they are.
fn push_record(out: &mut String, cells: impl Iterator<Item = String>) {
    let cells: Vec<String> = cells
        .map(|c| {
            if c.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{c}")
            } else {
                c
            }
        })
        .map(|c| {
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c
            }
        })
        .collect();
    out.push_str(&cells.join(","));
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, score: u32, status: &str) -> Row {
        Row {
            id: id.to_string(),
            name: format!("Name, {id}"),
            email: String::new(),
            sid: String::new(),
            marks: Marks {
                score,
                max_score: 10,
                status: status.to_string(),
                reason: String::new(),
                review: vec![],
                tests: vec![
                    TestCell {
                        name: "echo hi".into(),
                        score: score.min(5),
                        passed: score >= 5,
                        not_run: false,
                    },
                    TestCell {
                        name: "work".into(),
                        score: score.saturating_sub(5),
                        passed: score == 10,
                        not_run: false,
                    },
                ],
            },
        }
    }

    #[test]
    fn the_gradebook_is_sorted_by_id_quoted_and_survives_its_summary() {
        let book = Gradebook::new(
            "lazy",
            "m",
            vec![row("bob", 5, "graded"), row("alice", 10, "graded")],
        );
        assert_eq!(
            book.csv(),
            "id,name,email,sid,score,max,status,review,echo hi,work\n\
             alice,\"Name, alice\",,,10,10,graded,,5,5\n\
             bob,\"Name, bob\",,,5,10,graded,,5,0\n"
        );
        let back = Gradebook::from_summary_json(&book.summary_json()).unwrap();
        assert_eq!(back, book);
        assert_eq!(book.most_failed(), vec![("work".to_string(), 1)]);
    }

    #[test]
    fn most_failed_counts_only_graded_submissions_tests_that_ran() {
        let mut stopped = row("carol", 5, "graded");
        stopped.marks.tests[1].not_run = true;
        let book = Gradebook::new(
            "lazy",
            "m",
            vec![
                row("bob", 5, "graded"),
                row("dave", 0, "refused"),
                row("erin", 0, "not_built"),
                stopped,
            ],
        );
        // bob failed `work`; carol's `work` never ran; dave and erin were
        // not graded at all.
        assert_eq!(book.most_failed(), vec![("work".to_string(), 1)]);
        let back = Gradebook::from_summary_json(&book.summary_json()).unwrap();
        assert_eq!(back, book);
        assert_eq!(book.summary_json().matches("not_run").count(), 1);
    }

    #[test]
    fn a_students_name_that_a_spreadsheet_would_run_as_a_formula_is_written_as_text() {
        let mut hostile = row("eve", 10, "graded");
        hostile.name = "=HYPERLINK(\"http://x.example\",\"a\")".to_string();
        hostile.email = "@SUM(1)".to_string();
        let book = Gradebook::new("lazy", "m", vec![hostile]);
        assert_eq!(
            book.csv().lines().nth(1).unwrap(),
            "eve,\"'=HYPERLINK(\"\"http://x.example\"\",\"\"a\"\")\",'@SUM(1),,10,10,graded,,5,5"
        );
    }
}
