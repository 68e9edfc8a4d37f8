//! What a person watching `xvlab grade` sees while it runs
//! ([`Progress`], a grading [`Reporter`]): a progress bar on a terminal, or
//! one plain line per step when stderr is not a terminal (CI logs), plus the
//! live consoles with `--verbose`. Everything goes to stderr; the report
//! itself goes to stdout or `--output`.
//!
//! It also counts the steps of a longer job whose steps are gradings
//! (`xvlab mutants`, `xvlab grade-all`: [`Progress::counting`]): a bar over the steps, naming
//! the ones under way, and one line per finished step.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::grade::{Event, Reporter};
use crate::report::{end_kind, seconds_text};
use crate::run::session::SessionEnd;

/// Progress on stderr.
pub struct Progress {
    bar: Option<ProgressBar>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    total: usize,
    finished: usize,
    running: Vec<String>,
    /// Unfinished console lines, per session (for `--verbose`).
    partial: Vec<(String, Vec<u8>)>,
}

impl Progress {
    /// A bar when stderr is a terminal, plain lines otherwise.
    pub fn new() -> Progress {
        Progress::with_terminal(std::io::stderr().is_terminal())
    }

    /// Choose explicitly (tests).
    pub fn with_terminal(terminal: bool) -> Progress {
        let bar = terminal.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            state: Mutex::new(State::default()),
        }
    }

    /// Print a line above the bar, or plainly.
    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{text}");
            }
        }
    }

    fn spinner(&self, message: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                        .expect("valid template"),
                );
                bar.set_message(message.to_string());
            }
            None => self.line(message),
        }
    }

    /// Count `total` steps (`what`: `mutant(s)`).
    pub fn counting(&self, total: usize, what: &str) {
        self.state.lock().expect("progress state").total = total;
        match &self.bar {
            Some(bar) => {
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{pos}/{len}] {elapsed} (eta {eta}) {prefix} {wide_msg}",
                    )
                    .expect("valid template"),
                );
                bar.set_length(total as u64);
                bar.set_position(0);
            }
            None => self.line(&format!("{total} {what} to judge")),
        }
    }

    /// A note the bar shows beside the count (failures so far); plain
    /// lines carry it in the step's own line instead.
    pub fn note(&self, note: &str) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(note.to_string());
        }
    }

    /// A step started: the bar names it while it runs.
    pub fn begin(&self, step: &str) {
        let mut state = self.state.lock().expect("progress state");
        state.running.push(step.to_string());
        if let Some(bar) = &self.bar {
            bar.set_message(state.running.join(", "));
        }
    }

    /// A step is no longer running.
    pub fn end(&self, step: &str) {
        let mut state = self.state.lock().expect("progress state");
        state.running.retain(|s| s != step);
        if let Some(bar) = &self.bar {
            bar.set_message(state.running.join(", "));
        }
    }

    /// A step finished: its line, and one more step counted.
    pub fn counted(&self, line: &str) {
        self.line(line);
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Clear the bar (before the report is printed).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn console(&self, session: &str, bytes: &[u8]) {
        let mut state = self.state.lock().expect("progress state");
        let index = match state.partial.iter().position(|(s, _)| s == session) {
            Some(i) => i,
            None => {
                state.partial.push((session.to_string(), Vec::new()));
                state.partial.len() - 1
            }
        };
        let buf = &mut state.partial[index].1;
        buf.extend_from_slice(bytes);
        let mut lines = Vec::new();
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            let text = crate::run::transcript::normalise(&line);
            lines.push(format!("[{session}] {}", text.trim_end_matches('\n')));
        }
        drop(state);
        for l in lines {
            self.line(&l);
        }
    }
}

impl Default for Progress {
    fn default() -> Progress {
        Progress::new()
    }
}

impl Reporter for Progress {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Preparing => self.spinner("preparing the submission"),
            Event::Building => self.spinner("building the kernel and user programs"),
            Event::Built { ok: true, duration } => {
                self.line(&format!("built in {}", seconds_text(duration)))
            }
            Event::Built {
                ok: false,
                duration,
            } => {
                self.line(&format!(
                    "the kernel did not build ({})",
                    seconds_text(duration)
                ));
            }
            Event::Running { total } => {
                self.state.lock().expect("progress state").total = total;
                match &self.bar {
                    Some(bar) => {
                        bar.set_style(
                            ProgressStyle::with_template(
                                "{spinner} [{pos}/{len}] {elapsed} {wide_msg}",
                            )
                            .expect("valid template"),
                        );
                        bar.set_length(total as u64);
                        bar.set_position(0);
                        bar.set_message("");
                    }
                    None => self.line(&format!("running {total} VM(s)")),
                }
            }
            Event::SessionStarted { name } => {
                let mut state = self.state.lock().expect("progress state");
                state.running.push(name.to_string());
                if let Some(bar) = &self.bar {
                    bar.set_message(state.running.join(" "));
                }
            }
            Event::SessionFinished { outcome } => {
                let mut state = self.state.lock().expect("progress state");
                state.running.retain(|n| n != &outcome.name);
                state.finished += 1;
                let (finished, total) = (state.finished, state.total);
                if let Some(bar) = &self.bar {
                    bar.set_message(state.running.join(" "));
                    bar.inc(1);
                }
                drop(state);
                if self.bar.is_none() {
                    let how = match &outcome.end {
                        SessionEnd::Completed => "completed".to_string(),
                        SessionEnd::Panicked { line } => format!("panicked ({line})"),
                        other => end_kind(other).replace('_', " "),
                    };
                    self.line(&format!(
                        "[{finished}/{total}] {}: {how} in {}",
                        outcome.name,
                        seconds_text(outcome.duration)
                    ));
                }
            }
            Event::BootFailed { skipped } => self.line(&format!(
                "the kernel did not reach the shell prompt: not running the other {skipped} VM(s)"
            )),
            Event::TestFinished { .. } => {}
            Event::Console { session, bytes } => self.console(session, bytes),
        }
    }
}
