//! A campaign's ballot: the (pre-)votes a candidate received in its current campaign. Owned by
//! elections; it counts answers, one per voter, and says when a majority is reached.

use crate::ids::NodeId;
use std::collections::BTreeMap;

/// The answers to the current campaign (empty when not campaigning).
#[derive(Debug, Clone, Default)]
pub(crate) struct Ballot(BTreeMap<NodeId, bool>);

impl Ballot {
    /// A new campaign: the candidate's own vote is its first.
    pub fn start(&mut self, me: NodeId) {
        self.0.clear();
        self.0.insert(me, true);
    }

    /// No campaign (any more).
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// `from` answered; a later answer from the same voter replaces its earlier one (a
    /// duplicated message counts once).
    pub fn record(&mut self, from: NodeId, granted: bool) {
        assert!(!self.0.is_empty(), "an answer to no campaign");
        self.0.insert(from, granted);
    }

    /// A majority (`quorum`) granted.
    pub fn won(&self, quorum: usize) -> bool {
        self.0.values().filter(|&&g| g).count() >= quorum
    }

    /// A majority refused: this campaign cannot win.
    pub fn lost(&self, quorum: usize) -> bool {
        self.0.values().filter(|&&g| !g).count() >= quorum
    }
}
