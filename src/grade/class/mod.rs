//! `xvlab grade-all`: a whole class graded in one command ([`run`]) and
//! shards of it merged ([`merge`]). The students come from [`roster`],
//! the results go to a [`gradebook`].
//!
//! The class shares one pool of VMs and one build cache
//! ([`crate::grade::pool`]). Every student's result is kept in the output
//! folder (`kept/`, by the hash of what they handed in, the lab's material
//! and xvlab's version), so a rerun — after Ctrl-C, SIGTERM, or with new
//! hand-ins — grades only what is new or changed, and `--force` grades
//! all again. A submission that is refused, does not build or hangs is a
//! result like any other; a grader fault is retried once, then recorded
//! as `grader_fault` (never kept: the next run grades it again). Who was
//! retried, and how the retry went, is in [`Batch::retried`] (the end
//! summary lists them).
//!
//! The output folder:
//!
//! ```text
//! OUT/gradebook.csv            one row per student (see gradebook)
//! OUT/summary.json             the same rows and the class's statistics
//! OUT/junit.xml                JUnit XML, one testsuite per student (named by id)
//! OUT/index.html               a row per student, linking their report.html
//! OUT/students/ID/report.json  the native JSON report (`grade --format json`)
//! OUT/students/ID/results.json Gradescope's results.json
//! OUT/students/ID/report.html  the HTML report (`grade --format html`, but
//!                              without the diffs against the reference
//!                              solution, which would need its VMs: the page
//!                              says so)
//! OUT/students/ID/model.json   the report in xvlab's own model (serde's),
//!                              which `merge` reads
//! OUT/students/ID/grading/     with --transcripts: what `grade --keep` keeps
//! OUT/kept/KEY.json            the kept results
//! ```
//!
//! A kept result holds the whole [`Report`] (the report model is serde's),
//! so a resumed run writes `junit.xml` and `index.html` of every student,
//! graded now or kept. `OUT/students/` holds exactly this run's students
//! (this shard's, with `--partition`): the folder of a student no longer in
//! the roster is removed when the run starts ([`Batch::removed`]), as the
//! gradebook, summary, JUnit file and index list only this run's students.
//! `merge` writes `gradebook.csv` and `summary.json` of the merged shards,
//! copies their students' folders, and writes `junit.xml` and
//! `index.html` from each student's `model.json` (every student of a run
//! has one, a grader fault too, which the kept results do not hold), with
//! the code `run` writes them with ([`write_report_files`]). Each
//! student's suite and row are rendered from the report their shard
//! wrote, timings included, so the merged files are byte for byte those
//! an unsharded run writes of the same results; an unsharded run that
//! grades the class again differs only in its own timings.
//!
//! A further per-class file of the rows is one more `write` in
//! [`write_class_files`]; one of the reports, in [`write_report_files`].

pub mod gradebook;
pub mod roster;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::build::kbuild::BuildCache;
use crate::grade::pool::{self, Item, Keepable, ManyOptions, Store};
use crate::grade::progress::Progress;
use crate::grade::{self, GradeError, Options};
use crate::lab::Lab;
use crate::lab::assets::{AssetError, Assets};
use crate::lab::rubric::Rubric;
use crate::report::html::{self, Consoles, IndexRow, Page, Reference};
use crate::report::junit::{self, JunitError};
use crate::report::{Report, gradescope, json};
use crate::run::plan::{Plan, PlanError, TestFilter, Token};
use crate::shared::exit;
use gradebook::{Gradebook, Marks, Row};
use roster::{Partition, RosterError, Student};

/// A batch that could not run, or whose results could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ClassError {
    #[error(transparent)]
    Roster(#[from] RosterError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("read the grading material of `{lab}`")]
    Material {
        lab: String,
        #[source]
        source: AssetError,
    },
    #[error("write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("read the shard `{}`: {message}", path.display())]
    Shard { path: PathBuf, message: String },
    #[error(
        "merge shards graded with different lab material: `{}` is not of the same lab version as the others",
        path.display()
    )]
    Mismatch { path: PathBuf },
    #[error("merge the shards: the student `{id}` is in two of them (`{}`)", path.display())]
    Duplicate { id: String, path: PathBuf },
    #[error(transparent)]
    Junit(#[from] JunitError),
}

