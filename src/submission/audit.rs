//! Source audits of a submission's changed Rust files, before they are
//! built: [`host_reads`] finds what would make rustc (or the assembler or
//! linker it drives) read the grading machine's files or build environment,
//! which refuses the submission; [`review`] finds string literals that spell
//! what the grader looks for in the console (verdict lines, test and
//! program names, the token flag), which only flags it for an instructor's
//! review ([`ReviewFlag`]). Both are pure functions of a file's text.
//!
//! Both read tokens, not raw text: a small lexer ([`lex`]) that knows
//! rustc's comments (nested block comments included), strings (escaped,
//! raw with any number of `#`, byte and C strings), char and byte literals,
//! lifetimes, raw identifiers and the shebang line, so that words inside
//! comments or ordinary strings are not mistaken for code — while the
//! strings that can reach the assembler are read for its directives. Where
//! the lexer and rustc could disagree the source does not compile anyway
//! (an unterminated string or comment swallows the rest of the file in
//! both).
//!
//! What the host-read audit refuses, and why each:
//!
//! - The macros `include!`, `include_str!`, `include_bytes!` (read a file)
//!   and `env!`, `option_env!` (read the build environment), however they
//!   are reached: invoked (any path, raw identifier, comments before the
//!   `!`), named in a `use` (a rename then `x!(…)`), as a path segment
//!   (`core::include_str`, `$crate::…`), or passed to or written in a macro
//!   (`macro_rules!` bodies and macro arguments, where a `$name!` can turn
//!   the bare name into an invocation). Stable Rust cannot build an
//!   identifier from pieces, so the name always appears as a token.
//! - `#[path = …]` in any attribute (also inside `cfg_attr`, and `path = …`
//!   handed to a macro, which can make it an attribute), and attributes
//!   whose name comes from a macro parameter (`#[$a = …]`); a whole
//!   `#[$doc]` is fine, since what it expands to is written, and audited,
//!   where the macro is called.
//! - `#[debugger_visualizer(…)]`, which embeds a file into the binary.
//! - `#[link(…)]`, which has the linker search the grading machine for a
//!   native library (a kernel links none).
//! - In any string (an `asm!`, `global_asm!` or `naked_asm!` template is a
//!   string literal, or a `concat!` of them, possibly handed through other
//!   macros first) the assembler directives that read files, `.incbin` and
//!   `.include` (LLVM's assembler, which rustc uses, has no others; names
//!   are case-insensitive), wherever they stand as a word — an assembler
//!   macro can take one as an argument and put it at the start of a
//!   statement — and what the assembler could complete into one: a name
//!   built by its macro substitution (`.inc\x`, `&`), a statement that
//!   starts with a macro parameter (`\d "/etc/passwd"`), `.altmacro` (which
//!   substitutes without a `\`), and a name ending in a piece filled in
//!   later — an `{operand}` (a `sym` operand is a symbol name) or a
//!   non-literal `concat!` argument — where what comes before could begin
//!   `.incbin`/`.include`, or such a piece at the start of a statement. The
//!   price: a kernel string that mentions `.incbin` as a word is refused
//!   too.
//! - In the same strings, what makes lld load host files: a section of type
//!   `llvm_dependent_libraries` (lld opens each name in it, any path, and
//!   reads what it cannot parse as a linker script, quoting it in errors
//!   that the build log shows the student) or `llvm_linker_options`, a
//!   `.section`/`.pushsection` whose type is a number or filled in later,
//!   and `.linker_option`.
//!
//! Not refused, because they read nothing of the host: `#[link_section]`,
//! `#[link_name]`, `#[export_name]` (names in the output), `file!()`,
//! `line!()`, `module_path!()` (where the source is, which the grader
//! chose), `extern crate` (only the crates of the grader's own Cargo.toml
//! and the target's sysroot exist in an offline build). Build scripts,
//! Cargo files and linker scripts are grader-owned and restored before the
//! audit runs. The build sandbox is the second line of defence should
//! anything get past this one.
//!
//! The review audit reads the literals that can reach the console: strings
//! of every kind, arrays of char, byte or ASCII-code literals, and
//! `concat!`s joined, and flags each that spells a term of the lab's
//! [`Vocabulary`] as a whole word (`OK` in `FEATURES_OK` is no verdict),
//! naming the most specific terms. It is a heuristic for a person: text
//! built at run time from single characters or arithmetic escapes it, which
//! is why the per-run token and the verdict checks, not this, decide the
//! score.

use std::collections::BTreeSet;
use std::fmt;

use crate::lab::rubric::{Rubric, Scope};

// ---------------------------------------------------------------------------
// Findings

/// Something in a source file that would read the grading machine's files
/// or environment at build time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Relative to the kernel tree, `/`-separated.
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// What the construct is and why it is refused: `include_str! reads a
    /// file of the grading machine at build time; submissions may not use
    /// it`.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Where in a submission's source a review flag points.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Location {
    /// Relative to the kernel tree, `/`-separated.
    pub file: String,
    /// 1-based.
    pub line: u32,
}

/// Something an instructor should look at before trusting a result; not a
/// refusal and not scored. Found in the source by [`review`], or at run
/// time by other checks (then usually without a location).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ReviewFlag {
    pub location: Option<Location>,
    /// A sentence fragment: `the string "test sbrkarg: OK" spells the
    /// verdict line "test sbrkarg: OK"`.
    pub reason: String,
}

impl ReviewFlag {
    /// A flag about the whole submission or its run.
    pub fn new(reason: impl Into<String>) -> ReviewFlag {
        ReviewFlag {
            location: None,
            reason: reason.into(),
        }
    }

    /// A flag about one line of one file.
    pub fn at(file: impl Into<String>, line: u32, reason: impl Into<String>) -> ReviewFlag {
        ReviewFlag {
            location: Some(Location {
                file: file.into(),
                line,
            }),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ReviewFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(l) => write!(f, "{}:{}: {}", l.file, l.line, self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

// ---------------------------------------------------------------------------
// The lexer

/// What a token is. Comments and whitespace are not tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An identifier or keyword; a raw identifier's text is without `r#`.
    Ident,
    Lifetime,
    /// A string literal of any kind (`"…"`, `r#"…"#`, `b"…"`, `c"…"`); the
    /// text is its value, escapes resolved.
    Str,
    /// A char or byte literal; the text is its value.
    Char,
    Number,
    /// Punctuation, one token per operator (`::`, `==`, `=>`, `!=`) or
    /// delimiter.
    Punct,
}

/// One token and the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub text: String,
    pub line: u32,
    /// For a string: whether it is raw, so that its lines are the source's.
    pub raw: bool,
}

/// The tokens of Rust source `text`. Never fails: what rustc would reject
/// is tokenised somehow, and unterminated literals and comments run to the
/// end, as they do for rustc.
pub fn lex(text: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        chars: text
            .strip_prefix('\u{feff}')
            .unwrap_or(text)
            .chars()
            .collect(),
        i: 0,
        line: 1,
        tokens: Vec::new(),
    };
    lexer.skip_shebang();
    lexer.run();
    lexer.tokens
}

struct Lexer {
    chars: Vec<char>,
    i: usize,
    line: u32,
    tokens: Vec<Token>,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn push(&mut self, kind: Kind, text: String, line: u32, raw: bool) {
        self.tokens.push(Token {
            kind,
            text,
            line,
            raw,
        });
    }

