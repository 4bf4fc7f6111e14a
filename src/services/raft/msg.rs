//! Raft's peer messages. Every message names the sender's term; responses echo what the
//! sender needs to match them to its requests.

use super::types::{Entry, SnapshotMeta};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an AppendEntries was rejected, so the leader can skip a whole term at once
/// (thesis §5.3 optimisation) instead of one index per round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectHint {
    /// The term of the follower's entry at the rejected `prev_index`; `None` when the follower's
    /// log is shorter than that.
    pub conflict_term: Option<u64>,
    /// The first index of `conflict_term` in the follower's log, or its last index + 1.
    pub first_index: u64,
}

/// A message between two replicas of one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum RaftMsg<C> {
    /// "Could I win an election for `term`?" Sent without bumping the sender's term.
    PreVote {
        /// The term the sender would campaign in (its term + 1).
        term: u64,
        /// Index of the sender's last entry.
        last_index: u64,
        /// Term of the sender's last entry.
        last_term: u64,
    },
    /// Answer to `PreVote`.
    PreVoteResp {
        /// The request's term when granted; the responder's term when refused.
        term: u64,
        /// Whether the responder would vote.
        granted: bool,
    },
    /// RequestVote.
    Vote {
        /// The candidate's term.
        term: u64,
        /// Index of the candidate's last entry.
        last_index: u64,
        /// Term of the candidate's last entry.
        last_term: u64,
    },
    /// Answer to `Vote`.
    VoteResp {
        /// The responder's term.
        term: u64,
        /// Whether the vote was granted.
        granted: bool,
    },
    /// AppendEntries; with no entries, a heartbeat.
    Append {
        /// The leader's term.
        term: u64,
        /// Index of the entry before `entries`.
        prev_index: u64,
        /// Term of the entry at `prev_index`.
        prev_term: u64,
        /// Entries from `prev_index + 1`, contiguous.
        entries: Vec<Entry<C>>,
        /// The leader's commit index.
        commit: u64,
        /// The leader's heartbeat round when sent (echoed, for ReadIndex and leases).
        round: u64,
    },
    /// Answer to `Append`.
    AppendResp {
        /// The responder's term.
        term: u64,
        /// On success, the last index known to match the leader (`prev_index + entries`); on
        /// rejection, the rejected `prev_index`.
        index: u64,
        /// `None` on success.
        reject: Option<RejectHint>,
        /// The request's round.
        round: u64,
    },
    /// One chunk of InstallSnapshot.
    Snapshot {
        /// The leader's term.
        term: u64,
        /// The snapshot being sent.
        meta: SnapshotMeta,
        /// Byte offset of `data` within the snapshot.
        offset: u64,
        /// The chunk, hex-encoded on the wire.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
        /// Whether this is the last chunk.
        done: bool,
        /// The leader's heartbeat round when sent.
        round: u64,
    },
    /// Answer to a `Snapshot` chunk.
    SnapshotResp {
        /// The responder's term.
        term: u64,
        /// The snapshot's `meta.index`.
        index: u64,
        /// The offset the responder expects next (meaningless once installed).
        next_offset: u64,
        /// Whether the whole snapshot is installed (or the responder already had it).
        installed: bool,
        /// The request's round.
        round: u64,
    },
}

/// Entries one AppendEntries may carry, whatever the sender's configuration (every
/// configuration's `append_entries_max` is far below it).
pub const APPEND_ENTRIES_MAX: usize = 4096;
/// Snapshot bytes a replica takes from a leader at most: a stream of chunks that never says
/// `done` cannot grow a replica's memory past this.
pub const SNAPSHOT_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Terms and indexes beyond this are refused: a replica must always be able to add to them.
pub const TERM_INDEX_MAX: u64 = u64::MAX / 4;