impl ClassError {
    /// The exit code of `xvlab grade-all` / `merge` (see exit.rs).
    pub fn exit_code(&self) -> u8 {
        match self {
            ClassError::Roster(_) | ClassError::Duplicate { .. } | ClassError::Mismatch { .. } => {
                exit::USAGE
            }
            ClassError::Plan(e) => e.exit_code(),
            ClassError::Material { .. } => exit::BAD_LAB,
            ClassError::Write { .. } | ClassError::Shard { .. } => exit::FAILURE,
            ClassError::Junit(e) => e.exit_code(),
        }
    }
}

/// How to grade the class.
#[derive(Clone, Debug)]
pub struct ClassOptions {
    /// How the submissions are graded.
    pub many: ManyOptions,
    /// Only this shard of the class.
    pub partition: Option<Partition>,
    /// Keep each grading's tree, build log and transcripts.
    pub transcripts: bool,
    /// The output folder.
    pub output: PathBuf,
}

/// What the class is graded against and with.
pub struct Class<'a> {
    pub assets: &'a Assets,
    pub lab: &'a Lab,
    pub rubric: &'a Rubric,
    /// The rubric's text (part of the resume key).
    pub rubric_text: &'a str,
    pub cache: &'a BuildCache,
    pub qemu: &'a Path,
}

/// One student's kept result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Graded {
    pub marks: Marks,
    /// The whole report: the student's files and the class's JUnit file
    /// and index are rendered from it, also when it is kept.
    pub report: Report,
    /// `report.html` after its top ([`html::top`], which names the
    /// submission and is rendered when written): it shows the grading's
    /// consoles, which are not kept.
    pub page_body: String,
    /// In this run, the first attempt hit a grader fault (what failed) and
    /// this is the retry's result. Not kept: a kept result was not retried
    /// by the run that reuses it.
    #[serde(skip)]
    pub retried: Option<String>,
}

/// Why a batch's HTML pages have no diffs against the reference solution.
const NO_REFERENCE: &str = "`grade-all` leaves them out (they would need the reference solution's VMs); \
     `xvlab grade --format html` on this submission shows them";

impl Keepable for Graded {
    /// A grader fault is not the submission's result: graded again next
    /// time.
    fn worth_keeping(&self) -> bool {
        self.marks.status != "grader_fault"
    }
}

/// What a batch gave.
pub struct Batch {
    pub gradebook: Gradebook,
    /// Students in this run (this shard), graded or not.
    pub total: usize,
    /// Graded now (not kept from an earlier run).
    pub graded_now: usize,
    /// Students whose first attempt hit a grader fault and were graded
    /// again (once): id, what failed the first time, and the retry's
    /// status (`grader_fault` if it failed again). Sorted by id.
    pub retried: Vec<(String, String, String)>,
    /// Folders of `students/` removed because their students are not in
    /// this run's roster. Sorted.
    pub removed: Vec<String>,
    pub interrupted: bool,
}

impl Batch {
    /// The exit code of `grade-all`: interrupted, else whether a grader
    /// fault is left, else 0 (students' failed tests are results).
    pub fn exit_code(&self) -> u8 {
        if self.interrupted {
            exit::INTERRUPTED
        } else if self
            .gradebook
            .students
            .iter()
            .any(|r| r.marks.status == "grader_fault")
        {
            exit::CLASS_FAULTS
        } else {
            exit::OK
        }
    }

    /// For the end summary: the students retried after a grader fault,
    /// one line each, and how the retry went; empty if none was.
    pub fn retried_text(&self) -> String {
        if self.retried.is_empty() {
            return String::new();
        }
        let mut s = format!(
            "\nretried once after a grader fault ({}):\n",
            self.retried.len()
        );
        for (id, fault, status) in &self.retried {
            let then = if status == "grader_fault" {
                "failed again"
            } else {
                "the retry graded it"
            };
            s.push_str(&format!("  {id}: {fault}; {then}\n"));
        }
        s
    }
}

