//! The simulated disk the world keeps for each node: a page cache over durable content, and
//! the disk faults the nemesis can switch on (rules that last) or do once (corruption).
//!
//! What each rule means, at the moment it matters:
//! - [`DiskRule::TornWrite`]: a crash keeps, of a file's unsynced appends, a prefix in whole
//!   [`SECTOR_BYTES`] sectors; the tear point is drawn from the lost bytes themselves, so it
//!   replays exactly. A file replaced with `write` never tears: replacement is atomic in the
//!   [`Storage`] contract (the real backend writes a temporary file and renames it), so it is
//!   lost whole or kept whole.
//! - [`DiskRule::FsyncFail`]: a completing sync fails (EIO) and, like Linux after a failed
//!   fsync, the writes it was to make durable are dropped from the page cache: gone, even if a
//!   later sync succeeds.
//! - [`DiskRule::LostSync`]: a completing sync reports success but persists nothing (a volatile
//!   write cache): the writes are lost at the next crash unless a later honest sync saves them.
//! - [`DiskRule::Full`]: writes and appends fail with no space; nothing is written.
//! - [`DiskRule::Slow`]: syncs take `delay_ms` longer.
//!
//! Corruption ([`SimDisk::corrupt`]) flips one bit of a file's durable content, at rest.
//! Everything that happens is queued as a [`DiskEffect`] for the world to log; this module
//! never panics on what a fault does.

use super::{Storage, StorageError, check_file_name};
use crate::rng::Fnv64;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The unit a torn write keeps: small, so the services' short files tear too (real sectors
/// are 512 B to 4 KiB, but then a 30-byte file could never tear).
pub const SECTOR_BYTES: usize = 16;

/// Bound on effects queued between two drains, so a service hammering a full disk cannot grow
/// memory without bound (the event log is bounded too).
const EFFECTS_MAX: usize = 4096;

/// A disk fault that lasts until the nemesis ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DiskRule {
    /// A crash tears the unsynced writes (see the module doc).
    TornWrite,
    /// Syncs fail and drop what they were to persist.
    FsyncFail,
    /// Syncs report success and persist nothing.
    LostSync,
    /// Writes fail: no space.
    Full,
    /// Syncs take this much longer.
    Slow {
        /// The extra time per sync.
        delay_ms: u64,
    },
}

/// Something a disk fault did, for the event log (counted in `counters.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "kebab-case")]
pub enum DiskEffect {
    /// A crash kept only a sector-aligned prefix of a file's unsynced writes.
    TornWrite {
        /// The file.
        file: String,
        /// Unsynced bytes that survived.
        bytes_kept: u64,
        /// Unsynced bytes lost.
        bytes_lost: u64,
    },
    /// A sync failed (EIO); the writes it was to persist were dropped.
    SyncFailed {
        /// Unsynced bytes dropped from the page cache.
        bytes_dropped: u64,
    },
    /// A sync reported success but persisted nothing.
    SyncLied {
        /// Bytes the caller now believes durable and are not.
        bytes_unsynced: u64,
    },
    /// A write or append failed: no space left.
    WriteFailed {
        /// The file.
        file: String,
        /// Bytes that were not written.
        bytes: u64,
    },
    /// A sync took longer than the disk's usual fsync time.
    SlowSync {
        /// The extra time.
        extra_ms: u64,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct SimFile {
    durable: Option<Vec<u8>>,
    cached: Option<Vec<u8>>,
}

impl SimFile {
    fn dirty(&self) -> bool {
        self.cached != self.durable
    }

    fn cached_len(&self) -> u64 {
        self.cached.as_ref().map_or(0, |c| c.len() as u64)
    }
}

/// One node's simulated disk. Owned by the world, so it outlives crashes of the node.
#[derive(Debug, Clone, Default)]
pub struct SimDisk {
    files: BTreeMap<String, SimFile>,
    rules: Vec<DiskRule>,
    effects: Vec<DiskEffect>,
}

/// What a crash did to a disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CrashLoss {
    /// Files whose page cache was thrown away.
    pub files_reverted: u32,
    /// Unsynced bytes lost.
    pub bytes_lost: u64,
}

impl SimDisk {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes written but not yet durable.
    pub fn unsynced_bytes(&self) -> u64 {
        self.files
            .values()
            .filter(|f| f.dirty())
            .map(SimFile::cached_len)
            .sum()
    }

