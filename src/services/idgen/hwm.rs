//! The ID generator's durable high-water mark: an append-only file of fixed-size checksummed
//! records, and recovery from it that tells a torn tail from corruption.
//!
//! A record is [`RECORD_BYTES`] long: `magic "HWM1" | mark: u64 LE | seq: u32 LE | crc32 of
//! the 16 bytes before it: u32 LE`. Each reservation appends one record (the mark never goes
//! down, `seq` counts up by one); after [`RECORDS_MAX`] records, or after recovery cut a torn
//! tail, the next reservation replaces the file with its one record (`Storage::write` replaces
//! a file atomically, as the real backend's rename does).
//!
//! Recovery:
//! - a partial last record (the length is not a whole number of records) is a **torn tail**: it
//!   was being appended when the node lost power, so its sync never completed and no id
//!   depended on it. It is ignored; the mark is the last whole record's.
//! - a whole record with a wrong magic or checksum, a mark that goes down or a `seq` that does
//!   not count up is **corruption**: the mark cannot be trusted — the lost record may have been
//!   the highest — so the node must refuse to issue ids rather than risk a repeat.
//! - no file, or an empty one, is a fresh node: nothing was ever reserved, so nothing issued.
//!
//! Never a panic: every outcome is a value.

use crate::disk::{Storage, StorageError};

/// The high-water-mark file.
pub const HWM_FILE: &str = "idgen.hwm";
/// Bytes of one record (more than one 16-byte sector, so a crash can tear it).
pub const RECORD_BYTES: usize = 20;
/// Records appended before the file is replaced by one record.
pub const RECORDS_MAX: u32 = 64;
const MAGIC: &[u8; 4] = b"HWM1";

/// What the file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// No reservation was ever made.
    Fresh,
    /// The last reservation that completed.
    Mark {
        /// The high-water mark.
        hwm: u64,
        /// Bytes of a torn last record that were ignored (0: none).
        torn_bytes: usize,
    },
    /// The file is damaged: the mark cannot be trusted.
    Corrupt {
        /// Which record (0-based).
        record: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// One record's bytes.
pub fn encode(hwm: u64, seq: u32) -> [u8; RECORD_BYTES] {
    let mut r = [0u8; RECORD_BYTES];
    r[..4].copy_from_slice(MAGIC);
    r[4..12].copy_from_slice(&hwm.to_le_bytes());
    r[12..16].copy_from_slice(&seq.to_le_bytes());
    let crc = crc32fast::hash(&r[..16]);
    r[16..].copy_from_slice(&crc.to_le_bytes());
    r
}

fn decode(r: &[u8]) -> Result<(u64, u32), &'static str> {
    let field = |at: usize, n: usize| r.get(at..at + n).ok_or("short record");
    let crc = u32::from_le_bytes(field(16, 4)?.try_into().map_err(|_| "short record")?);
    if crc32fast::hash(field(0, 16)?) != crc {
        return Err("checksum mismatch");
    }
    if field(0, 4)? != MAGIC {
        return Err("bad magic");
    }
    let hwm = u64::from_le_bytes(field(4, 8)?.try_into().map_err(|_| "short record")?);
    let seq = u32::from_le_bytes(field(12, 4)?.try_into().map_err(|_| "short record")?);
    Ok((hwm, seq))
}

/// Reads the file's bytes as a [`Recovery`].
pub fn recover(bytes: &[u8]) -> Recovery {
    let whole = bytes.len() / RECORD_BYTES;
    let torn_bytes = bytes.len() % RECORD_BYTES;
    let mut last: Option<(u64, u32)> = None;
    for (record, r) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        let (hwm, seq) = match decode(r) {
            Ok(v) => v,
            Err(reason) => return Recovery::Corrupt { record, reason },
        };
        if let Some((prev_hwm, prev_seq)) = last {
            if hwm < prev_hwm {
                return Recovery::Corrupt {
                    record,
                    reason: "the mark goes down",
                };
            }
            if Some(seq) != prev_seq.checked_add(1) {
                return Recovery::Corrupt {
                    record,
                    reason: "records out of sequence",
                };
            }
        }
        last = Some((hwm, seq));
    }
    debug_assert!(whole == 0 || last.is_some());
    match last {
        Some((hwm, _)) => Recovery::Mark { hwm, torn_bytes },
        None => Recovery::Fresh,
    }
}

/// The writer: where the next record goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HwmLog {
    /// Whole records in the file.
    records: u32,
    /// The next record's `seq`.
    seq: u32,
    /// Replace the file rather than append (too long, or a torn tail to cut).
    rewrite: bool,
}

