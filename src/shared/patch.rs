//! Reading untrusted patch files: which files each patch touches, and how
//! ([`PatchFile`], [`Patch`], [`FileChange`]).
//!
//! A patch file is `git diff` output, a plain `diff -u`/`diff -ruN`, or a
//! `git format-patch` mbox holding a series of patches (one per message, in
//! order). Parsing never trusts the text: every malformed shape is an error
//! with a line number, never a panic.
//!
//! `git apply` does the applying, so the point of parsing is to know, before
//! anything is applied, every path git *will* touch. Path names are
//! therefore resolved the way git's apply.c resolves them — the same header
//! lines, the same C-style unquoting, the same `-p` stripping (rename and
//! copy lines strip one component less), the same "prefer the shorter name"
//! rule and timestamp trimming for traditional `---`/`+++` headers, the same
//! collapsing of `//` — so that a hostile patch cannot make us check one
//! path while git writes another. (The submission code also re-checks the
//! tree after applying, as a second line of defence.)
//!
//! One normalisation happens here: a patch whose every line ends in CRLF
//! (saved by a Windows editor or mangled by mail) is converted to LF, since
//! the starter code uses LF and git would otherwise find no hunk matching.

use std::sync::LazyLock;

use regex::bytes::Regex;

/// Patch files larger than this are refused before parsing: a real
/// submission is a few kilobytes.
pub const MAX_PATCH_BYTES: usize = 16 << 20;

/// Why a patch file cannot be used. `name` is the file name as shown to the
/// user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    #[error("{name} is empty: nothing to grade")]
    Empty { name: String },
    #[error("{name} is not a patch: no `diff --git` or `---`/`+++` headers found")]
    NotAPatch { name: String },
    #[error("{name} is not a valid patch: line {line}: {message}")]
    Malformed {
        name: String,
        line: usize,
        message: String,
    },
    #[error("{name} is too large to be a submission ({size} bytes; the limit is {limit} bytes)")]
    TooLarge {
        name: String,
        size: u64,
        limit: usize,
    },
}

/// A parsed patch file: one patch, or several for an mbox series.
#[derive(Clone, Debug)]
pub struct PatchFile {
    /// The file name, for messages.
    pub name: String,
    /// The patches in the order they apply. Never empty.
    pub patches: Vec<Patch>,
}

/// One patch: a whole plain patch file, or one message of a series.
#[derive(Clone, Debug)]
pub struct Patch {
    /// The subject of its mail message (`[PATCH n/m]` removed), for a
    /// message of an mbox.
    pub subject: Option<String>,
    /// Line (1-based, in the file) where the patch starts.
    pub first_line: usize,
    /// How many leading path components `git apply -p` strips.
    pub strip: usize,
    /// The files it changes, in order, with names resolved under `strip`.
    pub files: Vec<FileChange>,
    raw: Vec<RawFile>,
    text: Vec<u8>,
}

/// What a patch does to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Modify,
    Create,
    Delete,
    Rename,
    Copy,
}

/// One file's part of a patch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// The file before (None when created).
    pub old_path: Option<String>,
    /// The file after (None when deleted).
    pub new_path: Option<String>,
    pub kind: ChangeKind,
    /// File modes from `old mode`/`deleted file mode`/`index … <mode>`.
    pub old_mode: Option<u32>,
    /// File modes from `new mode`/`new file mode`.
    pub new_mode: Option<u32>,
    /// A binary change (`GIT binary patch` or `Binary files … differ`).
    pub binary: bool,
    pub hunks: Vec<Hunk>,
    /// Line (1-based, in the file) of the file's header.
    pub line: usize,
}

/// One `@@ -a,b +c,d @@` hunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hunk {
    pub old_start: u64,
    pub old_lines: u64,
    pub new_start: u64,
    pub new_lines: u64,
    /// Line (1-based, in the file) of the `@@` header.
    pub line: usize,
}

impl FileChange {
    /// Every path the change reads or writes (old and new, once each).
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        let new = self
            .new_path
            .as_deref()
            .filter(|n| Some(*n) != self.old_path.as_deref());
        self.old_path.as_deref().into_iter().chain(new)
    }

    /// The path to name in messages: the new one unless deleted.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("")
    }
}

impl Patch {
    /// The bytes to give `git apply` (CRLF already normalised).
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// Make `paths`, the files of a tree, those of the tree after this
    /// patch: what it deletes or renames away goes, what it creates,
    /// copies or renames to comes.
    pub fn update_paths(&self, paths: &mut std::collections::BTreeSet<String>) {
        for change in &self.files {
            if let Some(old) = &change.old_path
                && matches!(change.kind, ChangeKind::Delete | ChangeKind::Rename)
            {
                paths.remove(old);
            }
            if let Some(new) = &change.new_path {
                paths.insert(new.clone());
            }
        }
    }

    /// Resolve the file names again for another `-p` level.
    pub fn restrip(&mut self, strip: usize, name: &str) -> Result<(), PatchError> {
        self.files = self
            .raw
            .iter()
            .map(|raw| raw.resolve(strip))
            .collect::<Result<_, _>>()
            .map_err(|(line, message)| PatchError::Malformed {
                name: name.to_string(),
                line,
                message,
            })?;
        self.strip = strip;
        Ok(())
    }
}

/// Parse the patch file `name` holding `bytes`.
pub fn parse(name: &str, bytes: &[u8]) -> Result<PatchFile, PatchError> {
    if bytes.len() > MAX_PATCH_BYTES {
        return Err(PatchError::TooLarge {
            name: name.to_string(),
            size: bytes.len() as u64,
            limit: MAX_PATCH_BYTES,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PatchError::Empty {
            name: name.to_string(),
        });
    }
    let text = normalise(bytes);
    let lines = split_lines(&text);
    let malformed = |(line, message): (usize, String)| PatchError::Malformed {
        name: name.to_string(),
        line,
        message,
    };

    let mut patches = Vec::new();
    for message in split_messages(&lines) {
        let raw = parse_files(&lines[message.clone()], message.start).map_err(malformed)?;
        if raw.is_empty() {
            // A cover letter, an empty commit, or text before the first
            // message: nothing to apply.
            continue;
        }
        let strip = guess_strip(&raw);
        let files = raw
            .iter()
            .map(|r| r.resolve(strip))
            .collect::<Result<_, _>>()
            .map_err(malformed)?;
        let start = lines[message.start].start;
        let end = lines.get(message.end).map_or(text.len(), |l| l.start);
        patches.push(Patch {
            subject: subject(&lines[message.clone()]),
            first_line: message.start + 1,
            strip,
            files,
            raw,
            text: text[start..end].to_vec(),
        });
    }
    if patches.is_empty() {
        return Err(PatchError::NotAPatch {
            name: name.to_string(),
        });
    }
    Ok(PatchFile {
        name: name.to_string(),
        patches,
    })
}

/// CRLF to LF when every line has CRLF; a final newline when missing (git
/// calls a last line without one corrupt, and editors drop it).
fn normalise(bytes: &[u8]) -> Vec<u8> {
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count();
    let crlfs = bytes.windows(2).filter(|w| w == b"\r\n").count();
    let mut text = if newlines > 0 && crlfs == newlines {
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                i += 1;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        out
    } else {
        bytes.to_vec()
    };
    if text.last() != Some(&b'\n') {
        text.push(b'\n');
    }
    text
}

/// A line of the patch text: its start offset and its content without the
/// `\n`.
#[derive(Clone, Copy, Debug)]
struct Line<'a> {
    start: usize,
    bytes: &'a [u8],
}

