//! The shrinker's reducers: each makes one dimension of the best failing candidate smaller
//! (the safety phase, the explicit faults, how long the lasting ones last, the clients' think
//! time), keeping every change that still fails the target.

use super::ddmin::{Probe, ddmin};
use super::explicit::Entry;
use super::{Search, ShrinkError};

impl Search<'_> {
    /// A shorter safety phase; entries that would no longer fire go with it.
    pub(super) fn shrink_duration(&mut self) -> Result<(), ShrinkError> {
        let Some(current) = self.best.int(&["duration_ms"]) else {
            return Ok(());
        };
        // Without explicit entries the file's own schedule must still fit (validation says).
        let lowest = 1;
        self.bisect_from(current, lowest, |c, d| {
            let c = c.with_int(&["duration_ms"], d);
            match c.schedule() {
                Some(entries) => {
                    let kept: Vec<Entry> =
                        entries.iter().filter(|e| e.at_ms < d).cloned().collect();
                    c.with_schedule(&kept)
                }
                None => c,
            }
        })
    }

    /// ddmin over the explicit entries.
    pub(super) fn shrink_entries(&mut self) -> Result<(), ShrinkError> {
        let Some(entries) = self.best.schedule().map(<[Entry]>::to_vec) else {
            return Ok(());
        };
        let base = self.best.clone();
        let kept = ddmin(entries, &mut |subset: &[Entry]| {
            self.probe(&base.with_schedule(subset))
        })?;
        // ddmin ends on its last failing subset (or the start), which `probe` took.
        debug_assert_eq!(self.best.schedule(), Some(&kept[..]));
        Ok(())
    }

    /// Lasting faults shorter: first all at once, under one cap bisected from the longest
    /// down (about six runs, whatever the number of faults), then each alone tried at 1 ms
    /// (one run per fault). Bisecting each fault's own duration cost about six runs per fault
    /// and spent a 200-run budget on a schedule of fourteen (lock-grant-before-fsync). A fault
    /// lasting to the final heal gets a duration first.
    pub(super) fn shrink_lasting(&mut self) -> Result<(), ShrinkError> {
        let duration_ms = self.best.int(&["duration_ms"]).unwrap_or(0);
        let lasts = |e: &Entry| {
            e.lasts_ms
                .unwrap_or_else(|| duration_ms.saturating_sub(e.at_ms))
        };
        let Some(longest) = self
            .best
            .schedule()
            .and_then(|s| s.iter().filter(|e| e.lasting()).map(lasts).max())
        else {
            return Ok(());
        };
        self.bisect_from(longest, 1, |c, cap| {
            let mut entries = c.schedule().map(<[Entry]>::to_vec).unwrap_or_default();
            for e in entries.iter_mut().filter(|e| e.lasting()) {
                e.lasts_ms = Some(lasts(e).min(cap));
            }
            c.with_schedule(&entries)
        })?;
        let count = self.best.schedule().map_or(0, <[Entry]>::len);
        for i in 0..count {
            let Some(entry) = self.best.schedule().and_then(|s| s.get(i)).cloned() else {
                break;
            };
            if !entry.lasting() || lasts(&entry) <= 1 {
                continue;
            }
            let mut entries = self
                .best
                .schedule()
                .map(<[Entry]>::to_vec)
                .unwrap_or_default();
            if let Some(e) = entries.get_mut(i) {
                e.lasts_ms = Some(1);
            }
            let base = self.best.clone();
            if self.probe(&base.with_schedule(&entries))? == Probe::OutOfBudget {
                break;
            }
        }
        Ok(())
    }

    /// Clients that think as long as the workload allows between operations: fewer of them.
    pub(super) fn shrink_think(&mut self) -> Result<(), ShrinkError> {
        let max = self.best.int(&["workload", "think_ms_max"]);
        let min = self.best.int(&["workload", "think_ms_min"]).unwrap_or(0);
        // The file's default (`WorkloadConfig`) when the table leaves it out.
        let max = max.unwrap_or(crate::scenario::WorkloadConfig::default().think_ms_max);
        if min < max {
            let (best, size) = (self.best.clone(), self.best_size);
            let c = best.with_int(&["workload", "think_ms_min"], max);
            // Worth it only if the clients did do less.
            if self.probe(&c)? == Probe::Fails && self.best_size.ops >= size.ops {
                self.best = best;
                self.best_size = size;
            }
        }
        Ok(())
    }
}
