//! Checks: a plan's tests applied to the outcomes of its sessions, giving
//! one [`TestResult`] per test, with a reason a student understands and the
//! console lines that show it.
//!
//! A test passes iff, in each VM it reads, every `match` regex matches some
//! output line and no `no_match` regex matches any. Only output counts:
//! lines the grader typed (and the shell echoed) never do. How a session
//! ended does not decide by itself: a kernel that printed `test lazy alloc:
//! OK` and then panicked in the next test has still passed the first.
//!
//! When a test fails, its reason is the most informative failure first: a
//! panic, timeout or output flood explains why expected lines are missing,
//! so it comes before them; an unexpected line (`FAILED -- lost some free
//! pages …`) is the direct cause of a failure, so it comes before missing
//! ones. Points are all or nothing. The per-run token is shown as `…` in
//! reasons (it changes every run) but kept in the evidence lines, which are
//! the console's own words.
//!
//! In a VM that runs a sealed program (the rubric's `sealed_programs`),
//! the output is first verified ([`verify`]): a line with a valid seal
//! counts with its seal removed, so the rubric's patterns read it as the
//! unsealed line; a line that carries the token or a seal but no valid seal
//! of the program's current run does not count. Such a line, a verdict
//! printed twice, a gap in a run's sealed lines, or the shell's `exec NAME
//! failed` for the program are [`Anomaly`]s: a real run of the program
//! cannot print them, so they fail every test of that VM, with the anomaly
//! as the reason, and the forged ones are the evidence
//! [`forgery_evidence`] collects for a human to review.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::run::plan::{Check, Plan, PlannedSession, PlannedTest};
use crate::run::session::{SessionEnd, SessionOutcome, Waiting};

/// Console lines kept as evidence of a failure.
pub const EVIDENCE_LINES: usize = 15;

/// Failing cases of an `all_cases` test named in its reason and details;
/// more are counted.
const CASES_SHOWN: usize = 8;

/// Why every test fails when the submission does not compile.
pub const NOT_BUILT: &str = "the kernel did not build";

/// Why a test has no verdict after Ctrl-C.
pub const NOT_RUN: &str = "not run: the grading was interrupted";

/// The verdict on one test.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TestResult {
    pub name: String,
    /// Points the test is worth.
    pub max_score: u32,
    /// VM time of the sessions the test read (summed, for `all_cases`).
    pub duration: Duration,
    /// `None` iff the test passed.
    pub failure: Option<Failure>,
    /// The grading was interrupted before every VM the test reads ran to
    /// its end: the test has no verdict (it scores nothing, and reports say
    /// "not run", not "failed"). `failure` then says so.
    pub not_run: bool,
    /// The test passes only if every case of its session does (the
    /// rubric's `all_cases`): its failure repeats other tests' failures.
    pub all_cases: bool,
}

/// Why a test failed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    /// The most informative failure, in one line.
    pub reason: String,
    /// The other failures, one line each, most informative first.
    pub details: Vec<String>,
    /// The end of the console transcript that shows it.
    pub evidence: Option<Evidence>,
    /// Why the test program itself says it failed: its own line before
    /// its `test NAME: FAILED` verdict (`lazy alloc: sbrk(1 GiB) failed:
    /// …`), token hidden; `None` when it printed no verdict.
    pub said: Option<String>,
}

impl Failure {
    /// The failure in one line of words, for a student to read first: what
    /// the test program said, else what ended the session or what was
    /// missing ([`Failure::reason`] puts a panic or a deadline first).
    pub fn in_words(&self) -> &str {
        self.said.as_deref().unwrap_or(&self.reason)
    }
}

/// The last lines of one VM's console.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Evidence {
    /// The VM's name (`usertests/sbrkarg`).
    pub session: String,
    /// Input and output lines, as normalised; empty if it printed nothing.
    pub lines: Vec<String>,
}

impl TestResult {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// All or nothing.
    pub fn score(&self) -> u32 {
        if self.passed() { self.max_score } else { 0 }
    }
}

/// Checks every test of `plan` against the outcomes of its sessions
/// (matched by VM name). A session without an outcome fails the tests that
/// read it.
pub fn evaluate(plan: &Plan, outcomes: &[SessionOutcome]) -> Vec<TestResult> {
    let by_name: HashMap<&str, &SessionOutcome> =
        outcomes.iter().map(|o| (o.name.as_str(), o)).collect();
    plan.tests()
        .iter()
        .map(|t| evaluate_with(plan, t, &by_name))
        .collect()
}

/// Checks one test of `plan`, e.g. to report progress as soon as the
/// sessions it reads (`test.checks[..].session`) have finished.
pub fn evaluate_test(plan: &Plan, test: &PlannedTest, outcomes: &[SessionOutcome]) -> TestResult {
    let by_name: HashMap<&str, &SessionOutcome> =
        outcomes.iter().map(|o| (o.name.as_str(), o)).collect();
    evaluate_with(plan, test, &by_name)
}

/// Every test of `plan` failed because the kernel did not build (the
/// report carries the compiler's errors).
pub fn not_built(plan: &Plan) -> Vec<TestResult> {
    all_failed(plan, NOT_BUILT)
}

/// Every planned test, failed for the same `reason` without a VM having
/// run (the submission was refused, did not build, or the grading machine
/// failed). Failed, not "not run": the reason is the verdict.
pub fn all_failed(plan: &Plan, reason: &str) -> Vec<TestResult> {
    all_with(plan, reason, false)
}

/// Every planned test without a verdict: the grading was interrupted
/// before any VM ran.
pub fn interrupted(plan: &Plan) -> Vec<TestResult> {
    all_with(plan, NOT_RUN, true)
}

fn all_with(plan: &Plan, reason: &str, not_run: bool) -> Vec<TestResult> {
    plan.tests()
        .iter()
        .map(|t| unchecked(t, reason, not_run))
        .collect()
}

/// `test`, failed for `reason` without looking at any VM.
fn unchecked(test: &PlannedTest, reason: &str, not_run: bool) -> TestResult {
    TestResult {
        name: test.name.clone(),
        max_score: test.points,
        duration: Duration::ZERO,
        failure: Some(Failure {
            reason: reason.to_string(),
            details: Vec::new(),
            evidence: None,
            said: None,
        }),
        not_run,
        all_cases: test.all_cases,
    }
}

fn evaluate_with(
    plan: &Plan,
    test: &PlannedTest,
    outcomes: &HashMap<&str, &SessionOutcome>,
) -> TestResult {
    // A VM stopped by Ctrl-C (or never started because of it) leaves the
    // test without a verdict.
    let not_run = test.checks.iter().any(|c| {
        outcomes
            .get(c.session.as_str())
            .is_some_and(|o| o.end == SessionEnd::Cancelled)
    });
    if not_run {
        return unchecked(test, NOT_RUN, true);
    }
    let mut duration = Duration::ZERO;
    let mut failed: Vec<(&Check, Failure)> = Vec::new();
    for check in &test.checks {
        let outcome = outcomes.get(check.session.as_str()).copied();
        if let Some(o) = outcome {
            duration += o.duration;
        }
        if let Some(f) = evaluate_check(plan, check, outcome) {
            failed.push((check, f));
        }
    }
    let failure = if test.all_cases {
        summarise_cases(failed, test.checks.len())
    } else {
        failed.into_iter().next().map(|(_, f)| f)
    };
    TestResult {
        name: test.name.clone(),
        max_score: test.points,
        duration,
        failure,
        not_run: false,
        all_cases: test.all_cases,
    }
}