fn split_lines(text: &[u8]) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if b == b'\n' {
            lines.push(Line {
                start,
                bytes: &text[start..i],
            });
            start = i + 1;
        }
    }
    lines
}

/// The line ranges of the messages of an mbox, or the whole file. A message
/// starts at a `From ` line followed by a mail header line; such a line can
/// never be inside a hunk, whose lines start with ` `, `+`, `-` or `\`.
fn split_messages(lines: &[Line<'_>]) -> Vec<std::ops::Range<usize>> {
    static HEADER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[A-Za-z][A-Za-z0-9-]*: ").expect("valid regex"));
    let mut starts: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            lines[i].bytes.starts_with(b"From ")
                && lines
                    .get(i + 1)
                    .is_some_and(|next| HEADER.is_match(next.bytes))
        })
        .collect();
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    let mut ranges: Vec<_> = starts.windows(2).map(|w| w[0]..w[1]).collect();
    if let Some(&last) = starts.last() {
        ranges.push(last..lines.len());
    }
    ranges
}

/// The `Subject:` of a message (folded lines joined, `[PATCH …]` dropped).
fn subject(lines: &[Line<'_>]) -> Option<String> {
    if !lines.first()?.bytes.starts_with(b"From ") {
        return None;
    }
    let mut subject: Option<String> = None;
    for line in &lines[1..] {
        if line.bytes.is_empty() {
            break; // end of the mail headers
        }
        let text = String::from_utf8_lossy(line.bytes);
        if let Some(s) = subject.as_mut()
            && (text.starts_with(' ') || text.starts_with('\t'))
        {
            s.push(' ');
            s.push_str(text.trim());
            continue;
        }
        if subject.is_some() {
            break;
        }
        if let Some(rest) = text.strip_prefix("Subject:") {
            subject = Some(rest.trim().to_string());
        }
    }
    let subject = subject?;
    let subject = match subject.strip_prefix('[') {
        Some(rest) => rest
            .split_once(']')
            .map_or(subject.as_str(), |(_, s)| s.trim_start()),
        None => subject.as_str(),
    };
    Some(subject.to_string())
}

/// A file header as written, before names are resolved for a `-p` level.
#[derive(Clone, Debug)]
struct RawFile {
    line: usize,
    header: RawHeader,
    binary: bool,
    hunks: Vec<Hunk>,
}

#[derive(Clone, Debug)]
enum RawHeader {
    /// `diff --git <rest>` and its extended header lines in order.
    Git {
        rest: Vec<u8>,
        lines: Vec<(usize, Vec<u8>)>,
    },
    /// `--- <old>` and `+++ <new>`.
    Traditional { old: Vec<u8>, new: Vec<u8> },
}

/// The extended header lines git recognises after `diff --git`, in git's
/// order of matching.
const GIT_HEADERS: &[&str] = &[
    "--- ",
    "+++ ",
    "old mode ",
    "new mode ",
    "deleted file mode ",
    "new file mode ",
    "copy from ",
    "copy to ",
    "rename old ",
    "rename new ",
    "rename from ",
    "rename to ",
    "similarity index ",
    "dissimilarity index ",
    "index ",
];

static HUNK_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@").expect("valid regex")
});

/// Parse a hunk header; None if the line is not one.
fn hunk_header(bytes: &[u8], line: usize) -> Option<Hunk> {
    let caps = HUNK_HEADER.captures(bytes)?;
    let num = |i: usize, default: u64| -> Option<u64> {
        match caps.get(i) {
            Some(m) => std::str::from_utf8(m.as_bytes()).ok()?.parse().ok(),
            None => Some(default),
        }
    };
    Some(Hunk {
        old_start: num(1, 0)?,
        old_lines: num(2, 1)?,
        new_start: num(3, 0)?,
        new_lines: num(4, 1)?,
        line,
    })
}

type ParseResult<T> = Result<T, (usize, String)>;

/// A file's old and new names (None for /dev/null), as raw bytes.
type OldNew = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The file headers and hunks of one message. `first` is the index of its
/// first line in the file (for 1-based line numbers).
fn parse_files(lines: &[Line<'_>], first: usize) -> ParseResult<Vec<RawFile>> {
    let lineno = |i: usize| first + i + 1;
    let mut files = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].bytes;
        if line.starts_with(b"@@ -") {
            if hunk_header(line, 0).is_some() {
                return Err((
                    lineno(i),
                    format!(
                        "the hunk `{}` has no file header (`diff --git` or `---`/`+++`) before it",
                        shorten(line)
                    ),
                ));
            }
            i += 1;
            continue;
        }
        let header_line = lineno(i);
        let header = if let Some(rest) = line.strip_prefix(b"diff --git ") {
            i += 1;
            let mut header_lines = Vec::new();
            while i < lines.len() {
                let l = lines[i].bytes;
                if l.starts_with(b"@@ -")
                    || !GIT_HEADERS.iter().any(|h| l.starts_with(h.as_bytes()))
                {
                    break;
                }
                header_lines.push((lineno(i), l.to_vec()));
                i += 1;
            }
            if header_lines.is_empty() {
                // A `diff --git` line with no header lines after it (quoted
                // in a commit message, say) is not a file header to git.
                continue;
            }
            RawHeader::Git {
                rest: rest.to_vec(),
                lines: header_lines,
            }
        } else if line.starts_with(b"--- ")
            && lines
                .get(i + 1)
                .is_some_and(|l| l.bytes.starts_with(b"+++ "))
            && lines
                .get(i + 2)
                .is_some_and(|l| l.bytes.starts_with(b"@@ -"))
        {
            let header = RawHeader::Traditional {
                old: line[4..].to_vec(),
                new: lines[i + 1].bytes[4..].to_vec(),
            };
            i += 2;
            header
        } else {
            // Mail headers, commit messages, diffstats, `diff -ruN` command
            // lines, signatures: git skips them, and so do we.
            i += 1;
            continue;
        };

        let file_name = match file_header_name(&header) {
            Some(n) => format!(" of `{}`", escape(&n)),
            None => String::new(),
        };
        let mut file = RawFile {
            line: header_line,
            header,
            binary: false,
            hunks: Vec::new(),
        };
        if lines.get(i).is_some_and(|l| l.bytes == b"GIT binary patch") {
            file.binary = true;
            i = skip_binary(lines, i + 1);
        } else if lines.get(i).is_some_and(|l| l.bytes.ends_with(b" differ"))
            && matches!(file.header, RawHeader::Git { .. })
        {
            file.binary = true;
            i += 1;
        }
        while i < lines.len() && lines[i].bytes.starts_with(b"@@ -") {
            let Some(hunk) = hunk_header(lines[i].bytes, lineno(i)) else {
                return Err((
                    lineno(i),
                    format!(
                        "malformed hunk header `{}`{file_name}",
                        shorten(lines[i].bytes)
                    ),
                ));
            };
            i = parse_hunk_body(lines, i + 1, &hunk, first, &file_name)?;
            file.hunks.push(hunk);
        }
        files.push(file);
    }
    Ok(files)
}