    /// rustc ignores a first line starting with `#!` unless what follows
    /// (after whitespace and comments) is `[`, an inner attribute. Lexing it
    /// as code could open a string that hides the real code after it.
    fn skip_shebang(&mut self) {
        if self.peek(0) != Some('#') || self.peek(1) != Some('!') {
            return;
        }
        let saved = (self.i, self.line);
        self.i = 2;
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('/'), Some('/')) => self.line_comment(),
                (Some('/'), Some('*')) => self.block_comment(),
                _ => break,
            }
        }
        let attribute = self.peek(0) == Some('[');
        (self.i, self.line) = saved;
        if !attribute {
            while self.peek(0).is_some_and(|c| c != '\n') {
                self.bump();
            }
        }
    }

    fn line_comment(&mut self) {
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.bump();
        }
    }

    /// Block comments nest.
    fn block_comment(&mut self) {
        self.i += 2;
        let mut depth = 1;
        while depth > 0 {
            match (self.peek(0), self.peek(1)) {
                (None, _) => return,
                (Some('/'), Some('*')) => {
                    self.i += 2;
                    depth += 1;
                }
                (Some('*'), Some('/')) => {
                    self.i += 2;
                    depth -= 1;
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            let line = self.line;
            match c {
                c if c.is_whitespace() => {
                    self.bump();
                }
                '/' if self.peek(1) == Some('/') => self.line_comment(),
                '/' if self.peek(1) == Some('*') => self.block_comment(),
                '"' => {
                    self.bump();
                    let value = self.quoted('"');
                    self.push(Kind::Str, value, line, false);
                }
                '\'' => self.quote_or_lifetime(),
                c if c.is_ascii_digit() => self.number(),
                c if is_ident_start(c) => self.word(),
                _ => self.punct(),
            }
        }
    }

    /// An escaped literal's value after its opening quote, through the
    /// closing `close`.
    fn quoted(&mut self, close: char) -> String {
        let mut value = String::new();
        while let Some(c) = self.bump() {
            match c {
                c if c == close => break,
                '\\' => self.escape(&mut value),
                c => value.push(c),
            }
        }
        value
    }

    /// The escape after a `\`, appended to `value`.
    fn escape(&mut self, value: &mut String) {
        let Some(c) = self.bump() else { return };
        match c {
            'n' => value.push('\n'),
            'r' => value.push('\r'),
            't' => value.push('\t'),
            '0' => value.push('\0'),
            'x' => {
                let hex: String = (0..2).filter_map(|_| self.bump()).collect();
                if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    value.push(c);
                }
            }
            'u' if self.peek(0) == Some('{') => {
                self.bump();
                let mut hex = String::new();
                while let Some(c) = self.bump() {
                    if c == '}' {
                        break;
                    }
                    if c != '_' {
                        hex.push(c);
                    }
                }
                if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    value.push(c);
                }
            }
            // A line continuation: the newline and the next line's leading
            // whitespace are not part of the string.
            '\n' => {
                while self.peek(0).is_some_and(char::is_whitespace) {
                    self.bump();
                }
            }
            c => value.push(c),
        }
    }

    /// A raw string's value, at the first `#` or `"` after its prefix.
    fn raw_string(&mut self) -> String {
        let mut hashes = 0;
        while self.peek(0) == Some('#') {
            self.bump();
            hashes += 1;
        }
        self.bump(); // the opening quote
        let mut value = String::new();
        while let Some(c) = self.bump() {
            if c == '"' && (0..hashes).all(|k| self.peek(k) == Some('#')) {
                self.i += hashes;
                break;
            }
            value.push(c);
        }
        value
    }

    /// `'a'`, `'\n'` (a char) or `'a` (a lifetime or label).
    fn quote_or_lifetime(&mut self) {
        let line = self.line;
        self.bump();
        if self.peek(0) == Some('\\') || self.peek(1) == Some('\'') {
            let value = self.quoted('\'');
            self.push(Kind::Char, value, line, false);
            return;
        }
        let mut name = String::new();
        while let Some(c) = self.peek(0).filter(|c| is_ident_continue(*c)) {
            self.bump();
            name.push(c);
        }
        if name.is_empty() {
            self.push(Kind::Punct, "'".to_string(), line, false);
        } else {
            self.push(Kind::Lifetime, name, line, false);
        }
    }

    fn number(&mut self) {
        let line = self.line;
        let mut text = String::new();
        loop {
            match self.peek(0) {
                Some(c) if is_ident_continue(c) => {
                    self.bump();
                    text.push(c);
                    // An exponent's sign, in a decimal number.
                    if matches!(c, 'e' | 'E')
                        && !text.starts_with("0x")
                        && matches!(self.peek(0), Some('+' | '-'))
                        && self.peek(1).is_some_and(|d| d.is_ascii_digit())
                    {
                        text.push(self.bump().unwrap_or('+'));
                    }
                }
                Some('.')
                    if self.peek(1).is_some_and(|d| d.is_ascii_digit()) && !text.contains('.') =>
                {
                    self.bump();
                    text.push('.');
                }
                _ => break,
            }
        }
        self.push(Kind::Number, text, line, false);
    }

    /// An identifier, a raw identifier, or a prefixed literal (`r"…"`,
    /// `br#"…"#`, `b"…"`, `c"…"`, `b'x'`).
    fn word(&mut self) {
        let line = self.line;
        let mut word = String::new();
        while let Some(c) = self.peek(0).filter(|c| is_ident_continue(*c)) {
            self.bump();
            word.push(c);
        }
        let next = self.peek(0);
        let raw_quote = || {
            let mut k = 0;
            while self.peek(k) == Some('#') {
                k += 1;
            }
            self.peek(k) == Some('"')
        };
        match word.as_str() {
            "r" | "br" | "cr" if matches!(next, Some('"' | '#')) && raw_quote() => {
                let value = self.raw_string();
                self.push(Kind::Str, value, line, true);
            }
            "r" if next == Some('#') && self.peek(1).is_some_and(is_ident_start) => {
                self.bump();
                let mut name = String::new();
                while let Some(c) = self.peek(0).filter(|c| is_ident_continue(*c)) {
                    self.bump();
                    name.push(c);
                }
                self.push(Kind::Ident, name, line, false);
            }
            "b" | "c" if next == Some('"') => {
                self.bump();
                let value = self.quoted('"');
                self.push(Kind::Str, value, line, false);
            }
            "b" if next == Some('\'') => {
                self.bump();
                let value = self.quoted('\'');
                self.push(Kind::Char, value, line, false);
            }
            _ => self.push(Kind::Ident, word, line, false),
        }
    }

    fn punct(&mut self) {
        let line = self.line;
        let c = self.bump().unwrap_or(' ');
        let two = match (c, self.peek(0)) {
            (':', Some(':')) => Some("::"),
            ('=', Some('=')) => Some("=="),
            ('=', Some('>')) => Some("=>"),
            ('!', Some('=')) => Some("!="),
            ('<', Some('=')) => Some("<="),
            ('>', Some('=')) => Some(">="),
            ('-', Some('>')) => Some("->"),
            _ => None,
        };
        let text = match two {
            Some(two) => {
                self.bump();
                two.to_string()
            }
            None => c.to_string(),
        };
        self.push(Kind::Punct, text, line, false);
    }
}

/// For each opening delimiter, the index of its closing one (unbalanced
/// ones close at the end).
fn match_delimiters(tokens: &[Token]) -> Vec<usize> {
    let mut close = vec![tokens.len(); tokens.len()];
    let mut stack = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if t.kind != Kind::Punct {
            continue;
        }
        match t.text.as_str() {
            "(" | "[" | "{" => stack.push(i),
            ")" | "]" | "}" => {
                if let Some(open) = stack.pop() {
                    close[open] = i;
                }
            }
            _ => {}
        }
    }
    close
}

fn is_punct(t: Option<&Token>, text: &str) -> bool {
    t.is_some_and(|t| t.kind == Kind::Punct && t.text == text)
}

