//! The commands the documentation shows are commands xvlab accepts: every
//! `xvlab …` line in a shell block of the README and of each lab's handout
//! parses with xvlab's own command line (options, values, subcommands), so
//! a renamed option or a typo in the docs fails here, not in a student's
//! terminal.

use std::path::{Path, PathBuf};

use clap::Parser;
use xvlab::cli::Cli;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The documents to check: the README and every lab's handout.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![repo().join("README.md")];
    for entry in std::fs::read_dir(repo().join("labs")).unwrap() {
        let handout = entry.unwrap().path().join("README.md");
        if handout.is_file() {
            docs.push(handout);
        }
    }
    docs
}

/// The `xvlab` command lines in the shell blocks of `text`, with their
/// line numbers.
fn commands(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut in_shell = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(lang) = trimmed.strip_prefix("```") {
            in_shell = !in_shell && matches!(lang.trim(), "sh" | "bash" | "shell" | "console");
            continue;
        }
        if in_shell && trimmed.starts_with("xvlab ") {
            found.push((i + 1, trimmed.to_string()));
        }
    }
    found
}

/// Split a shell command line into words: single and double quotes group,
/// an unquoted `#` after a blank starts a comment. Enough for the docs'
/// commands (no escapes, no expansions).
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.get_or_insert_with(String::new).push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            None if c == '#' && word.is_none() => break,
            None if c.is_whitespace() => words.extend(word.take()),
            None => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

#[test]
fn words_split_like_a_shell() {
    assert_eq!(
        words("xvlab grade --test 'usertests: sbrkarg'  # one test"),
        ["xvlab", "grade", "--test", "usertests: sbrkarg"]
    );
    assert_eq!(
        words("xvlab run -- \"a b\" c#d"),
        ["xvlab", "run", "--", "a b", "c#d"]
    );
}

#[test]
fn every_documented_xvlab_command_parses() {
    let mut bad = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for (line, command) in commands(&text) {
            checked += 1;
            if let Err(e) = Cli::try_parse_from(words(&command)) {
                let first = e.to_string().lines().next().unwrap_or_default().to_string();
                bad.push(format!("{}:{line}: `{command}`: {first}", shown(&doc)));
            }
        }
    }
    assert!(
        checked >= 30,
        "only {checked} commands found: is the scan broken?"
    );
    assert!(
        bad.is_empty(),
        "commands the docs show that xvlab refuses:\n{}",
        bad.join("\n")
    );
}

fn shown(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}
