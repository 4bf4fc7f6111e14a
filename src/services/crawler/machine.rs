//! The crawl state, replicated on the Raft core: the seen-set (every normalised URL ever put
//! on the frontier), the frontier (pending URLs per host), each host's robots.txt once
//! fetched, and which crawler session owns which host under which fencing token.
//!
//! A host is owned under a lease: the owner's every accepted operation renews it, and the
//! leader expires it ([`CrawlDuties`]) once it has seen no renewal for
//! `lease_ms × (1 + drift bound)` on its own monotonic clock (a new leader: from when it took
//! over). Only the owner's operations on a host are applied; a URL leaves the frontier only
//! when its owner reports it fetched, so a crashed or cut-off owner's URL is fetched by the
//! next owner. Tokens come from the replicated state: they strictly increase across leaders.

use super::web::Robots;
use crate::services::replicated::{DutyPlan, SYSTEM_SESSION, StateMachine};
use crate::time::{LocalInstant, LocalNow};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Bound on URLs the crawl state keeps (seen plus pending): links beyond it are dropped.
pub const URLS_MAX: usize = 65_536;

/// A URL waiting on a host's frontier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Its place on the frontier.
    pub id: u64,
    /// The URL, as it was put there.
    pub url: String,
}

/// A crawl-state operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "op")]
pub enum CrawlOp {
    /// A client adds a seed URL (normalised) on host `host`.
    Seed {
        /// Its host.
        host: u32,
        /// The URL.
        url: String,
    },
    /// A crawler asks to own `host` (`force`: the planted bug `crawler-politeness-per-node`
    /// takes it whoever owns it).
    Claim {
        /// The host.
        host: u32,
        /// Take it from its owner.
        force: bool,
        /// Hand out the whole frontier of the host and forget it (the planted bug
        /// `crawler-frontier-lost-on-crash`).
        batch: bool,
    },
    /// The owner renews its lease (and hears of the next pending URL).
    Renew {
        /// The host.
        host: u32,
        /// The owner's token.
        token: u64,
        /// As in `Claim`.
        batch: bool,
    },
    /// The owner fetched (or skipped) frontier entry `id` and found these links.
    Fetched {
        /// The host.
        host: u32,
        /// The owner's token.
        token: u64,
        /// The frontier entry done (0: none, robots.txt).
        id: u64,
        /// Links found, each with its host.
        links: Vec<(u32, String)>,
        /// robots.txt's rules, when that is what was fetched.
        robots: Option<Robots>,
        /// Put a link on the frontier only if never seen (off: the planted bug
        /// `crawler-seen-set-in-memory`, whose crawler filters them in memory).
        dedup: bool,
        /// As in `Claim`.
        batch: bool,
    },
    /// The leader's duty: the lease of `token` on `host` ran out (after `renewals` renewals).
    Expire {
        /// The host.
        host: u32,
        /// The lease's token.
        token: u64,
        /// How many renewals it had when the leader timed it.
        renewals: u64,
    },
}

/// What a crawl-state operation returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum CrawlResult {
    /// The seed is on the frontier (`new`: it was not seen before).
    Seeded {
        /// Not seen before.
        new: bool,
    },
    /// The caller owns the host under `token`: what to fetch next (the first pending URL,
    /// left on the frontier; or, in batch, all of them, taken off it) and robots.txt if known.
    Owner {
        /// The lease's token.
        token: u64,
        /// Next URL(s).
        next: Vec<Pending>,
        /// The host's robots.txt, once fetched.
        robots: Option<Robots>,
        /// The host had an owner before this lease (a handover; the lease's first answer).
        handover: bool,
    },
    /// Another session owns the host.
    OwnedElsewhere,
    /// The token does not own the host (its lease ran out, or another took it).
    NotOwner,
    /// A leader duty (or a refused operation) was applied.
    Done,
}

