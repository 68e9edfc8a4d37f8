//! What `xvlab mutants` prints ([`human`], [`json`], [`listing`]): the
//! counts first, then one line per mutant, then each survivor with its
//! diff and the tests that nearly caught it, then warnings about the
//! equivalent-mutants file.

use std::fmt::Write;

use serde_json::json;

use super::listing::Mutant;
use super::outcome::Outcome;
use super::run::Analysis;
use crate::report::human::Style;
use crate::report::seconds_text;

/// The counts, as a sentence.
pub fn summary(a: &Analysis) -> String {
    let survived = a.gaps().count();
    let mut s = format!(
        "mutants of {}: {} generated, {} judged: {} killed, {} timed out, {} unviable, {} equivalent, {} survived",
        a.lab,
        a.generated,
        a.judged.len(),
        a.count("killed"),
        a.count("timed_out"),
        a.count("unviable"),
        a.equivalents(),
        survived,
    );
    let not_applied = a.count("not_applied");
    if not_applied > 0 {
        let _ = write!(s, ", {not_applied} not applied");
    }
    let kept = a.judged.iter().filter(|j| j.kept).count();
    let _ = write!(
        s,
        " ({}; {} graded now, {kept} kept from earlier runs)",
        seconds_text(a.wall_time),
        a.judged.len() - kept
    );
    if a.interrupted {
        s.push_str(" — interrupted: the results are partial");
    }
    s
}

