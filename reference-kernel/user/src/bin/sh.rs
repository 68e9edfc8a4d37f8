//! sh: the xv6 shell. It reads a line and splits it at its top-level `;`s;
//! for each part it forks, and the child parses the part into a tree of
//! commands on the heap and runs it; the parent waits, then goes on. `cd` is
//! built in, since a child's directory change would not outlive the child;
//! because the parent splits lists, `mkdir d; cd d; ls` works as typed.
//! Programs named without a `/` are looked up in the current directory,
//! then in `/`.
//!
//! Grammar (as xv6's, plus `a & b` without a `;`):
//!
//! ```text
//! line  = pipe { "&" } [ ";" line ]
//! pipe  = exec [ "|" pipe ]
//! exec  = ( "(" line ")" | { WORD } ) with "<" / ">" / ">>" FILE anywhere
//! ```
//!
//! Parsing happens in the child on purpose, as in xv6: the parse is what
//! calls `malloc`, so when the heap is broken (the lazy lab's starting point)
//! the child dies and the shell itself survives to prompt again.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::CStr;

use user::{
    Args, ByteStr, CStrBuf, O_CREATE, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, StaticCell, eprint,
    eprintln, exit,
};

user::entry!(main);

/// The input line; static (not heap) so reading a command works even when
/// `malloc` does not. One byte is kept free for the NUL `cd` adds.
static LINE: StaticCell<[u8; 512]> = StaticCell::new([0; 512]);

/// Bytes that end a word and are tokens by themselves (`>>` is one token).
const SYMBOLS: &[u8] = b"<|>&;()";

/// How deeply parentheses may nest: every level costs several parser frames
/// on the one-page stack.
const MAX_NESTING: usize = 5;

fn main(_args: Args) -> i32 {
    keep_console_open();
    let buf = LINE.take();
    while let Some(len) = read_line(buf) {
        let mut start = 0;
        while start < len {
            let end = top_level_semicolon(&buf[start..len]).map_or(len, |i| start + i);
            run_part(buf, start, end);
            start = end + 1;
        }
    }
    0
}

/// Runs `line[start..end]`, one `;`-separated part of the input line: `cd`
/// in the shell itself, anything else in a child. `line` has a spare byte
/// past `end`.
fn run_part(line: &mut [u8], start: usize, end: usize) {
    let mut first = start;
    while first < end && user::text::is_space(line[first]) {
        first += 1;
    }
    let part = &line[first..end];
    if part.iter().all(|&b| user::text::is_space(b)) {
        return;
    }
    if part.starts_with(b"cd") && part.get(2).is_none_or(|&b| user::text::is_space(b)) {
        change_dir(line, first + 2, end);
        return;
    }
    match user::fork() {
        Ok(0) => run_line(&line[first..end]),
        Ok(_) => {
            let _ = user::wait();
        }
        Err(_) => fatal("fork"),
    }
}

/// The index of the first `;` in `line` that is not inside parentheses.
fn top_level_semicolon(line: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &b) in line.iter().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b';' if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// Makes sure fds 0, 1 and 2 are open (on the console if they were not), so
/// that commands' output and errors go somewhere.
fn keep_console_open() {
    while let Ok(fd) = user::open(c"console", O_RDWR) {
        if fd >= 3 {
            let _ = user::close(fd);
            break;
        }
    }
}

/// Prompts on fd 2 and reads one line from fd 0 into `buf`, a byte at a time
/// so that nothing after the newline is consumed (it belongs to whoever
/// reads fd 0 next). Returns the length, newline included; `None` at end of
/// input.
fn read_line(buf: &mut [u8]) -> Option<usize> {
    eprint!("$ ");
    let mut len = 0;
    while len + 1 < buf.len() {
        let mut byte = [0u8];
        if !matches!(user::read(0, &mut byte), Ok(1)) {
            break;
        }
        buf[len] = byte[0];
        len += 1;
        if byte[0] == b'\n' || byte[0] == b'\r' {
            break;
        }
    }
    (len > 0).then_some(len)
}

/// The `cd` builtin: the directory is `line[start..end]` without surrounding
/// white space. `line` has one spare byte past `end` for the NUL.
fn change_dir(line: &mut [u8], start: usize, end: usize) {
    let mut end = end;
    while end > start && user::text::is_space(line[end - 1]) {
        end -= 1;
    }
    let mut start = start;
    while start < end && user::text::is_space(line[start]) {
        start += 1;
    }
    line[end] = 0;
    let Ok(dir) = CStr::from_bytes_until_nul(&line[start..=end]) else {
        return;
    };
    if user::chdir(dir).is_err() {
        eprintln!("cannot cd {}", ByteStr(dir.to_bytes()));
    }
}

/// In the forked child: parses and runs one line, then exits.
fn run_line(line: &[u8]) -> ! {
    match parse(line) {
        Ok(cmd) => run(cmd),
        Err(SyntaxError(what)) => {
            eprintln!("sh: syntax error: {what}");
            exit(1);
        }
    }
}