/// Skip a `GIT binary patch` body: one or two blocks (`literal N`/`delta N`
/// then base85 lines) each ending at an empty line.
fn skip_binary(lines: &[Line<'_>], mut i: usize) -> usize {
    for _ in 0..2 {
        if !lines
            .get(i)
            .is_some_and(|l| l.bytes.starts_with(b"literal ") || l.bytes.starts_with(b"delta "))
        {
            break;
        }
        while i < lines.len() && !lines[i].bytes.is_empty() {
            i += 1;
        }
        i += 1; // the empty line
    }
    i
}

/// Check a hunk's lines against its header's counts, as git does; returns
/// the index of the line after the hunk.
fn parse_hunk_body(
    lines: &[Line<'_>],
    mut i: usize,
    hunk: &Hunk,
    first: usize,
    file: &str,
) -> ParseResult<usize> {
    let (mut old, mut new) = (hunk.old_lines, hunk.new_lines);
    let (mut added, mut deleted) = (0u64, 0u64);
    let header = lines
        .get(hunk.line - first - 1)
        .and_then(|l| HUNK_HEADER.find(l.bytes))
        .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
        .unwrap_or_default();
    while old > 0 || new > 0 {
        let Some(line) = lines.get(i) else {
            return Err((
                hunk.line,
                format!(
                    "the hunk `{header}`{file} ends early: the file stops {old} old and {new} new lines short \
                     (is it truncated?)"
                ),
            ));
        };
        let too_many = |what: &str| {
            (
                first + i + 1,
                format!(
                    "the hunk `{header}`{file} has more {what} lines than its header says \
                     (was the patch edited by hand?)"
                ),
            )
        };
        match line.bytes.first() {
            // An empty line is an empty context line whose space was eaten.
            None | Some(b' ') => {
                if old == 0 || new == 0 {
                    return Err(too_many("context"));
                }
                old -= 1;
                new -= 1;
            }
            Some(b'-') => {
                old = old.checked_sub(1).ok_or_else(|| too_many("removed"))?;
                deleted += 1;
            }
            Some(b'+') => {
                new = new.checked_sub(1).ok_or_else(|| too_many("added"))?;
                added += 1;
            }
            Some(b'\\') if line.bytes.starts_with(b"\\ ") => {}
            Some(_) => {
                return Err((
                    first + i + 1,
                    format!(
                        "unexpected line `{}` in the hunk `{header}`{file}: hunk lines start with ` `, `+` or `-` \
                         (was the patch edited by hand, or mangled by a mail client?)",
                        shorten(line.bytes)
                    ),
                ));
            }
        }
        i += 1;
    }
    if added == 0 && deleted == 0 {
        return Err((
            hunk.line,
            format!("the hunk `{header}`{file} changes nothing"),
        ));
    }
    // "\ No newline at end of file" after the last counted line.
    if lines.get(i).is_some_and(|l| l.bytes.starts_with(b"\\ ")) {
        i += 1;
    }
    Ok(i)
}

/// A best-effort name for messages about a header whose names are not
/// resolved yet.
fn file_header_name(header: &RawHeader) -> Option<String> {
    let name = match header {
        RawHeader::Git { rest, lines } => {
            let value = |prefix: &[u8]| {
                lines
                    .iter()
                    .find_map(|(_, l)| l.strip_prefix(prefix))
                    .filter(|v| !is_dev_null(v))
            };
            value(b"+++ ")
                .or_else(|| value(b"--- "))
                .and_then(|v| find_name(v, 1, TERM_TAB))
                .or_else(|| git_header_name(1, rest))?
        }
        RawHeader::Traditional { old, new } => {
            let value = if is_dev_null(new) { old } else { new };
            find_name_traditional(value, None, 1)?
        }
    };
    Some(String::from_utf8_lossy(&name).into_owned())
}

/// A line for a message: at most 60 characters, control characters
/// escaped.
fn shorten(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let short: String = text.chars().take(60).collect();
    let more = if short.len() < text.len() { "…" } else { "" };
    format!("{}{more}", escape(&short))
}

/// `text` with control characters escaped, for messages.
pub fn escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Which `-p` level the headers suggest: 1 when names carry the `a/`/`b/`
/// (or mnemonic `i/`, `w/`, `c/`, `o/`) prefixes or, in a traditional diff,
/// two different top directories (`diff -ruN starter/ mine/`); 0 when they
/// do not; 1 without evidence either way (git's default). The submission
/// code may still switch when the names do not exist in the starter tree.
fn guess_strip(files: &[RawFile]) -> usize {
    /// One side of a header, read with -p0.
    #[derive(PartialEq)]
    enum Side {
        /// `/dev/null`, or no name at all.
        Null,
        /// A name without a directory (`vm.rs`): only -p0 can read it.
        Bare,
        /// A name's top directory.
        Dir(Vec<u8>),
    }
    let side = |raw: &[u8]| -> Side {
        if is_dev_null(raw) {
            return Side::Null;
        }
        match find_name(raw, 0, TERM_TAB) {
            None => Side::Null,
            Some(name) => match name.iter().position(|&b| b == b'/') {
                Some(slash) => Side::Dir(name[..slash].to_vec()),
                None => Side::Bare,
            },
        }
    };
    let letter = |s: &Side| matches!(s, Side::Dir(d) if d.len() == 1);

    let (mut prefixed, mut bare) = (0, 0);
    for file in files {
        let (old, new) = match &file.header {
            RawHeader::Git { rest, lines } => {
                let value = |prefix: &[u8]| lines.iter().find_map(|(_, l)| l.strip_prefix(prefix));
                match (value(b"--- "), value(b"+++ ")) {
                    (Some(minus), Some(plus)) => (side(minus), side(plus)),
                    // `diff --git a/x b/x` alone (a mode change, an empty
                    // file): its first name.
                    _ => (side(rest), side(rest)),
                }
            }
            RawHeader::Traditional { old, new } => (side(old), side(new)),
        };
        let traditional = matches!(file.header, RawHeader::Traditional { .. });
        match (&old, &new) {
            (Side::Null, Side::Null) => {}
            // A creation or deletion names one side only: a letter prefix
            // is evidence, a plain directory is not (`mine/kernel/…` or
            // `kernel/…`?).
            (Side::Null, s) | (s, Side::Null) if letter(s) => prefixed += 1,
            (Side::Null, Side::Dir(_)) | (Side::Dir(_), Side::Null) => {}
            _ if letter(&old) && letter(&new) => prefixed += 1,
            (Side::Dir(o), Side::Dir(n)) if traditional && o != n => prefixed += 1,
            _ => bare += 1,
        }
    }
    if bare > 0 && prefixed == 0 { 0 } else { 1 }
}

impl RawFile {
    /// The file change with names resolved for `-p strip`, following git's
    /// apply.c (parse_git_diff_header, parse_traditional_patch).
    fn resolve(&self, strip: usize) -> ParseResult<FileChange> {
        let mut change = FileChange {
            old_path: None,
            new_path: None,
            kind: ChangeKind::Modify,
            old_mode: None,
            new_mode: None,
            binary: self.binary,
            hunks: self.hunks.clone(),
            line: self.line,
        };
        let (old, new) = match &self.header {
            RawHeader::Git { rest, lines } => self.resolve_git(rest, lines, strip, &mut change)?,
            RawHeader::Traditional { old, new } => {
                self.resolve_traditional(old, new, strip, &mut change)?
            }
        };
        let utf8 = |name: Option<Vec<u8>>| name.map(|n| String::from_utf8_lossy(&n).into_owned());
        change.old_path = utf8(old);
        change.new_path = utf8(new);
        Ok(change)
    }

    fn resolve_git(
        &self,
        rest: &[u8],
        lines: &[(usize, Vec<u8>)],
        strip: usize,
        change: &mut FileChange,
    ) -> ParseResult<OldNew> {
        // The name on the `diff --git` line, when it is unambiguous; used
        // for mode changes and empty files, which have no ---/+++.
        let def = git_header_name(strip, rest);
        let (mut old, mut new): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
        let (mut is_new, mut is_delete, mut is_rename, mut is_copy) = (false, false, false, false);
        let lesser = strip.saturating_sub(1);
        for (line, text) in lines {
            let line = *line;
            let mode = |value: &[u8]| -> ParseResult<u32> {
                parse_mode(value)
                    .ok_or_else(|| (line, format!("invalid file mode in `{}`", shorten(text))))
            };
            let (kind, value) = GIT_HEADERS
                .iter()
                .find_map(|h| text.strip_prefix(h.as_bytes()).map(|v| (*h, v)))
                .expect("header lines were matched against GIT_HEADERS");
            match kind {
                "--- " => verify_name(value, is_new, &mut old, strip, line, "old")?,
                "+++ " => verify_name(value, is_delete, &mut new, strip, line, "new")?,
                "old mode " => change.old_mode = Some(mode(value)?),
                "new mode " => change.new_mode = Some(mode(value)?),
                "deleted file mode " => {
                    is_delete = true;
                    old.clone_from(&def);
                    change.old_mode = Some(mode(value)?);
                }
                "new file mode " => {
                    is_new = true;
                    new.clone_from(&def);
                    change.new_mode = Some(mode(value)?);
                }
                "copy from " | "rename old " | "rename from " => {
                    if kind == "copy from " {
                        is_copy = true;
                    } else {
                        is_rename = true;
                    }
                    old = find_name(value, lesser, 0);
                }
                "copy to " | "rename new " | "rename to " => {
                    if kind == "copy to " {
                        is_copy = true;
                    } else {
                        is_rename = true;
                    }
                    new = find_name(value, lesser, 0);
                }
                "index " => {
                    // `index abc..def 100644`: the mode of an unchanged-mode
                    // file.
                    if let Some(space) = value.iter().position(|&b| b == b' ') {
                        change.old_mode = Some(mode(&value[space + 1..])?);
                    }
                }
                _ => {} // similarity, dissimilarity
            }
            if [is_new, is_delete, is_rename, is_copy]
                .iter()
                .filter(|&&b| b)
                .count()
                > 1
            {
                return Err((
                    line,
                    "inconsistent header lines: a file is created, deleted, renamed or copied, not several of these"
                        .to_string(),
                ));
            }
        }
        if old.is_none() && new.is_none() {
            let Some(def) = def else {
                return Err((
                    self.line,
                    format!(
                        "cannot tell which file `diff --git {}` changes (after removing {strip} leading \
                         path component{})",
                        shorten(rest),
                        if strip == 1 { "" } else { "s" }
                    ),
                ));
            };
            old = Some(def.clone());
            new = Some(def);
        }
        if (new.is_none() && !is_delete) || (old.is_none() && !is_new) {
            return Err((
                self.line,
                format!(
                    "the header `diff --git {}` lacks a file name",
                    shorten(rest)
                ),
            ));
        }
        if is_new {
            change.kind = ChangeKind::Create;
            old = None;
        } else if is_delete {
            change.kind = ChangeKind::Delete;
            new = None;
        } else if is_rename {
            change.kind = ChangeKind::Rename;
        } else if is_copy {
            change.kind = ChangeKind::Copy;
        }
        Ok((old, new))
    }

    fn resolve_traditional(
        &self,
        first: &[u8],
        second: &[u8],
        strip: usize,
        change: &mut FileChange,
    ) -> ParseResult<OldNew> {
        let missing = || {
            (
                self.line,
                "cannot find the file name in the `---`/`+++` header".to_string(),
            )
        };
        if is_dev_null(first) {
            change.kind = ChangeKind::Create;
            let name = find_name_traditional(second, None, strip).ok_or_else(missing)?;
            return Ok((None, Some(name)));
        }
        if is_dev_null(second) {
            change.kind = ChangeKind::Delete;
            let name = find_name_traditional(first, None, strip).ok_or_else(missing)?;
            return Ok((Some(name), None));
        }
        let first_name = find_name_traditional(first, None, strip);
        let name =
            find_name_traditional(second, first_name.as_deref(), strip).ok_or_else(missing)?;
        // GNU diff -N marks a missing file with the epoch as its date.
        if has_epoch_timestamp(first) {
            change.kind = ChangeKind::Create;
            Ok((None, Some(name)))
        } else if has_epoch_timestamp(second) {
            change.kind = ChangeKind::Delete;
            Ok((Some(name), None))
        } else {
            Ok((Some(name.clone()), Some(name)))
        }
    }
}

/// Check a `---`/`+++` line of a git header against what the header said
/// before (git: gitdiff_verify_name).
fn verify_name(
    value: &[u8],
    is_null: bool,
    name: &mut Option<Vec<u8>>,
    strip: usize,
    line: usize,
    side: &str,
) -> ParseResult<()> {
    match name {
        None if !is_null => {
            *name = find_name(value, strip, TERM_TAB);
            Ok(())
        }
        Some(existing) => {
            if is_null {
                return Err((line, format!("expected /dev/null as the {side} file name")));
            }
            if find_name(value, strip, TERM_TAB).as_ref() != Some(existing) {
                return Err((
                    line,
                    format!("the {side} file name disagrees with the rest of the header"),
                ));
            }
            Ok(())
        }
        None => {
            if !is_dev_null(value) {
                return Err((line, format!("expected /dev/null as the {side} file name")));
            }
            Ok(())
        }
    }
}

fn parse_mode(value: &[u8]) -> Option<u32> {
    let end = value
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(value.len());
    if end == 0
        || value[end..]
            .first()
            .is_some_and(|b| !b.is_ascii_whitespace())
    {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(&value[..end]).ok()?, 8).ok()
}

fn is_dev_null(value: &[u8]) -> bool {
    value
        .strip_prefix(b"/dev/null")
        .is_some_and(|rest| rest.first().is_none_or(u8::is_ascii_whitespace))
}

// Which whitespace ends an unquoted name (git: name_terminate). Other
// whitespace (CR, VT, FF) always does.
const TERM_SPACE: u8 = 1;
const TERM_TAB: u8 = 2;

/// A name from a header value, `strip` components removed (git: find_name).
fn find_name(value: &[u8], strip: usize, terminate: u8) -> Option<Vec<u8>> {
    if value.first() == Some(&b'"')
        && let Some(name) = find_name_quoted(value, strip)
    {
        return Some(name);
    }
    find_name_common(value, None, strip, None, terminate)
}

/// A C-quoted name (git: find_name_gnu).
fn find_name_quoted(value: &[u8], strip: usize) -> Option<Vec<u8>> {
    let (name, _) = unquote_c(value)?;
    let mut rest: &[u8] = &name;
    for _ in 0..strip {
        let slash = rest.iter().position(|&b| b == b'/')?;
        rest = &rest[slash + 1..];
    }
    Some(squash_slashes(rest))
}

/// git: find_name_common. `end` bounds the name (a timestamp was found);
/// otherwise whitespace per `terminate` ends it.
fn find_name_common(
    value: &[u8],
    def: Option<&[u8]>,
    strip: usize,
    end: Option<usize>,
    terminate: u8,
) -> Option<Vec<u8>> {
    let limit = end.unwrap_or(value.len());
    let mut remaining = strip as i64;
    let mut start = if strip == 0 { Some(0) } else { None };
    let mut i = 0;
    while i < limit {
        let c = value[i];
        if end.is_none() && c.is_ascii_whitespace() {
            let keeps = (c == b' ' && terminate & TERM_SPACE == 0)
                || (c == b'\t' && terminate & TERM_TAB == 0);
            if !keeps {
                break;
            }
        }
        i += 1;
        if c == b'/' {
            remaining -= 1;
            if remaining == 0 {
                start = Some(i);
            }
        }
    }
    let Some(start) = start.filter(|&s| s < i) else {
        return def.map(squash_slashes);
    };
    let name = &value[start..i];
    // Prefer the shorter name when the other only adds to its end
    // (`vm.rs` over `vm.rs.orig`).
    if let Some(def) = def
        && def.len() < name.len()
        && name.starts_with(def)
    {
        return Some(squash_slashes(def));
    }
    Some(squash_slashes(name))
}

/// git: find_name_traditional — like find_name, but a trailing `diff -u`
/// timestamp is cut off.
fn find_name_traditional(value: &[u8], def: Option<&[u8]>, strip: usize) -> Option<Vec<u8>> {
    if value.first() == Some(&b'"')
        && let Some(name) = find_name_quoted(value, strip)
    {
        return Some(name);
    }
    match timestamp_len(value) {
        0 => find_name_common(value, def, strip, None, TERM_TAB),
        n => find_name_common(value, def, strip, Some(value.len() - n), 0),
    }
}

/// The length of a `diff -u` timestamp (with the whitespace before it) at
/// the end of a `---`/`+++` value, or 0 (git: diff_timestamp_len).
fn timestamp_len(value: &[u8]) -> usize {
    static STAMP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(\t| +)(\d\d)?\d\d-\d\d-\d\d( \d\d:\d\d:\d\d(\.\d+)?)?( [+-](\d{4}|\d\d:\d\d))?$",
        )
        .expect("valid regex")
    });
    STAMP.find(value).map_or(0, |m| value.len() - m.start())
}

