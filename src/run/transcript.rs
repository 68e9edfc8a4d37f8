//! Console transcripts: the bytes a VM printed, and the normalised lines that
//! checks match against ([`Transcript`]).
//!
//! Normalisation turns terminal output into plain lines: `\r\n` and stray
//! `\r` are dropped, the console's backspace-erase sequences are applied,
//! other control characters and ANSI escape sequences are removed, and
//! invalid UTF-8 is replaced. Each line the shell echoed back for a command
//! the grader typed (`$ usertests -k … sbrkarg`) is marked as input, so that
//! checks only ever match what the kernel and its programs printed, never
//! what the grader typed.

use regex::Regex;

/// What a line of a transcript is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// Printed by the kernel or a user program.
    Output,
    /// A shell prompt followed by the echo of a command the grader typed.
    Input,
}

/// One normalised line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub kind: LineKind,
}

/// A session's console output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    raw: Vec<u8>,
    lines: Vec<Line>,
}

/// The shell's prompt.
pub const PROMPT: &str = "$ ";

impl Transcript {
    /// Normalise `raw` console output, given the commands typed at its
    /// prompts, in order.
    pub fn new(raw: Vec<u8>, typed: &[String]) -> Transcript {
        let text = normalise(&raw);
        let mut lines = Vec::new();
        let mut next_typed = typed.iter().peekable();
        for text in text.split('\n') {
            if let Some(cmd) = next_typed.peek()
                && let Some(prefix) = text
                    .strip_suffix(cmd.as_str())
                    .and_then(|t| t.strip_suffix(PROMPT))
            {
                // Background output may precede the prompt on its line.
                if !prefix.is_empty() {
                    lines.push(Line {
                        text: prefix.to_string(),
                        kind: LineKind::Output,
                    });
                }
                lines.push(Line {
                    text: format!("{PROMPT}{cmd}"),
                    kind: LineKind::Input,
                });
                next_typed.next();
                continue;
            }
            lines.push(Line {
                text: text.to_string(),
                kind: LineKind::Output,
            });
        }
        // A transcript ending in a newline has no partial last line.
        if lines
            .last()
            .is_some_and(|l| l.text.is_empty() && l.kind == LineKind::Output)
        {
            lines.pop();
        }
        Transcript { raw, lines }
    }

    /// The bytes exactly as QEMU printed them.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// All normalised lines, input and output.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The lines printed by the kernel and programs (not typed input).
    pub fn output(&self) -> impl Iterator<Item = &str> {
        self.lines
            .iter()
            .filter(|l| l.kind == LineKind::Output)
            .map(|l| l.text.as_str())
    }

    /// The first output line matching `re`.
    pub fn find(&self, re: &Regex) -> Option<&str> {
        self.output().find(|l| re.is_match(l))
    }

    /// The whole normalised transcript, one line per line.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for line in &self.lines {
            s.push_str(&line.text);
            s.push('\n');
        }
        s
    }

    /// The last `n` lines (input and output), for evidence in reports.
    pub fn tail(&self, n: usize) -> Vec<&str> {
        let start = self.lines.len().saturating_sub(n);
        self.lines[start..]
            .iter()
            .map(|l| l.text.as_str())
            .collect()
    }
}

/// Turn terminal output into plain text lines separated by `\n`.
pub fn normalise(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            // Backspace: the console erases a character with "\b \b".
            '\u{8}' => {
                if !out.ends_with('\n') {
                    out.pop();
                }
            }
            // ANSI escape sequence: ESC [ parameters final-byte.
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                }
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(raw: &str, typed: &[&str]) -> Transcript {
        let typed: Vec<String> = typed.iter().map(|s| s.to_string()).collect();
        Transcript::new(raw.as_bytes().to_vec(), &typed)
    }

    #[test]
    fn crlf_becomes_lf_and_trailing_prompt_is_kept() {
        let tr = t("init: starting sh\r\n$ echo hi\r\nhi\r\n$ ", &["echo hi"]);
        let texts: Vec<_> = tr.lines().iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["init: starting sh", "$ echo hi", "hi", "$ "]);
    }

    #[test]
    fn echoed_commands_are_input_not_output() {
        let tr = t("$ echo hi\nhi\n$ ", &["echo hi"]);
        assert_eq!(tr.lines()[0].kind, LineKind::Input);
        let out: Vec<_> = tr.output().collect();
        assert_eq!(out, ["hi", "$ "]);
        // A check for the token typed on the command line cannot be met by
        // the echo.
        let tr = t(
            "$ usertests -k a1b2 x\nsomething\n",
            &["usertests -k a1b2 x"],
        );
        assert!(tr.find(&Regex::new("a1b2").unwrap()).is_none());
    }

    #[test]
    fn typed_commands_match_in_order_only() {
        // The second command was never echoed: the line that looks like it
        // before the first echo is output.
        let tr = t("$ b\n$ a\n", &["a", "b"]);
        assert_eq!(tr.lines()[0].kind, LineKind::Output);
        assert_eq!(tr.lines()[1].kind, LineKind::Input);
    }

    #[test]
    fn background_output_before_prompt_is_split_off() {
        let tr = t("b$ echo c\nc\n", &["echo c"]);
        let kinds: Vec<_> = tr
            .lines()
            .iter()
            .map(|l| (l.text.as_str(), l.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("b", LineKind::Output),
                ("$ echo c", LineKind::Input),
                ("c", LineKind::Output)
            ]
        );
    }

    #[test]
    fn backspaces_and_escapes_are_applied() {
        assert_eq!(normalise(b"ab\x08 \x08c\n"), "ac\n");
        assert_eq!(normalise(b"x\n\x08y"), "x\ny");
        assert_eq!(normalise(b"\x1b[2J\x1b[1;1Hplain\x07"), "plain");
        assert_eq!(normalise(b"bad \xff byte"), "bad \u{fffd} byte");
    }

    #[test]
    fn tail_returns_last_lines() {
        let tr = t("1\n2\n3\n4\n", &[]);
        assert_eq!(tr.tail(2), ["3", "4"]);
        assert_eq!(tr.tail(10).len(), 4);
    }
}
