//! The lock service's replicated state: per lock name, the holder (client, fencing token, lease
//! length, the log index of its grant or last renewal), the FIFO queue of waiters and the next
//! token. Tokens come from the replicated state, so they strictly increase per name across
//! leader changes, restarts and snapshots.
//!
//! Expiry is the leader's duty ([`LockDuties`]): it times each lease on its own monotonic clock
//! from when it applied the grant (or, for a new leader, from when it took over) and proposes
//! `Expire` after `lease_ms × (1 + drift bound)`. A waiter at the head of the queue has the
//! lock reserved while the lock is free; a head that does not come back for it within
//! `lease_ms` is skipped, so a client that gave up cannot block the others; a client that
//! gives up while queued also says so (`Cancel`) and leaves the queue at once.

use crate::services::replicated::{DutyPlan, SYSTEM_SESSION, StateMachine};
use crate::time::{LocalInstant, LocalNow};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// A lock operation. Client operations carry the client's session id, since the replicated
/// layer hands the machine only the operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "op")]
pub enum LockOp {
    /// Take the lock for `lease_ms`, or queue for it.
    Acquire {
        /// The lock.
        name: String,
        /// The client's session id.
        client: u64,
        /// The lease length the client asks for.
        lease_ms: u64,
        /// Which of the client's asks this is, echoed in the answer (a waiter asks again
        /// under new session numbers; a late or duplicated answer to an earlier ask must not
        /// read as the answer to this one).
        attempt: u64,
    },
    /// Restart the holder's lease.
    Renew {
        /// The lock.
        name: String,
        /// The holder's token.
        token: u64,
        /// Raises the lock's mark to at least this (see [`LockState::mark`]); 0 leaves it.
        #[serde(default, skip_serializing_if = "is_zero")]
        mark: u64,
    },
    /// Give the lock up.
    Release {
        /// The lock.
        name: String,
        /// The holder's token.
        token: u64,
    },
    /// A waiter that gave up leaves the queue, so its turn does not hold the free lock
    /// reserved for nobody until the leader skips it. It never touches a holder: a grant the
    /// client never heard of runs out with its lease, and a cancel that arrives late cannot
    /// end a grant the client took since.
    Cancel {
        /// The lock.
        name: String,
        /// The client's session id.
        client: u64,
    },
    /// The leader's duty: the lease of grant `token` (granted or renewed at `granted_index`)
    /// ran out.
    Expire {
        /// The lock.
        name: String,
        /// The token whose lease ran out.
        token: u64,
        /// Its grant or last renewal.
        granted_index: u64,
    },
    /// The leader's duty: the head waiter did not come for the free lock in time.
    Skip {
        /// The lock.
        name: String,
        /// The waiter skipped.
        client: u64,
        /// When the lock became free for it.
        free_since_index: u64,
    },
    /// The planted bug `lock-release-any-owner`: a release whose token the server never checked.
    ReleaseAnyOwner {
        /// The lock.
        name: String,
    },
    /// The planted bug `lock-token-reuse-after-failover`: a new leader restarts numbering.
    RestartTokens,
}

/// What a lock operation returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum LockResult {
    /// The caller holds the lock with this fencing token.
    Granted {
        /// The fencing token.
        token: u64,
        /// The ask it answers.
        attempt: u64,
        /// The lock's mark when granted (see [`LockState::mark`]).
        #[serde(default, skip_serializing_if = "is_zero")]
        mark: u64,
    },
    /// Someone else holds it (or it is reserved for an earlier waiter): the caller waits in
    /// line at `position` (0 = next).
    Queued {
        /// Place in the queue.
        position: u64,
        /// The ask it answers.
        attempt: u64,
    },
    /// The lease restarted.
    Renewed,
    /// The lock is free now.
    Released,
    /// The caller is not (or no longer) waiting for the lock.
    Left,
    /// The token does not hold the lock (its lease expired, or it was released).
    NotHolder,
    /// A leader duty was applied (or found nothing to do).
    Done,
}

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The holder's session id.
    pub client: u64,
    /// Its fencing token.
    pub token: u64,
    /// Its lease length.
    pub lease_ms: u64,
    /// The log index of the grant or last renewal (what the leader times the lease from).
    pub granted_index: u64,
}

