//! Plans: a rubric expanded into the VMs of one grading run ([`Plan`]).
//!
//! A plan fixes what a [`Rubric`](crate::lab::rubric::Rubric) leaves open: the
//! per-run [`Token`], which tests run ([`TestFilter`]), and so which
//! sessions and cases need a VM. It yields one
//! [`SessionSpec`](crate::run::session::SessionSpec) per VM, with placeholders
//! filled in, and the compiled checks that `check` applies to the outcomes.
//! It lives apart from the rubric because a rubric is static data validated
//! once, while a plan exists per run and per filter.
//!
//! VM names are the session's name, or `session/case` for a session with
//! cases (`usertests/sbrkarg`): `check` finds each test's outcomes by them.
//!
//! A plan also holds the run's [`Sealing`]: the secret key that the image
//! writer puts into the rubric's sealed programs and the random names they
//! get on the image. Commands are typed with those names; everything shown
//! to people maps them back ([`Plan::mask`], [`Plan::unmask_names`]).

use std::collections::HashSet;
use std::fmt;

use seal::KEY_LEN;

use regex::Regex;

use crate::lab::rubric::{
    MAX_PROGRAM_NAME, Rubric, Scope, command_text, pattern_display, pattern_text, program_word,
    snapshot_program,
};
use crate::run::session::{FromSnapshot, SessionSpec};
use crate::run::snapshot::waiting_line;
use crate::shared::exit;

