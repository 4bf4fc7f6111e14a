//! Per-node clocks with skew: offset, drift (ppm) and jumps, changeable at run time.
//!
//! Neither simulator models clock skew, so it lives here. The local monotonic clock advances at
//! `1 + drift_ppm / 10^6` times true time and never goes backwards; the local wall clock is the
//! monotonic reading plus an offset that jumps (forwards or backwards) when the nemesis says so.
//! Leases and timeouts use the monotonic clock; ID timestamps use the wall clock. All arithmetic
//! is integer nanoseconds so a run replays bit for bit.

use crate::time::{LocalInstant, LocalNow, SimTime, WallTime};
use serde::Serialize;
use std::time::Duration;

/// Drift beyond ±50% is not a clock, it is a bug in the scenario.
pub const DRIFT_PPM_LIMIT: i64 = 500_000;

const PPM: i128 = 1_000_000;

/// The clock of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeClock {
    /// True time at which the current drift segment began.
    anchor_true_ns: u64,
    /// Monotonic reading at `anchor_true_ns`.
    anchor_mono_ns: u64,
    drift_ppm: i64,
    /// Wall clock = unix epoch of the run + monotonic reading + this offset.
    wall_offset_ns: i64,
    /// The run's Unix epoch in ns: what an unskewed wall clock reads at true time zero.
    epoch_unix_ns: i64,
}

impl NodeClock {
    /// A clock that starts in sync: monotonic at `mono_start`, wall at the run's epoch.
    pub fn new(epoch_unix_ns: i64, mono_start: LocalInstant) -> Self {
        let mono_start_ns = i64::try_from(mono_start.ns).unwrap_or(i64::MAX);
        NodeClock {
            anchor_true_ns: 0,
            anchor_mono_ns: mono_start.ns,
            drift_ppm: 0,
            wall_offset_ns: -mono_start_ns,
            epoch_unix_ns,
        }
    }

    /// The current rate error.
    pub fn drift_ppm(&self) -> i64 {
        self.drift_ppm
    }

    /// The local monotonic clock at true time `now`.
    pub fn mono(&self, now: SimTime) -> LocalInstant {
        // A clock is only read forwards in true time; an earlier reading means the caller mixed
        // up two times, which is a harness bug.
        debug_assert!(
            now.ns >= self.anchor_true_ns,
            "clock read before its anchor"
        );
        let elapsed = i128::from(now.ns.saturating_sub(self.anchor_true_ns));
        let local = elapsed * (PPM + i128::from(self.drift_ppm)) / PPM;
        let ns = i128::from(self.anchor_mono_ns) + local;
        LocalInstant {
            ns: u64::try_from(ns).unwrap_or(u64::MAX),
        }
    }

    /// The local wall clock at true time `now`.
    pub fn wall(&self, now: SimTime) -> WallTime {
        let mono = i128::from(self.mono(now).ns);
        let ns = i128::from(self.epoch_unix_ns) + mono + i128::from(self.wall_offset_ns);
        WallTime {
            ns: i64::try_from(ns).unwrap_or(i64::MAX),
        }
    }

    /// Both local clocks at true time `now`.
    pub fn read(&self, now: SimTime) -> LocalNow {
        LocalNow {
            mono: self.mono(now),
            wall: self.wall(now),
        }
    }

    /// The wall clock's error against true time, in ns (positive = ahead).
    pub fn wall_error_ns(&self, now: SimTime) -> i64 {
        let truth = i128::from(self.epoch_unix_ns) + i128::from(now.ns);
        let err = i128::from(self.wall(now).ns) - truth;
        i64::try_from(err).unwrap_or(i64::MAX)
    }

    /// Changes the drift from `now` on. The monotonic clock stays continuous.
    pub fn set_drift(&mut self, now: SimTime, drift_ppm: i64) {
        assert!(
            drift_ppm.abs() <= DRIFT_PPM_LIMIT,
            "drift {drift_ppm} ppm out of range"
        );
        self.reanchor(now);
        self.drift_ppm = drift_ppm;
    }

