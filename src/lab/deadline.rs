//! Deadlines that scale with the work: how long each VM of a grading may
//! run, from the reference solution's measured duration for it
//! ([`References`], recorded with the lab in the `durations.toml` of its
//! grading directory ([`crate::lab::Lab::durations_path`])
//! and refreshed by `xvlab self-test --record-durations`) and the rubric's
//! [`Scaling`] (a margin, a floor, and the rubric's own timeout as the cap).
//!
//! Why not just the rubric's timeout: a kernel that boots and then hangs in
//! every test would wait out that timeout (a minute) in each of dozens of
//! VMs. The reference solution finishes most VMs in about a second, so a
//! deadline of a small multiple of that is generous for any correct
//! solution and cuts a hanging one short.
//!
//! Two things keep a correct but slow run from being cut short. The
//! machine's speed right now is measured by the boot probe, the first VM
//! of every grading: when it took longer than the reference's, every
//! deadline grows by the same factor ([`speed`]), so a loaded or slower
//! machine gets proportionally more time. And a VM that still hits its
//! scaled deadline is run again with [`RETRY_FACTOR`] times the time
//! (capped by the rubric's timeout), until [`RETRY_BUDGET`] retries have
//! timed out too, or the boot probe (the simplest command there is) has
//! timed out even on its retry: from then on the kernel is taken to hang,
//! and timeouts stand as they are.

use std::collections::BTreeMap;
use std::time::Duration;

/// A timed-out VM is run again with this many times its deadline.
pub const RETRY_FACTOR: u32 = 4;

/// Retries that may time out again before no more are made.
pub const RETRY_BUDGET: usize = 2;

/// The slowest this machine is taken to be relative to the reference
/// (a probe that took longer says more about the kernel than the machine).
pub const MAX_SPEED_FACTOR: f64 = 4.0;

#[derive(Debug, thiserror::Error)]
pub enum DeadlineError {
    #[error("parse `{path}`: {message}")]
    Parse { path: String, message: String },
}

/// The reference solution's measured duration of each VM, by VM name
/// (`boot`, `usertests/sbrkarg`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct References {
    sessions: BTreeMap<String, Duration>,
}

#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct RawReferences {
    sessions: BTreeMap<String, humantime_serde::Serde<Duration>>,
}

const HEADER: &str = "\
# The reference solution's measured duration of each VM of this lab's
# grading, by VM name. xvlab scales each VM's deadline from it (see the
# rubric's `deadline_margin` and `deadline_floor`). Written by
# `xvlab self-test LAB --record-durations`; a VM missing here gets the
# rubric's timeout.
";

impl References {
    /// Parse the TOML form (`[sessions]` table of humantime durations).
    pub fn parse(text: &str, path: &str) -> Result<References, DeadlineError> {
        let raw: RawReferences = toml::from_str(text).map_err(|e| DeadlineError::Parse {
            path: path.to_string(),
            message: e.message().to_string(),
        })?;
        Ok(References {
            sessions: raw.sessions.into_iter().map(|(k, v)| (k, *v)).collect(),
        })
    }

    /// The TOML form, with a header saying what the file is.
    pub fn render(&self) -> String {
        let raw = RawReferences {
            sessions: self
                .sessions
                .iter()
                // Milliseconds are plenty, and keep the file readable.
                .map(|(k, v)| {
                    let ms = Duration::from_millis(v.as_millis() as u64);
                    (k.clone(), humantime_serde::Serde::from(ms))
                })
                .collect(),
        };
        let body = toml::to_string(&raw).expect("references serialise");
        format!("{HEADER}\n{body}")
    }

    /// From measured durations, one per VM.
    pub fn from_measured(measured: impl IntoIterator<Item = (String, Duration)>) -> References {
        References {
            sessions: measured.into_iter().collect(),
        }
    }

    pub fn get(&self, vm: &str) -> Option<Duration> {
        self.sessions.get(vm).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }
}

/// How a reference duration becomes a deadline (rubric data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scaling {
    /// Deadline = margin × reference × speed factor, the margin in
    /// hundredths (250: 2.5 times) ...
    pub margin_percent: u32,
    /// ... but never less than this.
    pub floor: Duration,
    /// How long a typed command may print nothing once echoed (the
    /// rubric's `start_deadline`), times the speed factor: a kernel whose
    /// `exec` hangs loses each VM after this, not after its deadline.
    /// `None`: no such limit.
    pub start: Option<Duration>,
}

/// Default margin, in hundredths: a VM may take 2.5 times the reference's
/// time.
pub const DEFAULT_MARGIN_PERCENT: u32 = 250;

/// Default floor of a scaled deadline.
pub const DEFAULT_FLOOR: Duration = Duration::from_millis(1500);

impl Default for Scaling {
    fn default() -> Scaling {
        Scaling {
            margin_percent: DEFAULT_MARGIN_PERCENT,
            floor: DEFAULT_FLOOR,
            start: None,
        }
    }
}