/// One failure for an `all_cases` test from its failing cases' failures.
fn summarise_cases(failed: Vec<(&Check, Failure)>, cases: usize) -> Option<Failure> {
    let first_evidence = failed.first()?.1.evidence.clone();
    let name = |c: &Check| c.case.clone().unwrap_or_else(|| c.session.clone());
    let shown: Vec<String> = failed
        .iter()
        .take(CASES_SHOWN)
        .map(|(c, _)| name(c))
        .collect();
    let reason = if failed.len() <= CASES_SHOWN {
        format!("failed in cases: {}", shown.join(", "))
    } else {
        format!(
            "failed in {} of {cases} cases: {} and {} more",
            failed.len(),
            shown.join(", "),
            failed.len() - CASES_SHOWN
        )
    };
    let details = failed
        .iter()
        .take(CASES_SHOWN)
        .map(|(c, f)| format!("{}: {}", name(c), f.reason))
        .collect();
    Some(Failure {
        reason,
        details,
        evidence: first_evidence,
        // Which cases failed says more here than one case's own reason.
        said: None,
    })
}

/// `None` if the check holds in `outcome`.
fn evaluate_check(plan: &Plan, check: &Check, outcome: Option<&SessionOutcome>) -> Option<Failure> {
    let Some(outcome) = outcome else {
        return Some(Failure {
            reason: format!("session `{}` did not run", check.session),
            details: Vec::new(),
            evidence: None,
            said: None,
        });
    };
    let token = plan.token().as_str();
    let verified = plan
        .session(&check.session)
        .filter(|s| !s.sealed.is_empty())
        .map(|s| verify(plan, s, outcome));
    let output: Vec<&str> = match &verified {
        Some(v) => v.output.iter().map(String::as_str).collect(),
        None => outcome.transcript.output().collect(),
    };
    let anomalies: Vec<String> = verified
        .as_ref()
        .map(|v| v.anomalies.iter().map(|a| a.message.clone()).collect())
        .unwrap_or_default();

    let missing: Vec<String> = check
        .matches
        .iter()
        .filter(|p| !output.iter().any(|l| p.regex.is_match(l)))
        .map(|p| format!("missing a line matching `{}`", p.display))
        .collect();
    let mut unexpected: Vec<String> = Vec::new();
    for p in &check.no_matches {
        if let Some(line) = output.iter().find(|l| p.regex.is_match(l)) {
            let msg = format!("unexpected line `{}`", plan.mask(line));
            if !unexpected.contains(&msg) {
                unexpected.push(msg);
            }
        }
    }
    if missing.is_empty() && unexpected.is_empty() && anomalies.is_empty() {
        return None;
    }

    let end = describe_end(&outcome.end, token).map(|e| plan.unmask_names(&e));
    // A VM that ended while an earlier test of it ran never ran this one:
    // its reason is that, not the other test's own failure line.
    let not_reached = match &end {
        Some(e) if !missing.is_empty() => earlier_test(check, &output)
            .map(|t| format!("not run: the VM stopped during the earlier test `{t}`: {e}")),
        _ => None,
    };
    // What a real run cannot print says more than anything it explains.
    let mut failures = anomalies;
    failures.extend(not_reached.clone());
    // An abnormal end explains missing lines; it only adds context when
    // nothing is missing.
    let end_first = !missing.is_empty() && not_reached.is_none();
    if end_first && let Some(e) = &end {
        failures.push(e.clone());
    }
    let lines: Vec<String> = evidence_lines(check, outcome)
        .iter()
        .map(|l| plan.unmask_names(l))
        .collect();
    let said = not_reached
        .is_none()
        .then(|| own_failure_line(&lines).map(|l| hide_token(l, token)))
        .flatten();
    failures.extend(unexpected);
    // A program that said nothing may not have run at all: the kernel
    // killing it (or the shell's child before it) is then what happened.
    if said.is_none() && !missing.is_empty() && end.is_none() {
        failures.extend(kernel_kill(&lines));
    }
    failures.extend(missing);
    if !end_first && let Some(e) = end {
        failures.push(e);
    }

    let mut failures = failures.into_iter();
    Some(Failure {
        reason: failures.next().unwrap_or_default(),
        details: failures.collect(),
        said,
        evidence: Some(Evidence {
            session: outcome.name.clone(),
            lines,
        }),
    })
}

/// Sealed lines a run may skip before its next valid one is still found
/// (and the gap reported): more than any honest console loses.
const SEAL_WINDOW: u32 = 64;

/// A VM's output once its seals are checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    /// The output lines that count: unsealed lines as printed, sealed ones
    /// without their seal; forged ones are left out.
    pub output: Vec<String>,
    /// What a real run of the sealed program cannot print, in console
    /// order.
    pub anomalies: Vec<Anomaly>,
}

/// Something in a sealed VM's output that a real run of its test program
/// would not print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// For people: the token hidden, programs under their real names.
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnomalyKind {
    /// The shell could not run the program (a broken kernel can cause
    /// this honestly, so it is not forgery evidence by itself).
    NotRun,
    /// A line the program did not print as it reads: forgery evidence.
    Forged,
}

/// Verifies the output of the sealed VM `session` (see the module docs).
pub fn verify(plan: &Plan, session: &PlannedSession, outcome: &SessionOutcome) -> Verified {
    struct Run {
        nonce: u64,
        /// Position of the next sealed line.
        next: u32,
    }
    let key = plan.sealing().key();
    let token_mark = format!("[{}]", plan.token());
    let mut runs: Vec<Run> = Vec::new();
    let mut verdicts: HashSet<String> = HashSet::new();
    // Lines with a seal-shaped ending that failed to verify since the last
    // one that did: each may be a line of the run whose text was changed,
    // which already is the anomaly, not also a gap.
    let mut bad_seals: u32 = 0;
    let mut v = Verified::default();
    let forged = |v: &mut Verified, message: String| {
        v.anomalies.push(Anomaly {
            kind: AnomalyKind::Forged,
            message,
        });
    };
    for line in outcome.transcript.output() {
        let shown = plan.mask(line);
        let sealed = seal::split(line);
        if let Some((text, mac)) = sealed
            && let Some((program, nonce)) = seal::parse_start(text)
            && session.sealed.iter().any(|p| p == program)
        {
            if key.seal(nonce, 0, text.as_bytes()) != mac {
                forged(
                    &mut v,
                    format!("forged start line: `{shown}` has no valid seal"),
                );
            } else if runs.iter().any(|r| r.nonce == nonce) {
                forged(
                    &mut v,
                    format!("forged start line: `{shown}` was printed twice"),
                );
            } else {
                runs.push(Run { nonce, next: 1 });
                v.output.push(text.to_string());
            }
            continue;
        }
        if let Some((text, mac)) = sealed {
            // The latest run first: that is the one printing.
            let found = runs.iter_mut().rev().find_map(|r| {
                (r.next..r.next.saturating_add(SEAL_WINDOW))
                    .find(|&seq| key.seal(r.nonce, seq, text.as_bytes()) == mac)
                    .map(|seq| (r, seq))
            });
            if let Some((run, seq)) = found {
                if seq - run.next > bad_seals {
                    forged(
                        &mut v,
                        format!(
                            "forged output: {} sealed line(s) of the test program are missing before `{}`",
                            seq - run.next - bad_seals,
                            plan.mask(text)
                        ),
                    );
                }
                run.next = seq + 1;
                bad_seals = 0;
                if verdicts.insert(text.to_string()) {
                    v.output.push(text.to_string());
                } else {
                    forged(
                        &mut v,
                        format!("forged verdict: `{}` appears twice", plan.mask(text)),
                    );
                }
                continue;
            }
        }
        if sealed.is_some() {
            bad_seals = bad_seals.saturating_add(1);
        }
        if sealed.is_some() || line.contains(&token_mark) {
            let why = if runs.is_empty() {
                "came before the test program's sealed start line"
            } else {
                "has no valid seal"
            };
            forged(&mut v, format!("forged verdict: line `{shown}` {why}"));
            continue;
        }
        if let Some(program) = exec_failed(line)
            && let Some(real) = plan.sealing().real_name(program).or_else(|| {
                session
                    .sealed
                    .iter()
                    .find(|p| *p == program)
                    .map(String::as_str)
            })
        {
            v.anomalies.push(Anomaly {
                kind: AnomalyKind::NotRun,
                message: format!("the test program did not run: `exec {real} failed`"),
            });
        }
        v.output.push(line.to_string());
    }
    v
}

