//! The network's fault state: which directed links are cut, and the loss / duplication / delay
//! rules in force. Decisions are drawn from the world's network RNG, one message at a time, in
//! send order — so they replay.
//!
//! Clients are placed with a "home" node (as if in the same rack): a client reaches a node iff
//! its home does, so partitions cut clients off too, and rules on a node's links apply to its
//! clients' traffic.

use crate::event::DropCause;
use crate::fault::{Fault, LinkSelector};
use crate::ids::{Addr, NodeId};
use crate::rng::{DetRng, Probability};
use rand::Rng;
use std::collections::BTreeMap;
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
    /// Corrupted in flight: which bit to flip (this number modulo the datagram's bits).
    pub corrupt: Option<u64>,
}

/// The network's fault rules.
#[derive(Debug, Clone, Default)]
pub struct NetFaults {
    /// Cut links, with how many partitions in force cut each (they may overlap).
    cut: BTreeMap<(NodeId, NodeId), u32>,
    loss: Vec<(LinkSelector, Probability)>,
    duplicate: Vec<(LinkSelector, Probability)>,
    delay: Vec<DelayRule>,
    corrupt: Vec<(LinkSelector, Probability)>,
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
            (Some(a), Some(b)) => a != b && self.cut.contains_key(&(a, b)),
            _ => false,
        }
    }

    /// Cuts directed links.
    pub fn cut_links(&mut self, links: &[(NodeId, NodeId)]) {
        for &link in links {
            *self.cut.entry(link).or_default() += 1;
        }
    }

    /// Ends one partition: its links are restored unless another partition in force cuts them.
    pub fn uncut_links(&mut self, links: &[(NodeId, NodeId)]) {
        for link in links {
            if let Some(n) = self.cut.get_mut(link) {
                *n -= 1;
                if *n == 0 {
                    self.cut.remove(link);
                }
            }
        }
    }

    /// Ends one loss, duplication or delay rule (the first in force equal to `rule`); other
    /// rules stay.
    pub fn end_rule(&mut self, rule: &Fault) {
        fn remove_first<T>(v: &mut Vec<T>, hit: impl Fn(&T) -> bool) {
            if let Some(i) = v.iter().position(hit) {
                v.remove(i);
            }
        }
        match rule {
            Fault::NetLoss { probability, links } => {
                remove_first(&mut self.loss, |r| *r == (*links, *probability));
            }
            Fault::NetDuplicate { probability, links } => {
                remove_first(&mut self.duplicate, |r| *r == (*links, *probability));
            }
            Fault::NetCorrupt { probability, links } => {
                remove_first(&mut self.corrupt, |r| *r == (*links, *probability));
            }
            Fault::NetDelay {
                probability,
                delay_ms_max,
                links,
            } => {
                let rule = DelayRule {
                    links: *links,
                    probability: *probability,
                    delay_ms_max: *delay_ms_max,
                };
                remove_first(&mut self.delay, |r| *r == rule);
            }
            _ => {}
        }
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

    /// Adds a corruption rule.
    pub fn add_corrupt(&mut self, links: LinkSelector, probability: Probability) {
        self.corrupt.push((links, probability));
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
        self.corrupt.clear();
    }

    /// True when any loss, duplication, delay or corruption rule is in force.
    pub fn has_rules(&self) -> bool {
        !(self.loss.is_empty()
            && self.duplicate.is_empty()
            && self.delay.is_empty()
            && self.corrupt.is_empty())
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
        // Drawn last: a run without corruption rules draws exactly what it drew before.
        for (links, p) in &self.corrupt {
            if links.matches(a, b) && p.sample(rng) {
                decision.corrupt = Some(rng.random());
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

    #[test]
    fn one_fault_ending_never_ends_another() {
        let mut net = NetFaults::new(vec![]);
        let (a, b) = (NodeId(0), NodeId(1));
        net.cut_links(&[(a, b)]);
        net.cut_links(&[(a, b), (b, a)]);
        net.uncut_links(&[(a, b)]);
        assert!(
            net.is_cut(n(0), n(1)),
            "the second partition still cuts 0->1"
        );
        net.uncut_links(&[(a, b), (b, a)]);
        assert!(!net.is_cut(n(0), n(1)) && !net.is_cut(n(1), n(0)));
        let all = LinkSelector::default();
        let dup = Fault::NetDuplicate {
            probability: Probability::ALWAYS,
            links: all,
        };
        net.add_loss(all, Probability::ALWAYS);
        net.add_duplicate(all, Probability::ALWAYS);
        net.end_rule(&Fault::NetLoss {
            probability: Probability::ALWAYS,
            links: all,
        });
        let mut rng = component_rng(1, "net", 0);
        let d = net.decide(n(0), n(1), &mut rng);
        assert_eq!(
            (d.drop, d.duplicate),
            (None, true),
            "duplication outlives the loss rule"
        );
        net.end_rule(&dup);
        assert!(!net.has_rules());
    }
}
