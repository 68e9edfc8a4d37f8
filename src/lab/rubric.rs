//! Rubrics: what to run and what to check for one lab ([`Rubric`]), read
//! from the `rubric.toml` of the lab's grading directory and validated as a whole when loaded.
//!
//! A rubric is a closed TOML vocabulary that course staff edit without Rust:
//!
//! ```toml
//! lab = "lazy"
//! title = "Lazy page allocation"
//! total = 100                  # the tests' points must add up to this
//! sealed_programs = ["lazytests", "usertests"]   # optional; see below
//! snapshot_programs = ["usertests"]              # optional; see below
//!
//! [defaults]                   # optional; a session's own values win
//! timeout = "60s"              # the most any VM may take
//! cpus = 1
//! output_cap = 1048576         # bytes of console output per session
//! deadline_margin = 2.5        # a VM's deadline: this many times the
//! deadline_floor = "1500ms"    # reference's duration (at least the floor,
//!                              # at most `timeout`); see `deadline`
//! start_deadline = "500ms"     # optional: a typed command that prints
//!                              # nothing this long once echoed (scaled
//!                              # like deadlines) did not start: the VM stops
//!
//! [[session]]                  # one fresh VM
//! name = "lazytests"
//! commands = ["lazytests -k {token}"]
//! done = '^(ALL TESTS PASSED|SOME TESTS FAILED) \[{token}\]$'
//!
//! [[session]]                  # one fresh VM per case
//! name = "usertests"
//! cases = ["sbrkarg", "stacktest"]
//! commands = ["usertests -k {token} {case}"]
//! case_timeouts = { stacktest = "90s" }
//!
//! [[test]]
//! name = "usertests: sbrkarg"
//! session = "usertests"
//! case = "sbrkarg"             # or `all_cases = true`
//! points = 4
//! match = ['^test {case}: OK \[{token}\]$']
//! no_match = ['^FAILED -- lost some free pages']
//! visibility = "after_due_date"   # optional; Gradescope's, see below
//!
//! [gradescope]                 # optional; how Gradescope shows results
//! output_format = "md"         # text, html, simple_format, md or ansi
//! stdout_visibility = "hidden" # hidden, visible, after_due_date or
//!                              # after_published
//! ```
//!
//! Sessions say what to run, tests say what to look for in what ran. A test
//! passes iff each `match` regex matches some output line of its session
//! and no `no_match` regex matches any (see `check`). MIT's gradelib has
//! parent tests (which boot the VM) and child tests (which read the
//! parent's output); here a session *is* the parent, so tests need no
//! parent field, and a session that no test reads is an error rather than
//! a zero-point test.
//!
//! Placeholders: `{token}` (the per-run random token that the test programs
//! print on their verdict lines) and `{case}` (the case a VM runs). In
//! commands they are replaced as they are; in regexes (`done`, `match`,
//! `no_match`) they are replaced regex-escaped. Braces that cannot be a
//! placeholder (`a{2,3}`, `\p{Greek}`, `\x{41}`, `\{token\}`) are left to
//! the regex. Any other `{name}` is an error, which catches typos such as
//! `{tokn}` that would otherwise never match.
//!
//! Two choices beyond the obvious: every test needs at least one `match`
//! pattern, because a test made only of `no_match` patterns passes on a
//! kernel that prints nothing at all; and on a session with cases a test
//! must say which case it reads (`case`) or that it reads all of them
//! (`all_cases`), because "some case" has no clear meaning.
//!
//! `sealed_programs` names the test programs whose verdicts are sealed (see
//! the `seal` crate): on the graded image each of them carries the run's
//! secret key and has a random name, which the commands that run it (a
//! command whose first word is the program's name) use instead. In a
//! session that runs one, only lines with a valid seal count, with the
//! seal removed, so `match` patterns are written as for unsealed output;
//! a line carrying the token without a valid seal, or one printed before
//! the program's sealed start line, is forgery and fails the session's
//! tests (see `check`). Each name must be the first word of some session's
//! command, at most 13 bytes of lowercase letters, digits, `_` or `-`.
//!
//! `snapshot_programs` names test programs that can wait to be told what to
//! run: `NAME -w` sets up (counts the free pages), prints `NAME: waiting for
//! arguments` and reads the rest of its command line as one line of
//! standard input. A session whose one command runs such a program then
//! starts from a snapshot of a VM taken there once per grading, and types
//! only the rest of the command (see `run::snapshot`); its output is the
//! same as a booted VM's, so patterns and checks do not change. Each name
//! must be the program of some session that has one command.
//!
//! `visibility` (per test) and the `[gradescope]` table only change
//! Gradescope's `results.json` ([`Visibility`], [`OutputFormat`]): a test
//! that is `hidden` or shown `after_due_date` is still graded and scored.
//! Left out, the field is left out of `results.json` too, and Gradescope's
//! defaults (and the assignment's settings) apply.
//!
//! Validation collects every problem, each naming its session or test and
//! field, so one `check-rubric` run shows all of them. Expanding a rubric
//! into the VMs of one run is `plan`'s job.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;

use crate::lab::deadline::Scaling;
use crate::shared::exit;

/// Timeout of a session when neither it nor `[defaults]` sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Harts of a session's VM when neither it nor `[defaults]` says.
pub const DEFAULT_CPUS: u32 = 1;
/// Console bytes a session may print when neither it nor `[defaults]` says.
pub const DEFAULT_OUTPUT_CAP: usize = 1 << 20;
/// Most harts the reference kernel supports (its `NCPU`).
pub const MAX_CPUS: u32 = 8;

/// Placeholder for the per-run token.
pub const TOKEN_PLACEHOLDER: &str = "token";
/// Placeholder for the case a VM runs.
pub const CASE_PLACEHOLDER: &str = "case";

/// Token used to compile regexes when validating: any token is hex, and
/// hex never needs escaping, so if this one compiles, all do.
const SAMPLE_TOKEN: &str = "0123456789abcdef";

/// A validated rubric.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rubric {
    /// Short name of the lab (`lazy`).
    pub lab: String,
    /// Title for reports.
    pub title: String,
    /// What the points of all tests add up to.
    pub total: u32,
    /// Test programs whose verdict lines are sealed, by their real names.
    pub sealed_programs: Vec<String>,
    /// Test programs that wait for their arguments with `-w`, so that their
    /// sessions start from a snapshot.
    pub snapshot_programs: Vec<String>,
    /// In rubric order.
    pub sessions: Vec<Session>,
    /// In rubric order, which is report order.
    pub tests: Vec<Test>,
    /// How the reference solution's durations become VM deadlines.
    pub deadlines: Scaling,
    /// How Gradescope shows the results (the `[gradescope]` table).
    pub gradescope: GradescopeSettings,
}

/// The `[gradescope]` table: report-level fields of `results.json`; each
/// `None` is left out, so Gradescope's default applies.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GradescopeSettings {
    /// How Gradescope formats the `output` texts.
    pub output_format: Option<OutputFormat>,
    /// When students see the autograder's standard output.
    pub stdout_visibility: Option<Visibility>,
}

/// Gradescope's visibility of a test (or of the autograder's output).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Visibility {
    /// Always shown.
    Visible,
    /// Shown to instructors only.
    Hidden,
    /// Shown once the assignment's due date has passed.
    AfterDueDate,
    /// Shown once the grades are published.
    AfterPublished,
}