/// The program of the shell's `exec PROGRAM failed` (without a leading
/// `/`).
fn exec_failed(line: &str) -> Option<&str> {
    let program = line.strip_prefix("exec ")?.strip_suffix(" failed")?;
    let program = program.strip_prefix('/').unwrap_or(program);
    (!program.is_empty() && !program.contains(' ')).then_some(program)
}

/// The forgery evidence in `outcomes`, one line each (`VM: what`), for a
/// report's list of things a person should review: lines in sealed VMs
/// that their test program cannot have printed.
pub fn forgery_evidence(plan: &Plan, outcomes: &[SessionOutcome]) -> Vec<String> {
    let mut evidence = Vec::new();
    for outcome in outcomes {
        let Some(session) = plan.session(&outcome.name).filter(|s| !s.sealed.is_empty()) else {
            continue;
        };
        for a in verify(plan, session, outcome).anomalies {
            let line = format!("{}: {}", outcome.name, a.message);
            if a.kind == AnomalyKind::Forged && !evidence.contains(&line) {
                evidence.push(line);
            }
        }
    }
    evidence
}

/// The console lines that best show why a check failed. When the session
/// completed and a line is missing, the lines leading up to the output line
/// most like the missing one (`test sbrkarg: FAILED` for a missing
/// `test sbrkarg: OK`), where the test programs print their reasons;
/// otherwise (a panic, a timeout, nothing alike) the last lines.
///
/// The lines start no earlier than the command typed last before them
/// (no boot banner, no earlier command's output), and the seals of sealed
/// lines and the nonces of start lines are left out ([`seal::strip_all`]): they
/// are for the grader, not for people.
fn evidence_lines(check: &Check, outcome: &SessionOutcome) -> Vec<String> {
    use crate::run::transcript::LineKind;
    let lines = outcome.transcript.lines();
    // Lines up to `end` (inclusive) since the command typed before it.
    let since_command = |end: usize| -> Vec<String> {
        let window = (end + 1).saturating_sub(EVIDENCE_LINES);
        let typed = lines[..=end]
            .iter()
            .rposition(|l| l.kind == LineKind::Input)
            .unwrap_or(0);
        lines[window.max(typed)..=end]
            .iter()
            .map(|l| seal::strip_all(&l.text).to_string())
            .collect()
    };
    let tail = || {
        if lines.is_empty() {
            Vec::new()
        } else {
            since_command(lines.len() - 1)
        }
    };
    if outcome.end != SessionEnd::Completed {
        return tail();
    }
    let output = || {
        lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.kind == LineKind::Output)
    };
    let mut best: Option<(usize, usize)> = None; // (common prefix, line index)
    for p in check
        .matches
        .iter()
        .filter(|p| !output().any(|(_, l)| p.regex.is_match(&l.text)))
    {
        let prefix = literal_prefix(p.regex.as_str());
        for (i, l) in output() {
            let common = prefix
                .chars()
                .zip(l.text.chars())
                .take_while(|(a, b)| a == b)
                .count();
            if common >= MIN_EVIDENCE_PREFIX && best.is_none_or(|(c, _)| common >= c) {
                best = Some((common, i));
            }
        }
    }
    match best {
        Some((_, end)) => since_command(end),
        None => tail(),
    }
}

/// The test program's own reason in `evidence`, for its last `test NAME:
/// FAILED` verdict. The test programs say why a test failed in a line
/// `NAME: why` before the verdict (`lazy alloc: sbrk(1 GiB) failed: …`,
/// `sbrkarg: write(fd, sbrk'd page, 4096) returned -1`); the first such
/// line since the previous verdict is the cause, later ones its
/// consequences (`sbrkhigh: high break: child exited with status 1` after
/// the child said what went wrong). Kernel lines in between (`usertrap():
/// …` and its indented continuation) are not the program's. Without such a
/// line, the last line before the verdict that is not the runner's
/// (`running test …`, a timing line, a verdict, a start line, a `note: `,
/// the typed command) nor the kernel's.
fn own_failure_line(evidence: &[String]) -> Option<&str> {
    let verdict = evidence
        .iter()
        .rposition(|l| l.starts_with("test ") && l.contains(": FAILED"))?;
    let name = verdict_name(&evidence[verdict])?;
    let own = format!("{name}: ");
    let since = evidence[..verdict]
        .iter()
        .rposition(|l| l.starts_with("$ ") || l.starts_with("test "))
        .map_or(0, |i| i + 1);
    let before = &evidence[since..verdict];
    if let Some(line) = before.iter().find(|l| l.starts_with(&own)) {
        return Some(line.trim_end());
    }
    before
        .iter()
        .rev()
        .take_while(|l| !l.starts_with("running test "))
        .filter(|l| {
            !l.starts_with(char::is_whitespace)
                && !l.starts_with(KILL_LINE)
                && !l.starts_with("note: ")
                // A program's start line (`usertests starting`).
                && !l.ends_with(seal::STARTING)
        })
        .map(|l| l.trim())
        .find(|l| !l.is_empty() && !l.starts_with("time "))
}

/// The test a verdict line names: `test NAME: OK …` or `test NAME: FAILED
/// …`, as the test programs print them (`harness::Reporter::test`).
fn verdict_name(line: &str) -> Option<&str> {
    line.strip_prefix("test ")?
        .split_once(": ")
        .map(|(name, _)| name)
}

/// How the kernel says it killed a process for a trap it could not handle
/// (xv6's `usertrap(): unexpected scause 0x… pid=N`, then an indented
/// `sepc=0x… stval=0x…` line).
const KILL_LINE: &str = "usertrap(): unexpected scause ";

/// The kernel's last kill of a process in `evidence`, in words: `the
/// kernel killed a process (pid 3) on a store page fault (scause 0xf) at
/// sepc=0x26e6, stval=0x8008`. For a test whose program said nothing, this
/// is what it ended with (the shell's child can be killed before the
/// program even starts).
fn kernel_kill(evidence: &[String]) -> Option<String> {
    let i = evidence.iter().rposition(|l| l.starts_with(KILL_LINE))?;
    let rest = &evidence[i][KILL_LINE.len()..];
    let (scause, pid) = rest.split_once(" pid=").unwrap_or((rest, "?"));
    let hex = |v: &str| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok();
    let code = hex(scause)?;
    let cause = match code {
        0 => "a misaligned instruction address",
        1 => "an instruction access fault",
        2 => "an illegal instruction",
        3 => "a breakpoint",
        4 => "a misaligned load",
        5 => "a load access fault",
        6 => "a misaligned store",
        7 => "a store access fault",
        12 => "an instruction page fault",
        13 => "a load page fault",
        15 => "a store page fault",
        _ => "an unexpected trap",
    };
    let short = |v: &str| hex(v).map_or(v.to_string(), |n| format!("{n:#x}"));
    let mut text = format!(
        "the kernel killed a process (pid {}) on {cause} (scause {code:#x})",
        pid.trim()
    );
    if let Some(next) = evidence
        .get(i + 1)
        .filter(|l| l.starts_with(char::is_whitespace))
    {
        let fields: Vec<String> = next
            .split_whitespace()
            .filter_map(|f| f.split_once('='))
            .map(|(k, v)| format!("{k}={}", short(v)))
            .collect();
        if !fields.is_empty() {
            text.push_str(" at ");
            text.push_str(&fields.join(", "));
        }
    }
    Some(text)
}

