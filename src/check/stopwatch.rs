//! Wall time for `elapsed_ms`. The check's result never depends on it; it is reported for humans
//! and benchmarks only, which is why reading the wall clock is allowed here.

use std::time::Instant;

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
