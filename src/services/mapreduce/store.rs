//! The output store: a small file system that keeps the job outputs (GFS in the paper). A
//! reduce attempt streams its output in chunks into a temp file named for the attempt
//! (`t-<job>-<part>-<attempt>`), each chunk appended and synced before it is acknowledged. The
//! coordinator then renames the granted attempt's temp file to the partition's final name —
//! here, atomically binding the final name to the attempt in a checksummed manifest, written
//! whole and synced. Like `rename(2)`, the store does not judge: a second rename of a partition
//! replaces the first. Fencing attempts is the coordinator's job.
//!
//! Every change of what a final name holds is recorded as an `mr/final` observation with the
//! content it now holds: what the invariants compare with the sequential computation.
//!
//! Planted bug `mr-non-atomic-commit`: chunks are written in place under the final name
//! (`o-<job>-<part>`), so the final name holds a partial output while the reduce runs, and
//! after it crashes.
//!
//! Temp files hold one chunk per line: `<index> <word>=<count> ...\n`.

use super::corpus::{self, Counts};
use super::options::MrOptions;
use crate::disk::Storage;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const MANIFEST: &str = "manifest";
const MAGIC: &[u8; 4] = b"MRM1";
const HEADER_BYTES: usize = 8;
/// A count a record may carry (a word cannot occur more often than the corpus is long).
const COUNT_MAX: u64 = 1 << 32;

/// One final name's binding, as the manifest keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Binding {
    job: String,
    part: u32,
    attempt: u64,
}

/// What a chunk did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// Durable (now or before): acknowledge after the sync, if one is asked for.
    Ack {
        /// A write happened: sync before the acknowledgement.
        sync: bool,
        /// The final name's new content (the planted bug's in-place write).
        final_changed: Option<Value>,
    },
    /// Out of order or malformed: no answer (the worker resends in order).
    Ignore,
    /// The disk refused the write.
    Failed(String),
}

/// The output store.
#[derive(Debug)]
pub struct Store {
    opts: MrOptions,
    /// `None` when the manifest cannot be trusted: the store serves nothing.
    finals: Option<BTreeMap<(String, u32), u64>>,
    in_place: bool,
}

fn temp_name(job: &str, part: u32, attempt: u64) -> String {
    format!("t-{job}-{part}-{attempt}")
}

fn in_place_name(job: &str, part: u32) -> String {
    format!("o-{job}-{part}")
}

/// The chunks of a temp file: index → records; `None` when a line does not parse.
fn parse_chunks(bytes: &[u8]) -> Option<Vec<Vec<(String, u64)>>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut chunks = Vec::new();
    for line in text.split_terminator('\n') {
        let mut fields = line.split(' ');
        let index: usize = fields.next()?.parse().ok()?;
        if index != chunks.len() {
            return None;
        }
        let mut records = Vec::new();
        for f in fields {
            let (w, c) = f.split_once('=')?;
            records.push((w.to_string(), c.parse().ok()?));
        }
        chunks.push(records);
    }
    if !text.is_empty() && !text.ends_with('\n') {
        return None;
    }
    Some(chunks)
}

fn chunk_line(index: u32, records: &[(String, u64)]) -> String {
    let mut line = index.to_string();
    for (w, c) in records {
        line.push_str(&format!(" {w}={c}"));
    }
    line.push('\n');
    line
}

fn counts_of(chunks: &[Vec<(String, u64)>]) -> (Counts, u32) {
    let mut counts = Counts::new();
    let mut records = 0u32;
    for (w, c) in chunks.iter().flatten() {
        // A word twice in one output is a bug the invariants must see: sum, do not replace.
        *counts.entry(w.clone()).or_insert(0) += c;
        records += 1;
    }
    (counts, records)
}

impl Store {
    /// Recovers from disk; a manifest that does not decode is reported, never read as empty.
    pub fn start(
        storage: &mut dyn Storage,
        opts: &MrOptions,
        in_place: bool,
    ) -> (Store, Option<String>) {
        let (finals, problem) = match storage.read(MANIFEST) {
            Ok(None) => (Some(BTreeMap::new()), None),
            Ok(Some(bytes)) => match decode(&bytes) {
                Ok(list) => (
                    Some(
                        list.into_iter()
                            .map(|b| ((b.job, b.part), b.attempt))
                            .collect(),
                    ),
                    None,
                ),
                Err(e) => (None, Some(format!("{MANIFEST}: {e}"))),
            },
            Err(e) => (None, Some(format!("{MANIFEST}: {e}"))),
        };
        let store = Store {
            opts: opts.clone(),
            finals,
            in_place,
        };
        (store, problem)
    }

    /// True when a chunk's records are ones a reduce of this cluster can produce.
    fn records_ok(&self, records: &[(String, u64)]) -> bool {
        records.len() <= self.opts.chunk_records as usize
            && records
                .iter()
                .all(|(w, c)| corpus::is_word(w) && *c > 0 && *c < COUNT_MAX)
    }

