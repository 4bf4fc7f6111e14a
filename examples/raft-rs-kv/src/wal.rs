//! The durable state of a replica on faultlab's [`Storage`], and the in-memory copy of it that
//! raft-rs reads through its [`raft::Storage`] trait.
//!
//! One file, `raftkv.wal`, a write-ahead log of records, each framed as
//! `[len: u32 LE][crc32 of payload: u32 LE][crc32 of the previous 8 bytes: u32 LE][payload]`
//! (the header has its own checksum, so a damaged length is corruption, not a torn tail). A
//! record is one *batch*: everything one `Ready` persists, so a torn write never keeps half of
//! a Ready (entries of a new term without the hard state of that term, a commit index without
//! its entries). A batch is a sequence of items `[tag: u8][len: u32 LE][protobuf]`:
//! - `1` HardState: replaces the term, vote and commit index;
//! - `2` Entry: appended at its index, replacing any entries from that index on (a new
//!   leader overwriting an uncommitted suffix);
//! - `3` Snapshot: replaces the log with a snapshot (metadata + state machine image).
//!
//! Each `Ready` appends one batch (snapshot, entries, hard state) with `Storage::append`; a
//! compaction, or a snapshot received from the leader, rewrites the whole file as one batch
//! `[Snapshot][HardState][Entry...]` with one atomic `Storage::write`. One file, replayed in
//! order, means any prefix of whole records is a state the replica really went through, and a
//! crash (which keeps what was synced, and under torn writes a prefix of the rest) always
//! leaves such a prefix.
//!
//! Recovery tells a **torn tail** (the last record cut short: never completely written, so
//! never synced, so never acknowledged — dropped and reported) from **corruption** (a complete
//! record failing its checksum or not decoding, an entry that leaves a gap, a commit index
//! beyond the log): the latter is [`LoadError::Corrupt`] and the node refuses to serve, since
//! starting afresh would forget votes and acknowledged entries.

pub use crate::log_store::LogStore;
use faultlab::prelude::{Storage, StorageError};
use protobuf::Message as PbMessage;
use raft::eraftpb::{Entry, HardState, Snapshot};

/// The write-ahead log file.
pub const WAL_FILE: &str = "raftkv.wal";

const TAG_HARD_STATE: u8 = 1;
const TAG_ENTRY: u8 = 2;
const TAG_SNAPSHOT: u8 = 3;
const HEADER_BYTES: usize = 12;

/// Why the durable state could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalError {
    /// The disk refused.
    Storage(StorageError),
    /// A record could not be encoded.
    Encode(String),
}

impl std::fmt::Display for WalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WalError::Storage(e) => write!(f, "{e}"),
            WalError::Encode(e) => write!(f, "cannot encode a record: {e}"),
        }
    }
}

impl From<StorageError> for WalError {
    fn from(e: StorageError) -> Self {
        WalError::Storage(e)
    }
}

/// Why the durable state could not be recovered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The disk refused a read or write.
    Storage(StorageError),
    /// The durable state is damaged or inconsistent: refuse to serve.
    Corrupt {
        /// Byte offset of the offending record (or the file length for whole-state checks).
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Storage(e) => write!(f, "{e}"),
            LoadError::Corrupt { offset, reason } => {
                write!(f, "{WAL_FILE} is corrupt at byte {offset}: {reason}")
            }
        }
    }
}

impl From<StorageError> for LoadError {
    fn from(e: StorageError) -> Self {
        LoadError::Storage(e)
    }
}

fn corrupt(offset: usize, reason: impl Into<String>) -> LoadError {
    LoadError::Corrupt {
        offset: offset as u64,
        reason: reason.into(),
    }
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

enum Parsed<'a> {
    Record {
        payload: &'a [u8],
        next: usize,
    },
    /// Fewer bytes than the header or its (intact) length announce: a torn write.
    Short,
    /// The header or the payload fails its checksum.
    BadCrc,
}

