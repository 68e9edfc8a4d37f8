//! The equivalent mutants of a lab ([`Equivalents`]): mutants that behave
//! exactly like the reference solution for every program a test can run,
//! so no test can kill them. They are listed by the lab's staff in
//! `equivalent-mutants.toml` of the lab's grading directory
//! ([`crate::lab::Lab::equivalent_mutants_path`]), each with the reason:
//!
//! ```toml
//! [[mutant]]
//! file = "kernel/src/vm.rs"
//! function = "uvmlazy"
//! mutation = "replace | with ^ in uvmlazy"   # cargo-mutants' description
//! line = "let perm = PTE_R | PTE_W | PTE_U;"  # optional: an original line it changes
//! reason = "the flags are distinct bits, so | and ^ give the same value"
//! ```
//!
//! An entry names a mutant by what it does, not where: file, function and
//! cargo-mutants' description without its `line:column` position, so that
//! editing the solution (which moves every line) keeps the entries valid.
//! `line`, one of the original source lines the mutant replaces (trimmed),
//! tells apart the same mutation made twice in one function, and `column`
//! (cargo-mutants' column in that line) the same mutation made twice in one
//! line; both stay valid while that line does.

use serde::Deserialize;

use super::listing::Mutant;

#[derive(Debug, thiserror::Error)]
#[error("read `{path}`: {message}")]
pub struct EquivalentsError {
    pub path: String,
    pub message: String,
}

/// One listed equivalent mutant.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub file: String,
    pub function: String,
    pub mutation: String,
    #[serde(default)]
    pub line: Option<String>,
    /// With `line`: the column of the change in it (cargo-mutants'), for
    /// the same mutation made twice in one line.
    #[serde(default)]
    pub column: Option<u32>,
    pub reason: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    mutant: Vec<Entry>,
}

/// Every listed equivalent mutant of a lab.
#[derive(Clone, Debug, Default)]
pub struct Equivalents {
    pub entries: Vec<Entry>,
}

impl Equivalents {
    /// Parse the file's text (`path` for messages).
    pub fn parse(text: &str, path: &str) -> Result<Equivalents, EquivalentsError> {
        let err = |message: String| EquivalentsError {
            path: path.to_string(),
            message,
        };
        let file: File = toml::from_str(text).map_err(|e| err(e.to_string().trim().to_string()))?;
        for (i, e) in file.mutant.iter().enumerate() {
            if e.column.is_some() && e.line.is_none() {
                return Err(err(format!(
                    "entry {} (`{}`) gives a `column` without the `line` it is in",
                    i + 1,
                    e.mutation
                )));
            }
            if e.reason.trim().is_empty() {
                return Err(err(format!(
                    "entry {} (`{}`) gives no reason why no test can tell it apart",
                    i + 1,
                    e.mutation
                )));
            }
        }
        Ok(Equivalents {
            entries: file.mutant,
        })
    }

    /// The entry that lists `mutant`, if any.
    pub fn find(&self, mutant: &Mutant) -> Option<&Entry> {
        self.entries.iter().find(|e| e.matches(mutant))
    }

    /// Entries that match none of `mutants` (the solution changed, or the
    /// entry is mistyped): worth a warning.
    pub fn unmatched<'a>(&'a self, mutants: &[Mutant]) -> Vec<&'a Entry> {
        self.entries
            .iter()
            .filter(|e| !mutants.iter().any(|m| e.matches(m)))
            .collect()
    }
}

impl Entry {
    /// Does this entry name `mutant`?
    pub fn matches(&self, mutant: &Mutant) -> bool {
        self.file == mutant.file
            && self.function == mutant.function
            && self.mutation == mutant.mutation
            && self
                .line
                .as_deref()
                .is_none_or(|line| mutant.removed_lines().any(|l| l == line.trim()))
            && self.column.is_none_or(|c| mutant.column() == Some(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::mutants::listing::{self, tests::LISTING};

    fn mutants() -> Vec<Mutant> {
        listing::parse(LISTING).unwrap()
    }

    #[test]
    fn an_entry_matches_by_file_function_and_description_wherever_the_line_moved() {
        let eq = Equivalents::parse(
            r#"
[[mutant]]
file = "kernel/src/trap.rs"
function = "usertrap"
mutation = "replace && with || in usertrap"
reason = "r"
"#,
            "eq.toml",
        )
        .unwrap();
        let mut moved = mutants()[0].clone();
        moved.name = "kernel/src/trap.rs:95:87: replace && with || in usertrap".into();
        assert!(eq.find(&moved).is_some());
        assert!(eq.find(&mutants()[1]).is_none());
        assert!(eq.unmatched(&mutants()).is_empty());
    }

    #[test]
    fn an_entry_with_a_line_matches_only_the_mutant_that_changes_that_line() {
        let entry = |line: &str| Entry {
            file: "kernel/src/vm.rs".into(),
            function: "uvmlazy".into(),
            mutation: "replace uvmlazy -> Result<(), ()> with Ok(())".into(),
            line: Some(line.into()),
            column: None,
            reason: "r".into(),
        };
        assert!(entry("  map()").matches(&mutants()[1]));
        assert!(!entry("unmap()").matches(&mutants()[1]));
    }

    #[test]
    fn a_column_tells_apart_the_same_mutation_twice_in_one_line() {
        let m = &mutants()[0];
        assert_eq!(m.column(), Some(87), "{}", m.name);
        let line = m.removed_lines().next().unwrap().to_string();
        let entry = |column| Entry {
            file: m.file.clone(),
            function: m.function.clone(),
            mutation: m.mutation.clone(),
            line: Some(line.clone()),
            column,
            reason: "r".into(),
        };
        assert!(entry(Some(87)).matches(m));
        assert!(!entry(Some(80)).matches(m));
        assert!(entry(None).matches(m));
        let e = Equivalents::parse(
            "[[mutant]]\nfile = \"f\"\nfunction = \"g\"\nmutation = \"m\"\ncolumn = 3\nreason = \"r\"\n",
            "eq.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("without the `line`"), "{e}");
    }

    #[test]
    fn an_entry_for_another_function_or_file_does_not_match() {
        let mut e = Entry {
            file: "kernel/src/trap.rs".into(),
            function: "kerneltrap".into(),
            mutation: "replace && with || in usertrap".into(),
            line: None,
            column: None,
            reason: "r".into(),
        };
        assert!(!e.matches(&mutants()[0]));
        e.function = "usertrap".into();
        e.file = "kernel/src/vm.rs".into();
        assert!(!e.matches(&mutants()[0]));
        let eq = Equivalents { entries: vec![e] };
        assert_eq!(eq.unmatched(&mutants()).len(), 1);
    }

    #[test]
    fn an_entry_without_a_reason_or_with_unknown_fields_is_refused() {
        let no_reason = "[[mutant]]\nfile='f'\nfunction='g'\nmutation='m'\nreason=' '\n";
        let err = Equivalents::parse(no_reason, "eq.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("gives no reason"), "{err}");
        let unknown = "[[mutant]]\nfile='f'\nfunction='g'\nmutation='m'\nreason='r'\nlineno=3\n";
        assert!(Equivalents::parse(unknown, "eq.toml").is_err());
    }

    #[test]
    fn the_bundled_file_parses() {
        let assets = crate::lab::assets::Assets::Embedded;
        let path = crate::lab::Lab::load(&assets, "lazy")
            .unwrap()
            .equivalent_mutants_path();
        let text = assets.read_string(&path).unwrap();
        Equivalents::parse(&text, &path).unwrap();
    }
}