/// Reports a failed system call the shell cannot do without, and exits.
fn fatal(what: &str) -> ! {
    eprintln!("sh: {what} failed");
    exit(1);
}

/// A parsed command line.
enum Cmd {
    /// A program and its arguments (`argv[0]` is the program; none means an
    /// empty command).
    Exec(Vec<CString>),
    /// `cmd` with one file descriptor redirected.
    Redir { cmd: Box<Cmd>, redirect: Redirect },
    /// `left | right`.
    Pipe(Box<Cmd>, Box<Cmd>),
    /// `left ; right`.
    List(Box<Cmd>, Box<Cmd>),
    /// `cmd &`.
    Back(Box<Cmd>),
}

/// `< file`, `> file` or `>> file`.
struct Redirect {
    file: CString,
    flags: i32,
    /// The descriptor the file replaces.
    fd: i32,
}

/// Why a line could not be parsed.
struct SyntaxError(&'static str);

/// Runs `cmd` in this process, which it ends: commands that need processes
/// of their own fork them and wait as the shell semantics require.
fn run(mut cmd: Cmd) -> ! {
    // Redirections and the right side of lists continue in this process, so
    // loop instead of recursing.
    loop {
        match cmd {
            Cmd::Exec(argv) => {
                let Some(program) = argv.first() else {
                    exit(1);
                };
                let args: Vec<&CStr> = argv.iter().map(CString::as_c_str).collect();
                let Err(_) = user::exec(program, &args);
                // Not here: try the root directory, where the programs live.
                if !program.to_bytes().contains(&b'/') {
                    let mut path = CStrBuf::<128>::new();
                    if path
                        .push(b"/")
                        .and_then(|()| path.push(program.to_bytes()))
                        .is_ok()
                    {
                        let Err(_) = user::exec(path.as_cstr(), &args);
                    }
                }
                eprintln!("exec {} failed", ByteStr(program.to_bytes()));
                exit(1);
            }
            Cmd::Redir {
                cmd: inner,
                redirect,
            } => {
                // open returns the lowest free descriptor: the one just closed.
                let _ = user::close(redirect.fd);
                if user::open(&redirect.file, redirect.flags).is_err() {
                    eprintln!("open {} failed", ByteStr(redirect.file.to_bytes()));
                    exit(1);
                }
                cmd = *inner;
            }
            Cmd::List(left, right) => {
                if fork_or_die() == 0 {
                    run(*left);
                }
                let _ = user::wait();
                cmd = *right;
            }
            Cmd::Pipe(left, right) => {
                let Ok((read_end, write_end)) = user::pipe() else {
                    fatal("pipe");
                };
                if fork_or_die() == 0 {
                    move_fd(write_end, 1, read_end);
                    run(*left);
                }
                if fork_or_die() == 0 {
                    move_fd(read_end, 0, write_end);
                    run(*right);
                }
                let _ = user::close(read_end);
                let _ = user::close(write_end);
                let _ = user::wait();
                let _ = user::wait();
                exit(0);
            }
            Cmd::Back(inner) => {
                if fork_or_die() == 0 {
                    run(*inner);
                }
                exit(0);
            }
        }
    }
}

fn fork_or_die() -> i32 {
    user::fork().unwrap_or_else(|_| fatal("fork"))
}

/// Makes pipe end `from` the descriptor `to` and closes both pipe ends'
/// original descriptors (`other` is the end this side does not use), so the
/// reader sees end of file once every writer is gone.
fn move_fd(from: i32, to: i32, other: i32) {
    let _ = user::close(to);
    let _ = user::dup(from);
    let _ = user::close(from);
    let _ = user::close(other);
}

/// Parses a whole line; everything up to a NUL byte must be consumed.
fn parse(line: &[u8]) -> Result<Cmd, SyntaxError> {
    // The line is a C string to xv6's shell: a NUL ends it.
    let end = line.iter().position(|&b| b == 0).unwrap_or(line.len());
    let mut parser = Parser {
        s: &line[..end],
        pos: 0,
        depth: 0,
    };
    let cmd = parser.parse_line()?;
    if parser.peek(b")") {
        return Err(SyntaxError("unmatched )"));
    }
    if parser.next() != Token::End {
        return Err(SyntaxError("unexpected input"));
    }
    Ok(cmd)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a [u8]),
    /// One of `SYMBOLS`, or `+` for `>>`.
    Symbol(u8),
    End,
}

/// A recursive-descent parser over one line.
struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    /// Current parenthesis nesting.
    depth: usize,
}

impl<'a> Parser<'a> {
    fn skip_blanks(&mut self) {
        while self.pos < self.s.len() && user::text::is_space(self.s[self.pos]) {
            self.pos += 1;
        }
    }

    /// Whether the next token starts with one of `set`'s bytes.
    fn peek(&mut self, set: &[u8]) -> bool {
        self.skip_blanks();
        self.s.get(self.pos).is_some_and(|b| set.contains(b))
    }