fn is_open(t: Option<&Token>) -> bool {
    t.is_some_and(|t| t.kind == Kind::Punct && matches!(t.text.as_str(), "(" | "[" | "{"))
}

fn is_ident(t: Option<&Token>, name: &str) -> bool {
    t.is_some_and(|t| t.kind == Kind::Ident && t.text == name)
}

/// The source, lexed, with the regions the audits care about.
struct Parsed {
    tokens: Vec<Token>,
    close: Vec<usize>,
}

impl Parsed {
    fn new(source: &str) -> Parsed {
        let tokens = lex(source);
        let close = match_delimiters(&tokens);
        Parsed { tokens, close }
    }

    fn get(&self, i: usize) -> Option<&Token> {
        self.tokens.get(i)
    }

    /// If a macro invocation `name!(…)` starts at `i`: the indices of its
    /// opening and closing delimiters.
    fn invocation(&self, i: usize) -> Option<(usize, usize)> {
        let t = self.get(i)?;
        (t.kind == Kind::Ident && is_punct(self.get(i + 1), "!") && is_open(self.get(i + 2)))
            .then(|| (i + 2, self.close[i + 2]))
    }

    /// Which tokens are inside a macro's arguments or a `macro_rules!`
    /// body, inside a `use` item, inside an attribute's brackets, and so
    /// on. Regions nest, so each is counted with +1 where it opens and -1
    /// where it closes: linear in the tokens however deep the nesting (a
    /// submission may be megabytes of `m!(m!(m!(…`).
    fn regions(&self) -> Regions {
        let n = self.tokens.len();
        let mut deltas: [Vec<i32>; 5] = std::array::from_fn(|_| vec![0; n + 1]);
        let [in_macro, in_use, in_attribute, in_asm, in_concat] = &mut deltas;
        let mark = |v: &mut Vec<i32>, from: usize, to: usize| {
            let (from, to) = (from.min(n), to.min(n));
            if from < to {
                v[from] += 1;
                v[to] -= 1;
            }
        };
        let mut use_from = None;
        for i in 0..n {
            if let Some((open, close)) = self.invocation(i) {
                mark(in_macro, open + 1, close);
                let name = self.tokens[i].text.as_str();
                if ASM_MACROS.contains(&name) {
                    mark(in_asm, open + 1, close);
                }
                if matches!(name, "concat" | "stringify") {
                    mark(in_concat, open + 1, close);
                }
            }
            if is_ident(self.get(i), "macro_rules")
                && is_punct(self.get(i + 1), "!")
                && is_open(self.get(i + 3))
            {
                mark(in_macro, i + 4, self.close[i + 3]);
            }
            // A `use` item runs to its `;` (`use<'a>` in a bound is no
            // item).
            if is_ident(self.get(i), "use") && use_from.is_none() && !is_punct(self.get(i + 1), "<")
            {
                use_from = Some(i + 1);
            }
            if let Some(from) = use_from
                && (is_punct(self.get(i), ";") || i + 1 == n)
            {
                mark(in_use, from, i + 1);
                use_from = None;
            }
            if is_punct(self.get(i), "#") {
                let open = if is_punct(self.get(i + 1), "!") {
                    i + 2
                } else {
                    i + 1
                };
                if is_punct(self.get(open), "[") {
                    mark(in_attribute, open + 1, self.close[open]);
                }
            }
        }
        let [in_macro, in_use, in_attribute, in_asm, in_concat] = deltas.map(|d| {
            d.iter()
                .take(n)
                .scan(0i32, |depth, delta| {
                    *depth += delta;
                    Some(*depth > 0)
                })
                .collect()
        });
        Regions {
            in_macro,
            in_use,
            in_attribute,
            in_asm,
            in_concat,
        }
    }
}

struct Regions {
    in_macro: Vec<bool>,
    in_use: Vec<bool>,
    in_attribute: Vec<bool>,
    /// Inside the arguments of `asm!`, `global_asm!` or `naked_asm!`.
    in_asm: Vec<bool>,
    /// Inside the arguments of `concat!` or `stringify!`.
    in_concat: Vec<bool>,
}

// ---------------------------------------------------------------------------
// The host-read audit

/// The macros that read the host, and what they read.
const HOST_MACROS: &[(&str, &str)] = &[
    (
        "include",
        "reads a file of the grading machine at build time",
    ),
    (
        "include_str",
        "reads a file of the grading machine at build time",
    ),
    (
        "include_bytes",
        "reads a file of the grading machine at build time",
    ),
    (
        "env",
        "reads the grading machine's build environment at build time",
    ),
    (
        "option_env",
        "reads the grading machine's build environment at build time",
    ),
];

/// The macros whose strings are assembler text.
const ASM_MACROS: &[&str] = &["asm", "global_asm", "naked_asm"];

/// The assembler directives that read files.
const READING_DIRECTIVES: &[&str] = &["incbin", "include"];

/// Section types that make lld read or link host files: a
/// `llvm_dependent_libraries` section names libraries (or any path) for the
/// linker to load, and lld reads a file it cannot parse as a linker script,
/// quoting it in its errors; linker options pass flags.
const LINKER_SECTION_TYPES: &[&str] = &["llvm_dependent_libraries", "llvm_linker_options"];

/// Directives whose names, pieced together, are suspect: the reading ones,
/// `.linker_option`, and the section directives that can give a type.
const SUSPECT_DIRECTIVES: &[&str] = &[
    "incbin",
    "include",
    "linker_option",
    "section",
    "pushsection",
];

/// Stands for text that is filled in after the source is written: an asm
/// operand, or a `concat!` argument that is not a literal.
const HOLE: char = '\u{fffe}';

const MAY_NOT: &str = "submissions may not use it";