    /// Makes every write so far durable, whatever the rules say (an honest disk).
    pub fn sync_all(&mut self) {
        for f in self.files.values_mut() {
            if f.dirty() {
                f.durable.clone_from(&f.cached);
            }
        }
    }

    /// A sync of this disk completes now: honest unless a rule says otherwise.
    pub fn complete_sync(&mut self) -> Result<(), StorageError> {
        let unsynced = self.unsynced_bytes();
        if self.rules.contains(&DiskRule::FsyncFail) {
            for f in self.files.values_mut() {
                f.cached.clone_from(&f.durable);
            }
            self.files.retain(|_, f| f.durable.is_some());
            self.push_effect(DiskEffect::SyncFailed {
                bytes_dropped: unsynced,
            });
            return Err(StorageError::SyncFailed {
                message: "EIO (simulated)".to_string(),
            });
        }
        if self.rules.contains(&DiskRule::LostSync) {
            if unsynced > 0 {
                self.push_effect(DiskEffect::SyncLied {
                    bytes_unsynced: unsynced,
                });
            }
            return Ok(());
        }
        self.sync_all();
        Ok(())
    }

    /// How much longer than usual a sync started now takes (the slowest rule wins); queues the
    /// effect when it is slowed.
    pub fn sync_extra_ms(&mut self) -> u64 {
        let extra = self
            .rules
            .iter()
            .map(|r| match r {
                DiskRule::Slow { delay_ms } => *delay_ms,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        if extra > 0 {
            self.push_effect(DiskEffect::SlowSync { extra_ms: extra });
        }
        extra
    }

    /// Power loss: the page cache is gone; durable content survives. Under a torn-write rule,
    /// a prefix of each file's unsynced writes survives too.
    pub fn crash(&mut self) -> CrashLoss {
        let mut loss = CrashLoss::default();
        let torn = self.rules.contains(&DiskRule::TornWrite);
        let mut effects = Vec::new();
        for (name, f) in &mut self.files {
            if !f.dirty() {
                continue;
            }
            loss.files_reverted += 1;
            loss.bytes_lost += f.cached_len();
            if let Some((content, kept, lost)) = torn.then(|| tear(f)).flatten() {
                f.durable = Some(content);
                effects.push(DiskEffect::TornWrite {
                    file: name.clone(),
                    bytes_kept: kept,
                    bytes_lost: lost,
                });
            }
            f.cached.clone_from(&f.durable);
        }
        self.files.retain(|_, f| f.durable.is_some());
        for e in effects {
            self.push_effect(e);
        }
        loss
    }

    /// Flips bit `bit` (counted from the file's first byte) of `file`'s durable content, at
    /// rest. Reads see it too unless the file was replaced since its last sync (the page cache
    /// then holds other content); unsynced appends do not hide it — the damaged sector is not
    /// rewritten by them. `false` when the file has no durable content that long.
    pub fn corrupt(&mut self, file: &str, bit: u64) -> bool {
        let Some(f) = self.files.get_mut(file) else {
            return false;
        };
        let Some(durable) = f.durable.as_mut() else {
            return false;
        };
        let extended = f.cached.as_deref().is_some_and(|c| c.starts_with(durable));
        let Ok(byte) = usize::try_from(bit / 8) else {
            return false;
        };
        let mask = 1u8 << (bit % 8);
        let Some(b) = durable.get_mut(byte) else {
            return false;
        };
        *b ^= mask;
        let shown = f.cached.as_mut().filter(|_| extended);
        if let Some(c) = shown.and_then(|c| c.get_mut(byte)) {
            *c ^= mask;
        }
        true
    }

    /// Every file with durable content and its durable length, in name order.
    pub fn durable_files(&self) -> Vec<(String, u64)> {
        self.files
            .iter()
            .filter_map(|(name, f)| {
                let len = f.durable.as_ref()?.len() as u64;
                (len > 0).then(|| (name.clone(), len))
            })
            .collect()
    }

    /// Switches a rule on (rules stack: two slow rules, the slower counts).
    pub fn add_rule(&mut self, rule: DiskRule) {
        self.rules.push(rule);
    }

    /// Ends one instance of `rule`; other rules, and other instances of it, stay.
    pub fn end_rule(&mut self, rule: DiskRule) {
        if let Some(i) = self.rules.iter().position(|r| *r == rule) {
            self.rules.remove(i);
        }
    }

    /// Ends every rule.
    pub fn clear_rules(&mut self) {
        self.rules.clear();
    }

    /// True while some rule lasts.
    pub fn has_rules(&self) -> bool {
        !self.rules.is_empty()
    }

    /// What the faults did since the last call, in order.
    pub fn take_effects(&mut self) -> Vec<DiskEffect> {
        std::mem::take(&mut self.effects)
    }

    fn push_effect(&mut self, e: DiskEffect) {
        if self.effects.len() < EFFECTS_MAX {
            self.effects.push(e);
        }
    }

    fn refuse_when_full(&mut self, file: &str, bytes: usize) -> Result<(), StorageError> {
        if self.rules.contains(&DiskRule::Full) {
            self.push_effect(DiskEffect::WriteFailed {
                file: file.to_string(),
                bytes: bytes as u64,
            });
            return Err(StorageError::NoSpace {
                file: file.to_string(),
            });
        }
        Ok(())
    }
}

/// What a crash under a torn-write rule leaves of a dirty file: `(content, kept, lost)`, or
/// `None` when its unsynced change is not an append (a replacement is atomic) or is at most one
/// sector (nothing to tear: it is lost whole).
fn tear(f: &SimFile) -> Option<(Vec<u8>, u64, u64)> {
    let cached = f.cached.as_deref()?;
    let durable = f.durable.as_deref().unwrap_or_default();
    if cached.len() <= durable.len() || !cached.starts_with(durable) {
        return None;
    }
    let appended = &cached[durable.len()..];
    let sectors = appended.len().saturating_sub(1) / SECTOR_BYTES;
    if sectors == 0 {
        return None;
    }
    let mut h = Fnv64::new();
    h.write(appended);
    let kept = SECTOR_BYTES * (1 + (h.finish() % sectors as u64) as usize);
    debug_assert!(kept > 0 && kept < appended.len() && kept.is_multiple_of(SECTOR_BYTES));
    let content = cached[..durable.len() + kept].to_vec();
    Some((content, kept as u64, (appended.len() - kept) as u64))
}

impl Storage for SimDisk {
    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, StorageError> {
        check_file_name(file)?;
        Ok(self.files.get(file).and_then(|f| f.cached.clone()))
    }

    fn write(&mut self, file: &str, data: &[u8]) -> Result<(), StorageError> {
        check_file_name(file)?;
        self.refuse_when_full(file, data.len())?;
        self.files.entry(file.to_string()).or_default().cached = Some(data.to_vec());
        Ok(())
    }

    fn append(&mut self, file: &str, data: &[u8]) -> Result<(), StorageError> {
        check_file_name(file)?;
        self.refuse_when_full(file, data.len())?;
        let f = self.files.entry(file.to_string()).or_default();
        f.cached
            .get_or_insert_with(Vec::new)
            .extend_from_slice(data);
        Ok(())
    }
}

#[cfg(test)]
#[path = "sim_tests.rs"]
mod tests;
