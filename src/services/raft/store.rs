//! The durable format of a Raft replica on a [`Storage`], and recovery from it.
//!
//! Three files, every record framed as
//! `[len: u32 LE][crc32 of payload: u32 LE][crc32 of the previous 8 bytes: u32 LE][payload]`.
//! The header has its own checksum so that a damaged length is corruption, not mistaken for a
//! record running past the end of the file (a torn tail):
//! - `raft.hardstate`: one record, the JSON [`HardState`]; replaced whole on change.
//! - `raft.snapshot`: one record, `index: u64 LE | term: u64 LE | application bytes`.
//! - `raft.log`: one record per entry (JSON [`Entry`]), appended with `Storage::append`.
//!   Truncation and compaction rewrite the file; compaction keeps it within about two
//!   `compact_after_entries` of entries.
//!
//! Recovery tells a **torn tail** (the log's last record cut short: it was never completely
//! written, so never synced, so never acknowledged) from **corruption** (a complete record or
//! the hard state / snapshot failing its checksum, an undecodable record, a gap): the first is
//! truncated and reported as a value, the second is [`StoreError::Corrupt`] and the host must
//! refuse to serve — starting afresh would forget votes and acknowledged entries.
//!
//! Crash safety does not assume writes to different files become durable together: the log
//! file is compacted only up to the *previous* snapshot, which was synced before this one was
//! written, so a crash between files never leaves a gap between snapshot and log.

use super::ready::Ready;
use super::types::{Command, Entry, HardState, Recovered, Snapshot, SnapshotMeta};
use crate::disk::{Storage, StorageError};
use thiserror::Error;

/// The hard state file.
pub const HARD_STATE_FILE: &str = "raft.hardstate";
/// The log file.
pub const LOG_FILE: &str = "raft.log";
/// The snapshot file.
pub const SNAPSHOT_FILE: &str = "raft.snapshot";

const HEADER_BYTES: usize = 12;
const SNAPSHOT_META_BYTES: usize = 16;

/// Why the durable state could not be written or recovered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The storage refused a read or write.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The durable state is damaged: refuse to serve.
    #[error("{file} is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// Which file.
        file: &'static str,
        /// Where in it.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// An entry could not be encoded.
    #[error("cannot encode a log entry: {0}")]
    Encode(String),
}

fn corrupt(file: &'static str, offset: usize, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        file,
        offset: offset as u64,
        reason: reason.into(),
    }
}

/// A cut-short last record found (and removed) by recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    /// Where the torn record began (the log file's new length).
    pub offset_bytes: u64,
    /// How many bytes were dropped.
    pub dropped_bytes: u64,
}

/// What recovery found.
#[derive(Debug)]
pub struct Loaded<C> {
    /// The state to build the core from.
    pub recovered: Recovered<C>,
    /// A torn tail that was truncated (already written back; durable with the next sync).
    pub torn_tail: Option<TornTail>,
    /// The writer for further `Ready`s.
    pub store: Store,
}

/// Writes `Ready`s to storage; remembers where each log record starts so it can truncate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// Index of the first record in the log file (when it has any).
    log_first: u64,
    /// Byte offset of each record in the log file, in index order from `log_first`.
    offsets: Vec<u64>,
    log_bytes: u64,
    /// Index of the last snapshot written: the log may be compacted up to it once the next
    /// snapshot is written (it has been synced by then).
    snapshot_index: u64,
}

/// Frames a payload: `[len][payload crc][header crc][payload]`.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + payload.len());
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    let header_crc = crc32fast::hash(&out[..8]);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// One parsed frame, or why the bytes at `at` are not one.
enum Parsed<'a> {
    Record {
        payload: &'a [u8],
        next: usize,
    },
    /// Fewer bytes than the header or the (intact) length announce: a torn write.
    Short,
    /// The header or the payload fails its checksum.
    BadCrc,
}

fn parse_frame(bytes: &[u8], at: usize) -> Parsed<'_> {
    let rest = &bytes[at..];
    if rest.len() < HEADER_BYTES {
        return Parsed::Short;
    }
    let word = |i: usize| u32::from_le_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
    if crc32fast::hash(&rest[..8]) != word(8) {
        return Parsed::BadCrc;
    }
    let len = usize::try_from(word(0)).unwrap_or(usize::MAX);
    let crc = word(4);
    let Some(payload) = rest.get(HEADER_BYTES..HEADER_BYTES.saturating_add(len)) else {
        return Parsed::Short;
    };
    if crc32fast::hash(payload) != crc {
        return Parsed::BadCrc;
    }
    Parsed::Record {
        payload,
        next: at + HEADER_BYTES + len,
    }
}