fn write(path: &Path, text: &str) -> Result<(), ClassError> {
    let err = |source| ClassError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    // Renamed into place, so an interrupted write leaves the old file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// The student's folder in the output.
fn student_dir(output: &Path, id: &str) -> PathBuf {
    output.join("students").join(id)
}

/// The files of the whole class: `gradebook.csv` and `summary.json`.
pub fn write_class_files(output: &Path, book: &Gradebook) -> Result<(), ClassError> {
    write(&output.join("gradebook.csv"), &book.csv())?;
    write(&output.join("summary.json"), &book.summary_json())
}

/// The files of the whole class rendered from its reports (by student id):
/// `junit.xml`, a suite per student named by id, and `index.html`, a row
/// per student linking their `report.html`; both sorted by id.
pub fn write_report_files(
    output: &Path,
    lab: &str,
    mut reports: Vec<(String, Report)>,
) -> Result<(), ClassError> {
    reports.sort_by(|a, b| a.0.cmp(&b.0));
    let xml = junit::render_many(lab, reports.iter().map(|(id, r)| (id.as_str(), r)))?;
    write(&output.join("junit.xml"), &xml)?;
    let pages: Vec<String> = reports
        .iter()
        .map(|(id, _)| format!("students/{}/report.html", url_segment(id)))
        .collect();
    let rows: Vec<IndexRow<'_>> = reports
        .iter()
        .zip(&pages)
        .map(|((id, report), page)| IndexRow { id, report, page })
        .collect();
    let title = format!("{lab}: {} submission(s)", rows.len());
    write(
        &output.join("index.html"),
        &html::render_index(&title, &rows),
    )
}

/// `id` as one segment of a relative URL: an id is a file or folder name,
/// and may hold a space, `#` or `?`, which would end or change the link.
fn url_segment(id: &str) -> String {
    let mut s = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Remove what `students/` holds beside the folders of `ids` (students no
/// longer in the roster, or not of this shard), so the output describes
/// exactly this class. Returns the names removed, sorted.
fn remove_stale(output: &Path, ids: &[&str]) -> Result<Vec<String>, ClassError> {
    let dir = output.join("students");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let err = |path: PathBuf| move |source| ClassError::Write { path, source };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(err(dir.clone()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if ids.contains(&name.as_str()) {
            continue;
        }
        let path = entry.path();
        if entry.file_type().map_err(err(path.clone()))?.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        }
        .map_err(err(path))?;
        removed.push(name);
    }
    removed.sort();
    Ok(removed)
}

/// The lab material's version, as `summary.json` records it.
fn material_version(base: &pool::KeyBase) -> String {
    base.key("material", b"").as_str().to_string()
}

/// Grade `students` (those of `options.partition`), reusing kept results.
pub async fn run(
    class: &Class<'_>,
    students: Vec<Student>,
    options: &ClassOptions,
    progress: &Progress,
    cancel: &CancellationToken,
) -> Result<Batch, ClassError> {
    let filter = TestFilter::new(&options.many.tests)?;
    // Fail early on a pattern that matches no test.
    Plan::new(class.rubric, Token::random()?, &filter)?;
    let base = pool::material(
        class.assets,
        class.lab,
        class.rubric_text,
        &options.many.tests,
    )
    .map_err(|source| ClassError::Material {
        lab: class.lab.name.clone(),
        source,
    })?;
    let students: Vec<Student> = students
        .into_iter()
        .filter(|s| options.partition.is_none_or(|p| p.contains(&s.id)))
        .collect();
    let ids: Vec<&str> = students.iter().map(|s| s.id.as_str()).collect();
    let removed = remove_stale(&options.output, &ids)?;
    let store = Store::new(options.output.join("kept"));
    let total = students.len();
    progress.counting(total, "submission(s)");
    let items = students
        .into_iter()
        .map(|s| Item {
            key: base.key("submission", &s.content()),
            name: s.id.clone(),
            item: s,
        })
        .collect();
    let pool = options.many.pool(&store, progress, cancel);
    let mut rows = Vec::new();
    let mut reports = Vec::new();
    let mut retried = Vec::new();
    let mut failures = 0usize;
    let mut graded_now = 0usize;
    let mut write_error = None;
    let ran = pool
        .run(
            items,
            |student, vms| grade_student(class, &filter, options, student, vms, cancel),
            |finished| {
                let student = finished.item.item;
                let mut graded = finished.kept.value;
                // Identical hand-ins share one grading, which names
                // whichever was graded; each report names its own.
                graded.report.submission = student.submission.describe();
                let dir = student_dir(&options.output, &student.id);
                if let Err(e) = write(&dir.join("report.json"), &json::render(&graded.report))
                    .and_then(|()| write(&dir.join(MODEL), &model_json(&graded.report)))
                    .and_then(|()| {
                        write(
                            &dir.join("results.json"),
                            &gradescope::render(&graded.report),
                        )
                    })
                    .and_then(|()| {
                        let page = html::top(&graded.report) + &graded.page_body;
                        write(&dir.join("report.html"), &page)
                    })
                {
                    write_error.get_or_insert(e);
                }
                if !finished.was_kept {
                    graded_now += 1;
                }
                let m = graded.marks;
                if let Some(fault) = graded.retried {
                    retried.push((student.id.clone(), fault, m.status.clone()));
                }
                reports.push((student.id.clone(), graded.report));
                if m.status != "graded" || m.score < m.max_score {
                    failures += 1;
                }
                progress.note(&format!("{failures} not full marks"));
                progress.counted(&format!(
                    "{}: {} {}/{}{}",
                    student.id,
                    m.status.replace('_', " "),
                    m.score,
                    m.max_score,
                    if finished.was_kept { " (kept)" } else { "" }
                ));
                rows.push(Row {
                    id: student.id,
                    name: student.name,
                    email: student.email,
                    sid: student.sid,
                    marks: m,
                });
            },
        )
        .await;
    progress.finish();
    ran?;
    if let Some(e) = write_error {
        return Err(e);
    }
    let gradebook = Gradebook::new(&class.lab.name, &material_version(&base), rows);
    write_class_files(&options.output, &gradebook)?;
    write_report_files(&options.output, &class.lab.name, reports)?;
    retried.sort();
    Ok(Batch {
        gradebook,
        total,
        graded_now,
        retried,
        removed,
        interrupted: cancel.is_cancelled(),
    })
}

/// Grade one student: a grader fault is retried once (the result says
/// so: [`Graded::retried`]), then is the student's `grader_fault` result.
/// `None` if Ctrl-C stopped it.
async fn grade_student(
    class: &Class<'_>,
    filter: &TestFilter,
    options: &ClassOptions,
    student: Student,
    vms: usize,
    cancel: &CancellationToken,
) -> Result<Option<Graded>, ClassError> {
    let started = std::time::Instant::now();
    let keep = options
        .transcripts
        .then(|| student_dir(&options.output, &student.id).join("grading"));
    let grading = Options {
        jobs: vms,
        keep: keep.clone(),
        fail_fast: false,
        ..options.many.grading.clone()
    };
    let mut first_fault = None;
    let mut last_fault = String::new();
    let mut plan = Plan::new(class.rubric, Token::random()?, filter)?;
    for _attempt in 0..2 {
        if let Some(dir) = &keep {
            // `keep` writes into an empty folder; an earlier attempt's
            // files are not this grading's.
            let _ = std::fs::remove_dir_all(dir);
        }
        plan = Plan::new(class.rubric, Token::random()?, filter)?;
        let graded = grade::grade(
            class.assets,
            class.lab,
            class.rubric,
            &plan,
            &student.submission,
            &grading,
            class.cache,
            class.qemu,
            &(),
            cancel,
        )
        .await;
        match graded {
            Ok(graded) if graded.report.interrupted => return Ok(None),
            Ok(graded) => {
                let consoles = grade::consoles(&plan, &graded.outcomes, &graded.report);
                return Ok(Some(kept(graded.report, &consoles, first_fault)));
            }
            Err(GradeError::Interrupted) => return Ok(None),
            Err(e) => {
                if cancel.is_cancelled() {
                    return Ok(None);
                }
                last_fault = match e.host_fault() {
                    Some(reason) => reason,
                    None => format!("failed to {}", exit::chain(&e)),
                };
                first_fault.get_or_insert_with(|| last_fault.clone());
            }
        }
    }
    let report = Report::faulted(
        class.rubric,
        &plan,
        &student.submission.describe(),
        &last_fault,
        started.elapsed(),
    );
    Ok(Some(kept(report, &Consoles::default(), first_fault)))
}

/// What is kept of a grading: its report, and its HTML page's body
/// (rendered now, with the consoles).
fn kept(report: Report, consoles: &Consoles, retried: Option<String>) -> Graded {
    let reference = Reference::Unavailable(NO_REFERENCE.to_string());
    let page_body = html::body(&Page {
        report: &report,
        consoles,
        reference: Some(&reference),
    });
    Graded {
        marks: Marks::of(&report),
        report,
        page_body,
        retried,
    }
}

/// A student's report in xvlab's own model, in their folder: what `merge`
/// renders the class's `junit.xml` and `index.html` from.
const MODEL: &str = "model.json";

fn model_json(report: &Report) -> String {
    serde_json::to_string(report).expect("a report serialises") + "\n"
}

/// The report of student `id` of `shard`, from their `model.json`.
fn read_model(shard: &Path, id: &str) -> Result<Report, ClassError> {
    let path = student_dir(shard, id).join(MODEL);
    let bad = |why: String| ClassError::Shard {
        path: shard.to_path_buf(),
        message: format!(
            "students/{id}/{MODEL} {why}: grade the shard again with this xvlab (its kept \
             results make that quick), then merge"
        ),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| bad(format!("cannot be read ({e})")))?;
    serde_json::from_str(&text).map_err(|e| bad(format!("is not a report ({e})")))
}

/// Merge shards' output folders into `output`: their students' folders
/// and kept results copied, one gradebook of all their rows written, and
/// the class's `junit.xml` and `index.html` rendered from the students'
/// reports. Shards must be of one lab material and share no student.
pub fn merge(output: &Path, shards: &[PathBuf]) -> Result<Gradebook, ClassError> {
    let mut rows: Vec<Row> = Vec::new();
    let mut reports: Vec<(String, Report)> = Vec::new();
    let mut sources: Vec<(&Path, String)> = Vec::new();
    let mut first: Option<(String, String)> = None;
    for shard in shards {
        let summary = shard.join("summary.json");
        let text = std::fs::read_to_string(&summary).map_err(|e| ClassError::Shard {
            path: shard.clone(),
            message: format!(
                "no readable summary.json ({e}): is it the output folder of `xvlab grade-all`?"
            ),
        })?;
        let book = Gradebook::from_summary_json(&text).map_err(|e| ClassError::Shard {
            path: shard.clone(),
            message: format!("summary.json: {e}"),
        })?;
        match &first {
            None => first = Some((book.lab.clone(), book.material.clone())),
            Some((lab, material)) if *lab != book.lab || *material != book.material => {
                return Err(ClassError::Mismatch {
                    path: shard.clone(),
                });
            }
            Some(_) => {}
        }
        for row in book.students {
            if rows.iter().any(|r| r.id == row.id) {
                return Err(ClassError::Duplicate {
                    id: row.id,
                    path: shard.clone(),
                });
            }
            reports.push((row.id.clone(), read_model(shard, &row.id)?));
            sources.push((shard, row.id.clone()));
            rows.push(row);
        }
    }
    // Everything is read before anything is written: a shard missing a
    // report leaves OUT as it was.
    for (shard, id) in &sources {
        copy_dir(&student_dir(shard, id), &student_dir(output, id))?;
    }
    for shard in shards {
        copy_dir(&shard.join("kept"), &output.join("kept"))?;
    }
    let (lab, material) = first.unwrap_or_default();
    let book = Gradebook::new(&lab, &material, rows);
    write_class_files(output, &book)?;
    write_report_files(output, &lab, reports)?;
    Ok(book)
}

/// Copy a folder's files (recursively); a missing folder copies nothing.
fn copy_dir(from: &Path, to: &Path) -> Result<(), ClassError> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ClassError::Write { path, source }
    };
    std::fs::create_dir_all(to).map_err(err(to))?;
    for entry in entries {
        let entry = entry.map_err(err(from))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        if entry.file_type().map_err(err(&src))?.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(err(&dst))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{faulted_report, not_built_report, perfect_report, refused_report};

    /// The class of the merge tests: shard 1 holds alice and carol (whose
    /// grading hit a grader fault), shard 2 bob (refused) and dave (not
    /// built).
    fn class_reports() -> [Vec<(String, Report)>; 2] {
        let named = |id: &str, report: Report| (id.to_string(), report);
        [
            vec![
                named("carol", faulted_report()),
                named("alice", perfect_report()),
            ],
            vec![
                named("dave", not_built_report()),
                named("bob", refused_report()),
            ],
        ]
    }

    /// A shard's output folder as `run` writes it, from fabricated reports.
    fn write_shard(output: &Path, lab: &str, reports: &[(String, Report)]) {
        let rows = reports
            .iter()
            .map(|(id, report)| Row {
                id: id.clone(),
                name: String::new(),
                email: String::new(),
                sid: String::new(),
                marks: Marks::of(report),
            })
            .collect();
        for (id, report) in reports {
            let dir = student_dir(output, id);
            write(&dir.join(MODEL), &model_json(report)).unwrap();
            write(&dir.join("report.html"), &format!("the page of {id}\n")).unwrap();
        }
        write_class_files(output, &Gradebook::new(lab, "material-1", rows)).unwrap();
        write_report_files(output, lab, reports.to_vec()).unwrap();
    }

    /// The two shards of [`class_reports`], in `dir` (`shard-1`, `shard-2`).
    fn write_shards(dir: &Path) -> [PathBuf; 2] {
        let lab = perfect_report().lab;
        let [first, second] = class_reports();
        let (one, two) = (dir.join("shard-1"), dir.join("shard-2"));
        write_shard(&one, &lab, &first);
        write_shard(&two, &lab, &second);
        [one, two]
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The merged `junit.xml` and `index.html` are byte for byte those of
    /// one run of the whole class with the same results, timings too (each
    /// student's suite is rendered from the report their shard wrote), a
    /// grader fault's suite included though no kept result holds it.
    #[test]
    fn merged_shards_give_the_junit_file_and_index_of_one_unsharded_run() {
        let dir = tempfile::tempdir().unwrap();
        let lab = perfect_report().lab;
        let shards = write_shards(dir.path());
        let whole = dir.path().join("whole");
        write_report_files(&whole, &lab, class_reports().concat()).unwrap();

        let out = dir.path().join("out");
        let book = merge(&out, &shards).unwrap();
        let ids: Vec<&str> = book.students.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["alice", "bob", "carol", "dave"]);
        for file in ["junit.xml", "index.html"] {
            assert_eq!(read(&out.join(file)), read(&whole.join(file)), "{file}");
        }

        // One suite per student of all shards, sorted by id; the grader
        // fault's cases are errors.
        let xml = read(&out.join("junit.xml"));
        let suites: Vec<&str> = xml
            .split("<testsuite name=\"")
            .skip(1)
            .map(|rest| &rest[..rest.find('"').unwrap()])
            .collect();
        assert_eq!(suites, ids, "{xml}");
        let carol = xml.split("<testsuite name=\"carol\"").nth(1).unwrap();
        let carol = &carol[..carol.find("</testsuite>").unwrap()];
        assert!(
            carol.contains("<error ") && carol.contains("type=\"grader_fault\""),
            "{carol}"
        );

        // The index links every student's page, which was copied.
        let index = read(&out.join("index.html"));
        for id in ids {
            let page = format!("students/{id}/report.html");
            assert!(
                index.contains(&format!("href=\"{page}\"")),
                "{page}: {index}"
            );
            assert_eq!(read(&out.join(&page)), format!("the page of {id}\n"));
        }
    }

    /// A shard written by an xvlab that kept no `model.json` is refused,
    /// saying what to do, and OUT is left as it was.
    #[test]
    fn a_shard_without_a_students_model_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let [one, two] = write_shards(dir.path());
        std::fs::remove_file(student_dir(&two, "dave").join(MODEL)).unwrap();

        let out = dir.path().join("out");
        let err = merge(&out, &[one, two.clone()]).unwrap_err();
        assert_eq!(err.exit_code(), exit::FAILURE);
        let text = err.to_string();
        assert!(text.contains(&two.display().to_string()), "{text}");
        assert!(
            text.contains("students/dave/model.json cannot be read"),
            "{text}"
        );
        assert!(text.contains("grade the shard again"), "{text}");
        assert!(!out.exists(), "nothing is written");
    }

    /// Each student's folder comes from their own shard: a folder of the
    /// same id left in another shard is not mixed into it.
    #[test]
    fn a_students_folder_is_copied_from_their_own_shard_only() {
        let dir = tempfile::tempdir().unwrap();
        let [one, two] = write_shards(dir.path());
        // A leftover of bob in shard one, whose roster does not hold him.
        write(&student_dir(&one, "bob").join("stale.txt"), "old\n").unwrap();

        let out = dir.path().join("out");
        merge(&out, &[one, two]).unwrap();
        assert!(!student_dir(&out, "bob").join("stale.txt").exists());
        assert_eq!(
            read(&student_dir(&out, "bob").join("report.html")),
            "the page of bob\n"
        );
    }

    /// An id from a file name with a space, `#` or `?` still links to its
    /// own folder from the index page.
    #[test]
    fn an_index_link_names_the_students_folder_whatever_its_id_holds() {
        assert_eq!(url_segment("alice"), "alice");
        assert_eq!(url_segment("ann lee#2?x"), "ann%20lee%232%3Fx");
        assert_eq!(url_segment("zoë"), "zo%C3%AB");
    }
}