fn parse_frame(bytes: &[u8], at: usize) -> Parsed<'_> {
    let rest = bytes.get(at..).unwrap_or_default();
    let Some(header) = rest.get(..HEADER_BYTES) else {
        return Parsed::Short;
    };
    let word =
        |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    if crc32fast::hash(&header[..8]) != word(8) {
        return Parsed::BadCrc;
    }
    let len = usize::try_from(word(0)).unwrap_or(usize::MAX);
    let Some(payload) = rest.get(HEADER_BYTES..HEADER_BYTES.saturating_add(len)) else {
        return Parsed::Short;
    };
    if crc32fast::hash(payload) != word(4) {
        return Parsed::BadCrc;
    }
    Parsed::Record {
        payload,
        next: at + HEADER_BYTES + len,
    }
}

/// Adds one item to a batch.
fn item(batch: &mut Vec<u8>, tag: u8, msg: &impl PbMessage) -> Result<(), WalError> {
    let body = msg
        .write_to_bytes()
        .map_err(|e| WalError::Encode(e.to_string()))?;
    let len = u32::try_from(body.len()).map_err(|_| WalError::Encode("item too large".into()))?;
    batch.push(tag);
    batch.extend_from_slice(&len.to_le_bytes());
    batch.extend_from_slice(&body);
    Ok(())
}

/// Appends and rewrites the WAL.
#[derive(Debug, Clone, Default)]
pub struct Wal {
    /// Records appended since the last rewrite (a rewrite is due when they pile up).
    appended: u64,
}

impl Wal {
    /// Records appended since the file was last rewritten.
    pub fn appended(&self) -> u64 {
        self.appended
    }

    /// Appends the records of one `Ready`: snapshot, entries, then hard state. Nothing is
    /// durable until the host syncs.
    pub fn append(
        &mut self,
        storage: &mut dyn Storage,
        snapshot: Option<&Snapshot>,
        entries: &[Entry],
        hs: Option<&HardState>,
    ) -> Result<(), WalError> {
        let mut batch = Vec::new();
        if let Some(s) = snapshot {
            item(&mut batch, TAG_SNAPSHOT, s)?;
        }
        for e in entries {
            item(&mut batch, TAG_ENTRY, e)?;
        }
        if let Some(hs) = hs {
            item(&mut batch, TAG_HARD_STATE, hs)?;
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.appended += 1;
        storage.append(WAL_FILE, &frame(&batch))?;
        Ok(())
    }

    /// Replaces the file with the store's state: `[Snapshot][HardState][Entry...]`, atomically.
    pub fn rewrite(&mut self, storage: &mut dyn Storage, store: &LogStore) -> Result<(), WalError> {
        let mut batch = Vec::new();
        item(&mut batch, TAG_SNAPSHOT, &store.snapshot)?;
        item(&mut batch, TAG_HARD_STATE, &store.hard_state)?;
        for e in &store.entries {
            item(&mut batch, TAG_ENTRY, e)?;
        }
        storage.write(WAL_FILE, &frame(&batch))?;
        self.appended = 0;
        Ok(())
    }
}

/// A cut-short last record found (and removed) by recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    /// Where the torn record began (the file's new length).
    pub offset: u64,
    /// How many bytes were dropped.
    pub dropped: u64,
}

/// What recovery found.
#[derive(Debug)]
pub struct Loaded {
    /// The state, ready for raft-rs.
    pub store: LogStore,
    /// A torn tail that was truncated (written back; durable with the next sync).
    pub torn: Option<TornTail>,
    /// Records replayed.
    pub records: u64,
}

/// Replays one batch.
fn replay(store: &mut LogStore, mut batch: &[u8]) -> Result<(), String> {
    if batch.is_empty() {
        return Err("empty record".into());
    }
    while let Some((&tag, rest)) = batch.split_first() {
        let len = rest
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or("item header cut short")?;
        let len = usize::try_from(len).map_err(|e| e.to_string())?;
        let body = rest
            .get(4..4usize.saturating_add(len))
            .ok_or("item cut short")?;
        replay_item(store, tag, body)?;
        batch = &rest[4 + len..];
    }
    Ok(())
}

