//! The durable format: round trips, torn tails at every byte, bit flips, crashes before sync.

use super::super::store::{self, HARD_STATE_FILE, LOG_FILE, SNAPSHOT_FILE, Store, StoreError};
use super::super::*;
use crate::disk::{SimDisk, Storage, StorageError};
use crate::ids::NodeId;

type R = Result<(), Box<dyn std::error::Error>>;

fn entry(index: u64, term: u64) -> Entry<String> {
    Entry {
        term,
        index,
        payload: Payload::Command(format!("cmd-{index}")),
    }
}

fn ready(
    hard_state: Option<HardState>,
    truncate_from: Option<u64>,
    entries: Vec<Entry<String>>,
) -> Ready<String> {
    Ready {
        hard_state,
        snapshot: None,
        truncate_from,
        entries,
        messages: Vec::new(),
        committed: Vec::new(),
        reads: Vec::new(),
        leader_changes: Vec::new(),
        snapshot_wanted: false,
    }
}

fn snapshot_ready(index: u64, term: u64, data: &[u8]) -> Ready<String> {
    let mut r = ready(None, None, Vec::new());
    r.snapshot = Some(ReadySnapshot {
        snapshot: Snapshot {
            meta: SnapshotMeta { index, term },
            data: data.to_vec(),
        },
        restore: false,
    });
    r
}

fn hs(term: u64, vote: u32) -> Option<HardState> {
    Some(HardState {
        term,
        vote: Some(NodeId(vote)),
    })
}

/// A disk holding hard state (3, n1), entries 1..=5 and no snapshot, all synced.
fn written() -> Result<(SimDisk, Store), StoreError> {
    let mut disk = SimDisk::new();
    let mut st = Store::empty();
    st.persist(
        &mut disk,
        &ready(hs(3, 1), None, (1..=3).map(|i| entry(i, 2)).collect()),
    )?;
    st.persist(
        &mut disk,
        &ready(None, None, vec![entry(4, 3), entry(5, 3)]),
    )?;
    disk.sync_all();
    Ok((disk, st))
}

#[test]
fn round_trip() -> R {
    let (mut disk, _) = written()?;
    let loaded = store::load::<String>(&mut disk)?;
    assert_eq!(loaded.torn_tail, None);
    let r = loaded.recovered;
    assert_eq!(
        r.hard_state,
        HardState {
            term: 3,
            vote: Some(NodeId(1))
        }
    );
    assert_eq!(
        r.entries,
        (1..=5)
            .map(|i| entry(i, if i <= 3 { 2 } else { 3 }))
            .collect::<Vec<_>>()
    );
    assert_eq!(r.snapshot.meta, SnapshotMeta::default());
    Ok(())
}

#[test]
fn truncation_and_compaction_rewrite_the_log() -> R {
    let (mut disk, mut st) = written()?;
    // A conflicting suffix from a new leader replaces 4..=5.
    st.persist(&mut disk, &ready(hs(4, 2), Some(4), vec![entry(4, 4)]))?;
    // Two snapshots: the log is compacted only up to the first once the second is written.
    st.persist(&mut disk, &snapshot_ready(2, 2, b"app@2"))?;
    st.persist(&mut disk, &ready(None, None, vec![entry(5, 4)]))?;
    st.persist(&mut disk, &snapshot_ready(4, 4, b"app@4"))?;
    disk.sync_all();
    let r = store::load::<String>(&mut disk)?.recovered;
    assert_eq!(r.snapshot.meta, SnapshotMeta { index: 4, term: 4 });
    assert_eq!(r.snapshot.data, b"app@4");
    assert_eq!(r.entries, vec![entry(5, 4)]);
    // Records up to the first snapshot (index 2) are gone from the file.
    let bytes = disk.read(LOG_FILE)?.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("cmd-1") && !text.contains("cmd-2") && text.contains("cmd-3"));
    Ok(())
}