/// The per-run random token: typed on the command line of the test
/// programs, which append it to their verdict lines (` [TOKEN]`), so that a
/// kernel printing canned success lines does not score. Lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Random bytes in a fresh token: 64 bits is far beyond guessing, and
    /// keeps verdict lines short.
    const RANDOM_BYTES: usize = 8;
    /// Longest token the test programs accept.
    pub const MAX_LEN: usize = 64;

    /// A fresh token from the operating system's random source.
    pub fn random() -> Result<Token, PlanError> {
        let mut bytes = [0u8; Token::RANDOM_BYTES];
        getrandom::fill(&mut bytes).map_err(|cause| PlanError::Random { cause })?;
        Ok(Token(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// A given token (to reproduce a run, or in tests): 1 to
    /// [`Token::MAX_LEN`] lowercase hex digits.
    pub fn new(hex: &str) -> Result<Token, PlanError> {
        if hex.is_empty()
            || hex.len() > Token::MAX_LEN
            || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(PlanError::BadToken {
                token: hex.to_string(),
            });
        }
        Ok(Token(hex.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How one run seals its test programs: the secret key written into each
/// sealed program on the graded image (never typed, never shown), and the
/// random name each runs under there, so that neither the key nor the
/// program's usual name is visible on any command line.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealing {
    key: [u8; KEY_LEN],
    /// (real name, name on the image), in rubric order.
    names: Vec<(String, String)>,
}

impl fmt::Debug for Sealing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealing")
            .field("key", &"…")
            .field("names", &self.names)
            .finish()
    }
}

impl Sealing {
    /// Shortest random name.
    const MIN_NAME: usize = 6;

    /// A fresh key and fresh names for `programs` (real names), from the
    /// operating system's random source. The names are 6 to 13 lowercase
    /// letters, differ from each other and from every name in `taken` (the
    /// programs the rubric's commands run).
    pub fn random(programs: &[String], taken: &[&str]) -> Result<Sealing, PlanError> {
        let random =
            |buf: &mut [u8]| getrandom::fill(buf).map_err(|cause| PlanError::Random { cause });
        let mut key = [0u8; KEY_LEN];
        // A key with the marker's shape would read as "no key" in the
        // program (odds 2^-128, but cheap to rule out).
        loop {
            random(&mut key)?;
            if !seal::is_marker(&key) {
                break;
            }
        }
        let mut names: Vec<(String, String)> = Vec::new();
        for real in programs {
            let name = loop {
                let mut bytes = [0u8; 2 * MAX_PROGRAM_NAME + 1];
                random(&mut bytes)?;
                let len = Sealing::MIN_NAME
                    + usize::from(bytes[0]) % (MAX_PROGRAM_NAME - Sealing::MIN_NAME + 1);
                // Bytes below 234 = 9 * 26 map evenly onto the letters.
                let name: String = bytes[1..]
                    .iter()
                    .filter(|&&b| b < 234)
                    .take(len)
                    .map(|&b| char::from(b'a' + b % 26))
                    .collect();
                let clash = name.len() < len
                    || taken.contains(&name.as_str())
                    || programs.contains(&name)
                    || names.iter().any(|(_, n)| *n == name);
                if !clash {
                    break name;
                }
            };
            names.push((real.clone(), name));
        }
        Ok(Sealing { key, names })
    }

    /// A given key and names (to reproduce a run, or in tests).
    pub fn new(key: [u8; KEY_LEN], names: Vec<(String, String)>) -> Sealing {
        Sealing { key, names }
    }

    /// The bytes to write over each sealed program's key region.
    pub fn key_bytes(&self) -> &[u8; KEY_LEN] {
        &self.key
    }

    /// The MAC key the programs seal with.
    pub fn key(&self) -> seal::Key {
        seal::Key::from_bytes(&self.key)
    }

    /// (real name, name on the image) of every sealed program.
    pub fn names(&self) -> &[(String, String)] {
        &self.names
    }

    /// Whether `real` is a sealed program.
    pub fn is_sealed(&self, real: &str) -> bool {
        self.names.iter().any(|(r, _)| r == real)
    }

    /// The name the sealed program `real` has on the image.
    pub fn image_name(&self, real: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|(r, _)| r == real)
            .map(|(_, n)| n.as_str())
    }

    /// The real name of the program called `name` on the image, if it is a
    /// sealed one.
    pub fn real_name(&self, name: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|(_, n)| n == name)
            .map(|(r, _)| r.as_str())
    }

    /// `command` with its program word replaced by the image name, if it
    /// runs a sealed program.
    fn rename_command(&self, command: &str) -> String {
        match program_word(command).and_then(|w| self.image_name(w).map(|n| (w, n))) {
            Some((word, name)) => command.replacen(word, name, 1),
            None => command.to_string(),
        }
    }

    /// `text` with every image name, as a whole word, shown as the real
    /// name: what people read should say `usertests`, not this run's alias.
    pub fn unmask_names(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (real, name) in &self.names {
            out = replace_word(&out, name, real);
        }
        out
    }
}

/// `text` with each occurrence of `word` that is not part of a longer run
/// of letters, digits or `_` replaced by `with`.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + word.len()..].chars().next();
        let whole = !before.is_some_and(is_word) && !after.is_some_and(is_word);
        out.push_str(&rest[..i]);
        out.push_str(if whole { with } else { word });
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

/// Which tests to run (`--test PATTERN`, repeatable). A pattern containing
/// `*`, `?` or `[` is a glob over the whole test name (`usertests: sbrk*`);
/// any other pattern selects the tests whose names contain it (`sbrk`).
/// Both ignore case. Several patterns select every test any of them
/// selects; no pattern selects all tests.
#[derive(Clone, Debug, Default)]
pub struct TestFilter {
    patterns: Vec<(String, Matcher)>,
}

#[derive(Clone, Debug)]
enum Matcher {
    /// Lowercased.
    Substring(String),
    /// A whole test name, as the rubric spells it (`--failed`).
    Exact(String),
    Glob(globset::GlobMatcher),
}

impl TestFilter {
    /// Selects every test.
    pub fn all() -> TestFilter {
        TestFilter::default()
    }