impl HwmLog {
    /// The writer for a file whose bytes recovered as `recovery` (a fresh writer otherwise).
    pub fn after(bytes: &[u8], recovery: &Recovery) -> Self {
        let records = u32::try_from(bytes.len() / RECORD_BYTES).unwrap_or(u32::MAX);
        let last_seq = bytes
            .len()
            .checked_sub(bytes.len() % RECORD_BYTES + RECORD_BYTES)
            .and_then(|at| bytes.get(at..at + RECORD_BYTES))
            .and_then(|r| decode(r).ok())
            .map(|(_, seq)| seq);
        match recovery {
            Recovery::Mark { torn_bytes, .. } => HwmLog {
                records,
                seq: last_seq.map_or(0, |s| s.wrapping_add(1)),
                rewrite: *torn_bytes > 0 || records >= RECORDS_MAX,
            },
            // A corrupt file is replaced whole if it is ever written again.
            Recovery::Fresh | Recovery::Corrupt { .. } => HwmLog {
                records: 0,
                seq: 0,
                rewrite: !bytes.is_empty(),
            },
        }
    }

    /// Writes a new mark (durable with the next sync): appends a record, or replaces the file
    /// with one. On error nothing was written and the writer is unchanged.
    pub fn persist(&mut self, storage: &mut dyn Storage, hwm: u64) -> Result<(), StorageError> {
        if self.rewrite || self.records >= RECORDS_MAX {
            let seq = 0;
            storage.write(HWM_FILE, &encode(hwm, seq))?;
            *self = HwmLog {
                records: 1,
                seq: seq + 1,
                rewrite: false,
            };
        } else {
            storage.append(HWM_FILE, &encode(hwm, self.seq))?;
            self.records += 1;
            self.seq = self.seq.wrapping_add(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::{DiskRule, SimDisk};

    fn file(disk: &SimDisk) -> Vec<u8> {
        disk.read(HWM_FILE).ok().flatten().unwrap_or_default()
    }

    #[test]
    fn marks_round_trip_and_the_last_whole_record_wins() -> Result<(), StorageError> {
        let mut disk = SimDisk::new();
        assert_eq!(recover(&file(&disk)), Recovery::Fresh);
        let mut log = HwmLog::default();
        for hwm in [10, 20, 30] {
            log.persist(&mut disk, hwm)?;
        }
        assert_eq!(
            recover(&file(&disk)),
            Recovery::Mark {
                hwm: 30,
                torn_bytes: 0
            }
        );
        Ok(())
    }

    #[test]
    fn a_torn_append_is_ignored_and_cut_by_the_next_write() -> Result<(), StorageError> {
        let mut disk = SimDisk::new();
        let mut log = HwmLog::default();
        log.persist(&mut disk, 10)?;
        disk.sync_all();
        log.persist(&mut disk, 20)?;
        disk.add_rule(DiskRule::TornWrite);
        disk.crash();
        disk.clear_rules();
        let bytes = file(&disk);
        let rec = recover(&bytes);
        assert_eq!(
            rec,
            Recovery::Mark {
                hwm: 10,
                torn_bytes: 16
            }
        );
        let mut log = HwmLog::after(&bytes, &rec);
        log.persist(&mut disk, 30)?;
        log.persist(&mut disk, 40)?;
        assert_eq!(
            recover(&file(&disk)),
            Recovery::Mark {
                hwm: 40,
                torn_bytes: 0
            }
        );
        Ok(())
    }

    #[test]
    fn any_flipped_bit_of_a_whole_record_is_corruption() -> Result<(), StorageError> {
        let mut disk = SimDisk::new();
        let mut log = HwmLog::default();
        log.persist(&mut disk, 10)?;
        log.persist(&mut disk, 20)?;
        disk.sync_all();
        for bit in 0..(2 * RECORD_BYTES as u64 * 8) {
            let mut d = disk.clone();
            assert!(d.corrupt(HWM_FILE, bit));
            assert!(
                matches!(recover(&file(&d)), Recovery::Corrupt { .. }),
                "bit {bit}"
            );
        }
        Ok(())
    }

    #[test]
    fn the_file_is_replaced_once_it_is_long() -> Result<(), StorageError> {
        let mut disk = SimDisk::new();
        let mut log = HwmLog::default();
        for hwm in 0..u64::from(RECORDS_MAX) + 5 {
            log.persist(&mut disk, hwm)?;
        }
        assert_eq!(file(&disk).len(), 5 * RECORD_BYTES);
        let bytes = file(&disk);
        let rec = recover(&bytes);
        assert_eq!(
            rec,
            Recovery::Mark {
                hwm: u64::from(RECORDS_MAX) + 4,
                torn_bytes: 0
            }
        );
        let mut again = HwmLog::after(&bytes, &rec);
        again.persist(&mut disk, 1000)?;
        assert!(matches!(
            recover(&file(&disk)),
            Recovery::Mark { hwm: 1000, .. }
        ));
        Ok(())
    }
}