/// Every construct in `source` (the file `file` of the kernel tree) that
/// would read the grading machine's files or build environment when it is
/// built, in source order.
pub fn host_reads(file: &str, source: &str) -> Vec<Finding> {
    let parsed = Parsed::new(source);
    let regions = parsed.regions();
    let mut found: BTreeSet<(u32, String)> = BTreeSet::new();
    let tokens = &parsed.tokens;
    for (i, t) in tokens.iter().enumerate() {
        let next = parsed.get(i + 1);
        if t.kind == Kind::Ident {
            if let Some((_, what)) = HOST_MACROS.iter().find(|(name, _)| *name == t.text) {
                let name = &t.text;
                let message = if parsed.invocation(i).is_some() {
                    Some(format!("{name}! {what}; {MAY_NOT}"))
                } else if regions.in_use[i] {
                    Some(format!("`use` of {name}!, which {what}; {MAY_NOT}"))
                } else if i > 0 && is_punct(parsed.get(i - 1), "::") {
                    Some(format!("`::{name}` names {name}!, which {what}; {MAY_NOT}"))
                } else if regions.in_macro[i] {
                    Some(format!(
                        "`{name}` in a macro can expand to {name}!, which {what}; {MAY_NOT}"
                    ))
                } else {
                    None
                };
                found.extend(message.map(|m| (t.line, m)));
            }
            let in_attribute = regions.in_attribute[i];
            let attribute_or_macro = in_attribute || regions.in_macro[i];
            // In a macro, `path = "…"` (or a value still to come) can become
            // an attribute; `path = p` is a named argument.
            let value = parsed.get(i + 2);
            let attribute_value = value.is_some_and(|v| v.kind == Kind::Str)
                || is_punct(value, "$")
                || is_punct(parsed.get(i + 3), "!");
            if t.text == "path"
                && is_punct(next, "=")
                && (in_attribute || (regions.in_macro[i] && attribute_value))
            {
                found.insert((
                    t.line,
                    if in_attribute {
                        format!(
                            "#[path] makes rustc read a module from anywhere on the grading machine; {MAY_NOT}"
                        )
                    } else {
                        format!(
                            "`path = …` in a macro can become #[path], which makes rustc read a module \
                             from anywhere on the grading machine; {MAY_NOT}"
                        )
                    },
                ));
            }
            if t.text == "debugger_visualizer" && attribute_or_macro {
                found.insert((
                    t.line,
                    format!(
                        "#[debugger_visualizer] embeds a file of the grading machine at build time; {MAY_NOT}"
                    ),
                ));
            }
            if t.text == "link" && attribute_or_macro && is_punct(next, "(") {
                found.insert((
                    t.line,
                    format!(
                        "#[link] makes the linker search the grading machine for a native library; {MAY_NOT}"
                    ),
                ));
            }
        }
        // `#[$name = …]`, `#[$($t)*]`: an attribute whose name comes from
        // a macro parameter can be `path`.
        if regions.in_attribute[i] && is_punct(Some(t), "$") {
            let parameter_name = next.is_some_and(|n| n.kind == Kind::Ident)
                && !parsed.get(i + 2).is_some_and(|a| {
                    a.kind == Kind::Punct && matches!(a.text.as_str(), "]" | ")" | "," | ":")
                });
            if parameter_name || is_punct(next, "(") {
                found.insert((
                    t.line,
                    "an attribute named by a macro parameter can be #[path], which makes rustc read a \
                     module from anywhere on the grading machine; submissions may not use one"
                        .to_string(),
                ));
            }
        }
        if t.kind == Kind::Str {
            for (offset, message) in directives(&t.text, regions.in_asm[i]) {
                // A raw string's lines are the source's; an escaped one's
                // `\n` are not, so point at where it starts.
                let line = if t.raw { t.line + offset } else { t.line };
                found.insert((line, message));
            }
        }
        // The outermost `concat!`, whose text includes the nested ones'.
        if let Some((open, close)) = parsed.invocation(i)
            && matches!(t.text.as_str(), "concat" | "stringify")
            && !regions.in_concat[i]
        {
            let text = joined(&parsed, &t.text, open, close, 0);
            for (_, message) in directives(&text, true) {
                found.insert((t.line, message));
            }
        }
    }
    found
        .into_iter()
        .map(|(line, message)| Finding {
            file: file.to_string(),
            line,
            message,
        })
        .collect()
}

/// How deep nested `concat!`s are followed; deeper ones count as a
/// [`HOLE`] (and the recursion cannot overflow the stack).
const MAX_CONCAT_DEPTH: usize = 32;

/// The text a `concat!` or `stringify!` between `open` and `close` makes,
/// with [`HOLE`] for what is not known until it expands; `depth` is how
/// many `concat!`s it is nested in.
fn joined(parsed: &Parsed, name: &str, open: usize, close: usize, depth: usize) -> String {
    let mut text = String::new();
    if depth > MAX_CONCAT_DEPTH {
        text.push(HOLE);
        return text;
    }
    if name == "stringify" {
        // Joined without spaces: whatever rustc puts between tokens, this
        // finds a directive in at least as many places.
        for t in &parsed.tokens[open + 1..close] {
            text.push_str(&t.text);
        }
        return text;
    }
    let mut i = open + 1;
    while i < close {
        let t = &parsed.tokens[i];
        if let Some((inner_open, inner_close)) = parsed.invocation(i)
            && matches!(t.text.as_str(), "concat" | "stringify")
        {
            text.push_str(&joined(parsed, &t.text, inner_open, inner_close, depth + 1));
            i = inner_close + 1;
            continue;
        }
        match t.kind {
            Kind::Str | Kind::Char | Kind::Number => text.push_str(&t.text),
            Kind::Ident if matches!(t.text.as_str(), "true" | "false") => text.push_str(&t.text),
            Kind::Punct if t.text == "," => {}
            // A negative number literal.
            Kind::Punct if t.text == "-" => text.push('-'),
            _ => {
                if !text.ends_with(HOLE) {
                    text.push(HOLE);
                }
                if is_open(Some(t)) {
                    i = parsed.close[i];
                }
            }
        }
        i += 1;
    }
    text
}

/// The file-reading assembler directives in `text`, with the line (0-based,
/// within `text`) of each. `assembler`: the text is known to be assembler
/// (an asm template, or pieced together by `concat!`), so a statement that
/// starts with a piece filled in later is suspect too — in any other
/// string that is just a format string such as `"{}"`.
fn directives(text: &str, assembler: bool) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for (line, physical) in (0u32..).zip(text.split('\n')) {
        // `{operand}` is filled in by rustc; `{{` is a literal brace.
        let physical = fill_operands(physical);
        found.extend(directive_names(&physical, assembler).map(|m| (line, m)));
        found.extend(linker_section_types(&physical).map(|m| (line, m)));
        // LLVM's assembler also ends a statement at `\r` and `;`.
        for statement in physical.split(['\r', ';']) {
            if let Some(message) = statement_start(statement, assembler) {
                found.push((line, message));
            }
        }
    }
    found
}

/// Could a suspect directive's name begin with `prefix` (lowercase)?
fn could_begin_suspect_directive(prefix: &str) -> bool {
    SUSPECT_DIRECTIVES.iter().any(|d| d.starts_with(prefix))
}

/// The linker section types named anywhere in `text` (the type of a
/// `.section` can come from a macro argument, so not only after `@`).
fn linker_section_types(text: &str) -> impl Iterator<Item = String> + '_ {
    let lower = text.to_lowercase();
    LINKER_SECTION_TYPES
        .iter()
        .filter(move |t| lower.contains(*t))
        .map(|t| {
            format!(
                "an assembler section of type {t} makes the linker load files of the grading machine; {MAY_NOT}"
            )
        })
}

/// Characters of a directive or symbol name in LLVM's assembler, plus
/// what macro substitution and [`HOLE`] put in one.
fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '$' | '.' | '@' | '\\' | '&' | HOLE)
}

/// Every `.name` in `text` that reads a file or could become one that does.
/// Wherever it is, not only at the start of a statement: an assembler
/// macro can put its argument (`m .incbin`) at the start of one.
fn directive_names(text: &str, assembler: bool) -> impl Iterator<Item = String> + '_ {
    text.char_indices().filter_map(move |(at, c)| {
        let glued = text[..at].chars().next_back().is_some_and(|p| p != HOLE && is_name_char(p));
        if c != '.' || glued {
            return None;
        }
        // Up to the next `.`: no directive that reads has one in its name,
        // and so each character is read once however many names follow.
        let name: String = text[at + 1..]
            .chars()
            .take_while(|&c| c != '.' && is_name_char(c))
            .collect::<String>()
            .to_lowercase();
        if READING_DIRECTIVES.contains(&name.as_str()) {
            return Some(format!(
                "the assembler directive .{name} reads a file of the grading machine at build time; {MAY_NOT}"
            ));
        }
        if name == "linker_option" {
            return Some(format!(
                "the assembler directive .linker_option passes options to the linker, which can make it \
                 read files of the grading machine; {MAY_NOT}"
            ));
        }
        if name == "altmacro" {
            return Some(format!(
                "the assembler's .altmacro mode substitutes macro arguments without a `\\`, so a macro can \
                 spell .incbin or .include, which read files of the grading machine; {MAY_NOT}"
            ));
        }
        let pieced = name.find(['\\', '&', HOLE])?;
        let filled_later = name[pieced..].starts_with(HOLE);
        if !could_begin_suspect_directive(&name[..pieced])
            || (filled_later && !assembler && pieced == 0)
        {
            return None;
        }
        let shown = name.replace(HOLE, "…");
        Some(if filled_later {
            format!(
                "an assembler directive completed later (`.{shown}`, from a macro argument or an operand) \
                 can be .incbin, .include or a linker section, which read files of the grading machine; {MAY_NOT}"
            )
        } else {
            format!(
                "an assembler directive named by macro substitution (`.{shown}`) can be .incbin, \
                 .include or a linker section, which read files of the grading machine; {MAY_NOT}"
            )
        })
    })
}