    /// Selects the tests any of `patterns` matches.
    pub fn new(patterns: &[impl AsRef<str>]) -> Result<TestFilter, PlanError> {
        let mut compiled = Vec::new();
        for p in patterns {
            let p = p.as_ref();
            let matcher = if p.contains(['*', '?', '[']) {
                let glob = globset::GlobBuilder::new(p)
                    .case_insensitive(true)
                    .literal_separator(false)
                    .build()
                    .map_err(|cause| PlanError::BadGlob {
                        pattern: p.to_string(),
                        cause,
                    })?;
                Matcher::Glob(glob.compile_matcher())
            } else {
                Matcher::Substring(p.to_lowercase())
            };
            compiled.push((p.to_string(), matcher));
        }
        Ok(TestFilter { patterns: compiled })
    }

    /// Selects exactly the tests named `names` (as the rubric spells
    /// them): `usertests: copyin` does not select `usertests: copyinstr1`.
    pub fn exact(names: &[impl AsRef<str>]) -> TestFilter {
        TestFilter {
            patterns: names
                .iter()
                .map(|n| {
                    (
                        n.as_ref().to_string(),
                        Matcher::Exact(n.as_ref().to_string()),
                    )
                })
                .collect(),
        }
    }

    /// Whether the filter selects every test.
    pub fn is_all(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether the test named `name` is selected.
    pub fn selects(&self, name: &str) -> bool {
        self.is_all() || self.patterns.iter().any(|(_, m)| m.matches(name))
    }
}

impl Matcher {
    fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Substring(s) => name.to_lowercase().contains(s.as_str()),
            Matcher::Exact(s) => name == s,
            Matcher::Glob(g) => g.is_match(name),
        }
    }
}

/// The VMs and checks of one run.
#[derive(Clone, Debug)]
pub struct Plan {
    token: Token,
    sealing: Sealing,
    sessions: Vec<PlannedSession>,
    tests: Vec<PlannedTest>,
}

/// One VM to run.
#[derive(Clone, Debug)]
pub struct PlannedSession {
    /// What the session runner needs; `spec.name` is the VM's name.
    pub spec: SessionSpec,
    /// The rubric session it comes from.
    pub session: String,
    /// The case it runs, for a session with cases.
    pub case: Option<String>,
    /// The sealed programs its commands run (real names); empty if none.
    pub sealed: Vec<String>,
}

/// One selected test, compiled for this run's token.
#[derive(Clone, Debug)]
pub struct PlannedTest {
    pub name: String,
    pub points: u32,
    /// Whether the test must hold in every case's VM (`all_cases`); its
    /// checks are then one per case.
    pub all_cases: bool,
    /// One per VM the test reads; it passes iff every check does.
    pub checks: Vec<Check>,
}

/// What one test requires of one VM's output.
#[derive(Clone, Debug)]
pub struct Check {
    /// The VM's name.
    pub session: String,
    pub case: Option<String>,
    /// Each must match some output line.
    pub matches: Vec<Pattern>,
    /// None may match any output line.
    pub no_matches: Vec<Pattern>,
}

/// A compiled regex and how to show it to students.
#[derive(Clone, Debug)]
pub struct Pattern {
    pub regex: Regex,
    /// The rubric's regex with the case filled in and the token as `…`.
    pub display: String,
}

impl Plan {
    /// Expands `rubric` for one run: the tests `filter` selects, and the
    /// sessions and cases those tests read, in rubric order, with a fresh
    /// [`Sealing`] for the rubric's sealed programs.
    pub fn new(rubric: &Rubric, token: Token, filter: &TestFilter) -> Result<Plan, PlanError> {
        let taken: Vec<&str> = rubric
            .sessions
            .iter()
            .flat_map(|s| s.commands.iter().filter_map(|c| program_word(c)))
            .collect();
        let sealing = Sealing::random(&rubric.sealed_programs, &taken)?;
        Plan::with_sealing(rubric, token, sealing, filter)
    }