/// A frame read without its checksums: the length as written, whatever it is.
fn parse_frame_unverified(bytes: &[u8], at: usize) -> Parsed<'_> {
    let rest = &bytes[at..];
    let Some(len) = rest.get(..4) else {
        return Parsed::Short;
    };
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    match rest.get(HEADER_BYTES..HEADER_BYTES.saturating_add(len)) {
        Some(payload) => Parsed::Record {
            payload,
            next: at + HEADER_BYTES + len,
        },
        None => Parsed::Short,
    }
}

/// A file that must hold exactly one intact record.
fn single_record<'a>(file: &'static str, bytes: &'a [u8]) -> Result<&'a [u8], StoreError> {
    match parse_frame(bytes, 0) {
        Parsed::Record { payload, next } if next == bytes.len() => Ok(payload),
        Parsed::Record { next, .. } => Err(corrupt(file, next, "trailing bytes")),
        Parsed::Short => Err(corrupt(file, 0, "record cut short")),
        Parsed::BadCrc => Err(corrupt(file, 0, "checksum mismatch")),
    }
}

fn load_hard_state(storage: &dyn Storage) -> Result<HardState, StoreError> {
    let Some(bytes) = storage.read(HARD_STATE_FILE)? else {
        return Ok(HardState::default());
    };
    let payload = single_record(HARD_STATE_FILE, &bytes)?;
    serde_json::from_slice(payload)
        .map_err(|e| corrupt(HARD_STATE_FILE, HEADER_BYTES, e.to_string()))
}

fn load_snapshot(storage: &dyn Storage) -> Result<Snapshot, StoreError> {
    let Some(bytes) = storage.read(SNAPSHOT_FILE)? else {
        return Ok(Snapshot {
            meta: SnapshotMeta::default(),
            data: Vec::new(),
        });
    };
    let payload = single_record(SNAPSHOT_FILE, &bytes)?;
    if payload.len() < SNAPSHOT_META_BYTES {
        return Err(corrupt(SNAPSHOT_FILE, HEADER_BYTES, "no snapshot metadata"));
    }
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&payload[i..i + 8]);
        u64::from_le_bytes(b)
    };
    Ok(Snapshot {
        meta: SnapshotMeta {
            index: u64_at(0),
            term: u64_at(8),
        },
        data: payload[SNAPSHOT_META_BYTES..].to_vec(),
    })
}

/// Reads and verifies the durable state. See the module docs for torn tails vs corruption.
pub fn load<C: Command>(storage: &mut dyn Storage) -> Result<Loaded<C>, StoreError> {
    load_checked(storage, true)
}

/// [`load`], with log checksums verified or not (`verify = false`: the planted bug
/// `kv-ignore-checksum`, which takes a damaged record's length and payload at face value).
pub fn load_checked<C: Command>(
    storage: &mut dyn Storage,
    verify: bool,
) -> Result<Loaded<C>, StoreError> {
    let hard_state = load_hard_state(storage)?;
    let snapshot = load_snapshot(storage)?;
    let bytes = storage.read(LOG_FILE)?.unwrap_or_default();
    let mut at = 0;
    let mut records: Vec<(u64, Entry<C>)> = Vec::new();
    let mut torn_tail = None;
    while at < bytes.len() {
        let parsed = if verify {
            parse_frame(&bytes, at)
        } else {
            parse_frame_unverified(&bytes, at)
        };
        match parsed {
            Parsed::Record { payload, next } => {
                let entry: Entry<C> = serde_json::from_slice(payload)
                    .map_err(|e| corrupt(LOG_FILE, at, format!("undecodable entry: {e}")))?;
                if let Some((_, prev)) = records.last()
                    && (entry.index != prev.index + 1 || entry.term < prev.term)
                {
                    return Err(corrupt(LOG_FILE, at, "entries out of order"));
                }
                records.push((at as u64, entry));
                at = next;
            }
            Parsed::Short => {
                torn_tail = Some(TornTail {
                    offset_bytes: at as u64,
                    dropped_bytes: (bytes.len() - at) as u64,
                });
                storage.write(LOG_FILE, &bytes[..at])?;
                break;
            }
            Parsed::BadCrc => return Err(corrupt(LOG_FILE, at, "checksum mismatch")),
        }
    }
    let log_bytes = torn_tail.map_or(bytes.len() as u64, |t| t.offset_bytes);
    let store = Store {
        log_first: records
            .first()
            .map_or(snapshot.meta.index + 1, |(_, e)| e.index),
        offsets: records.iter().map(|(o, _)| *o).collect(),
        log_bytes,
        snapshot_index: snapshot.meta.index,
    };
    let entries: Vec<Entry<C>> = records
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| e.index > snapshot.meta.index)
        .collect();
    if entries
        .first()
        .is_some_and(|e| e.index != snapshot.meta.index + 1 || e.term < snapshot.meta.term)
    {
        return Err(corrupt(LOG_FILE, 0, "log does not follow the snapshot"));
    }
    let last_term = entries.last().map_or(snapshot.meta.term, |e| e.term);
    if last_term > hard_state.term {
        return Err(corrupt(
            HARD_STATE_FILE,
            0,
            format!("term {} behind the log's {last_term}", hard_state.term),
        ));
    }
    Ok(Loaded {
        recovered: Recovered {
            hard_state,
            snapshot,
            entries,
        },
        torn_tail,
        store,
    })
}