/// Does a `---`/`+++` value carry the epoch as its date? GNU `diff -N` says
/// "this file does not exist" that way (git: has_epoch_timestamp).
fn has_epoch_timestamp(value: &[u8]) -> bool {
    static EPOCH: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"\t(1969-12-31|1970-01-01) ([0-2]\d):([0-5]\d):00(\.0+)? ([-+])([0-2]\d):?([0-5]\d)$",
        )
        .expect("valid regex")
    });
    let Some(caps) = EPOCH.captures(value) else {
        return false;
    };
    let num = |i: usize| -> i64 {
        caps.get(i)
            .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    let epoch_hour = if &caps[1] == b"1969-12-31" { 24 } else { 0 };
    let mut zone = num(6) * 60 + num(7);
    if &caps[5] == b"-" {
        zone = -zone;
    }
    num(2) * 60 + num(3) - zone == epoch_hour * 60
}

/// The name on a `diff --git` line, if both sides agree (git:
/// git_header_name).
fn git_header_name(strip: usize, rest: &[u8]) -> Option<Vec<u8>> {
    if rest.first() == Some(&b'"') {
        let (first, used) = unquote_c(rest)?;
        let first = skip_tree_prefix(strip, &first)?.to_vec();
        let mut second = &rest[used..];
        while second.first().is_some_and(u8::is_ascii_whitespace) {
            second = &second[1..];
        }
        if second.is_empty() {
            return None;
        }
        let other = if second.first() == Some(&b'"') {
            let (sp, _) = unquote_c(second)?;
            skip_tree_prefix(strip, &sp)?.to_vec()
        } else {
            skip_tree_prefix(strip, second)?.to_vec()
        };
        return (other == first).then_some(first);
    }
    let name = skip_tree_prefix(strip, rest)?;
    // An unquoted first name: a quote, if any, starts the second name.
    if let Some(q) = name.iter().position(|&b| b == b'"') {
        let (sp, _) = unquote_c(&name[q..])?;
        let np = skip_tree_prefix(strip, &sp)?;
        let len = np.len();
        if len < q && name.starts_with(np) && name[len].is_ascii_whitespace() {
            return Some(np.to_vec());
        }
        return None;
    }
    // Accept a name only if it shows up twice, the same.
    for len in 0..name.len() {
        if name[len] != b' ' && name[len] != b'\t' {
            continue;
        }
        if len + 1 >= name.len() {
            return None;
        }
        let Some(second) = skip_tree_prefix(strip, &name[len + 1..]) else {
            continue;
        };
        if second == &name[..len] {
            return Some(name[..len].to_vec());
        }
    }
    None
}