/// Who owns a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The owner's session.
    pub session: u64,
    /// The lease's fencing token.
    pub token: u64,
    /// Accepted operations under the lease: each renews it.
    pub renewals: u64,
}

/// The crawl state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrawlMachine {
    seen: BTreeSet<String>,
    frontier: BTreeMap<u32, BTreeMap<u64, String>>,
    robots: BTreeMap<u32, Robots>,
    owners: BTreeMap<u32, Owner>,
    /// Hosts ever leased.
    leased: BTreeSet<u32>,
    next_id: u64,
    next_token: u64,
}

impl CrawlMachine {
    /// The owner of `host`.
    pub fn owner(&self, host: u32) -> Option<&Owner> {
        self.owners.get(&host)
    }

    /// URLs pending on `host`.
    pub fn pending(&self, host: u32) -> Vec<String> {
        self.frontier
            .get(&host)
            .map(|f| f.values().cloned().collect())
            .unwrap_or_default()
    }

    /// True when `url` was ever put on the frontier (with dedup).
    pub fn seen(&self, url: &str) -> bool {
        self.seen.contains(url)
    }

    fn size(&self) -> usize {
        self.seen.len() + self.frontier.values().map(BTreeMap::len).sum::<usize>()
    }

    fn push(&mut self, host: u32, url: &str, dedup: bool) -> bool {
        if self.size() >= URLS_MAX || (dedup && self.seen.contains(url)) {
            return false;
        }
        if dedup {
            self.seen.insert(url.to_string());
        }
        let id = self.next_id;
        self.next_id += 1;
        self.frontier
            .entry(host)
            .or_default()
            .insert(id, url.to_string());
        true
    }

    /// The owner's view of `host`: its next URL (or, in batch, all of them, taken).
    fn owner_view(&mut self, host: u32, token: u64, batch: bool) -> CrawlResult {
        let next = match self.frontier.get_mut(&host) {
            Some(f) if batch => std::mem::take(f)
                .into_iter()
                .map(|(id, url)| Pending { id, url })
                .collect(),
            Some(f) => f
                .iter()
                .next()
                .map(|(&id, url)| Pending {
                    id,
                    url: url.clone(),
                })
                .into_iter()
                .collect(),
            None => Vec::new(),
        };
        CrawlResult::Owner {
            token,
            next,
            robots: self.robots.get(&host).cloned(),
            handover: false,
        }
    }

    /// Renews `token`'s lease on `host` if `session` holds it.
    fn holds(&mut self, host: u32, session: u64, token: u64) -> bool {
        match self.owners.get_mut(&host) {
            Some(o) if o.session == session && o.token == token => {
                o.renewals += 1;
                true
            }
            _ => false,
        }
    }

    fn claim(&mut self, host: u32, session: u64, force: bool, batch: bool) -> CrawlResult {
        let mut handover = false;
        let token = match self.owners.get_mut(&host) {
            Some(o) if o.session == session => {
                o.renewals += 1;
                o.token
            }
            Some(_) if !force => return CrawlResult::OwnedElsewhere,
            _ => {
                let token = self.next_token;
                self.next_token += 1;
                handover = !self.leased.insert(host);
                self.owners.insert(
                    host,
                    Owner {
                        session,
                        token,
                        renewals: 0,
                    },
                );
                token
            }
        };
        match self.owner_view(host, token, batch) {
            CrawlResult::Owner {
                token,
                next,
                robots,
                ..
            } => CrawlResult::Owner {
                token,
                next,
                robots,
                handover,
            },
            other => other,
        }
    }
}

impl StateMachine for CrawlMachine {
    type Op = CrawlOp;
    type Output = CrawlResult;
    const LABEL: &'static str = "crawler";
    type Duties = CrawlDuties;
    type DutyConfig = DutyConfig;

