//! InstallSnapshot: the leader streams its latest snapshot, chunk by chunk, to a follower that
//! needs entries the leader has compacted; the follower assembles and installs it.

use super::core::RaftCore;
use super::msg::RaftMsg;
use super::ready::ReadySnapshot;
use super::replication::Mode;
use super::types::{Command, Role, Snapshot, SnapshotMeta};
use crate::ids::NodeId;

/// A snapshot being received: chunks arrive in order (stop-and-wait), any gap restarts them.
#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    term: u64,
    meta: SnapshotMeta,
    data: Vec<u8>,
}

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
            term: self.term,
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
        let term = self.term;
        let reply = move |next_offset, installed| RaftMsg::SnapshotResp {
            term,
            index: meta.index,
            next_offset,
            installed,
            round,
        };
        if meta.index <= self.log.committed {
            // We already have everything it covers.
            self.incoming = None;
            self.send(from, reply(0, true));
            return;
        }
        let same = self
            .incoming
            .as_ref()
            .is_some_and(|i| i.term == term && i.meta == meta);
        if offset == 0 {
            self.incoming = Some(Incoming {
                term,
                meta,
                data: Vec::new(),
            });
        } else if !same {
            self.send(from, reply(0, false));
            return;
        }
        let Some(inc) = self.incoming.as_mut() else {
            return;
        };
        if offset != inc.data.len() as u64 {
            let expected = inc.data.len() as u64;
            self.send(from, reply(expected, false));
            return;
        }
        inc.data.extend_from_slice(&data);
        if !done {
            let expected = inc.data.len() as u64;
            self.send(from, reply(expected, false));
            return;
        }
        let Some(inc) = self.incoming.take() else {
            return;
        };
        self.install_snapshot(inc.meta, inc.data);
        self.send(from, reply(0, true));
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
        if self.role != Role::Leader {
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