impl<C> RaftMsg<C> {
    /// What no correct replica sends, checked before a message reaches the core: out-of-range
    /// terms and indexes, entries that do not follow `prev_index` one by one or whose terms go
    /// back or past the sender's, too many entries, snapshots too large. (What a correct
    /// replica may send but this one must not act on — a stale term, a log that does not
    /// match — is the protocol's business, not this check's.)
    pub fn check(&self) -> Result<(), &'static str> {
        let in_range = |v: u64| v <= TERM_INDEX_MAX;
        if !in_range(self.term()) {
            return Err("term out of range");
        }
        match self {
            RaftMsg::PreVote {
                term,
                last_index,
                last_term,
            }
            | RaftMsg::Vote {
                term,
                last_index,
                last_term,
            } => {
                if !in_range(*last_index) {
                    return Err("last_index out of range");
                }
                if last_term > term {
                    return Err("last_term above the candidate's term");
                }
            }
            RaftMsg::Append {
                term,
                prev_index,
                prev_term,
                entries,
                ..
            } => {
                if prev_term > term {
                    return Err("prev_term above the leader's term");
                }
                if entries.len() > APPEND_ENTRIES_MAX {
                    return Err("too many entries");
                }
                let last = prev_index.checked_add(entries.len() as u64);
                if !last.is_some_and(in_range) {
                    return Err("entry index out of range");
                }
                let mut before = *prev_term;
                for (i, e) in (1u64..).zip(entries) {
                    if e.index != prev_index + i {
                        return Err("entries do not follow prev_index one by one");
                    }
                    if e.term < before {
                        return Err("entry terms go back");
                    }
                    if e.term > *term {
                        return Err("entry term above the leader's term");
                    }
                    before = e.term;
                }
            }
            RaftMsg::AppendResp { index, reject, .. } => {
                let hint_ok = reject.is_none_or(|h| {
                    in_range(h.first_index) && h.conflict_term.is_none_or(in_range)
                });
                if !in_range(*index) || !hint_ok {
                    return Err("index out of range");
                }
            }
            RaftMsg::Snapshot {
                term,
                meta,
                offset,
                data,
                ..
            } => {
                if meta.term > *term || !in_range(meta.index) {
                    return Err("snapshot metadata out of range");
                }
                let end = offset.checked_add(data.len() as u64);
                if end.is_none_or(|e| e > SNAPSHOT_BYTES_MAX) {
                    return Err("snapshot too large");
                }
            }
            RaftMsg::SnapshotResp { index, .. } => {
                if !in_range(*index) {
                    return Err("index out of range");
                }
            }
            RaftMsg::PreVoteResp { .. } | RaftMsg::VoteResp { .. } => {}
        }
        Ok(())
    }

    /// A short static label for the event log.
    pub fn label(&self) -> &'static str {
        match self {
            RaftMsg::PreVote { .. } => "raft/pre-vote",
            RaftMsg::PreVoteResp { .. } => "raft/pre-vote-resp",
            RaftMsg::Vote { .. } => "raft/vote",
            RaftMsg::VoteResp { .. } => "raft/vote-resp",
            RaftMsg::Append { .. } => "raft/append",
            RaftMsg::AppendResp { .. } => "raft/append-resp",
            RaftMsg::Snapshot { .. } => "raft/snapshot",
            RaftMsg::SnapshotResp { .. } => "raft/snapshot-resp",
        }
    }

    /// The sender's term.
    pub fn term(&self) -> u64 {
        match self {
            RaftMsg::PreVote { term, .. }
            | RaftMsg::PreVoteResp { term, .. }
            | RaftMsg::Vote { term, .. }
            | RaftMsg::VoteResp { term, .. }
            | RaftMsg::Append { term, .. }
            | RaftMsg::AppendResp { term, .. }
            | RaftMsg::Snapshot { term, .. }
            | RaftMsg::SnapshotResp { term, .. } => *term,
        }
    }
}

/// Bytes as a lowercase hex string: half the size of serde's default array of numbers in JSON.
mod hex_bytes {
    use super::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(bytes.len() * 2);
        for &b in bytes {
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 0xf)]));
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        decode(&text).ok_or_else(|| serde::de::Error::custom("invalid hex string"))
    }

    pub(super) fn decode(text: &str) -> Option<Vec<u8>> {
        let digit = |c: u8| (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
        let raw = text.as_bytes();
        if !raw.len().is_multiple_of(2) {
            return None;
        }
        raw.chunks(2)
            .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_chunks_travel_as_hex() -> Result<(), serde_json::Error> {
        let msg: RaftMsg<u8> = RaftMsg::Snapshot {
            term: 1,
            meta: SnapshotMeta { index: 2, term: 1 },
            offset: 0,
            data: vec![0, 0xab, 0xff],
            done: true,
            round: 0,
        };
        let json = serde_json::to_string(&msg)?;
        assert!(json.contains("\"00abff\""), "{json}");
        assert_eq!(serde_json::from_str::<RaftMsg<u8>>(&json)?, msg);
        assert!(serde_json::from_str::<RaftMsg<u8>>(&json.replace("00abff", "0g")).is_err());
        assert_eq!(hex_bytes::decode("abc"), None);
        Ok(())
    }
}