    /// [`Plan::new`] with a given sealing, which must name exactly the
    /// rubric's sealed programs (or none, to run them unsealed).
    pub fn with_sealing(
        rubric: &Rubric,
        token: Token,
        sealing: Sealing,
        filter: &TestFilter,
    ) -> Result<Plan, PlanError> {
        // A pattern that selects nothing is a typo, not an empty run.
        for (pattern, m) in &filter.patterns {
            if !rubric.tests.iter().any(|t| m.matches(&t.name)) {
                return Err(PlanError::NoTestMatches {
                    pattern: pattern.clone(),
                });
            }
        }
        let selected: Vec<_> = rubric
            .tests
            .iter()
            .filter(|t| filter.selects(&t.name))
            .collect();

        // (session, case) pairs the selected tests read; `None` for a
        // session without cases.
        let mut needed: HashSet<(&str, Option<&str>)> = HashSet::new();
        for t in &selected {
            let Some(session) = rubric.session(&t.session) else {
                continue;
            };
            match &t.scope {
                Scope::Session => {
                    needed.insert((&session.name, None));
                }
                Scope::Case(c) => {
                    needed.insert((&session.name, Some(c)));
                }
                Scope::AllCases => {
                    for c in &session.cases {
                        needed.insert((&session.name, Some(&c.name)));
                    }
                }
            }
        }

        let token_str = token.as_str();
        let mut sessions = Vec::new();
        for s in &rubric.sessions {
            let mut plan_vm = |case: Option<&str>, timeout| -> Result<(), PlanError> {
                // Per VM: `done` may use {case}.
                let done = match &s.done {
                    Some(template) => Some(
                        compile(&format!("session `{}`", s.name), template, token_str, case)?.regex,
                    ),
                    None => None,
                };
                let sealed: Vec<String> = s
                    .commands
                    .iter()
                    .filter_map(|c| program_word(c))
                    .filter(|w| sealing.is_sealed(w))
                    .map(str::to_string)
                    .collect();
                let commands: Vec<String> = s
                    .commands
                    .iter()
                    .map(|c| sealing.rename_command(&command_text(c, token_str, case)))
                    .collect();
                let snapshot = snapshot_program(s, &rubric.snapshot_programs).and_then(|real| {
                    let typed = commands.first()?;
                    let word = program_word(typed)?;
                    Some(FromSnapshot {
                        setup: format!("{word} -w"),
                        waiting: waiting_line(real),
                        rest: typed[typed.find(word)? + word.len()..].trim().to_string(),
                    })
                });
                sessions.push(PlannedSession {
                    spec: SessionSpec {
                        name: vm_name(&s.name, case),
                        commands,
                        done,
                        timeout,
                        cpus: s.cpus,
                        output_cap: s.output_cap,
                        // Set by the grading, which scales it with the
                        // machine's speed (see `deadline`).
                        start_timeout: None,
                        snapshot,
                    },
                    session: s.name.clone(),
                    case: case.map(str::to_string),
                    sealed,
                });
                Ok(())
            };
            if s.has_cases() {
                for c in &s.cases {
                    if needed.contains(&(s.name.as_str(), Some(c.name.as_str()))) {
                        plan_vm(Some(&c.name), c.timeout)?;
                    }
                }
            } else if needed.contains(&(s.name.as_str(), None)) {
                plan_vm(None, s.timeout)?;
            }
        }

        let mut tests = Vec::new();
        for t in selected {
            let owner = format!("test `{}`", t.name);
            let cases: Vec<Option<&str>> = match &t.scope {
                Scope::Session => vec![None],
                Scope::Case(c) => vec![Some(c.as_str())],
                Scope::AllCases => rubric
                    .session(&t.session)
                    .map(|s| s.cases.iter().map(|c| Some(c.name.as_str())).collect())
                    .unwrap_or_default(),
            };
            let mut checks = Vec::new();
            for case in cases {
                let compile_all = |templates: &[String]| {
                    templates
                        .iter()
                        .map(|p| compile(&owner, p, token_str, case))
                        .collect::<Result<Vec<_>, _>>()
                };
                checks.push(Check {
                    session: vm_name(&t.session, case),
                    case: case.map(str::to_string),
                    matches: compile_all(&t.matches)?,
                    no_matches: compile_all(&t.no_matches)?,
                });
            }
            tests.push(PlannedTest {
                name: t.name.clone(),
                points: t.points,
                all_cases: t.scope == Scope::AllCases,
                checks,
            });
        }

        Ok(Plan {
            token,
            sealing,
            sessions,
            tests,
        })
    }

    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The run's key and program names.
    pub fn sealing(&self) -> &Sealing {
        &self.sealing
    }

