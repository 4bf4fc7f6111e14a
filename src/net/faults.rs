//! The network's fault state: which directed links are cut, and the loss / duplication / delay
//! rules in force. Decisions are drawn from the world's network RNG, one message at a time, in
//! send order — so they replay.
//!
//! Clients are placed with a "home" node (as if in the same rack): a client reaches a node iff
//! its home does, so partitions cut clients off too, and rules on a node's links apply to its
//! clients' traffic.

use crate::event::DropCause;
use crate::fault::LinkSelector;
use crate::ids::{Addr, NodeId};
use crate::rng::{DetRng, Probability};
use rand::Rng;
use std::collections::BTreeSet;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
struct DelayRule {
    links: LinkSelector,
    probability: Probability,
    delay_ms_max: u64,
}

/// What happens to one message at send time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendDecision {
    /// Dropped, and why.
    pub drop: Option<DropCause>,
    /// Delivered twice.
    pub duplicate: bool,
    /// Held back this long on arrival.
    pub extra_delay: Option<Duration>,
}

/// The network's fault rules.
#[derive(Debug, Clone, Default)]
pub struct NetFaults {
    cut: BTreeSet<(NodeId, NodeId)>,
    loss: Vec<(LinkSelector, Probability)>,
    duplicate: Vec<(LinkSelector, Probability)>,
    delay: Vec<DelayRule>,
    /// `client_home[c]` = the node client `c` sits next to.
    client_home: Vec<NodeId>,
}

impl NetFaults {
    /// A calm network; `client_home[c]` is the node client `c` sits next to.
    pub fn new(client_home: Vec<NodeId>) -> Self {
        NetFaults {
            client_home,
            ..Self::default()
        }
    }

    /// The node whose network position `addr` shares.
    pub fn position(&self, addr: Addr) -> Option<NodeId> {
        match addr {
            Addr::Node(n) => Some(n),
            Addr::Client(c) => self.client_home.get(c.0 as usize).copied(),
        }
    }

    /// True when a partition cuts `from → to`.
    pub fn is_cut(&self, from: Addr, to: Addr) -> bool {
        match (self.position(from), self.position(to)) {
            (Some(a), Some(b)) => a != b && self.cut.contains(&(a, b)),
            _ => false,
        }
    }

    /// Cuts directed links.
    pub fn cut_links(&mut self, links: &[(NodeId, NodeId)]) {
        self.cut.extend(links.iter().copied());
    }

    /// Links cut.
    pub fn cut_count(&self) -> usize {
        self.cut.len()
    }

    /// Restores every cut link.
    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Adds a loss rule.
    pub fn add_loss(&mut self, links: LinkSelector, probability: Probability) {
        self.loss.push((links, probability));
    }

    /// Adds a duplication rule.
    pub fn add_duplicate(&mut self, links: LinkSelector, probability: Probability) {
        self.duplicate.push((links, probability));
    }

    /// Adds a delay rule.
    pub fn add_delay(&mut self, links: LinkSelector, probability: Probability, delay_ms_max: u64) {
        self.delay.push(DelayRule {
            links,
            probability,
            delay_ms_max,
        });
    }

    /// Removes every loss, duplication and delay rule.
    pub fn calm(&mut self) {
        self.loss.clear();
        self.duplicate.clear();
        self.delay.clear();
    }

    /// True when any loss, duplication or delay rule is in force.
    pub fn has_rules(&self) -> bool {
        !(self.loss.is_empty() && self.duplicate.is_empty() && self.delay.is_empty())
    }

    /// Decides the fate of one message. Rules are tried in the order they were added; draws
    /// happen only for matching rules, so an unaffected link consumes no randomness.
    pub fn decide(&self, from: Addr, to: Addr, rng: &mut DetRng) -> SendDecision {
        if self.is_cut(from, to) {
            return SendDecision {
                drop: Some(DropCause::Partition),
                ..SendDecision::default()
            };
        }
        let (Some(a), Some(b)) = (self.position(from), self.position(to)) else {
            return SendDecision::default();
        };
        let mut decision = SendDecision::default();
        for (links, p) in &self.loss {
            if links.matches(a, b) && p.sample(rng) {
                decision.drop = Some(DropCause::Loss);
                return decision;
            }
        }
        for (links, p) in &self.duplicate {
            if links.matches(a, b) && p.sample(rng) {
                decision.duplicate = true;
            }
        }
        for rule in &self.delay {
            if rule.links.matches(a, b) && rule.probability.sample(rng) {
                let ms = rng.random_range(1..=rule.delay_ms_max.max(1));
                let extra = decision.extra_delay.unwrap_or_default() + Duration::from_millis(ms);
                decision.extra_delay = Some(extra);
            }
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ClientId;
    use crate::rng::component_rng;

    fn n(i: u32) -> Addr {
        Addr::Node(NodeId(i))
    }

    #[test]
    fn clients_share_their_home_nodes_fate() {
        let mut net = NetFaults::new(vec![NodeId(0), NodeId(1)]);
        net.cut_links(&[(NodeId(0), NodeId(2))]);
        let c0 = Addr::Client(ClientId(0));
        let c1 = Addr::Client(ClientId(1));
        assert!(net.is_cut(c0, n(2)));
        assert!(!net.is_cut(n(2), c0), "the cut is one-way");
        assert!(!net.is_cut(c1, n(2)));
        assert!(!net.is_cut(c0, n(0)), "a client always reaches its home");
        net.heal();
        assert!(!net.is_cut(c0, n(2)));
    }

    #[test]
    fn calm_network_draws_nothing() {
        let net = NetFaults::new(vec![]);
        let mut rng = component_rng(1, "net", 0);
        let before = rng.clone();
        assert_eq!(net.decide(n(0), n(1), &mut rng), SendDecision::default());
        assert_eq!(rng, before);
    }

    #[test]
    fn rules_apply_only_to_matching_links() {
        let mut net = NetFaults::new(vec![]);
        let only_0_to_1 = LinkSelector {
            from: Some(NodeId(0)),
            to: Some(NodeId(1)),
        };
        net.add_loss(only_0_to_1, Probability::ALWAYS);
        net.add_duplicate(LinkSelector::default(), Probability::ALWAYS);
        net.add_delay(LinkSelector::default(), Probability::ALWAYS, 5);
        let mut rng = component_rng(1, "net", 0);
        assert_eq!(net.decide(n(0), n(1), &mut rng).drop, Some(DropCause::Loss));
        let d = net.decide(n(1), n(0), &mut rng);
        assert_eq!(d.drop, None);
        assert!(d.duplicate);
        assert!(
            d.extra_delay
                .is_some_and(|e| e >= Duration::from_millis(1) && e <= Duration::from_millis(5))
        );
        net.calm();
        assert!(!net.has_rules());
    }
}
