//! Wall time: `elapsed_ms` for reports, and the `--timeout-s` deadline. Only the deadline can
//! change a verdict, and only into `unknown` (never a pass), at the user's request; that is why
//! reading the wall clock is allowed here and nowhere else in the checker.

use std::time::{Duration, Instant};

pub(crate) struct Stopwatch(Instant);

impl Stopwatch {
    // The clock is only displayed, never used to decide anything (see the module docs).
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn start() -> Self {
        Stopwatch(Instant::now())
    }

    pub(crate) fn elapsed_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1000.0
    }
}

/// The moment `--timeout-s` runs out, if one was given.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Option<Instant>,
    pub(crate) timeout_s: f64,
}

impl Deadline {
    /// `None` = no limit. Negative, NaN or huge limits are treated as no time / no limit.
    // The user asked for a wall-clock limit; it can only turn a verdict into `unknown`.
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn after(timeout_s: Option<f64>) -> Self {
        let at = timeout_s.and_then(|s| {
            let limit = Duration::try_from_secs_f64(s.max(0.0)).ok()?;
            Instant::now().checked_add(limit)
        });
        Deadline {
            at,
            timeout_s: timeout_s.unwrap_or(f64::INFINITY),
        }
    }

    /// True once the limit has passed.
    // See `after`.
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn expired(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }
}