/// One lock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockState {
    /// The holder, if any.
    pub holder: Option<Holder>,
    /// Waiters, first come first served.
    pub queue: VecDeque<u64>,
    /// The token the next grant carries.
    pub next_token: u64,
    /// The log index at which the lock last became free or its queue head changed.
    pub free_since_index: u64,
    /// The highest mark any holder's renewal carried: a value holders hand on to the next
    /// holder through the replicated state. The ID generator's worker-id leases use it for
    /// the timestamps a holder may have used, so the next holder of that worker id starts above
    /// them whatever the clocks say. Only grows.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mark: u64,
}

// serde's skip_serializing_if takes a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Every lock, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockMachine {
    locks: BTreeMap<String, LockState>,
}

impl LockMachine {
    /// A lock's state.
    pub fn lock(&self, name: &str) -> Option<&LockState> {
        self.locks.get(name)
    }

    fn entry(&mut self, name: &str) -> &mut LockState {
        self.locks
            .entry(name.to_string())
            .or_insert_with(|| LockState {
                next_token: 1,
                ..LockState::default()
            })
    }
}

impl LockOp {
    /// True for what a client may ask (the rest only a leader proposes, or a planted bug).
    pub fn from_client(&self) -> bool {
        matches!(
            self,
            LockOp::Acquire { .. }
                | LockOp::Renew { .. }
                | LockOp::Release { .. }
                | LockOp::Cancel { .. }
        )
    }
}

impl StateMachine for LockMachine {
    type Op = LockOp;
    type Output = LockResult;

    /// A lease belongs to the session that acquired it: an acquire names its own session, a
    /// renew or release counts only from the holder's session (not from anyone who guesses a
    /// token), and the leader's duties (expire, skip, token restarts) only from the leader.
    fn apply_from(&mut self, index: u64, session: u64, op: &LockOp) -> LockResult {
        if session != SYSTEM_SESSION {
            let holder_session = |m: &Self, name: &str, token: u64| {
                m.locks
                    .get(name)
                    .and_then(|l| l.holder.as_ref())
                    .filter(|h| h.token == token)
                    .map(|h| h.client)
            };
            match op {
                LockOp::Acquire { client, .. } | LockOp::Cancel { client, .. }
                    if *client != session =>
                {
                    return LockResult::NotHolder;
                }
                LockOp::Renew { name, token, .. } | LockOp::Release { name, token } => {
                    if holder_session(self, name, *token).is_some_and(|c| c != session) {
                        return LockResult::NotHolder;
                    }
                }
                LockOp::Expire { .. } | LockOp::Skip { .. } | LockOp::RestartTokens => {
                    return LockResult::Done;
                }
                LockOp::Acquire { .. } | LockOp::Cancel { .. } | LockOp::ReleaseAnyOwner { .. } => {
                }
            }
        }
        self.apply(index, op)
    }
    const LABEL: &'static str = "lock";
    type Duties = LockDuties;
    type DutyConfig = DutyConfig;

    fn empty() -> Self {
        LockMachine::default()
    }

    fn is_read(_op: &LockOp) -> bool {
        false
    }

    fn read(&self, _op: &LockOp) -> LockResult {
        LockResult::Done
    }