/// What is suspect about how `statement` starts: an assembler macro's
/// parameter (`\\d "/etc/passwd"`, which the macro's caller can make
/// `.incbin`), or (in assembler text) a piece filled in later.
fn statement_start(statement: &str, assembler: bool) -> Option<String> {
    let mut s = statement.trim_start();
    // Labels before the directive: `1:`, `.Lx:`, `name:`.
    loop {
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '$')))
            .unwrap_or(s.len());
        if end > 0 && s[end..].trim_start().starts_with(':') {
            s = s[end..].trim_start()[1..].trim_start();
        } else {
            break;
        }
    }
    // A section type by number (`@0x6fff4c04` is llvm_dependent_libraries)
    // or filled in later.
    let lower = s.to_lowercase();
    if (lower.starts_with(".section") || lower.starts_with(".pushsection"))
        && s.match_indices(['@', '%']).any(|(at, _)| {
            s[at + 1..]
                .trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == HOLE)
        })
    {
        return Some(format!(
            "an assembler section whose type is a number or filled in later can make the linker load \
             files of the grading machine; {MAY_NOT}"
        ));
    }
    if s.starts_with('\\') {
        return Some(format!(
            "an assembler statement that starts with a macro parameter (`{}`) can be .incbin or .include, \
             which read files of the grading machine; {MAY_NOT}",
            s.split_whitespace().next().unwrap_or(s)
        ));
    }
    if assembler && s.starts_with(HOLE) {
        return Some(format!(
            "assembler text that starts a statement with a piece filled in later (a macro argument or \
             an operand) can spell .incbin or .include, which read files of the grading machine; {MAY_NOT}"
        ));
    }
    None
}

/// `text` with each asm operand placeholder (`{}`, `{0}`, `{name}`,
/// `{x:w}`) replaced by [`HOLE`].
fn fill_operands(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '{' => {
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
                out.push(HOLE);
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The review audit

/// What kind of thing the grader looks for a term is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TermKind {
    VerdictLine,
    VerdictWord,
    TestName,
    Program,
    TokenFlag,
    Case,
}

impl TermKind {
    fn describe(self) -> &'static str {
        match self {
            TermKind::VerdictLine => "the verdict line",
            TermKind::VerdictWord => "the verdict word",
            TermKind::TestName => "the test name",
            TermKind::Program => "the test program",
            TermKind::TokenFlag => "the token flag",
            TermKind::Case => "the test case",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Term {
    text: String,
    kind: TermKind,
}

/// What a lab's grader looks for in the console, derived from its rubric:
/// the literal text of every `done`, `match` and `no_match` pattern (with
/// each case filled in) and the upper-case verdict words in them, the test
/// names, the programs the sessions run, the flags that pass the token,
/// and the case names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocabulary {
    terms: Vec<Term>,
}

impl Vocabulary {
    pub fn from_rubric(rubric: &Rubric) -> Vocabulary {
        let mut terms = BTreeSet::new();
        fn verdict(text: String, terms: &mut BTreeSet<Term>) {
            for word in text.split(|c: char| !is_ident_continue(c)) {
                if word.len() >= 2 && word.chars().all(|c| c.is_ascii_uppercase()) {
                    terms.insert(Term {
                        text: word.to_string(),
                        kind: TermKind::VerdictWord,
                    });
                }
            }
            terms.insert(Term {
                text,
                kind: TermKind::VerdictLine,
            });
        }
        for session in &rubric.sessions {
            let cases: Vec<Option<&str>> = if session.cases.is_empty() {
                vec![None]
            } else {
                session
                    .cases
                    .iter()
                    .map(|c| Some(c.name.as_str()))
                    .collect()
            };
            for case in &session.cases {
                terms.insert(Term {
                    text: case.name.clone(),
                    kind: TermKind::Case,
                });
            }
            for command in &session.commands {
                let words: Vec<&str> = command.split_whitespace().collect();
                if let Some(program) = words.first().filter(|w| !w.contains('{')) {
                    terms.insert(Term {
                        text: program.to_string(),
                        kind: TermKind::Program,
                    });
                }
                for pair in words.windows(2) {
                    if pair[0].starts_with('-') && pair[1].contains("{token}") {
                        terms.insert(Term {
                            text: pair[0].to_string(),
                            kind: TermKind::TokenFlag,
                        });
                    }
                }
            }
            if let Some(done) = &session.done {
                for case in &cases {
                    for run in literal_runs(done, *case) {
                        verdict(run, &mut terms);
                    }
                }
            }
        }
        for test in &rubric.tests {
            terms.insert(Term {
                text: test.name.clone(),
                kind: TermKind::TestName,
            });
            let session = rubric.session(&test.session);
            let cases: Vec<Option<&str>> = match &test.scope {
                Scope::Session => vec![None],
                Scope::Case(case) => vec![Some(case.as_str())],
                Scope::AllCases => session
                    .map(|s| s.cases.iter().map(|c| Some(c.name.as_str())).collect())
                    .unwrap_or_default(),
            };
            for pattern in test.matches.iter().chain(&test.no_matches) {
                for case in &cases {
                    for run in literal_runs(pattern, *case) {
                        verdict(run, &mut terms);
                    }
                }
            }
        }
        // A term of several kinds is listed as the first.
        let mut seen = BTreeSet::new();
        let mut terms: Vec<Term> = terms
            .into_iter()
            .filter(|t| seen.insert(t.text.clone()))
            .collect();
        // Longest first, so that a literal is described by the most
        // specific terms it spells.
        terms.sort_by(|a, b| b.text.len().cmp(&a.text.len()).then(a.cmp(b)));
        Vocabulary { terms }
    }
}

/// The runs of literal text a regex template requires, with `{case}`
/// filled in; `{token}`, groups, classes, alternation and quantifiers end
/// a run. Runs are trimmed of spaces and brackets, and kept when at least
/// two characters long with a letter in them.
fn literal_runs(template: &str, case: Option<&str>) -> Vec<String> {
    let mut runs = Vec::new();
    let mut run = String::new();
    let end = |run: &mut String, runs: &mut Vec<String>| {
        let trimmed = run.trim_matches(|c: char| c.is_whitespace() || "[](){}".contains(c));
        if trimmed.chars().count() >= 2 && trimmed.chars().any(char::is_alphabetic) {
            runs.push(trimmed.to_string());
        }
        run.clear();
    };
    let chars: Vec<char> = template.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '{' => {
                let close = chars[i..].iter().position(|&c| c == '}').map(|k| i + k);
                let name: String =
                    close.map_or_else(String::new, |k| chars[i + 1..k].iter().collect());
                match (name.as_str(), case) {
                    ("case", Some(case)) => run.push_str(case),
                    // A quantifier makes what it follows optional.
                    (name, _) if name.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
                        run.pop();
                        end(&mut run, &mut runs);
                    }
                    _ => end(&mut run, &mut runs),
                }
                i = close.unwrap_or(chars.len());
            }
            '\\' => {
                match chars.get(i + 1) {
                    Some(&e) if e.is_alphanumeric() => end(&mut run, &mut runs),
                    Some(&e) => run.push(e),
                    None => {}
                }
                i += 1;
            }
            '*' | '?' => {
                run.pop();
                end(&mut run, &mut runs);
            }
            '[' => {
                end(&mut run, &mut runs);
                while i < chars.len() && chars[i] != ']' {
                    i += 1;
                }
            }
            '^' | '$' | '(' | ')' | '|' | '.' | '+' => end(&mut run, &mut runs),
            c => run.push(c),
        }
        i += 1;
    }
    end(&mut run, &mut runs);
    runs
}