    /// Steps the wall clock by `delta_ns` (negative = backwards). Monotonic time is untouched.
    pub fn jump(&mut self, delta_ns: i64) {
        self.wall_offset_ns = self.wall_offset_ns.saturating_add(delta_ns);
    }

    /// Sets the wall clock's error against true time to exactly `offset_ns`; returns the jump
    /// that took (what a service observes).
    pub fn set_wall_error(&mut self, now: SimTime, offset_ns: i64) -> i64 {
        let delta = offset_ns.saturating_sub(self.wall_error_ns(now));
        self.jump(delta);
        delta
    }

    /// True time until the monotonic clock reads `deadline` (at the current drift). Rounded
    /// up, so a timer never fires early in local time.
    pub fn true_until(&self, now: SimTime, deadline: LocalInstant) -> Duration {
        let mono_now = self.mono(now);
        if deadline <= mono_now {
            return Duration::ZERO;
        }
        let local = i128::from(deadline.ns - mono_now.ns);
        let rate = PPM + i128::from(self.drift_ppm);
        let true_ns = (local * PPM + rate - 1) / rate;
        Duration::from_nanos(u64::try_from(true_ns).unwrap_or(u64::MAX))
    }

    fn reanchor(&mut self, now: SimTime) {
        let mono = self.mono(now);
        let wall_before = self.wall(now);
        self.anchor_true_ns = now.ns;
        self.anchor_mono_ns = mono.ns;
        debug_assert_eq!(
            self.wall(now),
            wall_before,
            "re-anchoring must not move the wall clock"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPOCH_NS: i64 = 1_700_000_000_000_000_000;

    fn t_ms(ms: u64) -> SimTime {
        SimTime::from_ms(ms)
    }

    #[test]
    fn unskewed_clock_tracks_true_time() {
        let c = NodeClock::new(EPOCH_NS, LocalInstant { ns: 5 });
        assert_eq!(c.mono(t_ms(10)).ns, 10_000_005);
        assert_eq!(c.wall(t_ms(10)).ns, EPOCH_NS + 10_000_000);
        assert_eq!(c.wall_error_ns(t_ms(10)), 0);
    }

    #[test]
    fn drift_is_continuous_and_scales_time() {
        let mut c = NodeClock::new(EPOCH_NS, LocalInstant::default());
        c.set_drift(t_ms(1000), 100_000); // 10% fast from t = 1 s
        assert_eq!(c.mono(t_ms(1000)).ns, 1_000_000_000);
        assert_eq!(c.mono(t_ms(2000)).ns, 2_100_000_000);
        assert_eq!(c.wall_error_ns(t_ms(2000)), 100_000_000);
    }

    #[test]
    fn backwards_jump_moves_wall_not_mono() {
        let mut c = NodeClock::new(EPOCH_NS, LocalInstant::default());
        let mono_before = c.mono(t_ms(500));
        let wall_before = c.wall(t_ms(500));
        c.jump(-2_000_000_000);
        assert_eq!(c.mono(t_ms(500)), mono_before);
        assert_eq!(c.wall(t_ms(500)).ns, wall_before.ns - 2_000_000_000);
    }

    #[test]
    fn set_wall_error_reports_the_jump() {
        let mut c = NodeClock::new(EPOCH_NS, LocalInstant::default());
        c.jump(300);
        let delta = c.set_wall_error(t_ms(1), -700);
        assert_eq!(delta, -1000);
        assert_eq!(c.wall_error_ns(t_ms(1)), -700);
    }

    #[test]
    fn timers_never_fire_early_in_local_time() {
        let mut c = NodeClock::new(EPOCH_NS, LocalInstant::default());
        c.set_drift(SimTime::ZERO, -333_333); // slow clock: local runs at 2/3 speed
        let now = t_ms(7);
        let deadline = c.mono(now).saturating_add(Duration::from_millis(10));
        let wait = c.true_until(now, deadline);
        assert!(c.mono(now.saturating_add(wait)) >= deadline);
        let just_before = now.saturating_add(wait - Duration::from_nanos(1));
        assert!(c.mono(just_before) < deadline);
    }
}
