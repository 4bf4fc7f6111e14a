//! InstallSnapshot: the leader streams its latest snapshot, chunk by chunk, to a follower that
//! needs entries the leader has compacted; the follower assembles and installs it.

use super::core::RaftCore;
use super::incoming::Chunk;
use super::msg::RaftMsg;
use super::progress::Mode;
use super::ready::ReadySnapshot;
use super::types::{Command, Role, Snapshot, SnapshotMeta};
use crate::ids::NodeId;

impl<C: Command> RaftCore<C> {
    /// Sends `peer` the chunk of our snapshot at its current offset (starting a transfer if
    /// needed, or restarting it if we compacted again meanwhile).
    pub(crate) fn send_snapshot_chunk(&mut self, peer: NodeId) {
        let meta = self.log.snapshot();
        let Some(pr) = self.progress.get_mut(&peer) else {
            return;
        };
        let offset = match pr.mode {
            Mode::Snapshot { meta: m, offset } if m == meta => offset,
            _ => {
                pr.mode = Mode::Snapshot { meta, offset: 0 };
                pr.inflight.clear();
                0
            }
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.snapshot_data.len());
        let end = start
            .saturating_add(self.cfg.snapshot_chunk_bytes)
            .min(self.snapshot_data.len());
        let msg = RaftMsg::Snapshot {
            term: self.term(),
            meta,
            offset: start as u64,
            data: self.snapshot_data[start..end].to_vec(),
            done: end == self.snapshot_data.len(),
            round: self.reads.round(),
        };
        self.send(peer, msg);
    }

    /// Follower side: one chunk from the leader of our term.
    pub(crate) fn on_snapshot_chunk(
        &mut self,
        from: NodeId,
        meta: SnapshotMeta,
        offset: u64,
        data: Vec<u8>,
        done: bool,
        round: u64,
    ) {
        let term = self.term();
        let reply = move |next_offset, installed| RaftMsg::SnapshotResp {
            term,
            index: meta.index,
            next_offset,
            installed,
            round,
        };
        if meta.index <= self.log.committed {
            // We already have everything it covers.
            self.incoming.clear();
            self.send(from, reply(0, true));
            return;
        }
        match self.incoming.chunk(term, meta, offset, &data, done) {
            Chunk::Want(next_offset) => self.send(from, reply(next_offset, false)),
            Chunk::Complete { meta, data } => {
                self.install_snapshot(meta, data);
                self.send(from, reply(0, true));
            }
        }
    }

    fn install_snapshot(&mut self, meta: SnapshotMeta, data: Vec<u8>) {
        let committed_before = self.log.committed;
        self.log.install(meta, !self.bugs.any());
        assert!(
            self.log.committed >= committed_before,
            "commit index went back"
        );
        self.snapshot_data = data;
        self.snapshot_wanted_sent = false;
        self.snapshot_out = Some(ReadySnapshot {
            snapshot: Snapshot {
                meta,
                data: self.snapshot_data.clone(),
            },
            restore: true,
        });
    }

    /// Leader side: a follower's answer to a chunk.
    pub(crate) fn on_snapshot_resp(
        &mut self,
        from: NodeId,
        index: u64,
        next_offset: u64,
        installed: bool,
        round: u64,
    ) {
        if self.role() != Role::Leader {
            return;
        }
        self.on_ack(from, round);
        let Some(pr) = self.progress.get_mut(&from) else {
            return;
        };
        let Mode::Snapshot { meta, .. } = pr.mode else {
            return;
        };
        if meta.index != index {
            return; // an answer about an older transfer
        }
        if installed {
            pr.match_index = pr.match_index.max(index);
            pr.next_index = pr.match_index + 1;
            pr.mode = Mode::Probe { paused: false };
            self.maybe_commit();
        } else {
            pr.mode = Mode::Snapshot {
                meta,
                offset: next_offset,
            };
        }
        self.send_append(from);
    }
}