/// How Gradescope formats the `output` texts of `results.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OutputFormat {
    Text,
    Html,
    /// Gradescope's "simple format": text with paragraphs and URLs.
    SimpleFormat,
    /// Markdown.
    Md,
    /// Text with terminal colour escapes.
    Ansi,
}

/// A closed set of words a rubric field takes: parsing with a message
/// that lists them.
trait Word: Sized + Copy + 'static {
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;

    /// `text` as one of [`Word::ALL`], or a problem naming `what` and the
    /// words it may be.
    fn parse(text: &str, what: &str, problems: &mut Vec<String>) -> Option<Self> {
        let found = Self::ALL.iter().copied().find(|w| w.as_str() == text);
        if found.is_none() {
            let known: Vec<&str> = Self::ALL.iter().map(|w| w.as_str()).collect();
            problems.push(format!(
                "{what} = \"{text}\" is not one of {}",
                known.join(", ")
            ));
        }
        found
    }
}

impl Word for Visibility {
    const ALL: &'static [Self] = &[
        Visibility::Visible,
        Visibility::Hidden,
        Visibility::AfterDueDate,
        Visibility::AfterPublished,
    ];
    fn as_str(self) -> &'static str {
        match self {
            Visibility::Visible => "visible",
            Visibility::Hidden => "hidden",
            Visibility::AfterDueDate => "after_due_date",
            Visibility::AfterPublished => "after_published",
        }
    }
}

impl Word for OutputFormat {
    const ALL: &'static [Self] = &[
        OutputFormat::Text,
        OutputFormat::Html,
        OutputFormat::SimpleFormat,
        OutputFormat::Md,
        OutputFormat::Ansi,
    ];
    fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Text => "text",
            OutputFormat::Html => "html",
            OutputFormat::SimpleFormat => "simple_format",
            OutputFormat::Md => "md",
            OutputFormat::Ansi => "ansi",
        }
    }
}

impl Visibility {
    /// The word Gradescope (and the rubric) uses.
    pub fn as_str(self) -> &'static str {
        Word::as_str(self)
    }
}

impl OutputFormat {
    /// The word Gradescope (and the rubric) uses.
    pub fn as_str(self) -> &'static str {
        Word::as_str(self)
    }
}

/// One kind of VM run, with defaults resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub name: String,
    /// Command templates, typed one per shell prompt.
    pub commands: Vec<String>,
    /// Regex template for early completion.
    pub done: Option<String>,
    pub timeout: Duration,
    pub cpus: u32,
    pub output_cap: usize,
    /// Empty for a single VM; otherwise one VM per case.
    pub cases: Vec<Case>,
}

/// One case of a session that runs one VM per case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    /// The session's timeout unless `case_timeouts` overrides it.
    pub timeout: Duration,
}

/// One scored check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Test {
    pub name: String,
    /// Name of the session whose output it reads.
    pub session: String,
    pub scope: Scope,
    pub points: u32,
    /// Regex templates that must each match some output line.
    pub matches: Vec<String>,
    /// Regex templates that must match no output line.
    pub no_matches: Vec<String>,
    /// When Gradescope shows the test to students (`None`: its default).
    pub visibility: Option<Visibility>,
}

/// Which of a session's VMs a test reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The only VM of a session without cases.
    Session,
    /// The VM of one case.
    Case(String),
    /// Every case's VM: the test must hold in each.
    AllCases,
}

impl Session {
    /// Whether the session runs one VM per case.
    pub fn has_cases(&self) -> bool {
        !self.cases.is_empty()
    }
}

impl Rubric {
    /// Reads and validates the rubric at `path`.
    pub fn load(path: &Path) -> Result<Rubric, RubricError> {
        let text = std::fs::read_to_string(path).map_err(|cause| RubricError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        Rubric::parse(&text, &path.display().to_string())
    }

    /// Parses and validates rubric text; `origin` names it in errors (a
    /// path, or a description for an embedded rubric).
    pub fn parse(text: &str, origin: &str) -> Result<Rubric, RubricError> {
        let raw: RawRubric = toml::from_str(text).map_err(|cause| RubricError::Syntax {
            origin: origin.to_string(),
            cause,
        })?;
        let mut problems = Vec::new();
        let rubric = validate(raw, &mut problems);
        if problems.is_empty() {
            Ok(rubric)
        } else {
            Err(RubricError::Invalid {
                origin: origin.to_string(),
                problems,
            })
        }
    }

    /// The session named `name`.
    pub fn session(&self, name: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.name == name)
    }
}

/// Why a rubric could not be loaded. Messages read after "failed to".
#[derive(Debug, thiserror::Error)]
pub enum RubricError {
    #[error("read rubric {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// TOML syntax, a wrong type or an unknown field: the message has the
    /// line and column.
    #[error("parse rubric {origin}: {cause}")]
    Syntax {
        origin: String,
        cause: toml::de::Error,
    },
    #[error("{}", InvalidMessage { origin, problems })]
    Invalid {
        origin: String,
        /// One message per problem, each naming its session or test.
        problems: Vec<String>,
    },
}

impl RubricError {
    /// The exit code of `xvlab` for this error (see exit.rs): the rubric
    /// is the grader's to fix.
    pub fn exit_code(&self) -> u8 {
        exit::BAD_LAB
    }
}

/// Display of [`RubricError::Invalid`]: one problem on the same line, more
/// as a list.
struct InvalidMessage<'a> {
    origin: &'a str,
    problems: &'a [String],
}

impl fmt::Display for InvalidMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems {
            [one] => write!(f, "validate rubric {}: {one}", self.origin),
            many => {
                write!(
                    f,
                    "validate rubric {}: {} problems",
                    self.origin,
                    many.len()
                )?;
                for p in many {
                    // Regex errors span lines: keep them under their item.
                    write!(f, "\n  - {}", p.replace('\n', "\n    "))?;
                }
                Ok(())
            }
        }
    }
}

/// Replaces the placeholders of a command template, as they are.
pub fn command_text(template: &str, token: &str, case: Option<&str>) -> String {
    substitute(template, Syntax::Command, |name| match name {
        TOKEN_PLACEHOLDER => Some(token.to_string()),
        CASE_PLACEHOLDER => case.map(str::to_string),
        _ => None,
    })
}

/// Replaces the placeholders of a regex template, regex-escaped.
pub fn pattern_text(template: &str, token: &str, case: Option<&str>) -> String {
    substitute(template, Syntax::Regex, |name| match name {
        TOKEN_PLACEHOLDER => Some(regex::escape(token)),
        CASE_PLACEHOLDER => case.map(regex::escape),
        _ => None,
    })
}

/// A regex template as students read it: the case filled in (escaped, as
/// in the regex) and the token, which changes every run, shown as `…`.
pub fn pattern_display(template: &str, case: Option<&str>) -> String {
    substitute(template, Syntax::Regex, |name| match name {
        TOKEN_PLACEHOLDER => Some("…".to_string()),
        CASE_PLACEHOLDER => case.map(regex::escape),
        _ => None,
    })
}

/// Where a template is used, which decides what a brace can mean.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Command,
    Regex,
}

/// A `{name}` in a template: the byte range of the braces and the name.
struct Placeholder<'a> {
    start: usize,
    end: usize,
    name: &'a str,
}