    fn apply(&mut self, index: u64, op: &LockOp) -> LockResult {
        match op {
            LockOp::Acquire {
                name,
                client,
                lease_ms,
                attempt,
            } => {
                let l = self.entry(name);
                if let Some(h) = &mut l.holder {
                    if h.client == *client {
                        // The holder asks anew (it gave its lease up, or never heard of the
                        // grant): a new grant, with a new token — the old one is over.
                        h.token = take_token(&mut l.next_token);
                        h.granted_index = index;
                        h.lease_ms = *lease_ms;
                        return LockResult::Granted {
                            token: h.token,
                            attempt: *attempt,
                            mark: l.mark,
                        };
                    }
                } else if l.queue.front().is_none_or(|head| head == client) {
                    if l.queue.front() == Some(client) {
                        l.queue.pop_front();
                    }
                    let token = take_token(&mut l.next_token);
                    l.holder = Some(Holder {
                        client: *client,
                        token,
                        lease_ms: *lease_ms,
                        granted_index: index,
                    });
                    return LockResult::Granted {
                        token,
                        attempt: *attempt,
                        mark: l.mark,
                    };
                }
                let position = match l.queue.iter().position(|c| c == client) {
                    Some(p) => p,
                    None => {
                        l.queue.push_back(*client);
                        l.queue.len() - 1
                    }
                };
                LockResult::Queued {
                    position: position as u64,
                    attempt: *attempt,
                }
            }
            LockOp::Renew { name, token, mark } => {
                let Some(l) = self.locks.get_mut(name) else {
                    return LockResult::NotHolder;
                };
                match &mut l.holder {
                    Some(h) if h.token == *token => {
                        h.granted_index = index;
                        l.mark = l.mark.max(*mark);
                        LockResult::Renewed
                    }
                    _ => LockResult::NotHolder,
                }
            }
            LockOp::Release { name, token } => {
                let Some(l) = self.locks.get_mut(name) else {
                    return LockResult::NotHolder;
                };
                match &l.holder {
                    Some(h) if h.token == *token => {
                        l.holder = None;
                        l.free_since_index = index;
                        LockResult::Released
                    }
                    _ => LockResult::NotHolder,
                }
            }
            LockOp::Cancel { name, client } => {
                let Some(l) = self.locks.get_mut(name) else {
                    return LockResult::Left;
                };
                let Some(at) = l.queue.iter().position(|c| c == client) else {
                    return LockResult::Left;
                };
                l.queue.remove(at);
                if at == 0 {
                    // The next head's reservation counts from now, not from the leaver's turn.
                    l.free_since_index = index;
                }
                debug_assert!(
                    !l.queue.contains(client),
                    "a client waits at most once per lock"
                );
                LockResult::Left
            }
            LockOp::ReleaseAnyOwner { name } => {
                let Some(l) = self.locks.get_mut(name) else {
                    return LockResult::NotHolder;
                };
                match &l.holder {
                    Some(_) => {
                        l.holder = None;
                        l.free_since_index = index;
                        LockResult::Released
                    }
                    _ => LockResult::NotHolder,
                }
            }
            LockOp::Expire {
                name,
                token,
                granted_index,
            } => {
                let Some(l) = self.locks.get_mut(name) else {
                    return LockResult::Done;
                };
                if l.holder
                    .as_ref()
                    .is_some_and(|h| h.token == *token && h.granted_index == *granted_index)
                {
                    l.holder = None;
                    l.free_since_index = index;
                }
                LockResult::Done
            }
            LockOp::Skip {
                name,
                client,
                free_since_index,
            } => {
                let Some(l) = self.locks.get_mut(name) else {
                    return LockResult::Done;
                };
                if l.holder.is_none()
                    && l.queue.front() == Some(client)
                    && l.free_since_index == *free_since_index
                {
                    l.queue.pop_front();
                    l.free_since_index = index;
                }
                LockResult::Done
            }
            LockOp::RestartTokens => {
                for l in self.locks.values_mut() {
                    l.next_token = 1;
                }
                LockResult::Done
            }
        }
    }

    fn route_key(op: &LockOp) -> Option<&str> {
        match op {
            LockOp::Acquire { name, .. }
            | LockOp::Renew { name, .. }
            | LockOp::Release { name, .. }
            | LockOp::Cancel { name, .. }
            | LockOp::ReleaseAnyOwner { name }
            | LockOp::Expire { name, .. }
            | LockOp::Skip { name, .. } => Some(name),
            LockOp::RestartTokens => None,
        }
    }

    fn duties(cfg: &DutyConfig) -> LockDuties {
        LockDuties {
            cfg: *cfg,
            timed: BTreeMap::new(),
            fresh: true,
        }
    }

