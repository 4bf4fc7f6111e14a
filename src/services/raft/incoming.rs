//! A snapshot being received: chunks arrive in order (stop-and-wait), any gap restarts them.
//! Owned by the follower side of InstallSnapshot (`snapshot.rs`).

use super::types::SnapshotMeta;

/// One transfer under way.
#[derive(Debug, Clone)]
struct Transfer {
    term: u64,
    meta: SnapshotMeta,
    data: Vec<u8>,
}

/// What a chunk leads to.
#[derive(Debug)]
pub(crate) enum Chunk {
    /// Not complete: the sender should go on from this offset (0: start again).
    Want(u64),
    /// The last chunk arrived: the whole snapshot.
    Complete {
        /// Which snapshot.
        meta: SnapshotMeta,
        /// Its application bytes.
        data: Vec<u8>,
    },
}

/// The follower's snapshot receiver: at most one transfer at a time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Incoming(Option<Transfer>);

impl Incoming {
    /// Forgets the transfer under way.
    pub fn clear(&mut self) {
        self.0 = None;
    }

    /// Takes the chunk at `offset` of the snapshot `meta` a leader of `term` sends.
    pub fn chunk(
        &mut self,
        term: u64,
        meta: SnapshotMeta,
        offset: u64,
        data: &[u8],
        done: bool,
    ) -> Chunk {
        let same = self
            .0
            .as_ref()
            .is_some_and(|t| t.term == term && t.meta == meta);
        if offset == 0 {
            self.0 = Some(Transfer {
                term,
                meta,
                data: Vec::new(),
            });
        } else if !same {
            return Chunk::Want(0);
        }
        let Some(t) = self.0.as_mut() else {
            return Chunk::Want(0);
        };
        let have = t.data.len() as u64;
        if offset != have {
            return Chunk::Want(have);
        }
        t.data.extend_from_slice(data);
        if !done {
            return Chunk::Want(t.data.len() as u64);
        }
        let Some(t) = self.0.take() else {
            return Chunk::Want(0);
        };
        assert!(
            t.meta == meta,
            "a transfer completed with another snapshot's bytes"
        );
        Chunk::Complete {
            meta: t.meta,
            data: t.data,
        }
    }
}