    /// `text` as people may read it: the token shown as `…` and the sealed
    /// programs under their real names.
    pub fn mask(&self, text: &str) -> String {
        let token = self.token.as_str();
        let text = self.sealing.unmask_names(text);
        if token.is_empty() {
            text
        } else {
            text.replace(token, "…")
        }
    }

    /// `text` with the sealed programs under their real names (the token
    /// kept: evidence lines are the console's own words).
    pub fn unmask_names(&self, text: &str) -> String {
        self.sealing.unmask_names(text)
    }

    /// The VMs to run, in rubric order.
    pub fn sessions(&self) -> &[PlannedSession] {
        &self.sessions
    }

    /// The specs to hand to the session runner.
    pub fn specs(&self) -> impl Iterator<Item = &SessionSpec> {
        self.sessions.iter().map(|s| &s.spec)
    }

    /// The VM named `name`.
    pub fn session(&self, name: &str) -> Option<&PlannedSession> {
        self.sessions.iter().find(|s| s.spec.name == name)
    }

    /// The selected tests, in rubric order.
    pub fn tests(&self) -> &[PlannedTest] {
        &self.tests
    }

    /// The points the selected tests are worth.
    pub fn max_score(&self) -> u32 {
        self.tests.iter().map(|t| t.points).sum()
    }
}

/// A VM's name: the session's, or `session/case`.
pub fn vm_name(session: &str, case: Option<&str>) -> String {
    match case {
        Some(c) => format!("{session}/{c}"),
        None => session.to_string(),
    }
}

fn compile(
    owner: &str,
    template: &str,
    token: &str,
    case: Option<&str>,
) -> Result<Pattern, PlanError> {
    // Validation compiled every template with a sample token; a real token
    // is hex like the sample, so this only fails on a rubric that was never
    // validated.
    let regex =
        Regex::new(&pattern_text(template, token, case)).map_err(|cause| PlanError::Pattern {
            owner: owner.to_string(),
            pattern: template.to_string(),
            cause,
        })?;
    Ok(Pattern {
        regex,
        display: pattern_display(template, case),
    })
}

/// Why a run could not be planned. Messages read after "failed to".
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("make a random token: {cause}")]
    Random { cause: getrandom::Error },
    #[error("use token `{token}`: a token is 1 to 64 lowercase hex digits")]
    BadToken { token: String },
    #[error("select tests: `{pattern}` is not a valid glob: {cause}")]
    BadGlob {
        pattern: String,
        cause: globset::Error,
    },
    #[error("select tests: no test matches `{pattern}`")]
    NoTestMatches { pattern: String },
    #[error("compile {owner}'s pattern `{pattern}`: {cause}")]
    Pattern {
        owner: String,
        pattern: String,
        cause: regex::Error,
    },
}