/// The placeholders of `template`: `{` + identifier + `}`. In a regex, a
/// brace escaped with a backslash (`\{`) or belonging to an escape
/// (`\p{Greek}`, `\x{41}`) is not one.
fn placeholders(template: &str, syntax: Syntax) -> Vec<Placeholder<'_>> {
    let bytes = template.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{'
            && !(syntax == Syntax::Regex && escaped_brace(bytes, i))
            && let Some(len) = identifier_len(&bytes[i + 1..])
            && bytes.get(i + 1 + len) == Some(&b'}')
        {
            found.push(Placeholder {
                start: i,
                end: i + len + 2,
                name: &template[i + 1..i + 1 + len],
            });
            i += len + 2;
            continue;
        }
        i += 1;
    }
    found
}

/// Whether the `{` at `i` is part of a regex escape: `\{`, or a letter
/// escape with braces such as `\p{…}`, `\x{…}`, `\u{…}`.
fn escaped_brace(bytes: &[u8], i: usize) -> bool {
    let odd_backslashes_before = |end: usize| {
        bytes[..end]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count()
            % 2
            == 1
    };
    odd_backslashes_before(i)
        || (i > 0 && bytes[i - 1].is_ascii_alphabetic() && odd_backslashes_before(i - 1))
}

/// Length of the identifier (`[A-Za-z_][A-Za-z0-9_]*`) that `bytes` starts
/// with, if any.
fn identifier_len(bytes: &[u8]) -> Option<usize> {
    let first = bytes.first()?;
    if !(first.is_ascii_alphabetic() || *first == b'_') {
        return None;
    }
    Some(
        bytes
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count(),
    )
}

/// Replaces each placeholder for which `value` has a value; leaves the
/// others as written.
fn substitute(template: &str, syntax: Syntax, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut copied = 0;
    for p in placeholders(template, syntax) {
        if let Some(v) = value(p.name) {
            out.push_str(&template[copied..p.start]);
            out.push_str(&v);
            copied = p.end;
        }
    }
    out.push_str(&template[copied..]);
    out
}

// The TOML shapes, as written. Everything is checked and resolved into the
// public types by `validate`.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRubric {
    lab: String,
    title: String,
    total: u32,
    #[serde(default)]
    sealed_programs: Vec<String>,
    #[serde(default)]
    snapshot_programs: Vec<String>,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default, rename = "session")]
    sessions: Vec<RawSession>,
    #[serde(default, rename = "test")]
    tests: Vec<RawTest>,
    #[serde(default)]
    gradescope: RawGradescope,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGradescope {
    output_format: Option<String>,
    stdout_visibility: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    #[serde(default, with = "humantime_serde")]
    timeout: Option<Duration>,
    cpus: Option<u32>,
    output_cap: Option<usize>,
    deadline_margin: Option<f64>,
    #[serde(default, with = "humantime_serde")]
    deadline_floor: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    start_deadline: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSession {
    name: String,
    commands: Vec<String>,
    done: Option<String>,
    #[serde(default, with = "humantime_serde")]
    timeout: Option<Duration>,
    cpus: Option<u32>,
    output_cap: Option<usize>,
    cases: Option<Vec<String>>,
    #[serde(default)]
    case_timeouts: BTreeMap<String, humantime_serde::Serde<Duration>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    name: String,
    session: String,
    case: Option<String>,
    #[serde(default)]
    all_cases: bool,
    points: u32,
    #[serde(default, rename = "match")]
    matches: Vec<String>,
    #[serde(default)]
    no_match: Vec<String>,
    visibility: Option<String>,
}

/// Checks `raw` and resolves defaults, pushing one message per problem.
/// The result is only meaningful when no problem was found.
fn validate(raw: RawRubric, problems: &mut Vec<String>) -> Rubric {
    if raw.lab.trim().is_empty() {
        problems.push("`lab` is empty".to_string());
    }
    if raw.title.trim().is_empty() {
        problems.push("`title` is empty".to_string());
    }
    let defaults = resolve_defaults(&raw.defaults, problems);

    let mut sessions: Vec<Session> = Vec::new();
    // Sessions with `cases = []`: whether their tests need a case is
    // unknowable, so those tests are not checked further.
    let mut caseless: HashSet<String> = HashSet::new();
    for rs in raw.sessions {
        if sessions.iter().any(|s| s.name == rs.name) {
            problems.push(format!("session `{}` is defined twice", rs.name));
            continue;
        }
        if rs.cases.as_ref().is_some_and(Vec::is_empty) {
            caseless.insert(rs.name.clone());
        }
        sessions.push(validate_session(rs, &defaults, problems));
    }

    // Points as written, so that a test rejected for another reason does
    // not also unbalance the total.
    let sum: u64 = raw.tests.iter().map(|t| u64::from(t.points)).sum();
    let mut names: HashSet<&str> = HashSet::new();
    for rt in &raw.tests {
        if !names.insert(&rt.name) {
            problems.push(format!("test `{}` is defined twice", rt.name));
        }
    }
    let mut tests: Vec<Test> = Vec::new();
    let mut rejected = false;
    for rt in raw.tests {
        if tests.iter().any(|t| t.name == rt.name) {
            continue;
        }
        if caseless.contains(&rt.session) {
            rejected = true;
            continue;
        }
        match validate_test(rt, &sessions, problems) {
            Some(t) => tests.push(t),
            None => rejected = true,
        }
    }

    // Which sessions a rejected test meant to read is unknown: saying they
    // are unread would only repeat its problem.
    if !rejected {
        check_coverage(&sessions, &tests, problems);
    }

    let total = u64::from(raw.total);
    if sum != total {
        let (by, how) = if sum < total {
            (total - sum, "short")
        } else {
            (sum - total, "over")
        };
        problems.push(format!(
            "the tests' points add up to {sum}, not `total` = {total} ({by} {how})"
        ));
    }

    check_sealed_programs(&raw.sealed_programs, &sessions, problems);
    check_snapshot_programs(&raw.snapshot_programs, &sessions, problems);
    let gradescope = GradescopeSettings {
        output_format: raw
            .gradescope
            .output_format
            .as_deref()
            .and_then(|w| OutputFormat::parse(w, "`gradescope.output_format`", problems)),
        stdout_visibility: raw
            .gradescope
            .stdout_visibility
            .as_deref()
            .and_then(|w| Visibility::parse(w, "`gradescope.stdout_visibility`", problems)),
    };

    Rubric {
        lab: raw.lab,
        title: raw.title,
        total: raw.total,
        sealed_programs: raw.sealed_programs,
        snapshot_programs: raw.snapshot_programs,
        sessions,
        tests,
        deadlines: defaults.deadlines,
        gradescope,
    }
}

/// Longest name of a sealed program: its random name on the image has as
/// many bytes, and xv6 directory entries hold 14 bytes (`DIRSIZ`), one of
/// which a C program would want for a NUL.
pub const MAX_PROGRAM_NAME: usize = 13;

/// The program a command runs: its first word.
pub fn program_word(command: &str) -> Option<&str> {
    command.split_whitespace().next()
}

fn check_sealed_programs(names: &[String], sessions: &[Session], problems: &mut Vec<String>) {
    let mut seen: HashSet<&str> = HashSet::new();
    for name in names {
        let what = format!("`sealed_programs`: `{name}`");
        if !seen.insert(name) {
            problems.push(format!("{what} is listed twice"));
            continue;
        }
        if name.is_empty()
            || name.len() > MAX_PROGRAM_NAME
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'))
        {
            problems.push(format!(
                "{what}: a program name is 1 to {MAX_PROGRAM_NAME} bytes of lowercase letters, digits, `_` and `-`"
            ));
            continue;
        }
        let runs = sessions.iter().any(|s| {
            s.commands
                .iter()
                .any(|c| program_word(c) == Some(name.as_str()))
        });
        if !runs {
            problems.push(format!(
                "{what} is not the program of any session's command"
            ));
        }
    }
}

/// The program a session starts from a snapshot, if it has one command and
/// that command runs one of `programs`.
pub fn snapshot_program<'a>(session: &'a Session, programs: &[String]) -> Option<&'a str> {
    match session.commands.as_slice() {
        [command] => program_word(command).filter(|w| programs.iter().any(|p| p == w)),
        _ => None,
    }
}