    /// Chunk `index` of attempt `attempt`'s output of (`job`, `part`).
    pub fn chunk(
        &mut self,
        storage: &mut dyn Storage,
        job: &str,
        part: u32,
        attempt: u64,
        index: u32,
        records: &[(String, u64)],
    ) -> ChunkOutcome {
        if self.finals.is_none() || !self.records_ok(records) || part >= self.opts.reduces {
            return ChunkOutcome::Ignore;
        }
        let file = if self.in_place {
            in_place_name(job, part)
        } else {
            temp_name(job, part, attempt)
        };
        let have = match storage.read(&file) {
            Ok(bytes) => bytes.map_or(Some(Vec::new()), |b| parse_chunks(&b)),
            Err(e) => return ChunkOutcome::Failed(e.to_string()),
        };
        let have = have.map_or(0, |c| c.len());
        let line = chunk_line(index, records);
        let written = if self.in_place && index == 0 {
            // Written in place: a new attempt starts the final file over.
            storage.write(&file, line.as_bytes())
        } else if index as usize == have {
            storage.append(&file, line.as_bytes())
        } else if (index as usize) < have {
            return ChunkOutcome::Ack {
                sync: false,
                final_changed: None,
            };
        } else {
            return ChunkOutcome::Ignore;
        };
        if let Err(e) = written {
            return ChunkOutcome::Failed(e.to_string());
        }
        let final_changed = self.in_place.then(|| {
            let chunks = storage
                .read(&file)
                .ok()
                .flatten()
                .and_then(|b| parse_chunks(&b))
                .unwrap_or_default();
            final_record(job, part, attempt, &chunks, None)
        });
        ChunkOutcome::Ack {
            sync: true,
            final_changed,
        }
    }

    /// Renames attempt `attempt`'s temp file to (`job`, `part`)'s final name. `Ok(Some(fact))`
    /// when the final name changed (sync the manifest before answering), `Ok(None)` when it
    /// held this attempt already, `Err` when the temp file is not the whole output.
    pub fn rename(
        &mut self,
        storage: &mut dyn Storage,
        job: &str,
        part: u32,
        attempt: u64,
        records: u32,
        inputs: &[(u32, u64)],
    ) -> Result<Option<Value>, String> {
        if part >= self.opts.reduces {
            return Err("no such partition".into());
        }
        if self.in_place {
            // The output is in place already: nothing to rename.
            return Ok(None);
        }
        let Some(finals) = &mut self.finals else {
            return Err("manifest untrusted".into());
        };
        if finals.get(&(job.to_string(), part)) == Some(&attempt) {
            return Ok(None);
        }
        let chunks = match storage.read(&temp_name(job, part, attempt)) {
            Ok(None) => Vec::new(),
            Ok(Some(b)) => parse_chunks(&b).ok_or("temp file does not parse")?,
            Err(e) => return Err(e.to_string()),
        };
        let (_, held) = counts_of(&chunks);
        if held != records {
            return Err(format!("temp file holds {held} records, not {records}"));
        }
        finals.insert((job.to_string(), part), attempt);
        let list: Vec<Binding> = finals
            .iter()
            .map(|((j, p), a)| Binding {
                job: j.clone(),
                part: *p,
                attempt: *a,
            })
            .collect();
        if let Err(e) = storage.write(MANIFEST, &encode(&list)) {
            self.finals = None;
            return Err(e.to_string());
        }
        Ok(Some(final_record(
            job,
            part,
            attempt,
            &chunks,
            Some(inputs),
        )))
    }

    /// The committed partitions of `job`; `None` when the store cannot be trusted.
    pub fn read(&self, storage: &dyn Storage, job: &str) -> Option<BTreeMap<u32, Counts>> {
        let finals = self.finals.as_ref()?;
        let mut parts = BTreeMap::new();
        for part in 0..self.opts.reduces {
            let file = if self.in_place {
                in_place_name(job, part)
            } else {
                match finals.get(&(job.to_string(), part)) {
                    Some(a) => temp_name(job, part, *a),
                    None => continue,
                }
            };
            match storage.read(&file) {
                Ok(Some(b)) => {
                    let chunks = parse_chunks(&b)?;
                    parts.insert(part, counts_of(&chunks).0);
                }
                Ok(None) if !self.in_place => {
                    parts.insert(part, Counts::new());
                }
                Ok(None) => {}
                Err(_) => return None,
            }
        }
        Some(parts)
    }
}

/// The `mr/final` observation: what (`job`, `part`)'s final name holds now.
fn final_record(
    job: &str,
    part: u32,
    attempt: u64,
    chunks: &[Vec<(String, u64)>],
    inputs: Option<&[(u32, u64)]>,
) -> Value {
    let (counts, records) = counts_of(chunks);
    json!({
        "job": job,
        "part": part,
        "attempt": attempt,
        "records": records,
        "counts": counts,
        "inputs": inputs,
    })
}