    fn empty() -> Self {
        CrawlMachine {
            seen: BTreeSet::new(),
            frontier: BTreeMap::new(),
            robots: BTreeMap::new(),
            owners: BTreeMap::new(),
            leased: BTreeSet::new(),
            next_id: 1,
            next_token: 1,
        }
    }

    fn is_read(_op: &CrawlOp) -> bool {
        false
    }

    fn read(&self, _op: &CrawlOp) -> CrawlResult {
        CrawlResult::Done
    }

    fn apply(&mut self, index: u64, op: &CrawlOp) -> CrawlResult {
        self.apply_from(index, SYSTEM_SESSION, op)
    }

    /// A lease belongs to the session that claimed it; only the leader expires one.
    fn apply_from(&mut self, _index: u64, session: u64, op: &CrawlOp) -> CrawlResult {
        match op {
            CrawlOp::Seed { host, url } => CrawlResult::Seeded {
                new: self.push(*host, url, true),
            },
            CrawlOp::Expire { .. } if session != SYSTEM_SESSION => CrawlResult::Done,
            CrawlOp::Expire {
                host,
                token,
                renewals,
            } => {
                if self
                    .owners
                    .get(host)
                    .is_some_and(|o| o.token == *token && o.renewals == *renewals)
                {
                    self.owners.remove(host);
                }
                CrawlResult::Done
            }
            _ if session == SYSTEM_SESSION => CrawlResult::Done,
            CrawlOp::Claim { host, force, batch } => self.claim(*host, session, *force, *batch),
            CrawlOp::Renew { host, token, batch } => {
                if !self.holds(*host, session, *token) {
                    return CrawlResult::NotOwner;
                }
                self.owner_view(*host, *token, *batch)
            }
            CrawlOp::Fetched {
                host,
                token,
                id,
                links,
                robots,
                dedup,
                batch,
            } => {
                if !self.holds(*host, session, *token) {
                    return CrawlResult::NotOwner;
                }
                if let Some(f) = self.frontier.get_mut(host) {
                    f.remove(id);
                }
                if let Some(r) = robots {
                    self.robots.insert(*host, r.clone());
                }
                for (h, url) in links {
                    self.push(*h, url, *dedup);
                }
                self.owner_view(*host, *token, *batch)
            }
        }
    }

    fn duties(cfg: &DutyConfig) -> CrawlDuties {
        CrawlDuties {
            cfg: *cfg,
            timed: BTreeMap::new(),
        }
    }

    fn leader_duties(&self, d: &mut CrawlDuties, now: LocalNow) -> DutyPlan<CrawlOp> {
        let now = now.mono;
        let mut plan = DutyPlan::default();
        let expiry = Duration::from_millis(d.cfg.expiry_ms);
        d.timed.retain(|host, _| self.owners.contains_key(host));
        for (&host, o) in &self.owners {
            let due =
                d.timed
                    .entry(host)
                    .or_insert((o.token, o.renewals, now.saturating_add(expiry)));
            if (due.0, due.1) != (o.token, o.renewals) {
                // Renewed (or owned anew) since last looked: timed from now, never earlier
                // than the owner's own count began.
                *due = (o.token, o.renewals, now.saturating_add(expiry));
            }
            if now >= due.2 {
                plan.propose.push(CrawlOp::Expire {
                    host,
                    token: o.token,
                    renewals: o.renewals,
                });
                // Asked again if the proposal is lost (the operation is idempotent).
                due.2 = now.saturating_add(expiry);
            }
            plan.next_at = Some(plan.next_at.map_or(due.2, |n: LocalInstant| n.min(due.2)));
        }
        plan
    }
}

/// How the leader times host leases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DutyConfig {
    /// A lease not renewed for this long on the leader's clock expires.
    pub expiry_ms: u64,
}

/// The leader's timers (never replicated): host → (token, renewals, when it expires).
#[derive(Debug)]
pub struct CrawlDuties {
    cfg: DutyConfig,
    timed: BTreeMap<u32, (u64, u64, LocalInstant)>,
}