impl PlanError {
    /// The exit code of `xvlab` for this error (see exit.rs): a `--test`
    /// pattern that selects nothing is a wrong command line.
    pub fn exit_code(&self) -> u8 {
        match self {
            PlanError::NoTestMatches { .. } => exit::USAGE,
            _ => exit::FAILURE,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The unit tests' rubric (`check`'s), with what plan alone cares
    /// about: a case whose name needs escaping in a regex, a per-case
    /// `done`, and session settings other than the defaults.
    fn rubric_text() -> String {
        let text = crate::check::tests::RUBRIC
            .replacen(
                r#"cases = ["sbrkarg", "stacktest"]"#,
                r#"cases = ["sbrkarg", "stacktest", "a.b"]"#,
                1,
            )
            .replacen(
                r#"case_timeouts = { stacktest = "90s" }"#,
                "case_timeouts = { stacktest = \"90s\" }\n\
                 done = '^test {case}: (OK|FAILED) \\[{token}\\]$'\n\
                 cpus = 3\n\
                 output_cap = 4096",
                1,
            );
        assert!(
            text.contains("a.b") && text.contains("cpus = 3"),
            "the fixture changed"
        );
        text
    }

    fn rubric() -> Rubric {
        Rubric::parse(&rubric_text(), "rubric.toml").unwrap()
    }

    fn token() -> Token {
        Token::new("00ff00ff").unwrap()
    }

    fn plan(filter: &[&str]) -> Result<Plan, PlanError> {
        Plan::new(&rubric(), token(), &TestFilter::new(filter)?)
    }

    fn vm_names(p: &Plan) -> Vec<&str> {
        p.specs().map(|s| s.name.as_str()).collect()
    }

    fn test_names(p: &Plan) -> Vec<&str> {
        p.tests().iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn random_tokens_are_hex_and_differ() {
        let a = Token::random().unwrap();
        let b = Token::random().unwrap();
        assert_eq!(a.as_str().len(), 16);
        assert!(Token::new(a.as_str()).is_ok());
        assert_ne!(a, b);
    }

    #[test]
    fn tokens_must_be_lowercase_hex() {
        for bad in ["", "xyz", "ABCD", "ab cd", &"a".repeat(65)] {
            let e = Token::new(bad).unwrap_err();
            assert!(matches!(e, PlanError::BadToken { .. }), "{bad:?}");
        }
        assert_eq!(Token::new("0a").unwrap().to_string(), "0a");
    }

    #[test]
    fn full_plan_expands_every_session_and_case() {
        let p = plan(&[]).unwrap();
        assert_eq!(
            vm_names(&p),
            [
                "boot",
                "lazytests",
                "usertests/sbrkarg",
                "usertests/stacktest",
                "usertests/a.b"
            ]
        );
        assert_eq!(p.max_score(), 29);
        assert_eq!(p.token().as_str(), "00ff00ff");
    }

    #[test]
    fn specs_have_placeholders_and_settings_resolved() {
        let p = plan(&[]).unwrap();
        let boot = &p.session("boot").unwrap().spec;
        assert_eq!(boot.commands, ["echo hi 00ff00ff"]);
        assert_eq!(boot.timeout, Duration::from_secs(20));
        assert_eq!(boot.cpus, 1);
        assert!(boot.done.is_none());

        let lt = &p.session("lazytests").unwrap().spec;
        let done = lt.done.as_ref().unwrap();
        assert!(done.is_match("ALL TESTS PASSED [00ff00ff]"));
        assert!(!done.is_match("ALL TESTS PASSED [deadbeef]"));

        let st = p.session("usertests/stacktest").unwrap();
        assert_eq!(st.session, "usertests");
        assert_eq!(st.case.as_deref(), Some("stacktest"));
        assert_eq!(st.spec.commands, ["usertests -k 00ff00ff stacktest"]);
        assert_eq!(st.spec.timeout, Duration::from_secs(90));
        assert_eq!(st.spec.cpus, 3);
        assert_eq!(st.spec.output_cap, 4096);
        // `done` is per case when it uses {case}.
        let done = st.spec.done.as_ref().unwrap();
        assert!(done.is_match("test stacktest: FAILED [00ff00ff]"));
        assert!(!done.is_match("test sbrkarg: FAILED [00ff00ff]"));
        assert_eq!(
            p.session("usertests/sbrkarg").unwrap().spec.timeout,
            Duration::from_secs(60)
        );
    }

    #[test]
    fn checks_are_compiled_per_case_with_escaping() {
        let p = plan(&[]).unwrap();
        let all = p
            .tests()
            .iter()
            .find(|t| t.name == "usertests: all tests")
            .unwrap();
        assert!(all.all_cases);
        let sessions: Vec<_> = all.checks.iter().map(|c| c.session.as_str()).collect();
        assert_eq!(
            sessions,
            ["usertests/sbrkarg", "usertests/stacktest", "usertests/a.b"]
        );
        let ab = &all.checks[2].matches[0];
        assert!(ab.regex.is_match("test a.b: OK [00ff00ff]"));
        assert!(!ab.regex.is_match("test axb: OK [00ff00ff]"));
        assert_eq!(ab.display, r"^test a\.b: OK \[…\]$");

        let sbrkarg = &p.tests()[3];
        assert!(!sbrkarg.all_cases);
        assert_eq!(sbrkarg.checks.len(), 1);
        assert_eq!(sbrkarg.checks[0].case.as_deref(), Some("sbrkarg"));
        assert_eq!(sbrkarg.checks[0].no_matches.len(), 1);
    }

    #[test]
    fn filter_by_substring_selects_only_needed_vms() {
        let p = plan(&["SBRKARG"]).unwrap();
        assert_eq!(test_names(&p), ["usertests: sbrkarg"]);
        assert_eq!(vm_names(&p), ["usertests/sbrkarg"]);
        assert_eq!(p.max_score(), 4);

        let p = plan(&["echo", "lazy:"]).unwrap();
        assert_eq!(test_names(&p), ["echo hi", "lazy: map", "lazy: unmap"]);
        assert_eq!(vm_names(&p), ["boot", "lazytests"]);
    }

    #[test]
    fn filter_by_glob_matches_whole_names() {
        let p = plan(&["usertests: s*"]).unwrap();
        assert_eq!(
            test_names(&p),
            ["usertests: sbrkarg", "usertests: stacktest"]
        );
        assert_eq!(vm_names(&p), ["usertests/sbrkarg", "usertests/stacktest"]);
        // A glob is anchored: `sbrk*` is not a prefix of any name.
        assert!(matches!(
            plan(&["sbrk*"]).unwrap_err(),
            PlanError::NoTestMatches { .. }
        ));
    }

    #[test]
    fn all_cases_tests_need_every_case() {
        let p = plan(&["all tests"]).unwrap();
        assert_eq!(
            vm_names(&p),
            ["usertests/sbrkarg", "usertests/stacktest", "usertests/a.b"]
        );
    }

    #[test]
    fn filter_errors_are_reported() {
        let e = plan(&["echo", "nosuch"]).unwrap_err();
        assert_eq!(e.to_string(), "select tests: no test matches `nosuch`");
        let e = plan(&["[oops"]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("select tests: `[oops` is not a valid glob: "),
            "{e}"
        );
    }

    #[test]
    fn empty_filter_selects_all() {
        let f = TestFilter::new(&[] as &[&str]).unwrap();
        assert!(f.is_all());
        assert!(f.selects("anything"));
        assert!(TestFilter::all().selects("x"));
    }

    fn sealed_plan() -> Plan {
        let text = rubric_text().replacen(
            "total = 29\n",
            "total = 29\nsealed_programs = [\"usertests\"]\n",
            1,
        );
        let rubric = Rubric::parse(&text, "rubric.toml").unwrap();
        Plan::new(&rubric, token(), &TestFilter::all()).unwrap()
    }

    #[test]
    fn sealed_programs_run_under_random_names() {
        let p = sealed_plan();
        let name = p.sealing().image_name("usertests").unwrap().to_string();
        assert!((6..=13).contains(&name.len()), "{name}");
        assert!(name.bytes().all(|b| b.is_ascii_lowercase()), "{name}");
        assert_eq!(p.sealing().real_name(&name), Some("usertests"));
        let st = p.session("usertests/stacktest").unwrap();
        assert_eq!(st.sealed, ["usertests"]);
        assert_eq!(st.spec.commands, [format!("{name} -k 00ff00ff stacktest")]);
        // Other sessions keep their commands and are not sealed.
        let lt = p.session("lazytests").unwrap();
        assert!(lt.sealed.is_empty());
        assert_eq!(lt.spec.commands, ["lazytests -k 00ff00ff"]);
        // What people read says `usertests`, without the token.
        assert_eq!(
            p.mask(&format!("$ {name} -k 00ff00ff stacktest; x{name}")),
            format!("$ usertests -k … stacktest; x{name}")
        );
        assert_eq!(
            p.unmask_names(&format!("exec {name} failed")),
            "exec usertests failed"
        );
    }

    #[test]
    fn sessions_of_a_snapshot_program_start_from_its_waiting_line_and_type_the_rest() {
        let text = rubric_text().replacen(
            "total = 29\n",
            "total = 29\nsealed_programs = [\"usertests\"]\nsnapshot_programs = [\"usertests\"]\n",
            1,
        );
        let rubric = Rubric::parse(&text, "rubric.toml").unwrap();
        let p = Plan::new(&rubric, token(), &TestFilter::all()).unwrap();
        let name = p.sealing().image_name("usertests").unwrap().to_string();
        let st = p.session("usertests/stacktest").unwrap();
        // The program runs under its name on the image; what it prints
        // names it by its real name, as every verdict does.
        assert_eq!(
            st.spec.snapshot,
            Some(FromSnapshot {
                setup: format!("{name} -w"),
                waiting: "usertests: waiting for arguments".to_string(),
                rest: "-k 00ff00ff stacktest".to_string(),
            })
        );
        // The booted VM's command is still the whole command.
        assert_eq!(st.spec.commands, [format!("{name} -k 00ff00ff stacktest")]);
        // Every case shares the setup, so one snapshot serves them all.
        let setups: std::collections::BTreeSet<_> = p
            .specs()
            .filter_map(|s| s.snapshot.as_ref())
            .map(|f| f.setup.clone())
            .collect();
        assert_eq!(setups.len(), 1);
        // Other programs boot.
        assert_eq!(p.session("lazytests").unwrap().spec.snapshot, None);
        assert_eq!(p.session("boot").unwrap().spec.snapshot, None);
        // Without the rubric's list, every VM boots.
        assert!(sealed_plan().specs().all(|s| s.snapshot.is_none()));
    }

    #[test]
    fn every_run_has_its_own_key_and_names() {
        let (a, b) = (sealed_plan(), sealed_plan());
        assert_ne!(a.sealing().key_bytes(), b.sealing().key_bytes());
        assert_ne!(a.sealing().names(), b.sealing().names());
        assert!(!seal::is_marker(a.sealing().key_bytes()));
        // The key never shows in debug output.
        assert!(format!("{:?}", a.sealing()).contains("key: \"…\""));
        // A plan of a rubric without sealed programs renames nothing.
        let p = plan(&[]).unwrap();
        assert!(p.sealing().names().is_empty());
        assert!(p.sessions().iter().all(|s| s.sealed.is_empty()));
    }

    #[test]
    fn random_names_avoid_taken_ones() {
        let programs = vec!["usertests".to_string(), "lazytests".to_string()];
        for _ in 0..50 {
            let s = Sealing::random(&programs, &["echo"]).unwrap();
            let (a, b) = (&s.names()[0].1, &s.names()[1].1);
            assert_ne!(a, b);
            assert!(![a, b].contains(&&"echo".to_string()));
        }
    }

    #[test]
    fn replace_word_leaves_longer_words_alone() {
        assert_eq!(
            replace_word("ab ab; xab abx ab", "ab", "Z"),
            "Z Z; xab abx Z"
        );
        assert_eq!(replace_word("", "ab", "Z"), "");
    }

    #[test]
    fn vm_names_join_session_and_case() {
        assert_eq!(vm_name("usertests", Some("sbrkarg")), "usertests/sbrkarg");
        assert_eq!(vm_name("boot", None), "boot");
    }
}