fn check_snapshot_programs(names: &[String], sessions: &[Session], problems: &mut Vec<String>) {
    for (i, name) in names.iter().enumerate() {
        let what = format!("`snapshot_programs`: `{name}`");
        if names[..i].contains(name) {
            problems.push(format!("{what} is listed twice"));
        } else if !sessions
            .iter()
            .any(|s| snapshot_program(s, std::slice::from_ref(name)).is_some())
        {
            problems.push(format!(
                "{what} is not the program of any session with one command"
            ));
        }
    }
}

/// Session settings after `[defaults]` and the built-in defaults.
struct Defaults {
    timeout: Duration,
    cpus: u32,
    output_cap: usize,
    deadlines: Scaling,
}

fn resolve_defaults(raw: &RawDefaults, problems: &mut Vec<String>) -> Defaults {
    check_limits("defaults", raw.timeout, raw.cpus, raw.output_cap, problems);
    let mut deadlines = Scaling::default();
    if let Some(margin) = raw.deadline_margin {
        // Below 1 a correct solution would miss its deadline on the
        // reference's own machine; past 100 scaling means nothing.
        if (1.0..=100.0).contains(&margin) {
            deadlines.margin_percent = (margin * 100.0).round() as u32;
        } else {
            problems.push(format!(
                "defaults: `deadline_margin` must be from 1 to 100, not {margin}"
            ));
        }
    }
    if let Some(floor) = raw.deadline_floor {
        if floor.is_zero() {
            problems.push("defaults: `deadline_floor` must be more than 0s".to_string());
        }
        deadlines.floor = floor;
    }
    if let Some(start) = raw.start_deadline {
        if start.is_zero() {
            problems.push("defaults: `start_deadline` must be more than 0s".to_string());
        }
        deadlines.start = Some(start);
    }
    Defaults {
        timeout: raw.timeout.unwrap_or(DEFAULT_TIMEOUT),
        cpus: raw.cpus.unwrap_or(DEFAULT_CPUS),
        output_cap: raw.output_cap.unwrap_or(DEFAULT_OUTPUT_CAP),
        deadlines,
    }
}

/// Checks the VM settings written in one place (`what`); inherited values
/// were checked where they were written.
fn check_limits(
    what: &str,
    timeout: Option<Duration>,
    cpus: Option<u32>,
    output_cap: Option<usize>,
    problems: &mut Vec<String>,
) {
    if timeout.is_some_and(|t| t.is_zero()) {
        problems.push(format!("{what}: `timeout` must be more than 0s"));
    }
    if let Some(cpus) = cpus
        && !(1..=MAX_CPUS).contains(&cpus)
    {
        problems.push(format!(
            "{what}: `cpus` must be between 1 and {MAX_CPUS}, not {cpus}"
        ));
    }
    if output_cap == Some(0) {
        problems.push(format!("{what}: `output_cap` must be more than 0 bytes"));
    }
}

/// Whether `name` can name a session or a case: it becomes part of a VM's
/// name (`usertests/sbrkarg`) and of the command line typed into the shell.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn validate_session(rs: RawSession, defaults: &Defaults, problems: &mut Vec<String>) -> Session {
    let what = format!("session `{}`", rs.name);
    if !valid_name(&rs.name) {
        problems.push(format!(
            "{what}: a session name may only use letters, digits, `_`, `-` and `.`"
        ));
    }
    check_limits(&what, rs.timeout, rs.cpus, rs.output_cap, problems);
    let timeout = rs.timeout.unwrap_or(defaults.timeout);
    let cpus = rs.cpus.unwrap_or(defaults.cpus);
    let output_cap = rs.output_cap.unwrap_or(defaults.output_cap);

    let mut cases: Vec<Case> = Vec::new();
    match &rs.cases {
        Some(names) if names.is_empty() => problems.push(format!(
            "{what}: `cases` is empty (leave it out for a single VM)"
        )),
        Some(names) => {
            for name in names {
                if !valid_name(name) {
                    problems.push(format!(
                        "{what}: case `{name}`: a case name may only use letters, digits, `_`, `-` and `.`"
                    ));
                } else if cases.iter().any(|c| &c.name == name) {
                    problems.push(format!("{what}: case `{name}` is listed twice"));
                } else {
                    cases.push(Case {
                        name: name.clone(),
                        timeout,
                    });
                }
            }
        }
        None => {}
    }
    if !rs.case_timeouts.is_empty() && rs.cases.is_none() {
        problems.push(format!(
            "{what}: `case_timeouts` is set but there are no `cases`"
        ));
    }
    for (name, t) in &rs.case_timeouts {
        match cases.iter_mut().find(|c| &c.name == name) {
            Some(case) => case.timeout = **t,
            // With `cases = []` that is already the problem.
            None if rs.cases.as_ref().is_some_and(|c| !c.is_empty()) => problems.push(format!(
                "{what}: `case_timeouts` names `{name}`, which is not one of its `cases`"
            )),
            None => {}
        }
        if t.is_zero() {
            problems.push(format!(
                "{what}: `case_timeouts.{name}` must be more than 0s"
            ));
        }
    }
    let has_cases = rs.cases.is_some();

    if rs.commands.is_empty() {
        problems.push(format!("{what}: `commands` is empty"));
    }
    for (i, cmd) in rs.commands.iter().enumerate() {
        let field = format!("`commands[{i}]`");
        if cmd.trim().is_empty() {
            problems.push(format!("{what}: {field} is blank"));
        }
        if cmd.contains(['\n', '\r']) {
            // It would be typed as two commands.
            problems.push(format!("{what}: {field} contains a line break"));
        }
        check_placeholders(&what, &field, cmd, Syntax::Command, has_cases, problems);
    }
    if has_cases
        && !rs.commands.iter().any(|c| {
            placeholders(c, Syntax::Command)
                .iter()
                .any(|p| p.name == CASE_PLACEHOLDER)
        })
    {
        problems.push(format!(
            "{what}: runs one VM per case, but no command uses `{{case}}`, so every VM would run the same thing"
        ));
    }
    if let Some(done) = &rs.done {
        let sample_case = cases.first().map(|c| c.name.as_str());
        check_pattern(&what, "`done`", done, has_cases, sample_case, problems);
    }

    Session {
        name: rs.name,
        commands: rs.commands,
        done: rs.done,
        timeout,
        cpus,
        output_cap,
        cases,
    }
}