/// The text of every literal in `parsed` that could reach the console,
/// with its line: strings, arrays of char or byte literals
/// (`[b'O', b'K']`), and `concat!` pieces joined.
fn literals(parsed: &Parsed) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let tokens = &parsed.tokens;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if let Some((open, close)) = parsed.invocation(i)
            && t.text == "concat"
        {
            found.push((
                t.line,
                joined(parsed, "concat", open, close, 0).replace(HOLE, "\n"),
            ));
            i = close + 1;
            continue;
        }
        if is_punct(Some(t), "[") {
            let close = parsed.close[i];
            let inner = &tokens[i + 1..close.min(tokens.len())];
            let text: Option<String> = inner.iter().step_by(2).map(element_char).collect();
            let commas = inner
                .iter()
                .skip(1)
                .step_by(2)
                .all(|t| is_punct(Some(t), ","));
            if let Some(text) = text.filter(|_| commas && inner.len() >= 3) {
                found.push((t.line, text));
                i = close + 1;
                continue;
            }
        }
        if t.kind == Kind::Str {
            found.push((t.line, t.text.clone()));
        }
        i += 1;
    }
    found
}

/// The character an element of an array literal spells: a char or byte
/// literal, or an integer that is a printable ASCII code (`0x4f`, `75u8`).
fn element_char(t: &Token) -> Option<char> {
    match t.kind {
        Kind::Char => t.text.chars().next(),
        Kind::Number => {
            let digits = t.text.replace('_', "");
            // Without a type suffix (`u8`, `i32`): no digit is a `u` or `i`.
            let digits = &digits[..digits.find(['u', 'i']).unwrap_or(digits.len())];
            let value = match digits.get(..2) {
                Some("0x") => u8::from_str_radix(&digits[2..], 16),
                Some("0o") => u8::from_str_radix(&digits[2..], 8),
                Some("0b") => u8::from_str_radix(&digits[2..], 2),
                _ => digits.parse(),
            }
            .ok()?;
            (value.is_ascii_graphic() || value == b' ').then_some(char::from(value))
        }
        _ => None,
    }
}

/// Does `text` contain `term` as a whole: not inside a longer word?
fn spells(text: &str, term: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(is_ident_continue);
    text.match_indices(term).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + term.len()..].chars().next();
        let first = term.chars().next();
        let last = term.chars().next_back();
        let glued_before = word(first) && word(before);
        let glued_after = word(last) && word(after);
        !glued_before && !glued_after
    })
}

/// A literal as a reason shows it: quoted, escaped, at most 60 characters.
fn shown(text: &str) -> String {
    const MAX: usize = 60;
    let escaped: String = text.escape_debug().collect();
    if escaped.chars().count() > MAX {
        format!("\"{}…\"", escaped.chars().take(MAX).collect::<String>())
    } else {
        format!("\"{escaped}\"")
    }
}