impl Store {
    /// The store of an empty disk (what `load` returns for one).
    pub fn empty() -> Self {
        Store {
            log_first: 1,
            offsets: Vec::new(),
            log_bytes: 0,
            snapshot_index: 0,
        }
    }

    fn log_last(&self) -> u64 {
        self.log_first + self.offsets.len() as u64 - 1
    }

    /// Writes step 1 of a [`Ready`] (hard state, snapshot, truncation, entries). Nothing is
    /// durable until the host syncs.
    pub fn persist<C: Command>(
        &mut self,
        storage: &mut dyn Storage,
        ready: &Ready<C>,
    ) -> Result<(), StoreError> {
        if let Some(hs) = &ready.hard_state {
            let json = serde_json::to_vec(hs).map_err(|e| StoreError::Encode(e.to_string()))?;
            storage.write(HARD_STATE_FILE, &frame(&json))?;
        }
        if let Some(snap) = &ready.snapshot {
            let meta = snap.snapshot.meta;
            let mut payload = Vec::with_capacity(SNAPSHOT_META_BYTES + snap.snapshot.data.len());
            payload.extend_from_slice(&meta.index.to_le_bytes());
            payload.extend_from_slice(&meta.term.to_le_bytes());
            payload.extend_from_slice(&snap.snapshot.data);
            storage.write(SNAPSHOT_FILE, &frame(&payload))?;
            let previous = self.snapshot_index;
            self.snapshot_index = meta.index;
            self.compact_upto(storage, previous)?;
        }
        let overlap = ready
            .entries
            .first()
            .map(|e| e.index)
            .filter(|&i| i <= self.log_last());
        let cut = match (ready.truncate_from, overlap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(from) = cut {
            self.truncate_from(storage, from)?;
        }
        if let Some(first) = ready.entries.first() {
            if !self.offsets.is_empty() && first.index != self.log_last() + 1 {
                // After a snapshot install that discarded our log: start the file afresh.
                self.rewrite(storage, 0, 0)?;
            }
            if self.offsets.is_empty() {
                self.log_first = first.index;
            }
            let mut buf = Vec::new();
            for e in &ready.entries {
                let json = serde_json::to_vec(e).map_err(|e| StoreError::Encode(e.to_string()))?;
                self.offsets.push(self.log_bytes + buf.len() as u64);
                buf.extend_from_slice(&frame(&json));
            }
            storage.append(LOG_FILE, &buf)?;
            self.log_bytes += buf.len() as u64;
        }
        Ok(())
    }

    /// Drops the records with index `>= from`.
    fn truncate_from(&mut self, storage: &mut dyn Storage, from: u64) -> Result<(), StoreError> {
        if self.offsets.is_empty() || from > self.log_last() {
            return Ok(());
        }
        let keep = usize::try_from(from.saturating_sub(self.log_first)).unwrap_or(usize::MAX);
        let end = self.offsets.get(keep).copied().unwrap_or(self.log_bytes);
        self.rewrite(storage, 0, keep.min(self.offsets.len()))?;
        debug_assert_eq!(self.log_bytes, end);
        Ok(())
    }

    /// Drops the records with index `<= upto`.
    fn compact_upto(&mut self, storage: &mut dyn Storage, upto: u64) -> Result<(), StoreError> {
        if self.offsets.is_empty() || upto < self.log_first {
            return Ok(());
        }
        let drop = usize::try_from(upto + 1 - self.log_first).unwrap_or(usize::MAX);
        let drop = drop.min(self.offsets.len());
        let len = self.offsets.len();
        self.rewrite(storage, drop, len)
    }

    /// Rewrites the log file keeping records `from..to` (positions in `offsets`).
    fn rewrite(
        &mut self,
        storage: &mut dyn Storage,
        from: usize,
        to: usize,
    ) -> Result<(), StoreError> {
        let bytes = storage.read(LOG_FILE)?.unwrap_or_default();
        let start = self.offsets.get(from).map_or(self.log_bytes, |&o| o);
        let end = self.offsets.get(to).map_or(self.log_bytes, |&o| o);
        let (start, end) = (
            usize::try_from(start).unwrap_or(usize::MAX),
            usize::try_from(end).unwrap_or(usize::MAX),
        );
        let kept = bytes
            .get(start..end)
            .ok_or_else(|| corrupt(LOG_FILE, start, "log file shorter than written"))?;
        storage.write(LOG_FILE, kept)?;
        let base = start as u64;
        self.offsets = self.offsets[from..to].iter().map(|o| o - base).collect();
        self.log_first += from as u64;
        self.log_bytes = kept.len() as u64;
        Ok(())
    }
}