/// A diff, coloured when `style` says so.
fn diff(text: &str, style: Style, out: &mut String) {
    for line in text.lines() {
        let colour = if !style.color {
            None
        } else if line.starts_with("+++") || line.starts_with("---") || line.starts_with("diff ") {
            Some("1")
        } else if line.starts_with('+') {
            Some("32")
        } else if line.starts_with('-') {
            Some("31")
        } else if line.starts_with("@@") {
            Some("36")
        } else {
            None
        };
        match colour {
            Some(c) => {
                let _ = writeln!(out, "    \x1b[{c}m{line}\x1b[0m");
            }
            None => {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
}

/// The human report.
pub fn human(a: &Analysis, style: Style) -> String {
    let mut out = summary(a);
    out.push_str("\n\n");
    for j in &a.judged {
        let _ = writeln!(out, "  {}: {}", j.mutant.name, j.outcome_line());
    }
    for j in a.gaps() {
        let _ = writeln!(out, "\nsurvived: {}", j.mutant.name);
        if let Outcome::Survived { near_misses } = &j.outcome {
            if near_misses.is_empty() {
                out.push_str(
                    "  nearly caught by: no test (no VM ran 1.5× longer than for the solution)\n",
                );
            } else {
                out.push_str("  nearly caught by:\n");
                for m in near_misses {
                    let _ = writeln!(
                        out,
                        "    {} ({} ran {}, the solution's {})",
                        m.test,
                        m.session,
                        seconds_text(m.duration),
                        seconds_text(m.expected)
                    );
                }
            }
        }
        diff(&j.mutant.patch(), style, &mut out);
    }
    for j in &a.judged {
        if let Outcome::NotApplied { reason } = &j.outcome {
            let _ = writeln!(
                out,
                "\nerror: {} could not be graded: {reason}",
                j.mutant.name
            );
        }
    }
    let file = &a.equivalents_path;
    for j in a.judged.iter().filter(|j| j.is_stale_equivalent()) {
        let _ = writeln!(
            out,
            "\nwarning: `{}` is listed in {} as equivalent, but it is {}: remove the entry",
            j.mutant.name,
            file,
            j.outcome.in_words()
        );
    }
    for e in &a.unmatched {
        let _ = writeln!(
            out,
            "\nwarning: {} lists `{}` in {} ({}), but no mutant matches it",
            file, e.mutation, e.function, e.file
        );
    }
    out
}

/// The machine-readable report.
pub fn json(a: &Analysis) -> String {
    let mutants: Vec<serde_json::Value> = a
        .judged
        .iter()
        .map(|j| {
            let mut v = serde_json::to_value(&j.outcome).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("name".into(), json!(j.mutant.name));
                o.insert("file".into(), json!(j.mutant.file));
                o.insert("function".into(), json!(j.mutant.function));
                o.insert("mutation".into(), json!(j.mutant.mutation));
                o.insert("diff".into(), json!(j.mutant.patch()));
                o.insert(
                    "equivalent".into(),
                    json!(j.equivalent.as_ref().map(|e| &e.reason)),
                );
                o.insert("gap".into(), json!(j.is_gap()));
                o.insert("kept".into(), json!(j.kept));
                o.insert("seconds".into(), json!(j.duration.as_secs_f64()));
            }
            v
        })
        .collect();
    let unmatched: Vec<serde_json::Value> = a
        .unmatched
        .iter()
        .map(|e| json!({"file": e.file, "function": e.function, "mutation": e.mutation}))
        .collect();
    let value = json!({
        "lab": a.lab,
        "generated": a.generated,
        "judged": a.judged.len(),
        "killed": a.count("killed"),
        "timed_out": a.count("timed_out"),
        "unviable": a.count("unviable"),
        "equivalent": a.equivalents(),
        "survived": a.gaps().count(),
        "not_applied": a.count("not_applied"),
        "interrupted": a.interrupted,
        "wall_seconds": a.wall_time.as_secs_f64(),
        "mutants": mutants,
        "unmatched_equivalents": unmatched,
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// `--list`: one mutant a line, or a JSON array.
pub fn listing(mutants: &[Mutant], as_json: bool) -> String {
    if as_json {
        let list: Vec<serde_json::Value> = mutants
            .iter()
            .map(|m| {
                json!({"name": m.name, "file": m.file, "function": m.function,
                       "mutation": m.mutation, "diff": m.patch()})
            })
            .collect();
        let mut text = serde_json::to_string_pretty(&list).unwrap_or_default();
        text.push('\n');
        return text;
    }
    mutants.iter().map(|m| format!("{}\n", m.name)).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::grade::mutants::equivalent::Entry;
    use crate::grade::mutants::listing::{self, tests::LISTING};
    use crate::grade::mutants::outcome::NearMiss;
    use crate::grade::mutants::run::Judged;

    fn judged(index: usize, outcome: Outcome, equivalent: bool) -> Judged {
        let mutant = listing::parse(LISTING).unwrap()[index].clone();
        Judged {
            equivalent: equivalent.then(|| Entry {
                file: mutant.file.clone(),
                function: mutant.function.clone(),
                mutation: mutant.mutation.clone(),
                line: None,
                column: None,
                reason: "no test can tell".into(),
            }),
            mutant,
            outcome,
            duration: Duration::from_secs(3),
            kept: false,
        }
    }

    fn analysis() -> Analysis {
        Analysis {
            lab: "lazy".into(),
            equivalents_path: "grading/lazy/equivalent-mutants.toml".into(),
            generated: 5,
            judged: vec![
                judged(
                    0,
                    Outcome::Killed {
                        test: "echo hi".into(),
                        reason: "missing `hi`".into(),
                    },
                    false,
                ),
                judged(
                    1,
                    Outcome::Survived {
                        near_misses: vec![NearMiss {
                            test: "usertests: lazyzero".into(),
                            session: "usertests/lazyzero".into(),
                            duration: Duration::from_millis(2100),
                            expected: Duration::from_millis(900),
                        }],
                    },
                    false,
                ),
                judged(
                    0,
                    Outcome::TimedOut {
                        test: "lazy: map".into(),
                    },
                    true,
                ),
                judged(
                    1,
                    Outcome::Survived {
                        near_misses: vec![],
                    },
                    true,
                ),
                judged(
                    0,
                    Outcome::Unviable {
                        errors: "error[E0308]".into(),
                    },
                    false,
                ),
            ],
            unmatched: vec![Entry {
                file: "kernel/src/vm.rs".into(),
                function: "walkaddr".into(),
                mutation: "replace != with == in walkaddr".into(),
                line: None,
                column: None,
                reason: "r".into(),
            }],
            interrupted: false,
            wall_time: Duration::from_secs(95),
        }
    }

    #[test]
    fn human_report_snapshot() {
        insta::assert_snapshot!(human(&analysis(), Style::PLAIN));
    }

    #[test]
    fn json_report_snapshot() {
        insta::assert_snapshot!(json(&analysis()));
    }

    #[test]
    fn the_counts_add_up_and_only_unlisted_survivors_are_gaps() {
        let a = analysis();
        assert_eq!(a.gaps().count(), 1);
        assert_eq!(a.equivalents(), 1);
        let stale: Vec<_> = a
            .judged
            .iter()
            .filter(|j| j.is_stale_equivalent())
            .collect();
        assert_eq!(stale.len(), 1);
        let s = summary(&a);
        assert!(
            s.contains("1 killed, 1 timed out, 1 unviable, 1 equivalent, 1 survived"),
            "{s}"
        );
    }

    #[test]
    fn a_survivors_diff_is_coloured_only_for_a_terminal() {
        let a = analysis();
        let coloured = human(&a, Style { color: true });
        assert!(coloured.contains("\x1b[32m+"), "{coloured}");
        assert!(!human(&a, Style::PLAIN).contains('\x1b'));
    }
}