/// The test a program was running when its VM stopped, if `check`'s own
/// test never started: the test programs print `running test NAME` before
/// each test, so when such lines are there but none for the test whose
/// verdict (`test NAME: OK`) is missing, the last one names the test the
/// VM stopped in. `None` when the test started, when its patterns name no
/// verdict, or when the program prints no such lines.
fn earlier_test<'a>(check: &Check, output: &[&'a str]) -> Option<&'a str> {
    let started: Vec<&str> = output
        .iter()
        .filter_map(|l| l.strip_prefix("running test "))
        .collect();
    let last = *started.last()?;
    let own: Vec<String> = check
        .matches
        .iter()
        .filter_map(|p| verdict_name(&literal_prefix(p.regex.as_str())).map(str::to_string))
        .collect();
    (!own.is_empty() && !own.iter().any(|n| started.contains(&n.as_str()))).then_some(last)
}

/// How many leading characters a line must share with a missing line's
/// pattern to count as its failed counterpart.
const MIN_EVIDENCE_PREFIX: usize = 8;

/// The literal text a regex requires at the start of a line: what follows
/// `^` up to the first regex operator (an escaped character ends it too, to
/// keep this simple).
fn literal_prefix(regex: &str) -> String {
    let Some(rest) = regex.strip_prefix('^') else {
        return String::new();
    };
    rest.chars()
        .take_while(|c| !"\\.+*?()[]{}|^$".contains(*c))
        .collect()
}

/// How a session ended, for students; `None` if it completed. `token` is
/// hidden in typed commands.
pub fn describe_end(end: &SessionEnd, token: &str) -> Option<String> {
    Some(match end {
        SessionEnd::Completed => return None,
        SessionEnd::Panicked { line } => format!("the kernel panicked: {line}"),
        SessionEnd::TimedOut {
            waiting_for: Waiting::FirstPrompt,
            after,
        } => format!(
            "timed out after {} waiting for the first shell prompt: the kernel did not boot to the shell",
            timeout_text(*after)
        ),
        SessionEnd::TimedOut {
            waiting_for: Waiting::Command { command, .. },
            after,
        } => format!(
            "timed out after {} waiting for `{}` to finish",
            timeout_text(*after),
            hide_token(command, token)
        ),
        SessionEnd::TimedOut {
            waiting_for: Waiting::Start { command, .. },
            after,
        } => format!(
            "`{}` printed nothing for {} after it was typed: the program did not start",
            hide_token(command, token),
            timeout_text(*after)
        ),
        SessionEnd::OutputCapped { limit } => {
            format!("console output exceeded {}", bytes_text(*limit))
        }
        SessionEnd::QemuExited { status: Some(s) } => {
            format!("QEMU exited (status {s}) before the commands finished")
        }
        SessionEnd::QemuExited { status: None } => {
            "QEMU was killed by a signal before the commands finished".to_string()
        }
        SessionEnd::Cancelled => "grading was interrupted before this session finished".to_string(),
    })
}

/// `text` with the token shown as `…`.
pub fn hide_token(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_string()
    } else {
        text.replace(token, "…")
    }
}

