//! The door raft-rs lacks: what a peer's message must be before it is stepped. raft-rs trusts
//! its peers (a gap in appended entries, a snapshot of another membership, a heartbeat that
//! proves lost entries make it panic or reconfigure); on a hostile network nothing a peer sends
//! may do that, so a message that fails these checks is dropped, never stepped.

use super::Live;
use crate::machine::Machine;
use raft::eraftpb::{Message as RaftMessage, MessageType};

/// The message types nodes exchange; anything else from the network is dropped (local
/// messages, forwarded proposals and reads, leader transfer — none of which this service uses).
pub(super) fn is_peer_message(t: MessageType) -> bool {
    use MessageType::*;
    matches!(
        t,
        MsgAppend
            | MsgAppendResponse
            | MsgRequestVote
            | MsgRequestVoteResponse
            | MsgRequestPreVote
            | MsgRequestPreVoteResponse
            | MsgSnapshot
            | MsgHeartbeat
            | MsgHeartbeatResponse
    )
}

impl Live {
    /// What raft-rs assumes of a message and does not check (it would panic or reconfigure
    /// itself otherwise): appended entries contiguous after the message's index with terms
    /// that do not go back, a snapshot of this cluster whose image restores. Our own nodes
    /// never send anything else; a message that breaks these is dropped, never stepped.
    pub(super) fn well_formed(&self, m: &RaftMessage) -> Result<(), String> {
        let mut prev = (m.index, m.log_term);
        for e in m.entries.iter() {
            if e.index != prev.0 + 1 || e.term < prev.1 || e.term > m.term {
                return Err(format!(
                    "entry ({}, term {}) after ({}, term {})",
                    e.index, e.term, prev.0, prev.1
                ));
            }
            prev = (e.index, e.term);
        }
        if m.get_msg_type() == MessageType::MsgSnapshot {
            let meta = m.get_snapshot().get_metadata();
            let mut voters = meta.get_conf_state().voters.clone();
            voters.sort_unstable();
            if voters != self.raw.store().conf_state().voters {
                return Err(format!("snapshot of another membership: {voters:?}"));
            }
            if meta.term > m.term || meta.index == 0 {
                return Err(format!("snapshot at ({}, term {})", meta.index, meta.term));
            }
            Machine::restore(&m.get_snapshot().data, meta.index)?;
        }
        Ok(())
    }

    /// raft-rs panics (by design: "was the raft log lost?") on a few messages that prove this
    /// node lost entries it had acknowledged. A peer's message must never panic a node, so
    /// those are caught here first; they cannot happen unless this node's durable state broke
    /// a promise, so it stops serving.
    pub(super) fn check_safe(&self, m: &RaftMessage) -> Result<(), String> {
        let r = &self.raw.raft;
        if m.term < r.term {
            return Ok(());
        }
        let log = &r.raft_log;
        match m.get_msg_type() {
            MessageType::MsgHeartbeat if m.commit > log.last_index() => Err(format!(
                "leader {} says index {} is committed here, but my log ends at {}: I lost \
                 entries I had acknowledged",
                m.from,
                m.commit,
                log.last_index()
            )),
            MessageType::MsgAppend
                if m.index >= log.committed && log.match_term(m.index, m.log_term) =>
            {
                for e in m.entries.iter() {
                    if e.index <= log.committed && log.term(e.index).ok() != Some(e.term) {
                        return Err(format!(
                            "leader {} overwrites my committed entry {} with one of term {}",
                            m.from, e.index, e.term
                        ));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