fn replay_item(store: &mut LogStore, tag: u8, body: &[u8]) -> Result<(), String> {
    match tag {
        TAG_HARD_STATE => {
            let hs = HardState::parse_from_bytes(body).map_err(|e| format!("hard state: {e}"))?;
            store.set_hard_state(hs);
        }
        TAG_ENTRY => {
            let e = Entry::parse_from_bytes(body).map_err(|e| format!("entry: {e}"))?;
            let prev = store.term_at(e.index.saturating_sub(1));
            if prev.is_some_and(|t| t > e.term) {
                return Err(format!(
                    "entry {} of term {} follows a later term",
                    e.index, e.term
                ));
            }
            store.append(std::slice::from_ref(&e))?;
        }
        TAG_SNAPSHOT => {
            let s = Snapshot::parse_from_bytes(body).map_err(|e| format!("snapshot: {e}"))?;
            if s.get_metadata().index < store.snapshot_index() {
                return Err("snapshot older than the one before it".into());
            }
            store.install_snapshot(s);
        }
        other => return Err(format!("unknown record tag {other}")),
    }
    Ok(())
}

/// Reads and verifies the durable state of a replica of the cluster `voters`.
pub fn load(storage: &mut dyn Storage, voters: &[u64]) -> Result<Loaded, LoadError> {
    let bytes = storage.read(WAL_FILE)?.unwrap_or_default();
    let mut store = LogStore::new(voters);
    let mut at = 0;
    let mut torn = None;
    let mut records = 0;
    while at < bytes.len() {
        match parse_frame(&bytes, at) {
            Parsed::Record { payload, next } => {
                replay(&mut store, payload).map_err(|r| corrupt(at, r))?;
                records += 1;
                at = next;
            }
            Parsed::Short => {
                torn = Some(TornTail {
                    offset: at as u64,
                    dropped: (bytes.len() - at) as u64,
                });
                storage.write(WAL_FILE, &bytes[..at])?;
                break;
            }
            Parsed::BadCrc => return Err(corrupt(at, "checksum mismatch")),
        }
    }
    // The membership is fixed: every snapshot carries it, and so does the store.
    store.conf_state.voters = voters.to_vec();
    store
        .snapshot
        .mut_metadata()
        .set_conf_state(store.conf_state.clone());
    let end = bytes.len();
    let last_term = store.term_at(store.last()).unwrap_or(0);
    if last_term > store.hard_state.term {
        return Err(corrupt(
            end,
            format!(
                "hard state term {} behind the log's {last_term}",
                store.hard_state.term
            ),
        ));
    }
    // What a snapshot holds is committed (a crash between a snapshot and the hard state record
    // after it may leave the older commit index).
    let snap = store.snapshot_index();
    if store.hard_state.commit < snap {
        store.hard_state.commit = snap;
    }
    if store.hard_state.commit > store.last() {
        return Err(corrupt(
            end,
            format!(
                "commit index {} beyond the log's last entry {}",
                store.hard_state.commit,
                store.last()
            ),
        ));
    }
    Ok(Loaded {
        store,
        torn,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::GetEntriesContext;
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct Disk(BTreeMap<String, Vec<u8>>);

    impl Storage for Disk {
        fn read(&self, file: &str) -> Result<Option<Vec<u8>>, StorageError> {
            Ok(self.0.get(file).cloned())
        }
        fn write(&mut self, file: &str, data: &[u8]) -> Result<(), StorageError> {
            self.0.insert(file.into(), data.to_vec());
            Ok(())
        }
        fn append(&mut self, file: &str, data: &[u8]) -> Result<(), StorageError> {
            self.0
                .entry(file.into())
                .or_default()
                .extend_from_slice(data);
            Ok(())
        }
    }

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            data: format!("e{index}").into_bytes().into(),
            ..Entry::default()
        }
    }

    fn hs(term: u64, vote: u64, commit: u64) -> HardState {
        HardState {
            term,
            vote,
            commit,
            ..HardState::default()
        }
    }

    fn written() -> Disk {
        let mut disk = Disk::default();
        let mut wal = Wal::default();
        let ents: Vec<Entry> = (1..=3).map(|i| entry(i, 1)).collect();
        wal.append(&mut disk, None, &ents, Some(&hs(1, 1, 2)))
            .unwrap_or_else(|e| panic!("{e}"));
        // a new leader overwrites index 3
        wal.append(&mut disk, None, &[entry(3, 2)], Some(&hs(2, 2, 3)))
            .unwrap_or_else(|e| panic!("{e}"));
        disk
    }

    #[test]
    fn replays_entries_overwrites_and_hard_state() {
        let mut disk = written();
        let loaded = load(&mut disk, &[1, 2, 3]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.store.last(), 3);
        assert_eq!(loaded.store.term_at(3), Some(2));
        assert_eq!(loaded.store.hard_state().commit, 3);
        assert!(loaded.torn.is_none());
    }

    #[test]
    fn a_torn_tail_is_dropped_and_a_flipped_bit_is_corruption() {
        let disk = written();
        let full = disk.0.get(WAL_FILE).cloned().unwrap_or_default();
        // cut inside the last record: a torn tail; the state before that whole Ready remains
        let mut torn = Disk::default();
        torn.0
            .insert(WAL_FILE.into(), full[..full.len() - 5].to_vec());
        let loaded = load(&mut torn, &[1, 2, 3]).unwrap_or_else(|e| panic!("{e}"));
        assert!(loaded.torn.is_some());
        assert_eq!(loaded.store.term_at(3), Some(1));
        assert_eq!(loaded.store.hard_state().term, 1);
        assert_eq!(
            torn.0.get(WAL_FILE).map(Vec::len),
            loaded.torn.map(|t| t.offset as usize)
        );
        for bit in (0..full.len() * 8).step_by(7) {
            let mut bytes = full.clone();
            bytes[bit / 8] ^= 1 << (bit % 8);
            let mut d = Disk::default();
            d.0.insert(WAL_FILE.into(), bytes);
            // never a panic, never the original state read back silently as something else
            if let Ok(l) = load(&mut d, &[1, 2, 3]) {
                assert!(l.torn.is_some(), "bit {bit} flipped and not noticed");
            }
        }
    }

    #[test]
    fn a_missing_snapshot_is_a_gap_not_an_empty_state() {
        let mut disk = written();
        let mut wal = Wal::default();
        // entries after a snapshot at 10 that was never written
        wal.append(&mut disk, None, &[entry(11, 3)], Some(&hs(3, 1, 11)))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            load(&mut disk, &[1, 2, 3]),
            Err(LoadError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_rewrite_keeps_snapshot_hard_state_and_the_entries_after_it() {
        let mut disk = written();
        let mut store = load(&mut disk, &[1, 2, 3])
            .unwrap_or_else(|e| panic!("{e}"))
            .store;
        let mut snap = Snapshot::default();
        snap.mut_metadata().index = 2;
        snap.mut_metadata().term = 1;
        snap.data = b"image".to_vec().into();
        store.compact(snap).unwrap_or_else(|e| panic!("{e}"));
        let mut wal = Wal::default();
        wal.rewrite(&mut disk, &store)
            .unwrap_or_else(|e| panic!("{e}"));
        let back = load(&mut disk, &[1, 2, 3])
            .unwrap_or_else(|e| panic!("{e}"))
            .store;
        assert_eq!(back.snapshot_index(), 2);
        assert_eq!(back.snapshot_ref().data.as_ref(), b"image");
        assert_eq!(back.last(), 3);
        assert_eq!(back.term_at(3), Some(2));
        assert_eq!(back.conf_state().voters, vec![1, 2, 3]);
        assert!(
            raft::Storage::entries(&back, 2, 4, None, GetEntriesContext::empty(false)).is_err()
        );
    }
}