    fn next(&mut self) -> Token<'a> {
        self.skip_blanks();
        let Some(&first) = self.s.get(self.pos) else {
            return Token::End;
        };
        let start = self.pos;
        self.pos += 1;
        if SYMBOLS.contains(&first) {
            if first == b'>' && self.s.get(self.pos) == Some(&b'>') {
                self.pos += 1;
                return Token::Symbol(b'+');
            }
            return Token::Symbol(first);
        }
        while self
            .s
            .get(self.pos)
            .is_some_and(|&b| !user::text::is_space(b) && !SYMBOLS.contains(&b))
        {
            self.pos += 1;
        }
        Token::Word(&self.s[start..self.pos])
    }

    /// `pipe { "&" } [ ";" line ]`, and `a & b` as `a & ; b`.
    fn parse_line(&mut self) -> Result<Cmd, SyntaxError> {
        // Collect the `;`-separated parts, then nest them to the right as
        // xv6's recursive grammar does, without recursing per part.
        let mut parts = Vec::new();
        loop {
            let mut cmd = self.parse_pipe()?;
            let mut backgrounded = false;
            while self.peek(b"&") {
                self.next();
                cmd = Cmd::Back(Box::new(cmd));
                backgrounded = true;
            }
            parts.push(cmd);
            if self.peek(b";") {
                self.next();
                continue;
            }
            self.skip_blanks();
            if backgrounded && self.pos < self.s.len() && !self.peek(b"|)") {
                continue;
            }
            break;
        }
        Ok(nest_right(parts, Cmd::List))
    }

    /// `exec [ "|" pipe ]`.
    fn parse_pipe(&mut self) -> Result<Cmd, SyntaxError> {
        let mut stages = Vec::new();
        stages.push(self.parse_exec()?);
        while self.peek(b"|") {
            self.next();
            stages.push(self.parse_exec()?);
        }
        Ok(nest_right(stages, Cmd::Pipe))
    }

    /// A parenthesised line or a simple command, with its redirections.
    fn parse_exec(&mut self) -> Result<Cmd, SyntaxError> {
        if self.peek(b"(") {
            return self.parse_block();
        }
        let mut argv = Vec::new();
        let mut redirects = Vec::new();
        self.parse_redirects(&mut redirects)?;
        while !self.peek(b"|)&;") {
            match self.next() {
                Token::End => break,
                Token::Word(word) => argv.push(c_string(word)),
                Token::Symbol(_) => return Err(SyntaxError("unexpected (")),
            }
            self.parse_redirects(&mut redirects)?;
        }
        Ok(wrap(Cmd::Exec(argv), redirects))
    }

    /// `"(" line ")"` and its redirections.
    fn parse_block(&mut self) -> Result<Cmd, SyntaxError> {
        self.next();
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(SyntaxError("parentheses nested too deeply"));
        }
        let cmd = self.parse_line()?;
        if !self.peek(b")") {
            return Err(SyntaxError("missing )"));
        }
        self.next();
        self.depth -= 1;
        let mut redirects = Vec::new();
        self.parse_redirects(&mut redirects)?;
        Ok(wrap(cmd, redirects))
    }

    /// Any number of `< file`, `> file`, `>> file`.
    fn parse_redirects(&mut self, redirects: &mut Vec<Redirect>) -> Result<(), SyntaxError> {
        while self.peek(b"<>") {
            let op = self.next();
            let Token::Word(file) = self.next() else {
                return Err(SyntaxError("missing file for redirection"));
            };
            let (flags, fd) = match op {
                Token::Symbol(b'<') => (O_RDONLY, 0),
                Token::Symbol(b'>') => (O_WRONLY | O_CREATE | O_TRUNC, 1),
                // `>>`: xv6 has no append mode; it writes from the start
                // without truncating.
                _ => (O_WRONLY | O_CREATE, 1),
            };
            redirects.push(Redirect {
                file: c_string(file),
                flags,
                fd,
            });
        }
        Ok(())
    }
}

/// Nests `[a, b, c]` as `join(a, join(b, c))`. `items` is never empty.
fn nest_right(mut items: Vec<Cmd>, join: fn(Box<Cmd>, Box<Cmd>) -> Cmd) -> Cmd {
    let mut cmd = items.pop().unwrap_or(Cmd::Exec(Vec::new()));
    while let Some(left) = items.pop() {
        cmd = join(Box::new(left), Box::new(cmd));
    }
    cmd
}

/// Wraps `cmd` in its redirections, the first one innermost as in xv6 (so
/// for `> a > b` the first, `a`, is opened last and wins).
fn wrap(mut cmd: Cmd, redirects: Vec<Redirect>) -> Cmd {
    for redirect in redirects {
        cmd = Cmd::Redir {
            cmd: Box::new(cmd),
            redirect,
        };
    }
    cmd
}

/// A word as a C string. Words never contain NUL: `parse` cut the line at
/// the first one.
fn c_string(word: &[u8]) -> CString {
    CString::new(word).unwrap_or_default()
}