fn validate_test(rt: RawTest, sessions: &[Session], problems: &mut Vec<String>) -> Option<Test> {
    let what = format!("test `{}`", rt.name);
    if rt.name.trim().is_empty() {
        problems.push("a test has an empty `name`".to_string());
    }
    let Some(session) = sessions.iter().find(|s| s.name == rt.session) else {
        let known: Vec<String> = sessions.iter().map(|s| format!("`{}`", s.name)).collect();
        problems.push(format!(
            "{what}: session `{}` does not exist (sessions: {})",
            rt.session,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ));
        return None;
    };

    let scope = match (&rt.case, rt.all_cases, session.has_cases()) {
        (Some(_), true, _) => {
            problems.push(format!("{what}: set `case` or `all_cases`, not both"));
            return None;
        }
        (Some(_), false, false) => {
            problems.push(format!(
                "{what}: `case` is set, but session `{}` has no `cases`",
                session.name
            ));
            return None;
        }
        (None, true, false) => {
            problems.push(format!(
                "{what}: `all_cases` is set, but session `{}` has no `cases`",
                session.name
            ));
            return None;
        }
        (None, false, true) => {
            problems.push(format!(
                "{what}: session `{}` runs one VM per case: set `case = \"…\"` or `all_cases = true`",
                session.name
            ));
            return None;
        }
        (Some(case), false, true) => {
            if !session.cases.iter().any(|c| &c.name == case) {
                problems.push(format!(
                    "{what}: `case = \"{case}\"` is not one of session `{}`'s cases",
                    session.name
                ));
                return None;
            }
            Scope::Case(case.clone())
        }
        (None, true, true) => Scope::AllCases,
        (None, false, false) => Scope::Session,
    };

    if rt.matches.is_empty() {
        problems.push(format!(
            "{what}: `match` is empty; without one the test would pass on a kernel that prints nothing"
        ));
    }
    let sample_case = match &scope {
        Scope::Case(c) => Some(c.as_str()),
        Scope::AllCases => session.cases.first().map(|c| c.name.as_str()),
        Scope::Session => None,
    };
    let has_cases = scope != Scope::Session;
    for (i, p) in rt.matches.iter().enumerate() {
        check_pattern(
            &what,
            &format!("`match[{i}]`"),
            p,
            has_cases,
            sample_case,
            problems,
        );
    }
    for (i, p) in rt.no_match.iter().enumerate() {
        check_pattern(
            &what,
            &format!("`no_match[{i}]`"),
            p,
            has_cases,
            sample_case,
            problems,
        );
    }

    let visibility = rt
        .visibility
        .as_deref()
        .and_then(|w| Visibility::parse(w, &format!("{what}: `visibility`"), problems));

    Some(Test {
        name: rt.name,
        session: rt.session,
        scope,
        points: rt.points,
        matches: rt.matches,
        no_matches: rt.no_match,
        visibility,
    })
}

/// Reports unknown placeholders, and `{case}` where there is no case.
fn check_placeholders(
    what: &str,
    field: &str,
    template: &str,
    syntax: Syntax,
    has_cases: bool,
    problems: &mut Vec<String>,
) {
    for p in placeholders(template, syntax) {
        match p.name {
            TOKEN_PLACEHOLDER => {}
            CASE_PLACEHOLDER if has_cases => {}
            CASE_PLACEHOLDER => problems.push(format!(
                "{what}: {field} uses `{{case}}`, but there is no case here"
            )),
            other => problems.push(format!(
                "{what}: {field} uses unknown placeholder `{{{other}}}` (known: `{{token}}`, `{{case}}`)"
            )),
        }
    }
}

/// Checks a regex template's placeholders and that it compiles once they
/// are filled in.
fn check_pattern(
    what: &str,
    field: &str,
    template: &str,
    has_cases: bool,
    sample_case: Option<&str>,
    problems: &mut Vec<String>,
) {
    let before = problems.len();
    check_placeholders(what, field, template, Syntax::Regex, has_cases, problems);
    if problems.len() > before {
        return;
    }
    if let Err(e) = Regex::new(&pattern_text(template, SAMPLE_TOKEN, sample_case)) {
        problems.push(format!("{what}: {field} is not a valid regex: {e}"));
    }
}