fn encode(list: &[Binding]) -> Vec<u8> {
    // Plain data: encoding cannot fail.
    let payload = serde_json::to_vec(list).unwrap_or_default();
    let mut bytes = Vec::with_capacity(HEADER_BYTES + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes
}

fn decode(bytes: &[u8]) -> Result<Vec<Binding>, String> {
    let (header, payload) = bytes
        .split_at_checked(HEADER_BYTES)
        .ok_or_else(|| format!("{} bytes, shorter than its header", bytes.len()))?;
    if &header[..4] != MAGIC {
        return Err("bad magic (not a manifest, or corrupt)".to_string());
    }
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&header[4..]);
    if u32::from_le_bytes(crc) != crc32fast::hash(payload) {
        return Err("checksum mismatch (corrupt)".to_string());
    }
    serde_json::from_slice(payload).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::SimDisk;

    fn rec(w: &str, c: u64) -> (String, u64) {
        (w.to_string(), c)
    }

    #[test]
    fn a_partition_is_final_only_after_the_rename_and_survives_a_crash() {
        let opts = MrOptions::default();
        let mut disk = SimDisk::new();
        let (mut s, problem) = Store::start(&mut disk, &opts, false);
        assert_eq!(problem, None);
        let ack = s.chunk(&mut disk, "c0-1", 0, 7, 0, &[rec("alpha", 3)]);
        assert!(matches!(
            ack,
            ChunkOutcome::Ack {
                sync: true,
                final_changed: None
            }
        ));
        assert_eq!(s.read(&disk, "c0-1"), Some(BTreeMap::new()));
        // Out of order: ignored; a resend: acknowledged without a write.
        assert_eq!(
            s.chunk(&mut disk, "c0-1", 0, 7, 2, &[rec("echo", 1)]),
            ChunkOutcome::Ignore
        );
        let again = s.chunk(&mut disk, "c0-1", 0, 7, 0, &[rec("alpha", 3)]);
        assert!(matches!(again, ChunkOutcome::Ack { sync: false, .. }));
        s.chunk(&mut disk, "c0-1", 0, 7, 1, &[rec("bravo", 1)]);
        assert!(
            s.rename(&mut disk, "c0-1", 0, 7, 3, &[]).is_err(),
            "short temp file"
        );
        let fact = s.rename(&mut disk, "c0-1", 0, 7, 2, &[(0, 1)]);
        assert!(matches!(fact, Ok(Some(_))));
        assert_eq!(
            s.rename(&mut disk, "c0-1", 0, 7, 2, &[]),
            Ok(None),
            "idempotent"
        );
        disk.sync_all();
        disk.crash();
        let (s, _) = Store::start(&mut disk, &opts, false);
        let parts = s.read(&disk, "c0-1").unwrap_or_default();
        let want = Counts::from([("alpha".to_string(), 3), ("bravo".to_string(), 1)]);
        assert_eq!(parts.get(&0), Some(&want));
    }

    #[test]
    fn in_place_writes_show_partial_output_as_final() {
        let opts = MrOptions::default();
        let mut disk = SimDisk::new();
        let (mut s, _) = Store::start(&mut disk, &opts, true);
        let ack = s.chunk(&mut disk, "c0-1", 1, 7, 0, &[rec("alpha", 3)]);
        let ChunkOutcome::Ack {
            final_changed: Some(v),
            ..
        } = ack
        else {
            panic!("in place: the final name changes at once");
        };
        assert_eq!(v["records"], 1);
        assert_eq!(s.read(&disk, "c0-1").map(|p| p.len()), Some(1));
    }

    #[test]
    fn hostile_chunks_and_flipped_manifest_bits_are_refused() {
        let opts = MrOptions::default();
        let mut disk = SimDisk::new();
        let (mut s, _) = Store::start(&mut disk, &opts, false);
        assert_eq!(
            s.chunk(&mut disk, "j", 0, 1, 0, &[rec("not a word", 1)]),
            ChunkOutcome::Ignore
        );
        assert_eq!(
            s.chunk(&mut disk, "j", 9, 1, 0, &[rec("alpha", 1)]),
            ChunkOutcome::Ignore
        );
        let many: Vec<_> = (0..10).map(|_| rec("alpha", 1)).collect();
        assert_eq!(
            s.chunk(&mut disk, "j", 0, 1, 0, &many),
            ChunkOutcome::Ignore
        );
        let good = encode(&[Binding {
            job: "j".into(),
            part: 0,
            attempt: 3,
        }]);
        for bit in 0..good.len() * 8 {
            let mut bad = good.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(decode(&bad).is_err(), "bit {bit} flipped was accepted");
        }
        assert!(disk.write(MANIFEST, &good[..good.len() - 1]).is_ok());
        let (s, problem) = Store::start(&mut disk, &opts, false);
        assert!(problem.is_some());
        assert_eq!(s.read(&disk, "j"), None);
        assert_eq!(parse_chunks(b"0 alpha=1\n2 bravo=1\n"), None);
        assert_eq!(parse_chunks(b"0 alpha=1"), None);
    }
}