    fn leader_duties(&self, d: &mut LockDuties, clocks: LocalNow) -> DutyPlan<LockOp> {
        let now = clocks.mono;
        let mut plan = DutyPlan::default();
        if std::mem::take(&mut d.fresh) && d.cfg.restart_tokens_on_failover {
            plan.propose.push(LockOp::RestartTokens);
        }
        d.timed.retain(|name, _| self.locks.contains_key(name));
        for (name, l) in &self.locks {
            let (watch, ms) = match (&l.holder, l.queue.front()) {
                (Some(h), _) => (
                    Watch::Lease {
                        token: h.token,
                        granted_index: h.granted_index,
                    },
                    d.cfg.expiry_ms(h.lease_ms),
                ),
                (None, Some(&head)) => (
                    Watch::Reserved {
                        client: head,
                        free_since_index: l.free_since_index,
                    },
                    d.cfg.reserve_ms,
                ),
                (None, None) => {
                    d.timed.remove(name);
                    continue;
                }
            };
            let due = match d.timed.get(name) {
                Some((w, due)) if *w == watch => *due,
                _ => {
                    let due = now.saturating_add(Duration::from_millis(ms));
                    d.timed.insert(name.clone(), (watch, due));
                    due
                }
            };
            let due = if now >= due {
                plan.propose.push(match watch {
                    Watch::Lease {
                        token,
                        granted_index,
                    } => LockOp::Expire {
                        name: name.clone(),
                        token,
                        granted_index,
                    },
                    Watch::Reserved {
                        client,
                        free_since_index,
                    } => LockOp::Skip {
                        name: name.clone(),
                        client,
                        free_since_index,
                    },
                });
                // Asked again if the proposal is lost (the operation is idempotent).
                let retry = now.saturating_add(Duration::from_millis(ms.max(1)));
                d.timed.insert(name.clone(), (watch, retry));
                retry
            } else {
                due
            };
            plan.next_at = Some(plan.next_at.map_or(due, |at: LocalInstant| at.min(due)));
        }
        plan
    }

    fn sketch(&self, _now: crate::time::LocalNow, sketch: &mut crate::node::sketch::Sketch) {
        // Holders × waiters, and a handoff in progress (a free lock with a queue: the grant
        // to the queue head is not yet applied).
        let held = self.locks.values().filter(|l| l.holder.is_some()).count();
        let waiting: usize = self.locks.values().map(|l| l.queue.len()).sum();
        let handoff = self
            .locks
            .values()
            .any(|l| l.holder.is_none() && !l.queue.is_empty());
        sketch
            .count("held", held as u64)
            .count("waiting", waiting as u64)
            .flag("handoff", handoff);
    }
}

/// How the leader times leases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DutyConfig {
    /// The clock drift the service tolerates (ppm): a lease expires after
    /// `lease_ms × (1 + bound)` on the leader's clock.
    pub drift_bound_ppm: u32,
    /// How long a free lock stays reserved for the head waiter.
    pub reserve_ms: u64,
    /// The planted bug `lock-token-reuse-after-failover`.
    pub restart_tokens_on_failover: bool,
}

impl DutyConfig {
    /// When a lease of `lease_ms` expires, on the leader's clock.
    pub fn expiry_ms(&self, lease_ms: u64) -> u64 {
        lease_ms + (lease_ms * u64::from(self.drift_bound_ppm)).div_ceil(1_000_000)
    }
}

/// What the leader watches on one lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    Lease { token: u64, granted_index: u64 },
    Reserved { client: u64, free_since_index: u64 },
}

/// The leader's timers on leases and reservations (never replicated).
#[derive(Debug)]
pub struct LockDuties {
    cfg: DutyConfig,
    timed: BTreeMap<String, (Watch, LocalInstant)>,
    /// No duty has run since this node became leader.
    fresh: bool,
}

/// The next fencing token of a lock: every grant takes a token no grant took before (since
/// the last `RestartTokens`, which only a planted bug logs), so the resource can fence off
/// every earlier holder.
fn take_token(next_token: &mut u64) -> u64 {
    let token = *next_token;
    assert!(
        token >= 1,
        "token 0 is no token: every holder must be fenceable"
    );
    *next_token = token
        .checked_add(1)
        .unwrap_or_else(|| panic!("the token space of a lock is exhausted at {token}"));
    token
}