/// Every literal in `source` (the file `file`) that spells something of
/// `vocabulary`, one flag per literal, naming the most specific terms it
/// spells.
pub fn review(file: &str, source: &str, vocabulary: &Vocabulary) -> Vec<ReviewFlag> {
    let parsed = Parsed::new(source);
    let mut flags = Vec::new();
    for (line, text) in literals(&parsed) {
        let mut matched: Vec<&Term> = Vec::new();
        for term in &vocabulary.terms {
            // Longest first: a term inside one already matched adds nothing.
            if spells(&text, &term.text) && !matched.iter().any(|m| m.text.contains(&term.text)) {
                matched.push(term);
            }
        }
        if matched.is_empty() {
            continue;
        }
        matched.sort_by_key(|t| text.find(&t.text));
        let what: Vec<String> = matched
            .iter()
            .map(|t| format!("{} {}", t.kind.describe(), shown(&t.text)))
            .collect();
        flags.push(ReviewFlag::at(
            file,
            line,
            format!("the string {} spells {}", shown(&text), and_list(&what)),
        ));
    }
    flags
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<(Kind, String)> {
        lex(source).into_iter().map(|t| (t.kind, t.text)).collect()
    }

    fn messages(source: &str) -> Vec<String> {
        host_reads("kernel/src/x.rs", source)
            .into_iter()
            .map(|f| f.to_string())
            .collect()
    }

    fn refused(source: &str) -> bool {
        !host_reads("kernel/src/x.rs", source).is_empty()
    }

    #[test]
    fn the_lexer_knows_comments_strings_chars_and_lifetimes() {
        assert_eq!(
            kinds(
                "a /* b /* c */ d */ e // f\n'g' 'h '\\'' b'i' \"j\\\"k\" r#\"l\"m\"# br\"n\" r#o"
            ),
            [
                (Kind::Ident, "a".into()),
                (Kind::Ident, "e".into()),
                (Kind::Char, "g".into()),
                (Kind::Lifetime, "h".into()),
                (Kind::Char, "'".into()),
                (Kind::Char, "i".into()),
                (Kind::Str, "j\"k".into()),
                (Kind::Str, "l\"m".into()),
                (Kind::Str, "n".into()),
                (Kind::Ident, "o".into()),
            ]
        );
        assert_eq!(
            kinds("'\"' x \"\\u{41}\\x42\\\n   C\" 1.5e-3 a::b != =>"),
            [
                (Kind::Char, "\"".into()),
                (Kind::Ident, "x".into()),
                (Kind::Str, "ABC".into()),
                (Kind::Number, "1.5e-3".into()),
                (Kind::Ident, "a".into()),
                (Kind::Punct, "::".into()),
                (Kind::Ident, "b".into()),
                (Kind::Punct, "!=".into()),
                (Kind::Punct, "=>".into()),
            ]
        );
        let lines: Vec<u32> = lex("a\n/* \n */ \"x\ny\" b\nr#\"\n\"# c")
            .iter()
            .map(|t| t.line)
            .collect();
        assert_eq!(lines, [1, 3, 4, 5, 6]);
    }

    #[test]
    fn deep_nesting_takes_linear_time_and_no_deep_recursion() {
        let depth = 200_000;
        let nested_macros = format!(
            "{}include_str!(\"/x\"){}",
            "m!(".repeat(depth),
            ")".repeat(depth)
        );
        let started = std::time::Instant::now();
        assert_eq!(host_reads("x.rs", &nested_macros).len(), 1);
        let nested_concat = format!(
            "{}\".incbin\"{}",
            "concat!(".repeat(depth),
            ")".repeat(depth)
        );
        // The string itself, and the too-deep `concat!` as a piece
        // filled in later.
        assert_eq!(host_reads("x.rs", &nested_concat).len(), 2);
        let names = format!("global_asm!(\"{}\");", "{}.".repeat(depth));
        assert!(!host_reads("x.rs", &names).is_empty());
        let uses = "use ".repeat(depth);
        assert!(host_reads("x.rs", &uses).is_empty());
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn a_shebang_line_is_skipped_as_rustc_skips_it() {
        // Lexed as code, the quote would open a string hiding line 2.
        assert_eq!(
            messages("#!/bin/sh \"\ninclude_str!(\"/etc/passwd\"); \"\n"),
            [
                "kernel/src/x.rs:2: include_str! reads a file of the grading machine at build time; submissions may not use it"
            ]
        );
        // An inner attribute is not a shebang.
        assert!(refused("#![path = \"/etc\"]\n"));
    }

    #[test]
    fn host_reading_macros_are_refused_however_they_are_spelled() {
        for source in [
            "const X: &str = include_str!(\"/etc/passwd\");",
            "const X: &[u8] = include_bytes!(\"/etc/shadow\");",
            "include!(\"/etc/x.rs\");",
            "const H: &str = env!(\"HOME\");",
            "const H: Option<&str> = option_env!(\"HOME\");",
            "const X: &str = core::include_str!(\"/etc/passwd\");",
            "const X: &[u8] = ::core::include_bytes!(\"/etc/passwd\");",
            "const X: &str = std::env!(\"HOME\");",
            "const X: &str = r#include_str!(\"/etc/passwd\");",
            "const X: &str = include_str /* hm */ ! (\"/etc/passwd\");",
            "const X: &str = include_str\n!\n[\"/etc/passwd\"];",
            "const X: &str = include_str!{\"/etc/passwd\"};",
            "use core::include_str as x; const X: &str = x!(\"/etc/passwd\");",
            "use core::{self as c, include_bytes as b};",
            "use core::prelude::v1::*; use core::{option_env};",
            "macro_rules! m { () => { $crate::include_str!(\"/etc/passwd\") } }",
            "macro_rules! m { ($x:ident) => { $x!(\"/etc/passwd\") } } const X: &str = m!(include_str);",
            "macro_rules! m { ($x:path) => { $x!(\"/etc/passwd\") } } const X: &str = m!(core::include_str);",
            "#[doc = include_str!(\"/etc/passwd\")] fn f() {}",
            "#![doc = include_str!(\"/etc/passwd\")]",
            "#[cfg_attr(all(), doc = core::include_str!(\"/etc/passwd\"))] fn f() {}",
            "fn f() -> usize { let x = core::include_bytes; 0 }",
        ] {
            assert!(refused(source), "not refused: {source}");
        }
        assert_eq!(
            messages("// line 1\nconst X: &str = include_str!(\"/etc/passwd\");"),
            [
                "kernel/src/x.rs:2: include_str! reads a file of the grading machine at build time; submissions may not use it"
            ]
        );
        assert_eq!(
            messages("fn f() { env!(\"HOME\"); }"),
            [
                "kernel/src/x.rs:1: env! reads the grading machine's build environment at build time; submissions may not use it"
            ]
        );
    }

    #[test]
    fn the_names_in_comments_strings_and_longer_identifiers_are_fine() {
        for source in [
            "// include_str!(\"/etc/passwd\") would read a file\nfn f() {}",
            "/* env!(\"HOME\") /* nested */ include!(\"x\") */ fn f() {}",
            "/// Unlike include_str!, this reads nothing.\nfn f() {}",
            "//! Mentions #[path = \"x\"] and .incbin in a doc comment.",
            "fn f() { println!(\"include_str!(\\\"x\\\")\"); }",
            "const S: &str = r#\"env!(\"HOME\") #[path = \"x\"]\"#;",
            "fn my_include_str() {} fn include_str_like() { my_include_str(); }",
            "fn f(env: u32) -> u32 { let option_env = env; option_env + 1 }",
            "fn f(env: u32) -> bool { env != 3 }",
            "fn f(path: &str) { let path = path; namei(path); }",
            "#[link_section = \".text.init\"] #[unsafe(no_mangle)] static X: u8 = 0;",
            "macro_rules! csr { ($(#[$doc:meta])* $name:ident, $csr:literal) => { $(#[$doc])* fn $name() {} } }",
            "fn f() { let c = '\"'; let s = \"include_str!\"; }",
            "fn f<'a>(x: &'a str) -> &'a str { x } const C: char = 'x';",
            "fn f(p: &str) { println!(\"{path}\", path = p); }",
            "fn f() -> impl Sized + use<> { let env = 1; env }",
        ] {
            assert_eq!(messages(source), Vec::<String>::new(), "refused: {source}");
        }
    }

    #[test]
    fn path_attributes_are_refused_also_inside_cfg_attr_and_macros() {
        for source in [
            "#[path = \"/etc/passwd\"] mod x;",
            "#[path=\"/tmp/evil.rs\"]\nmod x;",
            "#![path = \"/etc\"]",
            "#[cfg_attr(all(), path = \"/etc/passwd\")] mod x;",
            "#[cfg_attr(target_os = \"none\", cfg_attr(all(), path = \"/x.rs\"))] mod x;",
            "#[r#path = \"/etc/passwd\"] mod x;",
            "macro_rules! m { ($a:ident) => { #[$a = \"/etc/passwd\"] mod x; } } m!(path);",
            "macro_rules! m { ($($t:tt)*) => { #[$($t)*] mod x; } }",
            "macro_rules! m { ($m:meta) => { #[$m] mod x; } } m!(path = \"/etc/passwd\");",
            "#[debugger_visualizer(gdb_script_file = \"/etc/passwd\")] mod x {}",
            "#[link(name = \"c\", kind = \"static\")] unsafe extern \"C\" {}",
        ] {
            assert!(refused(source), "not refused: {source}");
        }
        assert_eq!(
            messages("\n#[path = \"/etc/passwd\"] mod x;"),
            [
                "kernel/src/x.rs:2: #[path] makes rustc read a module from anywhere on the grading machine; submissions may not use it"
            ]
        );
    }

    #[test]
    fn assembler_directives_that_read_files_are_refused() {
        for source in [
            "core::arch::global_asm!(\".incbin \\\"/etc/passwd\\\"\");",
            "core::arch::global_asm!(r#\"\n  .section .rodata\n  .incbin \"/etc/passwd\"\n\"#);",
            "global_asm!(r##\"x: .include \"/etc/x.s\"\"##);",
            "unsafe { asm!(\".INCBIN \\\"/etc/passwd\\\"\") }",
            "unsafe { core::arch::asm!(\"nop; .incbin \\\"/etc/passwd\\\"\") }",
            "global_asm!(concat!(\".inc\", \"bin \\\"/etc/passwd\\\"\"));",
            "global_asm!(concat!(\".\", concat!(\"inc\", \"lude\"), \" \\\"/x\\\"\"));",
            "global_asm!(concat!(\".\", stringify!(incbin), \" \\\"/etc/passwd\\\"\"));",
            "global_asm!(stringify!(.incbin \"/etc/passwd\"));",
            "global_asm!(\".macro m x\\n.inc\\\\x \\\"/etc/passwd\\\"\\n.endm\\nm bin\");",
            "macro_rules! m { ($x:literal) => { global_asm!(concat!(\".inc\", $x)); } }",
            "macro_rules! m { ($x:literal) => { global_asm!(concat!($x, \" \\\"/etc/passwd\\\"\")); } }",
            "global_asm!(\".inc{} \\\"/etc/passwd\\\"\", sym bin);",
            "global_asm!(\"{} \\\"/etc/passwd\\\"\", sym incbin);",
            "#[unsafe(naked)] extern \"C\" fn f() { naked_asm!(\".incbin \\\"/x\\\"\") }",
            "const S: &str = \".incbin \\\"/etc/passwd\\\"\";",
            // LLVM ends statements at `\r` too.
            "global_asm!(\"nop\\r.incbin \\\"/etc/passwd\\\"\");",
            // An assembler macro whose caller names the directive.
            "global_asm!(\".macro m d\\n\\\\d \\\"/etc/passwd\\\"\\n.endm\\nm .incbin\");",
            "global_asm!(\".macro m d\\nx: \\\\d\\n.endm\");",
            "global_asm!(\".altmacro\\n.macro m a b\\na&b \\\"/x\\\"\\n.endm\");",
            "global_asm!(\".ALTMACRO\");",
            "global_asm!(concat!(\"nop; m .inc\", $x));",
            // lld loads what a dependent-libraries section names.
            "global_asm!(\".section .deplibs,\\\"MS\\\",@llvm_dependent_libraries,1\\n.asciz \\\"/etc/passwd\\\"\");",
            "global_asm!(\".pushsection .x,\\\"MS\\\",@0x6fff4c04,1\");",
            "global_asm!(\".section .x,\\\"a\\\",%{}\", const 1);",
            "global_asm!(\".linker_option \\\"-L/etc\\\"\");",
            "global_asm!(concat!(\".sec\", $x));",
        ] {
            assert!(refused(source), "not refused: {source}");
        }
        assert_eq!(
            messages("global_asm!(r#\"\n  .globl x\n  .incbin \"/etc/passwd\"\n\"#);"),
            [
                "kernel/src/x.rs:3: the assembler directive .incbin reads a file of the grading machine at build time; submissions may not use it"
            ]
        );
    }

    #[test]
    fn ordinary_assembler_and_strings_are_fine() {
        for source in [
            "global_asm!(r#\"\n.section .text\n.globl f\n.balign 4\nf: li a7, {n}\n ecall\n.string \"/init\"\n\"#, n = const 1);",
            "unsafe { asm!(concat!(\"csrr {}, \", $csr), out(reg) x) }",
            "unsafe { asm!(concat!(\"csrw \", $csr, \", {}\"), in(reg) x) }",
            "unsafe { asm!(\"mv {}, tp\", out(reg) x) }",
            "const S: &str = \"incbin and include are only words\";",
            "const S: &str = \"{}.{} and x.include\";",
            "fn f() { println!(\".{}\", 1); println!(\"{}\", 2); }",
            "const S: &str = \"see include_str\";",
            "global_asm!(\".section .rodata.include_me\");",
            "global_asm!(\".section .text.trap,\\\"ax\\\",@progbits\\n.pushsection .bss,\\\"aw\\\",%nobits\");",
        ] {
            assert_eq!(messages(source), Vec::<String>::new(), "refused: {source}");
        }
    }

    fn vocabulary() -> Vocabulary {
        let rubric = Rubric::parse(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/grading/lazy/rubric.toml"
            ))
            .unwrap(),
            "rubric.toml",
        )
        .unwrap();
        Vocabulary::from_rubric(&rubric)
    }

    fn reasons(source: &str) -> Vec<String> {
        review("kernel/src/x.rs", source, &vocabulary())
            .into_iter()
            .map(|f| f.to_string())
            .collect()
    }

    #[test]
    fn the_vocabulary_comes_from_the_rubric() {
        let v = vocabulary();
        let has =
            |text: &str, kind: TermKind| v.terms.iter().any(|t| t.text == text && t.kind == kind);
        assert!(has("ALL TESTS PASSED", TermKind::VerdictLine));
        assert!(has("SOME TESTS FAILED", TermKind::VerdictLine));
        assert!(has("test sbrkarg: OK", TermKind::VerdictLine));
        assert!(has("test lazy alloc: OK", TermKind::VerdictLine));
        assert!(has("FAILED -- lost some free pages", TermKind::VerdictLine));
        assert!(has("OK", TermKind::VerdictWord));
        assert!(has("FAILED", TermKind::VerdictWord));
        assert!(has("lazy: map", TermKind::TestName));
        assert!(has("lazytests", TermKind::Program));
        assert!(has("usertests", TermKind::Program));
        assert!(has("-k", TermKind::TokenFlag));
        assert!(has("sbrkarg", TermKind::Case));
        assert!(has("copyinstr1", TermKind::Case));
        assert!(
            !v.terms
                .iter()
                .any(|t| t.text.contains('{') || t.text.contains('\\'))
        );
    }

    #[test]
    fn literal_runs_of_regexes() {
        assert_eq!(
            literal_runs(r"^(ALL TESTS PASSED|SOME TESTS FAILED) \[{token}\]$", None),
            ["ALL TESTS PASSED", "SOME TESTS FAILED"]
        );
        assert_eq!(
            literal_runs(r"^test {case}: OK \[{token}\]$", Some("sbrkarg")),
            ["test sbrkarg: OK"]
        );
        assert_eq!(
            literal_runs(r"^ab?cd\d+ef [xy]gh", None),
            ["cd", "ef", "gh"]
        );
        assert_eq!(literal_runs(r"a\.b\.c x{2}yz", None), ["a.b.c", "yz"]);
    }

    #[test]
    fn literals_that_spell_verdicts_are_flagged() {
        assert_eq!(
            reasons("fn f() {\n    println!(\"test sbrkarg: OK\");\n}"),
            [
                "kernel/src/x.rs:2: the string \"test sbrkarg: OK\" spells the verdict line \"test sbrkarg: OK\""
            ]
        );
        assert_eq!(
            reasons("const A: &[u8] = b\"ALL TESTS PASSED\\n\";"),
            [
                "kernel/src/x.rs:1: the string \"ALL TESTS PASSED\\n\" spells the verdict line \"ALL TESTS PASSED\""
            ]
        );
        assert_eq!(
            reasons("const A: &str = r#\"test {}: OK\"#;"),
            ["kernel/src/x.rs:1: the string \"test {}: OK\" spells the verdict word \"OK\""]
        );
        assert_eq!(
            reasons("const P: [u8; 9] = [b'u', b's', b'e', b'r', b't', b'e', b's', b't', b's'];"),
            ["kernel/src/x.rs:1: the string \"usertests\" spells the test program \"usertests\""]
        );
        assert_eq!(
            reasons("const V: [u8; 5] = [b':', b' ', 0x4f, 75u8, 0x21];"),
            ["kernel/src/x.rs:1: the string \": OK!\" spells the verdict word \"OK\""]
        );
        assert_eq!(
            reasons("const P: &str = concat!(\"lazy\", \"tests -k \", $t);"),
            [
                "kernel/src/x.rs:1: the string \"lazytests -k \\n\" spells the test program \"lazytests\" and the token flag \"-k\""
            ]
        );
        assert_eq!(
            reasons("fn f() { if name == \"sbrkarg\" {} }"),
            ["kernel/src/x.rs:1: the string \"sbrkarg\" spells the test case \"sbrkarg\""]
        );
    }

    #[test]
    fn ordinary_literals_comments_and_code_are_not_flagged() {
        for source in [
            "// prints test sbrkarg: OK\nfn f() {}",
            "/// usertests -k would\nfn sbrkarg() { let OK = 1; }",
            "fn f() { panic!(\"uvmunmap: not mapped\"); println!(\"usertrap(): unexpected scause {:#018x} pid={}\", 1, 2); }",
            "const S: &str = \"virtio disk FEATURES_OK unset\";",
            "const S: &str = \"kmem\"; const T: &str = \"pipe\"; const U: &str = \"--kill\";",
            "const S: &str = \"BOOKED\";",
            "const T: [u64; 4] = [79, 75, 1 << 40, 3];",
            "const U: [u8; 3] = [79, 75, 0];",
        ] {
            assert_eq!(reasons(source), Vec::<String>::new(), "flagged: {source}");
        }
    }

    #[test]
    fn the_starter_kernel_passes_both_audits() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/reference-kernel/kernel/src");
        let vocabulary = vocabulary();
        let mut files = 0;
        let mut dirs = vec![std::path::PathBuf::from(root)];
        let mut paths = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    paths.push(path);
                }
            }
        }
        for path in paths {
            if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let name = path.display().to_string();
                assert_eq!(host_reads(&name, &text), Vec::new(), "{name}");
                assert_eq!(review(&name, &text, &vocabulary), Vec::new(), "{name}");
                files += 1;
            }
        }
        assert!(files > 20, "read {files} files");
    }
}