#[test]
fn a_torn_tail_is_cut_at_every_offset() -> R {
    let (disk, _) = written()?;
    let full = disk.read(LOG_FILE)?.unwrap_or_default();
    let (mut four, mut st) = (SimDisk::new(), Store::empty());
    st.persist(
        &mut four,
        &ready(
            None,
            None,
            (1..=4)
                .map(|i| entry(i, if i <= 3 { 2 } else { 3 }))
                .collect(),
        ),
    )?;
    let intact = four.read(LOG_FILE)?.unwrap_or_default().len();
    for cut in intact + 1..full.len() {
        let mut d = disk.clone();
        d.write(LOG_FILE, &full[..cut])?;
        let loaded = store::load::<String>(&mut d)?;
        let torn = loaded.torn_tail.ok_or("torn tail not reported")?;
        assert_eq!(torn.offset_bytes, intact as u64);
        assert_eq!(torn.dropped_bytes, (cut - intact) as u64);
        assert_eq!(loaded.recovered.entries.len(), 4, "cut at {cut}");
        assert_eq!(d.read(LOG_FILE)?.map(|b| b.len()), Some(intact));
    }
    Ok(())
}

#[test]
fn every_bit_flip_is_corruption_never_a_fresh_start() -> R {
    let (disk, _) = written()?;
    for file in [LOG_FILE, HARD_STATE_FILE] {
        let bytes = disk.read(file)?.unwrap_or_default();
        for byte in 0..bytes.len() {
            for bit in [0, 3, 7] {
                let mut flipped = bytes.clone();
                flipped[byte] ^= 1 << bit;
                let mut d = disk.clone();
                d.write(file, &flipped)?;
                // Also in a length field: the header checksum keeps a damaged length from
                // passing for a torn tail (which would silently drop acknowledged entries).
                match store::load::<String>(&mut d) {
                    Err(StoreError::Corrupt { .. }) => {}
                    other => panic!("{file} byte {byte} bit {bit}: {other:?}"),
                }
            }
        }
    }
    let mut d = disk.clone();
    let mut st = Store::empty();
    st.persist(&mut d, &snapshot_ready(1, 2, b"state"))?;
    let mut snap = d.read(SNAPSHOT_FILE)?.unwrap_or_default();
    let last = snap.len() - 1;
    snap[last] ^= 1;
    d.write(SNAPSHOT_FILE, &snap)?;
    assert!(
        matches!(store::load::<String>(&mut d), Err(StoreError::Corrupt { file, .. }) if file == SNAPSHOT_FILE)
    );
    Ok(())
}

#[test]
fn a_crash_before_sync_loses_exactly_the_unsynced_writes() -> R {
    let (mut disk, mut st) = written()?;
    st.persist(&mut disk, &ready(hs(5, 0), None, vec![entry(6, 5)]))?;
    assert!(disk.unsynced_bytes() > 0);
    disk.crash();
    let r = store::load::<String>(&mut disk)?.recovered;
    assert_eq!(r.hard_state.term, 3);
    assert_eq!(r.entries.last().map(|e| e.index), Some(5));
    Ok(())
}

#[test]
fn a_log_ahead_of_the_hard_state_is_corruption() -> R {
    let (mut disk, _) = written()?;
    disk.write(HARD_STATE_FILE, &store::frame(br#"{"term":1,"vote":null}"#))?;
    assert!(matches!(
        store::load::<String>(&mut disk),
        Err(StoreError::Corrupt { .. })
    ));
    Ok(())
}

#[test]
fn storage_errors_are_values() {
    struct Broken;
    impl Storage for Broken {
        fn read(&self, file: &str) -> Result<Option<Vec<u8>>, StorageError> {
            Err(StorageError::Io {
                file: file.into(),
                message: "eio".into(),
            })
        }
        fn write(&mut self, file: &str, _: &[u8]) -> Result<(), StorageError> {
            self.read(file).map(|_| ())
        }
        fn append(&mut self, file: &str, _: &[u8]) -> Result<(), StorageError> {
            self.read(file).map(|_| ())
        }
    }
    assert!(matches!(
        store::load::<String>(&mut Broken),
        Err(StoreError::Storage(_))
    ));
    let r = ready(hs(1, 0), None, vec![entry(1, 1)]);
    assert!(Store::empty().persist(&mut Broken, &r).is_err());
}