/// Drop `strip` leading components; None for an absolute name or too few
/// components (git: skip_tree_prefix).
fn skip_tree_prefix(strip: usize, name: &[u8]) -> Option<&[u8]> {
    if strip == 0 {
        return (name.first() != Some(&b'/')).then_some(name);
    }
    let mut remaining = strip;
    for (i, &b) in name.iter().enumerate() {
        if b == b'/' {
            remaining -= 1;
            if remaining == 0 {
                return (i != 0).then(|| &name[i + 1..]);
            }
        }
    }
    None
}

/// Collapse runs of `/` (git: squash_slash).
fn squash_slashes(name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len());
    for &b in name {
        if b == b'/' && out.last() == Some(&b'/') {
            continue;
        }
        out.push(b);
    }
    out
}

/// Unquote a C-style quoted name (`"a/my file.rs"`, `"\303\244.rs"`):
/// the bytes and how many input bytes the quoted string took; None if it is
/// not well formed (git: unquote_c_style).
fn unquote_c(value: &[u8]) -> Option<(Vec<u8>, usize)> {
    if value.first() != Some(&b'"') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 1;
    loop {
        let c = *value.get(i)?;
        i += 1;
        match c {
            b'"' => return Some((out, i)),
            b'\\' => {
                let e = *value.get(i)?;
                i += 1;
                out.push(match e {
                    b'a' => 0x07,
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'v' => 0x0b,
                    b'\\' | b'"' => e,
                    b'0'..=b'3' => {
                        let d1 = value.get(i).filter(|d| (b'0'..=b'7').contains(*d))?;
                        let d2 = value.get(i + 1).filter(|d| (b'0'..=b'7').contains(*d))?;
                        i += 2;
                        ((e - b'0') << 6) | ((d1 - b'0') << 3) | (d2 - b'0')
                    }
                    _ => return None,
                });
            }
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Patch {
        let file = parse("s.patch", text.as_bytes()).unwrap();
        assert_eq!(file.patches.len(), 1, "{file:#?}");
        file.patches.into_iter().next().unwrap()
    }

    fn malformed(text: &str) -> (usize, String) {
        match parse("s.patch", text.as_bytes()) {
            Err(PatchError::Malformed { line, message, .. }) => (line, message),
            other => panic!("expected a malformed-patch error, got {other:?}"),
        }
    }

    const GIT_DIFF: &str = "\
diff --git a/kernel/src/vm.rs b/kernel/src/vm.rs
index fd46ae6..793bc43 100644
--- a/kernel/src/vm.rs
+++ b/kernel/src/vm.rs
@@ -11,7 +11,7 @@ use core::sync::atomic::{AtomicPtr, Ordering};
 
 use crate::kalloc::{kalloc, kfree};
 use crate::memlayout::{KERNBASE, PHYSTOP};
-use crate::proc::proc_mapstacks;
+use crate::proc::{proc_mapstacks, try_myproc};
 use crate::riscv::*;
 
 unsafe extern \"C\" {
@@ -168,2 +168,3 @@ pub fn walkaddr(pagetable: Pagetable, va: VirtAddr) -> Option<PhysAddr> {
         return None;
+    // lazy
     }
diff --git a/kernel/src/trap.rs b/kernel/src/trap.rs
index 5dd489f..684769d 100644
--- a/kernel/src/trap.rs
+++ b/kernel/src/trap.rs
@@ -13,1 +13,2 @@ use crate::syscall::syscall;
 use crate::trampoline::{userret_offset, uservec_offset};
+use crate::vm::uvmlazy;
";

    #[test]
    fn git_diff_with_two_files_and_hunks() {
        let p = one(GIT_DIFF);
        assert_eq!(p.strip, 1);
        assert_eq!(p.subject, None);
        assert_eq!(p.files.len(), 2);
        let vm = &p.files[0];
        assert_eq!(vm.old_path.as_deref(), Some("kernel/src/vm.rs"));
        assert_eq!(vm.new_path.as_deref(), Some("kernel/src/vm.rs"));
        assert_eq!(vm.kind, ChangeKind::Modify);
        assert_eq!(vm.old_mode, Some(0o100644));
        assert_eq!(vm.line, 1);
        assert_eq!(
            vm.hunks
                .iter()
                .map(|h| (h.old_start, h.old_lines, h.line))
                .collect::<Vec<_>>(),
            [(11, 7, 5), (168, 2, 14)]
        );
        assert_eq!(p.files[1].path(), "kernel/src/trap.rs");
        assert_eq!(p.text(), GIT_DIFF.as_bytes());
    }

    #[test]
    fn the_reference_solution_parses() {
        let text = crate::lab::assets::Assets::Embedded
            .read("grading/lazy/solution.patch")
            .unwrap();
        let file = parse("solution.patch", &text).unwrap();
        let paths: Vec<&str> = file.patches[0].files.iter().map(FileChange::path).collect();
        assert_eq!(
            paths,
            [
                "kernel/src/proc.rs",
                "kernel/src/trap.rs",
                "kernel/src/vm.rs"
            ]
        );
    }

    #[test]
    fn format_patch_mbox_is_a_series_in_order() {
        let text = "\
From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: Ann Student <ann@example.edu>
Date: Mon, 2 Sep 2024 10:00:00 +0200
Subject: [PATCH 1/2] sbrk: only grow p.sz,
 allocate on fault

Lazy allocation, step one.
---
 kernel/src/proc.rs | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/kernel/src/proc.rs b/kernel/src/proc.rs
index 1487d9a..15100e1 100644
--- a/kernel/src/proc.rs
+++ b/kernel/src/proc.rs
@@ -501,3 +501,3 @@ pub fn growproc(n: i32) -> Result<(), ()> {
             .ok_or(())?;
-        sz = uvmalloc(data.pagetable, sz, newsz, PTE_W)?;
+        sz = newsz;
     } else if n < 0 {
-- 
2.45.2


From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001
From: Ann Student <ann@example.edu>
Date: Mon, 2 Sep 2024 11:00:00 +0200
Subject: [PATCH 2/2] uvmunmap: skip unmapped pages

---
 kernel/src/vm.rs | 1 +
 1 file changed, 1 insertion(+)

diff --git a/kernel/src/vm.rs b/kernel/src/vm.rs
index fd46ae6..793bc43 100644
--- a/kernel/src/vm.rs
+++ b/kernel/src/vm.rs
@@ -168,2 +168,3 @@
         return None;
+        // skip
     }
-- 
2.45.2

";
        let file = parse("series.mbox", text.as_bytes()).unwrap();
        assert_eq!(file.patches.len(), 2);
        let (a, b) = (&file.patches[0], &file.patches[1]);
        assert_eq!(
            a.subject.as_deref(),
            Some("sbrk: only grow p.sz, allocate on fault")
        );
        assert_eq!(b.subject.as_deref(), Some("uvmunmap: skip unmapped pages"));
        assert_eq!(a.files[0].path(), "kernel/src/proc.rs");
        assert_eq!(b.files[0].path(), "kernel/src/vm.rs");
        assert_eq!(a.first_line, 1);
        assert_eq!(b.first_line, 25);
        assert!(String::from_utf8_lossy(b.text()).starts_with("From 2222"));
        assert_eq!(b.files[0].hunks[0].line, 38);
    }

    #[test]
    fn a_cover_letter_without_a_diff_is_skipped() {
        let text = "\
From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Ann <ann@example.edu>
Subject: [PATCH 0/1] lazy lab

*** BLURB HERE ***

From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: Ann <ann@example.edu>
Subject: [PATCH 1/1] fix

diff --git a/kernel/src/vm.rs b/kernel/src/vm.rs
--- a/kernel/src/vm.rs
+++ b/kernel/src/vm.rs
@@ -1 +1 @@
-a
+b
";
        let file = parse("s.mbox", text.as_bytes()).unwrap();
        assert_eq!(file.patches.len(), 1);
        assert_eq!(file.patches[0].subject.as_deref(), Some("fix"));
    }

    #[test]
    fn plain_diff_u_with_timestamps_prefers_the_shorter_name() {
        let p = one(
            "--- kernel/src/vm.rs.orig\t2024-09-02 10:00:00.000000000 +0200\n\
             +++ kernel/src/vm.rs\t2024-09-02 10:05:00.123456789 +0200\n\
             @@ -1,2 +1,2 @@\n a\n-b\n+c\n",
        );
        assert_eq!(p.strip, 0);
        assert_eq!(p.files[0].old_path.as_deref(), Some("kernel/src/vm.rs"));
        assert_eq!(p.files[0].new_path.as_deref(), Some("kernel/src/vm.rs"));
    }

    #[test]
    fn diff_recursive_between_two_trees_strips_the_top_directory() {
        let p = one("diff -ruN starter/kernel/src/vm.rs mine/kernel/src/vm.rs\n\
             --- starter/kernel/src/vm.rs\t2024-09-02 10:00:00 +0200\n\
             +++ mine/kernel/src/vm.rs\t2024-09-02 10:05:00 +0200\n\
             @@ -1 +1 @@\n-a\n+b\n\
             diff -ruN starter/kernel/src/lazy.rs mine/kernel/src/lazy.rs\n\
             --- starter/kernel/src/lazy.rs\t1970-01-01 00:00:00.000000000 +0000\n\
             +++ mine/kernel/src/lazy.rs\t2024-09-02 10:05:00 +0200\n\
             @@ -0,0 +1 @@\n+// new\n");
        assert_eq!(p.strip, 1);
        assert_eq!(p.files[0].path(), "kernel/src/vm.rs");
        assert_eq!(p.files[1].kind, ChangeKind::Create);
        assert_eq!(p.files[1].old_path, None);
        assert_eq!(p.files[1].new_path.as_deref(), Some("kernel/src/lazy.rs"));
    }

    #[test]
    fn crlf_patches_are_read_as_lf() {
        let crlf = GIT_DIFF.replace('\n', "\r\n");
        let p = one(&crlf);
        assert_eq!(p.files[0].path(), "kernel/src/vm.rs");
        assert_eq!(p.text(), GIT_DIFF.as_bytes());
    }

    #[test]
    fn a_missing_final_newline_is_added() {
        let p = one(GIT_DIFF.trim_end_matches('\n'));
        assert_eq!(p.text(), GIT_DIFF.as_bytes());
    }

    #[test]
    fn dev_null_creation_and_deletion() {
        let p = one("diff --git a/kernel/src/lazy.rs b/kernel/src/lazy.rs\n\
             new file mode 100644\n\
             index 0000000..e69de29\n\
             --- /dev/null\n\
             +++ b/kernel/src/lazy.rs\n\
             @@ -0,0 +1,2 @@\n+fn a() {}\n+fn b() {}\n\
             diff --git a/kernel/src/old.rs b/kernel/src/old.rs\n\
             deleted file mode 100644\n\
             index e69de29..0000000\n\
             --- a/kernel/src/old.rs\n\
             +++ /dev/null\n\
             @@ -1 +0,0 @@\n-fn a() {}\n");
        let (new, gone) = (&p.files[0], &p.files[1]);
        assert_eq!(
            (new.kind, new.old_path.as_deref(), new.new_path.as_deref()),
            (ChangeKind::Create, None, Some("kernel/src/lazy.rs"))
        );
        assert_eq!(new.new_mode, Some(0o100644));
        assert_eq!(
            (
                gone.kind,
                gone.old_path.as_deref(),
                gone.new_path.as_deref()
            ),
            (ChangeKind::Delete, Some("kernel/src/old.rs"), None)
        );
        assert_eq!(gone.old_mode, Some(0o100644));
    }

    #[test]
    fn empty_new_file_takes_its_name_from_the_diff_git_line() {
        let p = one(
            "diff --git a/kernel/src/empty.rs b/kernel/src/empty.rs\nnew file mode 100644\nindex 0000000..e69de29\n",
        );
        assert_eq!(p.files[0].kind, ChangeKind::Create);
        assert_eq!(p.files[0].new_path.as_deref(), Some("kernel/src/empty.rs"));
        assert!(p.files[0].hunks.is_empty());
    }

    #[test]
    fn quoted_paths_with_spaces_and_octal_escapes() {
        let p = one(
            "diff --git \"a/kernel/src/my file.rs\" \"b/kernel/src/my file.rs\"\n\
             --- \"a/kernel/src/my file.rs\"\n\
             +++ \"b/kernel/src/my file.rs\"\n\
             @@ -1 +1 @@\n-a\n+b\n\
             diff --git \"a/kernel/src/\\303\\244.rs\" \"b/kernel/src/\\303\\244.rs\"\n\
             new file mode 100644\n\
             --- /dev/null\n\
             +++ \"b/kernel/src/\\303\\244.rs\"\n\
             @@ -0,0 +1 @@\n+x\n",
        );
        assert_eq!(p.files[0].path(), "kernel/src/my file.rs");
        assert_eq!(p.files[1].path(), "kernel/src/ä.rs");
    }

    #[test]
    fn unquoted_spaces_end_names_only_at_tabs() {
        // git writes `--- a/my file.rs<TAB>` when a name has a space.
        let p = one(
            "diff --git a/kernel/src/my file.rs b/kernel/src/my file.rs\n\
             --- a/kernel/src/my file.rs\t\n\
             +++ b/kernel/src/my file.rs\t\n\
             @@ -1 +1 @@\n-a\n+b\n",
        );
        assert_eq!(p.files[0].path(), "kernel/src/my file.rs");
        let p = one(
            "diff --git a/kernel/src/my file.rs b/kernel/src/my file.rs\nold mode 100644\nnew mode 100755\n",
        );
        assert_eq!(p.files[0].path(), "kernel/src/my file.rs");
    }

    #[test]
    fn mode_lines() {
        let p = one(
            "diff --git a/kernel/src/vm.rs b/kernel/src/vm.rs\nold mode 100644\nnew mode 100755\n",
        );
        let f = &p.files[0];
        assert_eq!((f.old_mode, f.new_mode), (Some(0o100644), Some(0o100755)));
        assert!(f.hunks.is_empty());
        let p = one("diff --git a/kernel/src/link.rs b/kernel/src/link.rs\n\
             new file mode 120000\n\
             index 0000000..3594e94\n\
             --- /dev/null\n\
             +++ b/kernel/src/link.rs\n\
             @@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n");
        assert_eq!(p.files[0].new_mode, Some(0o120000));
        let p = one(
            "diff --git a/kernel/src/sub b/kernel/src/sub\nnew file mode 160000\nindex 0000000..1234567\n--- /dev/null\n+++ b/kernel/src/sub\n@@ -0,0 +1 @@\n+Subproject commit 1234567890123456789012345678901234567890\n",
        );
        assert_eq!(p.files[0].new_mode, Some(0o160000));
        assert_eq!(
            malformed("diff --git a/x b/x\nold mode 10064z\nnew mode 100755\n").0,
            2
        );
    }

    #[test]
    fn rename_and_copy_lines_strip_one_component_less() {
        let p = one("diff --git a/kernel/src/a.rs b/kernel/src/b.rs\n\
             similarity index 90%\n\
             rename from kernel/src/a.rs\n\
             rename to kernel/src/b.rs\n\
             index 1111111..2222222 100644\n\
             --- a/kernel/src/a.rs\n\
             +++ b/kernel/src/b.rs\n\
             @@ -1 +1 @@\n-a\n+b\n\
             diff --git a/kernel/src/c.rs b/kernel/src/d.rs\n\
             similarity index 100%\n\
             copy from kernel/src/c.rs\n\
             copy to kernel/src/d.rs\n");
        let (r, c) = (&p.files[0], &p.files[1]);
        assert_eq!(
            (r.kind, r.old_path.as_deref(), r.new_path.as_deref()),
            (
                ChangeKind::Rename,
                Some("kernel/src/a.rs"),
                Some("kernel/src/b.rs")
            )
        );
        assert_eq!(
            r.paths().collect::<Vec<_>>(),
            ["kernel/src/a.rs", "kernel/src/b.rs"]
        );
        assert_eq!(
            (c.kind, c.old_path.as_deref(), c.new_path.as_deref()),
            (
                ChangeKind::Copy,
                Some("kernel/src/c.rs"),
                Some("kernel/src/d.rs")
            )
        );
    }

    #[test]
    fn a_rename_that_disagrees_with_its_minus_line_is_malformed() {
        let (line, message) = malformed(
            "diff --git a/kernel/src/a.rs b/kernel/src/b.rs\n\
             rename from kernel/src/a.rs\n\
             rename to kernel/src/b.rs\n\
             --- a/user/src/bin/sh.rs\n\
             +++ b/kernel/src/b.rs\n\
             @@ -1 +1 @@\n-a\n+b\n",
        );
        assert_eq!(line, 4);
        assert_eq!(
            message,
            "the old file name disagrees with the rest of the header"
        );
    }

    #[test]
    fn binary_patches() {
        let p = one("diff --git a/kernel/src/blob.rs b/kernel/src/blob.rs\n\
             new file mode 100644\n\
             index 0000000000000000000000000000000000000000..1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e\n\
             GIT binary patch\n\
             literal 12\n\
             Tc${NkU|?WiU}0bc;s5{u00RL6\n\
             \n\
             literal 0\n\
             HcmV?d00001\n\
             \n\
             diff --git a/kernel/src/vm.rs b/kernel/src/vm.rs\n\
             index 1111111..2222222 100644\n\
             Binary files a/kernel/src/vm.rs and b/kernel/src/vm.rs differ\n\
             diff --git a/kernel/src/x.rs b/kernel/src/x.rs\n\
             --- a/kernel/src/x.rs\n\
             +++ b/kernel/src/x.rs\n\
             @@ -1 +1 @@\n-a\n+b\n");
        assert_eq!(p.files.len(), 3);
        assert!(p.files[0].binary && p.files[1].binary && !p.files[2].binary);
        assert_eq!(p.files[0].kind, ChangeKind::Create);
        assert_eq!(p.files[1].path(), "kernel/src/vm.rs");
    }

    #[test]
    fn no_prefix_git_diff_uses_p0() {
        let p = one(
            "diff --git kernel/src/vm.rs kernel/src/vm.rs\n--- kernel/src/vm.rs\n+++ kernel/src/vm.rs\n@@ -1 +1 @@\n-a\n+b\n",
        );
        assert_eq!(p.strip, 0);
        assert_eq!(p.files[0].path(), "kernel/src/vm.rs");
    }

    #[test]
    fn restrip_resolves_names_again() {
        let mut p = one("--- kernel/src/vm.rs\n+++ kernel/src/vm.rs\n@@ -1 +1 @@\n-a\n+b\n");
        assert_eq!(p.files[0].path(), "kernel/src/vm.rs");
        p.restrip(1, "s.patch").unwrap();
        assert_eq!((p.strip, p.files[0].path()), (1, "src/vm.rs"));
    }

    #[test]
    fn hostile_names_are_reported_as_git_would_see_them() {
        // The checks in submission.rs refuse these; here we only make sure
        // that the names are the ones git would write to.
        let p = one(
            "diff --git a/../x.rs b/../x.rs\n--- a/../x.rs\n+++ b/../x.rs\n@@ -1 +1 @@\n-a\n+b\n",
        );
        assert_eq!(p.files[0].path(), "../x.rs");
        let p = one("--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n");
        assert_eq!(p.files[0].path(), "/etc/passwd");
        let p = one(
            "diff --git a/kernel//src/vm.rs b/kernel//src/vm.rs\n--- a/kernel//src/vm.rs\n+++ b/kernel//src/vm.rs\n@@ -1 +1 @@\n-a\n+b\n",
        );
        assert_eq!(p.files[0].path(), "kernel/src/vm.rs");
        let p = one(
            "diff --git \"a/kernel/src/\\033.rs\" \"b/kernel/src/\\033.rs\"\n--- \"a/kernel/src/\\033.rs\"\n+++ \"b/kernel/src/\\033.rs\"\n@@ -1 +1 @@\n-a\n+b\n",
        );
        assert_eq!(p.files[0].path(), "kernel/src/\u{1b}.rs");
    }

    #[test]
    fn empty_and_whitespace_only_files() {
        assert_eq!(
            parse("s.patch", b"").unwrap_err().to_string(),
            "s.patch is empty: nothing to grade"
        );
        assert!(matches!(
            parse("s.patch", b" \n\r\n\t"),
            Err(PatchError::Empty { .. })
        ));
    }

    #[test]
    fn text_without_a_diff_is_not_a_patch() {
        let err = parse("notes.txt", b"I fixed sbrk.\n--- \nthanks\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "notes.txt is not a patch: no `diff --git` or `---`/`+++` headers found"
        );
        // `---`/`+++` without a hunk after them is not a header either.
        assert!(matches!(
            parse("x", b"--- a\n+++ b\nhello\n"),
            Err(PatchError::NotAPatch { .. })
        ));
        assert!(matches!(
            parse("x", &[0xff, 0xfe, 0, 1, 2, b'\n']),
            Err(PatchError::NotAPatch { .. })
        ));
    }

    #[test]
    fn truncated_hunk() {
        let (line, message) = malformed(
            "diff --git a/kernel/src/vm.rs b/kernel/src/vm.rs\n--- a/kernel/src/vm.rs\n+++ b/kernel/src/vm.rs\n@@ -10,4 +10,5 @@\n a\n-b\n+c\n",
        );
        assert_eq!(line, 4);
        assert_eq!(
            message,
            "the hunk `@@ -10,4 +10,5 @@` of `kernel/src/vm.rs` ends early: the file stops 2 old and 3 new lines short (is it truncated?)"
        );
    }

    #[test]
    fn a_stray_line_inside_a_hunk() {
        let (line, message) = malformed(
            "--- a/kernel/src/vm.rs\n+++ b/kernel/src/vm.rs\n@@ -1,3 +1,3 @@\n a\n-b\n+c\nd\n",
        );
        assert_eq!(line, 7);
        assert!(
            message.starts_with(
                "unexpected line `d` in the hunk `@@ -1,3 +1,3 @@` of `kernel/src/vm.rs`"
            ),
            "{message}"
        );
    }

    #[test]
    fn a_hunk_with_too_many_lines() {
        let (line, message) = malformed("--- a/k.rs\n+++ b/k.rs\n@@ -1,1 +1,2 @@\n-a\n-b\n+c\n");
        assert_eq!(line, 5);
        assert!(
            message.contains("has more removed lines than its header says"),
            "{message}"
        );
    }

    #[test]
    fn a_hunk_that_changes_nothing() {
        let (line, message) = malformed("--- a/k.rs\n+++ b/k.rs\n@@ -1,1 +1,1 @@\n a\n");
        assert_eq!(
            (line, message.as_str()),
            (3, "the hunk `@@ -1,1 +1,1 @@` of `k.rs` changes nothing")
        );
    }

    #[test]
    fn a_hunk_without_a_file_header() {
        let (line, message) = malformed("Some text\n@@ -1 +1 @@\n-a\n+b\n");
        assert_eq!(line, 2);
        assert_eq!(
            message,
            "the hunk `@@ -1 +1 @@` has no file header (`diff --git` or `---`/`+++`) before it"
        );
    }

    #[test]
    fn a_malformed_hunk_header() {
        let (line, message) =
            malformed("diff --git a/k.rs b/k.rs\n--- a/k.rs\n+++ b/k.rs\n@@ -1,x +1 @@\n-a\n+b\n");
        assert_eq!(
            (line, message.as_str()),
            (4, "malformed hunk header `@@ -1,x +1 @@` of `k.rs`")
        );
    }

    #[test]
    fn a_diff_git_line_without_usable_names() {
        let (line, message) =
            malformed("diff --git a/x.rs b/y.rs\nold mode 100644\nnew mode 100755\n");
        assert_eq!(line, 1);
        assert!(
            message.starts_with("cannot tell which file `diff --git a/x.rs b/y.rs` changes"),
            "{message}"
        );
    }

    #[test]
    fn no_newline_markers_and_empty_context_lines() {
        let p = one(
            "--- a/k.rs\n+++ b/k.rs\n@@ -1,3 +1,3 @@\n a\n\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n",
        );
        assert_eq!(p.files[0].hunks.len(), 1);
    }

    #[test]
    fn huge_files_are_refused_before_parsing() {
        let big = vec![b'x'; MAX_PATCH_BYTES + 1];
        assert!(matches!(
            parse("big.patch", &big),
            Err(PatchError::TooLarge { .. })
        ));
    }

    #[test]
    fn unquoting() {
        assert_eq!(
            unquote_c(br#""a\tb\\c\"d" rest"#),
            Some((b"a\tb\\c\"d".to_vec(), 12))
        );
        assert_eq!(
            unquote_c(br#""\303\244""#),
            Some(("ä".as_bytes().to_vec(), 10))
        );
        assert_eq!(unquote_c(br#""unterminated"#), None);
        assert_eq!(unquote_c(br#""bad \q escape""#), None);
        assert_eq!(unquote_c(br#""\9""#), None);
    }

    #[test]
    fn epoch_timestamps() {
        assert!(has_epoch_timestamp(
            b"a/x\t1970-01-01 00:00:00.000000000 +0000"
        ));
        assert!(has_epoch_timestamp(b"a/x\t1970-01-01 01:00:00 +0100"));
        assert!(has_epoch_timestamp(b"a/x\t1969-12-31 19:00:00 -0500"));
        assert!(!has_epoch_timestamp(b"a/x\t2024-01-01 00:00:00 +0000"));
        assert!(!has_epoch_timestamp(b"a/x"));
    }
}