/// Every session and every case must be read by some test: one that is not
/// costs a VM run for nothing, and is most likely a typo.
fn check_coverage(sessions: &[Session], tests: &[Test], problems: &mut Vec<String>) {
    let mut read: HashMap<&str, HashSet<&str>> = HashMap::new();
    let mut all_read: HashSet<&str> = HashSet::new();
    for t in tests {
        let cases = read.entry(t.session.as_str()).or_default();
        match &t.scope {
            Scope::Case(c) => {
                cases.insert(c.as_str());
            }
            Scope::AllCases => {
                all_read.insert(t.session.as_str());
            }
            Scope::Session => {}
        }
    }
    for s in sessions {
        let Some(cases) = read.get(s.name.as_str()) else {
            problems.push(format!("session `{}` is not read by any test", s.name));
            continue;
        };
        if all_read.contains(s.name.as_str()) {
            continue;
        }
        let unread: Vec<&str> = s
            .cases
            .iter()
            .map(|c| c.name.as_str())
            .filter(|c| !cases.contains(c))
            .collect();
        if !unread.is_empty() {
            problems.push(format!(
                "session `{}`: no test reads case(s) {}",
                s.name,
                unread
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small valid rubric that tests vary.
    const SMALL: &str = r#"
lab = "lazy"
title = "Lazy page allocation"
total = 10

[defaults]
timeout = "30s"

[[session]]
name = "boot"
commands = ["echo hi"]
timeout = "20s"

[[session]]
name = "usertests"
cases = ["sbrkarg", "stacktest"]
commands = ["usertests -k {token} {case}"]
done = '^(ALL TESTS PASSED|SOME TESTS FAILED) \[{token}\]$'
case_timeouts = { stacktest = "90s" }
cpus = 2

[[test]]
name = "echo hi"
session = "boot"
points = 2
match = ['^hi$']

[[test]]
name = "usertests: sbrkarg"
session = "usertests"
case = "sbrkarg"
points = 3
match = ['^test {case}: OK \[{token}\]$']
no_match = ['^FAILED -- lost some free pages']

[[test]]
name = "usertests: all tests"
session = "usertests"
all_cases = true
points = 5
match = ['^ALL TESTS PASSED \[{token}\]$']
"#;

    fn parse(text: &str) -> Result<Rubric, RubricError> {
        Rubric::parse(text, "rubric.toml")
    }

    /// The problems of an invalid rubric (panics on any other outcome).
    fn problems(text: &str) -> Vec<String> {
        match parse(text) {
            Err(RubricError::Invalid { problems, .. }) => problems,
            other => panic!("expected validation problems, got {other:?}"),
        }
    }

    /// The single problem of `SMALL` with `from` replaced by `to`.
    fn problem_after(from: &str, to: &str) -> String {
        assert!(SMALL.contains(from), "{from:?} is not in SMALL");
        let ps = problems(&SMALL.replacen(from, to, 1));
        assert_eq!(ps.len(), 1, "{ps:#?}");
        ps.into_iter().next().unwrap_or_default()
    }

    fn syntax_error(text: &str) -> String {
        match parse(text) {
            Err(e @ RubricError::Syntax { .. }) => e.to_string(),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn gradescope_fields_are_optional_and_read_when_set() {
        let r = parse(SMALL).unwrap();
        assert_eq!(r.gradescope, GradescopeSettings::default());
        assert!(r.tests.iter().all(|t| t.visibility.is_none()));
        let text = SMALL.replacen(
            "points = 3\n",
            "points = 3\nvisibility = \"after_due_date\"\n",
            1,
        ) + "\n[gradescope]\noutput_format = \"md\"\nstdout_visibility = \"hidden\"\n";
        let r = parse(&text).unwrap();
        let vis: Vec<_> = r.tests.iter().map(|t| t.visibility).collect();
        assert_eq!(vis, [None, Some(Visibility::AfterDueDate), None]);
        assert_eq!(r.gradescope.output_format, Some(OutputFormat::Md));
        assert_eq!(r.gradescope.stdout_visibility, Some(Visibility::Hidden));
        assert_eq!(OutputFormat::SimpleFormat.as_str(), "simple_format");
        assert_eq!(Visibility::AfterPublished.as_str(), "after_published");
    }

    #[test]
    fn unknown_gradescope_words_are_named_with_the_choices() {
        assert_eq!(
            problem_after("points = 3\n", "points = 3\nvisibility = \"secret\"\n"),
            "test `usertests: sbrkarg`: `visibility` = \"secret\" is not one of visible, hidden, after_due_date, after_published"
        );
        let ps = problems(&format!(
            "{SMALL}\n[gradescope]\noutput_format = \"markdown\"\nstdout_visibility = \"never\"\n"
        ));
        assert_eq!(
            ps,
            [
                "`gradescope.output_format` = \"markdown\" is not one of text, html, simple_format, md, ansi",
                "`gradescope.stdout_visibility` = \"never\" is not one of visible, hidden, after_due_date, after_published",
            ]
        );
        // A misspelt field of the table is a syntax error, as elsewhere.
        let e = syntax_error(&format!("{SMALL}\n[gradescope]\noutput = \"md\"\n"));
        assert!(e.contains("output"), "{e}");
    }

    #[test]
    fn small_rubric_loads_with_defaults_resolved() {
        let r = parse(SMALL).unwrap();
        assert_eq!(r.lab, "lazy");
        assert_eq!(r.total, 10);
        let boot = r.session("boot").unwrap();
        assert_eq!(boot.timeout, Duration::from_secs(20));
        assert_eq!(boot.cpus, DEFAULT_CPUS);
        assert_eq!(boot.output_cap, DEFAULT_OUTPUT_CAP);
        assert!(!boot.has_cases());
        let ut = r.session("usertests").unwrap();
        assert_eq!(ut.timeout, Duration::from_secs(30));
        assert_eq!(ut.cpus, 2);
        assert_eq!(
            ut.cases,
            [
                Case {
                    name: "sbrkarg".into(),
                    timeout: Duration::from_secs(30)
                },
                Case {
                    name: "stacktest".into(),
                    timeout: Duration::from_secs(90)
                },
            ]
        );
        let scopes: Vec<_> = r.tests.iter().map(|t| t.scope.clone()).collect();
        assert_eq!(
            scopes,
            [
                Scope::Session,
                Scope::Case("sbrkarg".into()),
                Scope::AllCases
            ]
        );
        assert_eq!(r.tests[1].no_matches, ["^FAILED -- lost some free pages"]);
    }

    #[test]
    fn sealed_programs_are_validated() {
        assert!(parse(SMALL).unwrap().sealed_programs.is_empty());
        let sealed = |list: &str| {
            SMALL.replacen(
                "total = 10\n",
                &format!("total = 10\nsealed_programs = {list}\n"),
                1,
            )
        };
        let r = parse(&sealed(r#"["usertests"]"#)).unwrap();
        assert_eq!(r.sealed_programs, ["usertests"]);
        let ps = problems(&sealed(
            r#"["usertests", "usertests", "lazytests", "Bad", "abcdefghijklmn"]"#,
        ));
        assert_eq!(
            ps,
            [
                "`sealed_programs`: `usertests` is listed twice",
                "`sealed_programs`: `lazytests` is not the program of any session's command",
                "`sealed_programs`: `Bad`: a program name is 1 to 13 bytes of lowercase letters, digits, `_` and `-`",
                "`sealed_programs`: `abcdefghijklmn`: a program name is 1 to 13 bytes of lowercase letters, digits, `_` and `-`",
            ]
        );
        assert_eq!(program_word("  usertests -k x"), Some("usertests"));
        assert_eq!(program_word(" "), None);
    }

    #[test]
    fn snapshot_programs_must_each_be_the_one_command_of_some_session() {
        assert!(parse(SMALL).unwrap().snapshot_programs.is_empty());
        let listed = |list: &str, extra: &str| {
            SMALL.replacen(
                "total = 10\n",
                &format!("total = 10\nsnapshot_programs = {list}\n"),
                1,
            ) + extra
        };
        let r = parse(&listed(r#"["usertests"]"#, "")).unwrap();
        assert_eq!(r.snapshot_programs, ["usertests"]);
        let by_name = |name: &str| r.sessions.iter().find(|s| s.name == name).unwrap();
        assert_eq!(
            snapshot_program(by_name("usertests"), &r.snapshot_programs),
            Some("usertests")
        );
        assert_eq!(
            snapshot_program(by_name("boot"), &r.snapshot_programs),
            None
        );
        // A program run by a session of two commands only is not enough:
        // what the second command sees would depend on the first.
        let two = r#"
[[session]]
name = "two"
commands = ["lazytests", "echo done"]
"#;
        let ps = problems(&listed(
            r#"["usertests", "usertests", "lazytests", "nosuch"]"#,
            two,
        ));
        assert_eq!(
            ps,
            [
                "session `two` is not read by any test",
                "`snapshot_programs`: `usertests` is listed twice",
                "`snapshot_programs`: `lazytests` is not the program of any session with one command",
                "`snapshot_programs`: `nosuch` is not the program of any session with one command",
            ]
        );
    }

    #[test]
    fn a_start_deadline_is_read_from_the_defaults_and_must_be_positive() {
        let with = |v: &str| {
            SMALL.replace(
                "[defaults]\n",
                &format!("[defaults]\nstart_deadline = \"{v}\"\n"),
            )
        };
        let r = parse(&with("500ms")).unwrap();
        assert_eq!(r.deadlines.start, Some(Duration::from_millis(500)));
        assert_eq!(parse(SMALL).unwrap().deadlines.start, None);
        assert_eq!(
            problems(&with("0s")),
            ["defaults: `start_deadline` must be more than 0s"]
        );
    }

    #[test]
    fn built_in_defaults_apply_without_a_defaults_table() {
        let r = parse(&SMALL.replace("[defaults]\ntimeout = \"30s\"\n", "")).unwrap();
        assert_eq!(r.session("usertests").unwrap().timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn load_reads_a_file_and_names_it_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rubric.toml");
        std::fs::write(&path, SMALL).unwrap();
        assert_eq!(Rubric::load(&path).unwrap().tests.len(), 3);

        let missing = dir.path().join("missing.toml");
        let e = Rubric::load(&missing).unwrap_err();
        assert!(matches!(e, RubricError::Read { .. }));
        assert!(
            e.to_string()
                .starts_with(&format!("read rubric {}: ", missing.display()))
        );

        std::fs::write(&path, SMALL.replace("total = 10", "total = 11")).unwrap();
        let e = Rubric::load(&path).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("validate rubric {}: ", path.display()))
        );
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = syntax_error("lab = \"lazy\"\ntitle = \n");
        assert!(e.starts_with("parse rubric rubric.toml: "), "{e}");
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn unknown_fields_are_rejected_everywhere() {
        for (from, to) in [
            ("total = 10", "total = 10\ncolour = 1"),
            ("[defaults]\n", "[defaults]\ncpu = 1\n"),
            ("timeout = \"20s\"", "timeout = \"20s\"\ncommand = \"x\""),
            ("points = 2", "points = 2\nmatches = ['x']"),
        ] {
            let e = syntax_error(&SMALL.replacen(from, to, 1));
            assert!(e.contains("unknown field"), "{e}");
        }
    }

    #[test]
    fn wrong_types_and_missing_fields_are_syntax_errors() {
        let e = syntax_error(&SMALL.replacen("points = 2", "points = -2", 1));
        assert!(e.contains("line"), "{e}");
        let e = syntax_error(&SMALL.replacen("timeout = \"20s\"", "timeout = \"soon\"", 1));
        assert!(e.contains("line"), "{e}");
        let e = syntax_error(&SMALL.replacen("commands = [\"echo hi\"]\n", "", 1));
        assert!(e.contains("missing field `commands`"), "{e}");
    }

    #[test]
    fn points_must_add_up_to_total() {
        assert_eq!(
            problem_after("total = 10", "total = 12"),
            "the tests' points add up to 10, not `total` = 12 (2 short)"
        );
        assert_eq!(
            problem_after("total = 10", "total = 7"),
            "the tests' points add up to 10, not `total` = 7 (3 over)"
        );
    }

    #[test]
    fn every_test_session_must_exist() {
        assert_eq!(
            problem_after("session = \"boot\"", "session = \"bot\""),
            "test `echo hi`: session `bot` does not exist (sessions: `boot`, `usertests`)"
        );
    }

    #[test]
    fn case_and_all_cases_fit_the_session() {
        assert_eq!(
            problem_after("case = \"sbrkarg\"", "case = \"nosuch\""),
            "test `usertests: sbrkarg`: `case = \"nosuch\"` is not one of session `usertests`'s cases"
        );
        assert_eq!(
            problem_after("case = \"sbrkarg\"\n", ""),
            "test `usertests: sbrkarg`: session `usertests` runs one VM per case: set `case = \"…\"` or `all_cases = true`"
        );
        assert_eq!(
            problem_after("case = \"sbrkarg\"", "case = \"sbrkarg\"\nall_cases = true"),
            "test `usertests: sbrkarg`: set `case` or `all_cases`, not both"
        );
        assert_eq!(
            problem_after("session = \"boot\"", "session = \"boot\"\ncase = \"x\""),
            "test `echo hi`: `case` is set, but session `boot` has no `cases`"
        );
        assert_eq!(
            problem_after("session = \"boot\"", "session = \"boot\"\nall_cases = true"),
            "test `echo hi`: `all_cases` is set, but session `boot` has no `cases`"
        );
    }

    #[test]
    fn case_sessions_must_use_case_in_commands() {
        assert_eq!(
            problem_after("usertests -k {token} {case}", "usertests -k {token}"),
            "session `usertests`: runs one VM per case, but no command uses `{case}`, so every VM would run the same thing"
        );
    }

    #[test]
    fn cases_are_checked() {
        assert_eq!(
            problem_after("cases = [\"sbrkarg\", \"stacktest\"]", "cases = []"),
            "session `usertests`: `cases` is empty (leave it out for a single VM)"
        );
        let ps = problems(&SMALL.replacen(
            "cases = [\"sbrkarg\", \"stacktest\"]",
            "cases = [\"sbrkarg\", \"stacktest\", \"sbrkarg\", \"two words\"]",
            1,
        ));
        assert_eq!(
            ps,
            [
                "session `usertests`: case `sbrkarg` is listed twice",
                "session `usertests`: case `two words`: a case name may only use letters, digits, `_`, `-` and `.`",
            ]
        );
        assert_eq!(
            problem_after("stacktest = \"90s\"", "stacktst = \"90s\""),
            "session `usertests`: `case_timeouts` names `stacktst`, which is not one of its `cases`"
        );
        assert_eq!(
            problem_after("stacktest = \"90s\"", "stacktest = \"0s\""),
            "session `usertests`: `case_timeouts.stacktest` must be more than 0s"
        );
        assert_eq!(
            problem_after(
                "timeout = \"20s\"",
                "timeout = \"20s\"\ncase_timeouts = { x = \"1s\" }"
            ),
            "session `boot`: `case_timeouts` is set but there are no `cases`"
        );
    }

    #[test]
    fn names_must_be_unique_and_usable() {
        let dup_test = SMALL.replacen("name = \"usertests: all tests\"", "name = \"echo hi\"", 1);
        assert!(problems(&dup_test).contains(&"test `echo hi` is defined twice".to_string()));
        let dup_session = format!("{SMALL}\n[[session]]\nname = \"boot\"\ncommands = [\"x\"]\n");
        assert_eq!(problems(&dup_session), ["session `boot` is defined twice"]);
        assert!(
            problems(&SMALL.replacen("name = \"boot\"\n", "name = \"bo ot\"\n", 1)).contains(
                &"session `bo ot`: a session name may only use letters, digits, `_`, `-` and `.`"
                    .to_string()
            )
        );
        assert!(
            problems(&SMALL.replacen("name = \"echo hi\"", "name = \" \"", 1))
                .contains(&"a test has an empty `name`".to_string())
        );
        assert_eq!(
            problem_after("lab = \"lazy\"", "lab = \"\""),
            "`lab` is empty"
        );
        assert_eq!(
            problem_after("title = \"Lazy page allocation\"", "title = \"\""),
            "`title` is empty"
        );
    }

    #[test]
    fn sessions_need_commands() {
        assert_eq!(
            problem_after("commands = [\"echo hi\"]", "commands = []"),
            "session `boot`: `commands` is empty"
        );
        assert_eq!(
            problem_after(
                "commands = [\"echo hi\"]",
                "commands = [\"echo hi\", \" \"]"
            ),
            "session `boot`: `commands[1]` is blank"
        );
        assert_eq!(
            problem_after(
                "commands = [\"echo hi\"]",
                "commands = [\"echo hi\\necho ho\"]"
            ),
            "session `boot`: `commands[0]` contains a line break"
        );
    }

    #[test]
    fn limits_must_be_positive() {
        assert_eq!(
            problem_after("timeout = \"20s\"", "timeout = \"0s\""),
            "session `boot`: `timeout` must be more than 0s"
        );
        assert_eq!(
            problem_after("timeout = \"30s\"", "timeout = \"0s\""),
            "defaults: `timeout` must be more than 0s"
        );
        assert_eq!(
            problem_after("cpus = 2", "cpus = 0"),
            "session `usertests`: `cpus` must be between 1 and 8, not 0"
        );
        assert_eq!(
            problem_after("cpus = 2", "cpus = 9"),
            "session `usertests`: `cpus` must be between 1 and 8, not 9"
        );
        assert_eq!(
            problem_after("cpus = 2", "output_cap = 0"),
            "session `usertests`: `output_cap` must be more than 0 bytes"
        );
    }

    #[test]
    fn regexes_must_compile() {
        let p = problem_after("match = ['^hi$']", "match = ['^hi($']");
        assert!(
            p.starts_with("test `echo hi`: `match[0]` is not a valid regex: "),
            "{p}"
        );
        let p = problem_after("no_match = ['^FAILED", "no_match = ['[^FAILED");
        assert!(
            p.starts_with("test `usertests: sbrkarg`: `no_match[0]` is not a valid regex: "),
            "{p}"
        );
        let p = problem_after("done = '^(ALL", "done = '^((ALL");
        assert!(
            p.starts_with("session `usertests`: `done` is not a valid regex: "),
            "{p}"
        );
    }

    #[test]
    fn tests_need_a_match_pattern() {
        assert_eq!(
            problem_after("match = ['^hi$']", "no_match = ['^bye$']"),
            "test `echo hi`: `match` is empty; without one the test would pass on a kernel that prints nothing"
        );
    }

    #[test]
    fn placeholders_are_checked() {
        assert_eq!(
            problem_after("match = ['^hi$']", "match = ['^hi {tokn}$']"),
            "test `echo hi`: `match[0]` uses unknown placeholder `{tokn}` (known: `{token}`, `{case}`)"
        );
        assert_eq!(
            problem_after("match = ['^hi$']", "match = ['^hi {case}$']"),
            "test `echo hi`: `match[0]` uses `{case}`, but there is no case here"
        );
        assert_eq!(
            problem_after("commands = [\"echo hi\"]", "commands = [\"echo {case}\"]"),
            "session `boot`: `commands[0]` uses `{case}`, but there is no case here"
        );
        // Regex braces that are not placeholders stay the regex's business.
        parse(&SMALL.replacen(
            "match = ['^hi$']",
            r"match = ['^h{1,2}i\{token\}\p{Greek}*\x{41}?$']",
            1,
        ))
        .unwrap();
    }

    #[test]
    fn unread_sessions_and_cases_are_rejected() {
        let unread = format!("{SMALL}\n[[session]]\nname = \"extra\"\ncommands = [\"x\"]\n");
        assert_eq!(
            problems(&unread),
            ["session `extra` is not read by any test"]
        );
        // Without the all-cases test, stacktest is read by nobody.
        let text = SMALL.replacen("all_cases = true", "case = \"sbrkarg\"", 1);
        assert_eq!(
            problems(&text),
            ["session `usertests`: no test reads case(s) `stacktest`"]
        );
    }

    #[test]
    fn several_problems_are_listed_together() {
        let text = SMALL.replacen("total = 10", "total = 11", 1).replacen(
            "session = \"boot\"",
            "session = \"bot\"",
            1,
        );
        let e = parse(&text).unwrap_err();
        let RubricError::Invalid { problems, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(
            problems,
            &[
                "test `echo hi`: session `bot` does not exist (sessions: `boot`, `usertests`)",
                "the tests' points add up to 10, not `total` = 11 (1 short)",
            ]
        );
        assert!(
            e.to_string()
                .starts_with("validate rubric rubric.toml: 2 problems\n  - ")
        );
    }

    #[test]
    fn commands_substitute_as_is() {
        assert_eq!(
            command_text("usertests -k {token} {case}", "ab12", Some("sbrk.arg")),
            "usertests -k ab12 sbrk.arg"
        );
        // Unknown names and a missing case are left alone (validation
        // rejects them before this is ever called).
        assert_eq!(command_text("{x} {case}", "ab", None), "{x} {case}");
        assert_eq!(command_text("{token}{token}", "ab", None), "abab");
    }

    #[test]
    fn patterns_substitute_escaped() {
        assert_eq!(
            pattern_text(r"^test {case}: OK \[{token}\]$", "ab12", Some("a.b")),
            r"^test a\.b: OK \[ab12\]$"
        );
        // Tokens are hex, but escaping must not depend on that.
        assert_eq!(pattern_text(r"\[{token}\]", "a+b", None), r"\[a\+b\]");
        // Escaped braces and escape braces are not placeholders.
        assert_eq!(pattern_text(r"\{token\}", "ab", None), r"\{token\}");
        assert_eq!(pattern_text(r"\\{token}", "ab", None), r"\\ab");
        assert_eq!(pattern_text(r"\p{token}", "ab", None), r"\p{token}");
        assert_eq!(pattern_text(r"x{2}{token}", "ab", None), r"x{2}ab");
        let re = Regex::new(&pattern_text(r"^a{case}$", "t", Some("x+y"))).unwrap();
        assert!(re.is_match("ax+y"));
        assert!(!re.is_match("axxy"));
    }

    #[test]
    fn display_hides_the_token() {
        assert_eq!(
            pattern_display(r"^test {case}: OK \[{token}\]$", Some("sbrkarg")),
            r"^test sbrkarg: OK \[…\]$"
        );
    }

    /// The lazy lab's rubric, as shipped.
    pub(crate) fn lazy_rubric() -> Rubric {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("grading/lazy/rubric.toml");
        match Rubric::load(&path) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn lazy_rubric_is_valid() {
        let r = lazy_rubric();
        assert_eq!((r.lab.as_str(), r.total), ("lazy", 100));
        let names: Vec<_> = r.sessions.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["boot", "lazytests", "usertests"]);
        assert_eq!(r.sealed_programs, ["lazytests", "usertests"]);
        // MIT's grader had these two swapped.
        let find = |name: &str| r.tests.iter().find(|t| t.name == name).unwrap();
        assert!(find("lazy: map").matches[0].contains("lazy alloc"));
        assert!(find("lazy: unmap").matches[0].contains("lazy unmap"));
        assert!(find("lazy: out of memory").points > 0);
        assert_eq!(find("usertests: all tests").scope, Scope::AllCases);
        let ut = r.session("usertests").unwrap();
        let timeout = |c: &str| ut.cases.iter().find(|k| k.name == c).unwrap().timeout;
        assert_eq!(timeout("forkforkfork"), Duration::from_secs(120));
        assert_eq!(timeout("sbrkarg"), Duration::from_secs(60));
        // Every scored usertests case also fails on a leak.
        for t in r.tests.iter().filter(|t| t.session == "usertests") {
            assert_eq!(
                t.no_matches,
                ["^FAILED -- lost some free pages"],
                "{}",
                t.name
            );
        }
    }

    #[test]
    fn rubric_errors_snapshot() {
        let text = r#"
lab = "lazy"
title = "Lazy page allocation"
total = 20

[[session]]
name = "boot"
commands = ["echo hi"]
timeout = "0s"

[[session]]
name = "usertests"
cases = ["sbrkarg", "sbrkarg"]
commands = ["usertests -k {token}"]

[[test]]
name = "echo hi"
session = "boot"
points = 5
match = ['^hi($']

[[test]]
name = "usertests: sbrkarg"
session = "usertests"
points = 4
match = ['^test {case}: OK \[{tokn}\]$']

[[test]]
name = "lazy: map"
session = "lazytests"
points = 10
match = ['^test lazy alloc: OK$']
"#;
        insta::assert_snapshot!(parse(text).unwrap_err().to_string());
        insta::assert_snapshot!(
            "rubric_syntax_error",
            parse("lab = \"lazy\"\ntitle = \"x\"\ntotal = 1\n[[test]]\nname = \"a\"\npoints = 1\nsesion = \"boot\"\n")
                .unwrap_err()
                .to_string()
        );
    }
}