impl Scaling {
    /// The deadline of a VM whose reference duration is `reference` (none:
    /// the VM is not in the references, so it gets `cap`), on a machine
    /// `speed` times slower than the reference's, capped by the rubric's
    /// timeout `cap`.
    pub fn deadline(&self, reference: Option<Duration>, speed: f64, cap: Duration) -> Duration {
        let Some(reference) = reference else {
            return cap;
        };
        let margin = f64::from(self.margin_percent) / 100.0;
        let scaled = reference.mul_f64(margin * speed.max(1.0));
        scaled.max(self.floor).min(cap)
    }

    /// The start deadline of a VM on a machine `speed` times slower than
    /// the reference's; a retry gets [`RETRY_FACTOR`] times as long.
    pub fn start_deadline(&self, speed: f64, retried: bool) -> Option<Duration> {
        let factor = if retried {
            f64::from(RETRY_FACTOR)
        } else {
            1.0
        };
        // Whole milliseconds: the deadline is quoted in reasons.
        self.start.map(|s| {
            Duration::from_millis(
                (s.as_secs_f64() * 1000.0 * speed.max(1.0) * factor).round() as u64
            )
        })
    }
}

/// How much slower this machine runs than the reference's: the probe VM's
/// duration now over its reference duration, at least 1 and at most
/// [`MAX_SPEED_FACTOR`]. 1 when either is unknown.
pub fn speed(probe: Duration, reference: Option<Duration>) -> f64 {
    match reference {
        Some(r) if !r.is_zero() => {
            (probe.as_secs_f64() / r.as_secs_f64()).clamp(1.0, MAX_SPEED_FACTOR)
        }
        _ => 1.0,
    }
}

/// The deadline of a retry after `deadline` timed out.
pub fn retry_deadline(deadline: Duration, cap: Duration) -> Duration {
    (deadline * RETRY_FACTOR).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn start_deadline_scales_with_the_machine_and_the_retry() {
        let s = Scaling {
            start: Some(ms(500)),
            ..Scaling::default()
        };
        assert_eq!(s.start_deadline(1.0, false), Some(ms(500)));
        assert_eq!(s.start_deadline(0.5, false), Some(ms(500)));
        assert_eq!(s.start_deadline(2.0, false), Some(ms(1000)));
        assert_eq!(s.start_deadline(2.0, true), Some(ms(4000)));
        assert_eq!(Scaling::default().start_deadline(2.0, true), None);
    }

    #[test]
    fn deadline_is_margin_times_reference_with_floor_and_cap() {
        let s = Scaling {
            margin_percent: 250,
            floor: ms(1500),
            start: None,
        };
        let cap = Duration::from_secs(60);
        assert_eq!(s.deadline(Some(ms(2000)), 1.0, cap), ms(5000));
        assert_eq!(s.deadline(Some(ms(100)), 1.0, cap), ms(1500), "floor");
        assert_eq!(s.deadline(Some(ms(40_000)), 1.0, cap), cap, "cap");
        assert_eq!(s.deadline(None, 1.0, cap), cap, "unknown VM");
        assert_eq!(s.deadline(Some(ms(2000)), 2.0, cap), ms(10_000), "slow");
        assert_eq!(s.deadline(Some(ms(2000)), 0.5, cap), ms(5000), "never less");
    }

    #[test]
    fn speed_factor_is_clamped() {
        assert_eq!(speed(ms(700), Some(ms(350))), 2.0);
        assert_eq!(speed(ms(100), Some(ms(350))), 1.0);
        assert_eq!(speed(ms(60_000), Some(ms(350))), MAX_SPEED_FACTOR);
        assert_eq!(speed(ms(700), None), 1.0);
        assert_eq!(speed(ms(700), Some(Duration::ZERO)), 1.0);
    }

    #[test]
    fn retry_deadline_grows_and_is_capped() {
        let cap = Duration::from_secs(20);
        assert_eq!(retry_deadline(ms(2000), cap), ms(8000));
        assert_eq!(retry_deadline(ms(8000), cap), cap);
    }

    #[test]
    fn references_round_trip() {
        let refs = References::from_measured([
            ("boot".to_string(), Duration::from_micros(354_321)),
            ("usertests/sbrkarg".to_string(), ms(812)),
        ]);
        let text = refs.render();
        assert!(text.starts_with("# The reference"));
        let back = References::parse(&text, "d.toml").unwrap();
        assert_eq!(back.get("boot"), Some(ms(354)));
        assert_eq!(back.get("usertests/sbrkarg"), Some(ms(812)));
        assert_eq!(back.get("lazytests"), None);
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn references_reject_unknown_fields_and_bad_durations() {
        assert!(References::parse("[sessions]\nboot = \"fast\"\n", "d.toml").is_err());
        assert!(References::parse("other = 1\n[sessions]\n", "d.toml").is_err());
    }
}