/// A timeout as staff write it in a rubric: `60s`, `90s`, `1.5s`.
pub fn timeout_text(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// A byte count in the largest binary unit that divides it.
fn bytes_text(n: usize) -> String {
    const KIB: usize = 1 << 10;
    const MIB: usize = 1 << 20;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::lab::rubric::Rubric;
    use crate::run::plan::{TestFilter, Token};
    use crate::run::transcript::Transcript;

    pub(crate) const TOKEN: &str = "c0ffee00";

    /// The unit tests' rubric (see the file).
    pub(crate) const RUBRIC: &str = include_str!("../tests/fixtures/unit.rubric.toml");

    pub(crate) fn plan() -> Plan {
        let rubric = Rubric::parse(RUBRIC, "rubric.toml").unwrap();
        Plan::new(&rubric, Token::new(TOKEN).unwrap(), &TestFilter::all()).unwrap()
    }

    /// An outcome of the VM `name` of `plan`: the shell echoes each typed
    /// command after a prompt, then `output` (with `{t}` as the token).
    pub(crate) fn outcome(
        plan: &Plan,
        name: &str,
        output: &str,
        end: SessionEnd,
        millis: u64,
    ) -> SessionOutcome {
        let spec = &plan.session(name).unwrap().spec;
        let mut raw = String::from("xv6 kernel is booting\n\ninit: starting sh\n");
        for cmd in &spec.commands {
            raw.push_str(&format!("$ {cmd}\n"));
        }
        raw.push_str(&output.replace("{t}", TOKEN));
        if end == SessionEnd::Completed {
            raw.push_str("$ ");
        }
        SessionOutcome {
            name: name.to_string(),
            end,
            transcript: Transcript::new(raw.into_bytes(), &spec.commands),
            duration: Duration::from_millis(millis),
        }
    }

    /// Outcomes of a submission that passes everything.
    pub(crate) fn all_pass(plan: &Plan) -> Vec<SessionOutcome> {
        vec![
            outcome(plan, "boot", "hi {t}\n", SessionEnd::Completed, 1200),
            outcome(
                plan,
                "lazytests",
                "lazytests starting\ntest lazy alloc: OK [{t}]\ntest lazy unmap: OK [{t}]\nALL TESTS PASSED [{t}]\n",
                SessionEnd::Completed,
                4500,
            ),
            usertest(plan, "sbrkarg", true),
            usertest(plan, "stacktest", true),
        ]
    }

    pub(crate) fn usertest(plan: &Plan, case: &str, ok: bool) -> SessionOutcome {
        let out = if ok {
            format!("usertests starting\ntest {case}: OK [{{t}}]\nALL TESTS PASSED [{{t}}]\n")
        } else {
            format!(
                "usertests starting\n{case}: sbrk failed\ntest {case}: FAILED [{{t}}]\nSOME TESTS FAILED [{{t}}]\n"
            )
        };
        outcome(
            plan,
            &format!("usertests/{case}"),
            &out,
            SessionEnd::Completed,
            2000,
        )
    }

    /// The lazytests VM of `plan`, which printed `output` and panicked
    /// with `line`.
    fn lazytests_panicked(plan: &Plan, output: &str, line: &str) -> SessionOutcome {
        outcome(
            plan,
            "lazytests",
            output,
            SessionEnd::Panicked { line: line.into() },
            3000,
        )
    }

    fn result<'a>(results: &'a [TestResult], name: &str) -> &'a TestResult {
        results.iter().find(|r| r.name == name).unwrap()
    }

    fn failure<'a>(results: &'a [TestResult], name: &str) -> &'a Failure {
        result(results, name).failure.as_ref().unwrap()
    }

    fn replace(outcomes: &mut [SessionOutcome], new: SessionOutcome) {
        let slot = outcomes.iter_mut().find(|o| o.name == new.name).unwrap();
        *slot = new;
    }

    #[test]
    fn everything_passes_with_full_score() {
        let plan = plan();
        let results = evaluate(&plan, &all_pass(&plan));
        assert_eq!(results.len(), 6);
        for r in &results {
            assert!(r.passed(), "{r:#?}");
            assert_eq!(r.score(), r.max_score);
        }
        assert_eq!(
            result(&results, "echo hi").duration,
            Duration::from_millis(1200)
        );
        // all_cases sums its VMs' time.
        assert_eq!(
            result(&results, "usertests: all tests").duration,
            Duration::from_millis(4000)
        );
    }

    #[test]
    fn typed_input_never_counts_as_output() {
        // The shell echoes `echo hi TOKEN`, and the kernel printed nothing.
        let plan = plan();
        let mut outs = all_pass(&plan);
        replace(
            &mut outs,
            outcome(&plan, "boot", "", SessionEnd::Completed, 1000),
        );
        let results = evaluate(&plan, &outs);
        let f = failure(&results, "echo hi");
        assert_eq!(f.reason, "missing a line matching `^hi …$`");
        assert_eq!(result(&results, "echo hi").score(), 0);
    }

    #[test]
    fn an_unanchored_pattern_is_not_met_by_the_echoed_command() {
        // `hi TOKEN` appears in the typed `echo hi TOKEN`, which the shell
        // echoes; only the program's own output may satisfy it.
        let text = RUBRIC.replace("match = ['^hi {token}$']", "match = ['hi {token}']");
        let rubric = Rubric::parse(&text, "rubric.toml").unwrap();
        let plan = Plan::new(
            &rubric,
            Token::new(TOKEN).unwrap(),
            &TestFilter::new(&["echo"]).unwrap(),
        )
        .unwrap();
        let silent = outcome(&plan, "boot", "", SessionEnd::Completed, 1000);
        assert!(
            silent
                .transcript
                .text()
                .contains(&format!("echo hi {TOKEN}"))
        );
        let results = evaluate(&plan, &[silent]);
        assert_eq!(
            failure(&results, "echo hi").reason,
            "missing a line matching `hi …`"
        );
        let said = outcome(&plan, "boot", "hi {t}\n", SessionEnd::Completed, 1000);
        assert!(evaluate(&plan, &[said])[0].passed());
    }

    #[test]
    fn lines_without_the_token_do_not_count() {
        let plan = plan();
        let mut outs = all_pass(&plan);
        replace(
            &mut outs,
            outcome(
                &plan,
                "lazytests",
                "test lazy alloc: OK\ntest lazy unmap: OK [deadbeef]\n",
                SessionEnd::Completed,
                100,
            ),
        );
        let results = evaluate(&plan, &outs);
        assert!(!result(&results, "lazy: map").passed());
        assert!(!result(&results, "lazy: unmap").passed());
    }

    #[test]
    fn panic_after_a_passing_test_keeps_its_points() {
        let plan = plan();
        let mut outs = all_pass(&plan);
        replace(
            &mut outs,
            lazytests_panicked(
                &plan,
                "test lazy alloc: OK [{t}]\npanic: uvmunmap: not mapped\n",
                "panic: uvmunmap: not mapped",
            ),
        );
        let results = evaluate(&plan, &outs);
        assert!(result(&results, "lazy: map").passed());
        let f = failure(&results, "lazy: unmap");
        assert_eq!(f.reason, "the kernel panicked: panic: uvmunmap: not mapped");
        assert_eq!(
            f.details,
            ["missing a line matching `^test lazy unmap: OK \\[…\\]$`"]
        );
        let ev = f.evidence.as_ref().unwrap();
        assert_eq!(ev.session, "lazytests");
        assert_eq!(ev.lines.last().unwrap(), "panic: uvmunmap: not mapped");
        assert!(ev.lines.contains(&format!("$ lazytests -k {TOKEN}")));
    }

    #[test]
    fn own_failure_line_is_the_tests_first_words_not_the_kernels_lines_after_them() {
        let lines = |text: &str| text.lines().map(str::to_string).collect::<Vec<_>>();
        // The child's reason, then the parent's, then a kernel line from a
        // process the free-page count used up: the child's reason is it.
        let ev = lines(
            "$ usertests -k … sbrkhigh\nusertests starting\n\
             usertrap(): unexpected scause 0x000000000000000f pid=65\n\
             \x20           sepc=0x000000000001307a stval=0x0000000000076fff\n\
             sbrkhigh: read of 300 bytes into 0x15fffff6a returned -1\n\
             sbrkhigh: high break: child exited with status 1\n\
             usertrap(): unexpected scause 0x000000000000000f pid=168\n\
             \x20           sepc=0x000000000001307a stval=0x0000000000076fff\n\
             test sbrkhigh: FAILED [c0ffee00]",
        );
        assert_eq!(
            own_failure_line(&ev),
            Some("sbrkhigh: read of 300 bytes into 0x15fffff6a returned -1")
        );
        // Words of an earlier test are not this one's.
        let ev = lines(
            "copyin: bad\ntest copyin: FAILED [x]\nusertrap(): unexpected scause 0xd pid=4\n\
             \x20  sepc=0x1 stval=0x2\nsomething went wrong\ntest copyout: FAILED [x]",
        );
        assert_eq!(own_failure_line(&ev), Some("something went wrong"));
        // Only kernel lines: nothing the program said.
        let ev = lines(
            "$ t\nusertrap(): unexpected scause 0xd pid=4\n\x20  sepc=0x1\ntest t: FAILED [x]",
        );
        assert_eq!(own_failure_line(&ev), None);
    }

    #[test]
    fn a_program_killed_before_it_said_anything_is_explained_by_the_kill() {
        let plan = plan();
        let mut outs = all_pass(&plan);
        replace(
            &mut outs,
            outcome(
                &plan,
                "boot",
                "usertrap(): unexpected scause 0x000000000000000f pid=3\n\
                 \x20           sepc=0x00000000000026e6 stval=0x0000000000008008\n",
                SessionEnd::Completed,
                1000,
            ),
        );
        let f = failure(&evaluate(&plan, &outs), "echo hi").clone();
        assert_eq!(
            f.reason,
            "the kernel killed a process (pid 3) on a store page fault (scause 0xf) \
             at sepc=0x26e6, stval=0x8008"
        );
        assert_eq!(f.details, ["missing a line matching `^hi …$`"]);
    }

    #[test]
    fn the_count_note_and_kill_lines_are_never_a_tests_own_words() {
        let lines = |text: &str| text.lines().map(str::to_string).collect::<Vec<_>>();
        let ev = lines(
            "$ usertests -k … sbrkarg\nusertests starting\n\
             note: counting free pages uses up all memory\n\
             usertrap(): unexpected scause 0xf pid=65\n\x20  sepc=0x1 stval=0x2\n\
             test sbrkarg: FAILED [x]",
        );
        assert_eq!(own_failure_line(&ev), None);
    }

    #[test]
    fn a_test_the_vm_never_reached_is_not_blamed_on_the_earlier_tests_panic() {
        let plan = plan();
        let mut outs = all_pass(&plan);
        replace(
            &mut outs,
            lazytests_panicked(
                &plan,
                "lazytests starting\nrunning test lazy alloc\nlazy alloc: page 3 is not zero\n\
                 test lazy alloc: FAILED [{t}]\nrunning test lazy oom\npanic: uvmcopy: page not present\n",
                "panic: uvmcopy: page not present",
            ),
        );
        let results = evaluate(&plan, &outs);
        // The test that ran says why in its own words.
        let f = failure(&results, "lazy: map");
        assert_eq!(f.in_words(), "lazy alloc: page 3 is not zero");
        // The one after the panic never ran: neither the panic nor the
        // earlier test's failure line is its reason.
        let f = failure(&results, "lazy: unmap");
        assert_eq!(
            f.reason,
            "not run: the VM stopped during the earlier test `lazy oom`: \
             the kernel panicked: panic: uvmcopy: page not present"
        );
        assert_eq!(f.in_words(), f.reason);
    }

    #[test]
    fn a_test_that_started_is_blamed_on_the_panic_in_it() {
        let plan = plan();
        let mut outs = all_pass(&plan);
        replace(
            &mut outs,
            lazytests_panicked(
                &plan,
                "running test lazy alloc\ntest lazy alloc: OK [{t}]\nrunning test lazy unmap\n\
                 panic: uvmunmap: not mapped\n",
                "panic: uvmunmap: not mapped",
            ),
        );
        let results = evaluate(&plan, &outs);
        assert!(result(&results, "lazy: map").passed());
        let f = failure(&results, "lazy: unmap");
        assert_eq!(f.reason, "the kernel panicked: panic: uvmunmap: not mapped");
    }

    #[test]
    fn timeouts_name_the_command_without_the_token() {
        let plan = plan();
        let mut outs = all_pass(&plan);
        let cmd = format!("usertests -k {TOKEN} stacktest");
        replace(
            &mut outs,
            outcome(
                &plan,
                "usertests/stacktest",
                "usertests starting\n",
                SessionEnd::TimedOut {
                    waiting_for: Waiting::Command {
                        index: 0,
                        command: cmd,
                    },
                    after: Duration::from_secs(90),
                },
                90_000,
            ),
        );
        let results = evaluate(&plan, &outs);
        let f = failure(&results, "usertests: stacktest");
        assert_eq!(
            f.reason,
            "timed out after 90s waiting for `usertests -k … stacktest` to finish"
        );
        assert_eq!(
            f.details,
            [
                "missing a line matching `^test stacktest: OK \\[…\\]$`",
                "missing a line matching `^ALL TESTS PASSED \\[…\\]$`",
            ]
        );
    }

    #[test]
    fn boot_timeouts_say_the_kernel_did_not_boot() {
        let plan = plan();
        let mut outs = all_pass(&plan);
        let mut o = outcome(
            &plan,
            "boot",
            "",
            SessionEnd::TimedOut {
                waiting_for: Waiting::FirstPrompt,
                after: Duration::from_secs(20),
            },
            20_000,
        );
        o.transcript = Transcript::new(b"xv6 kernel is booting\n".to_vec(), &[]);
        replace(&mut outs, o);
        let results = evaluate(&plan, &outs);
        assert_eq!(
            failure(&results, "echo hi").reason,
            "timed out after 20s waiting for the first shell prompt: the kernel did not boot to the shell"
        );
    }

    #[test]
    fn every_abnormal_end_is_explained() {
        let t = Duration::from_secs(60);
        let cases = [
            (SessionEnd::Completed, None),
            (
                SessionEnd::TimedOut {
                    waiting_for: Waiting::FirstPrompt,
                    after: t,
                },
                Some(
                    "timed out after 60s waiting for the first shell prompt: the kernel did not boot to the shell",
                ),
            ),
            (
                SessionEnd::OutputCapped { limit: 1 << 20 },
                Some("console output exceeded 1 MiB"),
            ),
            (
                SessionEnd::OutputCapped { limit: 4096 },
                Some("console output exceeded 4 KiB"),
            ),
            (
                SessionEnd::OutputCapped { limit: 1000 },
                Some("console output exceeded 1000 bytes"),
            ),
            (
                SessionEnd::QemuExited { status: Some(1) },
                Some("QEMU exited (status 1) before the commands finished"),
            ),
            (
                SessionEnd::QemuExited { status: None },
                Some("QEMU was killed by a signal before the commands finished"),
            ),
            (
                SessionEnd::Cancelled,
                Some("grading was interrupted before this session finished"),
            ),
            (
                SessionEnd::Panicked {
                    line: "panic: kerneltrap".into(),
                },
                Some("the kernel panicked: panic: kerneltrap"),
            ),
        ];
        for (end, want) in cases {
            assert_eq!(describe_end(&end, TOKEN).as_deref(), want, "{end:?}");
        }
        assert_eq!(timeout_text(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn unexpected_lines_come_before_missing_ones() {
        let plan = plan();
        let mut outs = all_pass(&plan);
        replace(
            &mut outs,
            outcome(
                &plan,
                "usertests/sbrkarg",
                "test sbrkarg: OK [{t}]\nFAILED -- lost some free pages 100 (out of 200) [{t}]\nSOME TESTS FAILED [{t}]\n",
                SessionEnd::Completed,
                2000,
            ),
        );
        let results = evaluate(&plan, &outs);
        let f = failure(&results, "usertests: sbrkarg");
        assert_eq!(
            f.reason,
            "unexpected line `FAILED -- lost some free pages 100 (out of 200) [\u{2026}]`"
        );
        assert_eq!(
            f.details,
            ["missing a line matching `^ALL TESTS PASSED \\[…\\]$`"]
        );
    }

    #[test]
    fn unexpected_line_alone_fails_even_if_all_matches_hold() {
        let plan = plan();
        let mut outs = all_pass(&plan);
        replace(
            &mut outs,
            outcome(
                &plan,
                "usertests/sbrkarg",
                "test sbrkarg: OK [{t}]\nALL TESTS PASSED [{t}]\nFAILED -- lost some free pages\npanic: late\n",
                SessionEnd::Panicked {
                    line: "panic: late".into(),
                },
                2000,
            ),
        );
        let results = evaluate(&plan, &outs);
        let f = failure(&results, "usertests: sbrkarg");
        assert_eq!(f.reason, "unexpected line `FAILED -- lost some free pages`");
        // The panic is context, after the cause.
        assert_eq!(f.details, ["the kernel panicked: panic: late"]);
    }

    #[test]
    fn all_cases_names_the_failing_cases() {
        let plan = plan();
        let mut outs = all_pass(&plan);
        replace(&mut outs, usertest(&plan, "stacktest", false));
        let results = evaluate(&plan, &outs);
        assert!(result(&results, "usertests: sbrkarg").passed());
        let f = failure(&results, "usertests: all tests");
        assert_eq!(f.reason, "failed in cases: stacktest");
        assert_eq!(
            f.details,
            ["stacktest: missing a line matching `^test stacktest: OK \\[…\\]$`"]
        );
        assert_eq!(f.evidence.as_ref().unwrap().session, "usertests/stacktest");

        replace(&mut outs, usertest(&plan, "sbrkarg", false));
        let results = evaluate(&plan, &outs);
        assert_eq!(
            failure(&results, "usertests: all tests").reason,
            "failed in cases: sbrkarg, stacktest"
        );
    }

    #[test]
    fn many_failing_cases_are_counted() {
        let failed: Vec<(Check, Failure)> = (0..10)
            .map(|i| {
                (
                    Check {
                        session: format!("usertests/c{i}"),
                        case: Some(format!("c{i}")),
                        matches: Vec::new(),
                        no_matches: Vec::new(),
                    },
                    Failure {
                        reason: "r".into(),
                        details: Vec::new(),
                        evidence: None,
                        said: None,
                    },
                )
            })
            .collect();
        let refs = failed.iter().map(|(c, f)| (c, f.clone())).collect();
        let f = summarise_cases(refs, 50).unwrap();
        assert_eq!(
            f.reason,
            "failed in 10 of 50 cases: c0, c1, c2, c3, c4, c5, c6, c7 and 2 more"
        );
        assert_eq!(f.details.len(), CASES_SHOWN);
    }

    #[test]
    fn sessions_that_did_not_run_fail_their_tests() {
        let plan = plan();
        let outs: Vec<_> = all_pass(&plan)
            .into_iter()
            .filter(|o| o.name != "usertests/sbrkarg")
            .collect();
        let results = evaluate(&plan, &outs);
        let f = failure(&results, "usertests: sbrkarg");
        assert_eq!(f.reason, "session `usertests/sbrkarg` did not run");
        assert!(f.evidence.is_none());
        assert_eq!(
            failure(&results, "usertests: all tests").reason,
            "failed in cases: sbrkarg"
        );
    }

    #[test]
    fn one_test_can_be_evaluated_alone() {
        let plan = plan();
        let outs = all_pass(&plan);
        let boot_only = &outs[..1];
        let echo = evaluate_test(&plan, &plan.tests()[0], boot_only);
        assert!(echo.passed());
        let map = evaluate_test(&plan, &plan.tests()[1], boot_only);
        assert_eq!(
            map.failure.unwrap().reason,
            "session `lazytests` did not run"
        );
    }

    #[test]
    fn not_built_fails_everything() {
        let plan = plan();
        let results = not_built(&plan);
        assert_eq!(results.len(), 6);
        for r in &results {
            assert_eq!(r.failure.as_ref().unwrap().reason, NOT_BUILT);
            assert_eq!(r.score(), 0);
        }
    }

    /// What the sealed `program` prints in a run of `plan` whose output,
    /// after its start line, is `lines` (`{t}` for the token): every line
    /// with the token sealed in turn, as `user::harness` does.
    pub(crate) fn sealed(plan: &Plan, program: &str, nonce: u64, lines: &str) -> String {
        let key = plan.sealing().key();
        let hex = |v: u64| String::from_utf8(seal::hex(v).to_vec()).unwrap();
        let start = format!("{program} starting ~{}", hex(nonce));
        let mut out = format!("{start} ~{}\n", hex(key.seal(nonce, 0, start.as_bytes())));
        let mut seq = 1;
        for l in lines.replace("{t}", TOKEN).lines() {
            if l.contains(&format!("[{TOKEN}]")) {
                out.push_str(&format!(
                    "{l} ~{}\n",
                    hex(key.seal(nonce, seq, l.as_bytes()))
                ));
                seq += 1;
            } else {
                out.push_str(&format!("{l}\n"));
            }
        }
        out
    }

    /// The test rubric with both test programs sealed.
    fn sealed_plan() -> Plan {
        let text = RUBRIC.replacen(
            "total = 29\n",
            "total = 29\nsealed_programs = [\"lazytests\", \"usertests\"]\n",
            1,
        );
        let rubric = Rubric::parse(&text, "rubric.toml").unwrap();
        Plan::new(&rubric, Token::new(TOKEN).unwrap(), &TestFilter::all()).unwrap()
    }

    const LAZY_OK: &str = "running test lazy alloc\ntest lazy alloc: OK [{t}]\n\
        test lazy unmap: OK [{t}]\nALL TESTS PASSED [{t}]\n";

    /// Every VM of `sealed_plan` passing, sealed.
    fn sealed_all_pass(plan: &Plan) -> Vec<SessionOutcome> {
        let ut = |case: &str| {
            let out = sealed(
                plan,
                "usertests",
                7,
                &format!("test {case}: OK [{{t}}]\nALL TESTS PASSED [{{t}}]\n"),
            );
            outcome(
                plan,
                &format!("usertests/{case}"),
                &out,
                SessionEnd::Completed,
                1,
            )
        };
        vec![
            outcome(plan, "boot", "hi {t}\n", SessionEnd::Completed, 1),
            outcome(
                plan,
                "lazytests",
                &sealed(plan, "lazytests", 42, LAZY_OK),
                SessionEnd::Completed,
                1,
            ),
            ut("sbrkarg"),
            ut("stacktest"),
        ]
    }

    fn failing(results: &[TestResult]) -> Vec<&str> {
        results
            .iter()
            .filter(|r| !r.passed())
            .map(|r| r.name.as_str())
            .collect()
    }

    #[test]
    fn sealed_lines_count_without_their_seals() {
        let plan = sealed_plan();
        let outs = sealed_all_pass(&plan);
        let results = evaluate(&plan, &outs);
        assert!(failing(&results).is_empty(), "{results:#?}");
        assert!(forgery_evidence(&plan, &outs).is_empty());
        let lt = plan.session("lazytests").unwrap();
        let v = verify(&plan, lt, &outs[1]);
        assert!(v.anomalies.is_empty());
        assert!(v.output.contains(&format!("test lazy alloc: OK [{TOKEN}]")));
        assert!(
            v.output
                .iter()
                .any(|l| l.starts_with("lazytests starting ~"))
        );
    }

    #[test]
    fn evidence_hides_the_seal_and_nonce_of_start_lines() {
        let plan = sealed_plan();
        let out = sealed(
            &plan,
            "lazytests",
            0x1234,
            "running test lazy alloc\nlazy alloc: page 3 is not zero\n\
             test lazy alloc: FAILED [{t}]\nSOME TESTS FAILED [{t}]\n",
        );
        let outs = with_lazytests(&plan, &out);
        let results = evaluate(&plan, &outs);
        let f = failure(&results, "lazy: map");
        let lines = &f.evidence.as_ref().unwrap().lines;
        assert!(lines[0].starts_with("$ lazytests"), "{lines:#?}");
        assert_eq!(lines[1], "lazytests starting");
        assert!(lines.iter().all(|l| !l.contains(" ~")), "{lines:#?}");
        assert_eq!(f.said.as_deref(), Some("lazy alloc: page 3 is not zero"));
    }

    /// `sealed_all_pass` with the lazytests VM printing `output`.
    fn with_lazytests(plan: &Plan, output: &str) -> Vec<SessionOutcome> {
        let mut outs = sealed_all_pass(plan);
        replace(
            &mut outs,
            outcome(plan, "lazytests", output, SessionEnd::Completed, 1),
        );
        outs
    }

    #[test]
    fn unsealed_verdicts_are_forged_and_fail_the_whole_session() {
        let plan = sealed_plan();
        // What the exec-intercepting kernel prints: the right lines with
        // the token from the command line, but no program ran.
        let outs = with_lazytests(
            &plan,
            "test lazy alloc: OK [{t}]\ntest lazy unmap: OK [{t}]\nALL TESTS PASSED [{t}]\n",
        );
        let results = evaluate(&plan, &outs);
        assert_eq!(failing(&results), ["lazy: map", "lazy: unmap"]);
        assert_eq!(
            failure(&results, "lazy: map").reason,
            "forged verdict: line `test lazy alloc: OK […]` came before the test program's sealed start line"
        );
        let evidence = forgery_evidence(&plan, &outs);
        assert_eq!(evidence.len(), 3, "{evidence:#?}");
        assert!(
            evidence[0].starts_with("lazytests: forged verdict: "),
            "{evidence:#?}"
        );
    }

    #[test]
    fn a_rewritten_verdict_no_longer_matches_its_seal() {
        let plan = sealed_plan();
        let honest = sealed(
            &plan,
            "lazytests",
            42,
            "test lazy alloc: FAILED [{t}]\ntest lazy unmap: OK [{t}]\nSOME TESTS FAILED [{t}]\n",
        );
        // The kernel sees the bytes go by and makes FAILED read OK.
        let rewritten = honest.replace("FAILED", "OK");
        let results = evaluate(&plan, &with_lazytests(&plan, &rewritten));
        // Both fail: nothing a rewritten session prints can be trusted.
        assert_eq!(failing(&results), ["lazy: map", "lazy: unmap"]);
        let f = failure(&results, "lazy: map");
        assert!(
            f.reason
                .starts_with("forged verdict: line `test lazy alloc: OK […] ~")
                && f.reason.ends_with("` has no valid seal"),
            "{}",
            f.reason
        );
        // The changed lines are the anomaly, not also a gap after them.
        assert!(
            !f.details.iter().any(|d| d.contains("are missing")),
            "{f:#?}"
        );
        // Honest, the same run fails only the test that failed.
        let outs = with_lazytests(&plan, &honest);
        assert_eq!(failing(&evaluate(&plan, &outs)), ["lazy: map"]);
        assert!(forgery_evidence(&plan, &outs).is_empty());
    }

    #[test]
    fn seals_of_another_key_or_start_do_not_count() {
        let plan = sealed_plan();
        let other = sealed_plan();
        let outs = with_lazytests(&plan, &sealed(&other, "lazytests", 42, LAZY_OK));
        let results = evaluate(&plan, &outs);
        assert_eq!(failing(&results), ["lazy: map", "lazy: unmap"]);
        assert!(
            failure(&results, "lazy: map")
                .reason
                .starts_with("forged start line: `lazytests starting ~")
        );

        // Verdicts of one start spliced after another start's line.
        let a = sealed(&plan, "lazytests", 1, "");
        let b = sealed(&plan, "lazytests", 2, LAZY_OK);
        let spliced: String = a
            .lines()
            .chain(b.lines().skip(1))
            .map(|l| format!("{l}\n"))
            .collect();
        let results = evaluate(&plan, &with_lazytests(&plan, &spliced));
        assert!(
            failure(&results, "lazy: map")
                .reason
                .ends_with("has no valid seal")
        );
    }

    #[test]
    fn replayed_reordered_and_dropped_lines_are_anomalies() {
        let plan = sealed_plan();
        let honest = sealed(&plan, "lazytests", 42, LAZY_OK);
        let lines: Vec<&str> = honest.lines().collect();
        let text = |ls: &[&str]| ls.iter().map(|l| format!("{l}\n")).collect::<String>();
        let reason = |output: String| {
            failure(
                &evaluate(&plan, &with_lazytests(&plan, &output)),
                "lazy: map",
            )
            .reason
            .clone()
        };
        // [start, running…, alloc OK, unmap OK, ALL PASSED]
        let replayed = text(&[lines[0], lines[1], lines[2], lines[2], lines[3], lines[4]]);
        assert!(reason(replayed).ends_with("has no valid seal"));
        let swapped = text(&[lines[0], lines[1], lines[3], lines[2], lines[4]]);
        assert!(reason(swapped).starts_with("forged output: 1 sealed line(s)"));
        let dropped = text(&[lines[0], lines[1], lines[2], lines[4]]);
        assert!(reason(dropped).starts_with(
            "forged output: 1 sealed line(s) of the test program are missing before `ALL TESTS PASSED […]"
        ));
        // The same verdict from a second start of the program.
        let second = sealed(&plan, "lazytests", 43, "test lazy alloc: OK [{t}]\n");
        assert_eq!(
            reason(format!("{honest}{second}")),
            "forged verdict: `test lazy alloc: OK […]` appears twice"
        );
    }

    #[test]
    fn a_failed_exec_of_the_test_program_says_so_under_its_real_name() {
        let plan = sealed_plan();
        let name = plan.sealing().image_name("lazytests").unwrap().to_string();
        let outs = with_lazytests(&plan, &format!("exec {name} failed\n"));
        let results = evaluate(&plan, &outs);
        let f = failure(&results, "lazy: map");
        assert_eq!(
            f.reason,
            "the test program did not run: `exec lazytests failed`"
        );
        // What the student reads says `lazytests`, never the alias.
        let ev = f.evidence.as_ref().unwrap();
        assert!(
            ev.lines.contains(&format!("$ lazytests -k {TOKEN}")),
            "{ev:#?}"
        );
        assert!(!ev.lines.iter().any(|l| l.contains(&name)), "{ev:#?}");
        // A kernel that cannot exec is broken, not necessarily forging.
        assert!(forgery_evidence(&plan, &outs).is_empty());
    }

    #[test]
    fn odd_lines_with_the_token_or_tildes_do_not_crash_anything() {
        let plan = sealed_plan();
        let weird = "[{t}]\n ~\n~0000000000000000\n[{t}] ~zz\nstarting ~\n lazytests starting ~00 ~00\n\
                     x ~ffffffffffffffff\n\u{fffd}[{t}]\u{fffd}\nlazytests starting ~0000000000000001 ~0000000000000000\n";
        let outs = with_lazytests(&plan, weird);
        let results = evaluate(&plan, &outs);
        assert_eq!(failing(&results), ["lazy: map", "lazy: unmap"]);
        assert!(!forgery_evidence(&plan, &outs).is_empty());
        // In an unsealed session the token in kernel output is just text.
        let mut outs = sealed_all_pass(&plan);
        replace(
            &mut outs,
            outcome(
                &plan,
                "boot",
                "[{t}] ~0000000000000000\nhi {t}\n",
                SessionEnd::Completed,
                1,
            ),
        );
        assert!(evaluate(&plan, &outs)[0].passed());
    }

    #[test]
    fn lazy_rubric_seals_both_test_programs() {
        let rubric = crate::lab::rubric::tests::lazy_rubric();
        let plan = Plan::new(&rubric, Token::new(TOKEN).unwrap(), &TestFilter::all()).unwrap();
        assert!(plan.session("boot").unwrap().sealed.is_empty());
        assert_eq!(
            plan.session("lazytests/alloc").unwrap().sealed,
            ["lazytests"]
        );
        assert_eq!(
            plan.session("usertests/sbrkarg").unwrap().sealed,
            ["usertests"]
        );
    }

    /// Outcomes for every VM of a plan of the lazy rubric, with the lines
    /// the programs print when everything passes.
    fn lazy_outcomes(plan: &Plan) -> Vec<SessionOutcome> {
        plan.sessions()
            .iter()
            .map(|s| {
                let out = match (s.session.as_str(), &s.case) {
                    ("boot", _) => "hi {t}\n".to_string(),
                    ("lazytests", _) => sealed(
                        plan,
                        "lazytests",
                        1,
                        "test lazy alloc: OK [{t}]\ntest lazy unmap: OK [{t}]\n\
                        test out of memory: OK [{t}]\nALL TESTS PASSED [{t}]\n",
                    ),
                    (_, Some(case)) => sealed(
                        plan,
                        "usertests",
                        2,
                        &format!("test {case}: OK [{{t}}]\nALL TESTS PASSED [{{t}}]\n"),
                    ),
                    (other, None) => panic!("unexpected session {other}"),
                };

                outcome(plan, &s.spec.name, &out, SessionEnd::Completed, 1000)
            })
            .collect()
    }

    #[test]
    fn lazy_rubric_scores_what_the_programs_print() {
        let rubric = crate::lab::rubric::tests::lazy_rubric();
        let plan = Plan::new(&rubric, Token::new(TOKEN).unwrap(), &TestFilter::all()).unwrap();
        let mut outs = lazy_outcomes(&plan);
        let results = evaluate(&plan, &outs);
        let failed: Vec<_> = results.iter().filter(|r| !r.passed()).collect();
        assert!(failed.is_empty(), "{failed:#?}");
        assert_eq!(results.iter().map(TestResult::score).sum::<u32>(), 100);

        // A leak in one case costs that case's test and the all-tests one.
        let leak = outcome(
            &plan,
            "usertests/sbrkmuch",
            &sealed(
                &plan,
                "usertests",
                3,
                "test sbrkmuch: OK [{t}]\nFAILED -- lost some free pages 10 (out of 20) [{t}]\n\
                 SOME TESTS FAILED [{t}]\n",
            ),
            SessionEnd::Completed,
            1000,
        );
        replace(&mut outs, leak);
        let results = evaluate(&plan, &outs);
        let failed: Vec<_> = results
            .iter()
            .filter(|r| !r.passed())
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(failed, ["usertests: sbrkmuch", "usertests: all tests"]);
    }

    #[test]
    fn evidence_leads_up_to_the_failed_verdict() {
        let plan = plan();
        let mut outs = all_pass(&plan);
        let mut text = String::from("$ usertests -k c0ffee00 sbrkarg\nusertests starting\n");
        text.push_str("sbrkarg: write of 8192 bytes returned -1\n");
        text.push_str("test sbrkarg: FAILED [c0ffee00]\n");
        for i in 0..30 {
            text.push_str(&format!("noise {i}\n"));
        }
        text.push_str("SOME TESTS FAILED [c0ffee00]\n$ ");
        replace(
            &mut outs,
            outcome(&plan, "usertests/sbrkarg", &text, SessionEnd::Completed, 1),
        );
        let results = evaluate(&plan, &outs);
        let ev = failure(&results, "usertests: sbrkarg")
            .evidence
            .clone()
            .unwrap();
        assert_eq!(ev.lines.last().unwrap(), "test sbrkarg: FAILED [c0ffee00]");
        assert!(
            ev.lines
                .contains(&"sbrkarg: write of 8192 bytes returned -1".to_string())
        );
        assert_eq!(
            literal_prefix(r"^test sbrkarg: OK \[c0ffee00\]$"),
            "test sbrkarg: OK "
        );
        assert_eq!(literal_prefix("no anchor"), "");
    }

    #[test]
    fn evidence_is_the_last_lines() {
        let plan = plan();
        let mut outs = all_pass(&plan);
        let many: String = (0..40).map(|i| format!("line {i}\n")).collect();
        replace(
            &mut outs,
            outcome(&plan, "boot", &many, SessionEnd::Completed, 1),
        );
        let results = evaluate(&plan, &outs);
        let ev = failure(&results, "echo hi").evidence.clone().unwrap();
        assert_eq!(ev.lines.len(), EVIDENCE_LINES);
        assert_eq!(ev.lines.first().unwrap(), "line 26");
        assert_eq!(ev.lines.last().unwrap(), "$ ");
    }
}
