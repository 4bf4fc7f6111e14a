//! One cache node's memory: entries with TTLs and the leases of outstanding misses, bounded.
//! Pure: every call gets the node's clock reading, so the rules are unit-tested without a node.
//!
//! The rules (Facebook's memcache leases, "Scaling Memcache at Facebook", §3.2.1):
//! - a miss hands out a lease token (one per key at a time); a fill is accepted only with the
//!   key's current token, within `lease_ms` of the miss — an invalidation revokes the lease, so
//!   a reader that read the store before a write cannot install the old value after the
//!   writer's invalidation;
//! - an entry lives `ttl_ms` from its fill, judged on the node's monotonic clock (wall clocks
//!   jump); TTLs bound what a write whose invalidation was lost can leave behind.
//!
//! The table never grows past `entries_max` / `leases_max`, whatever clients send.

use crate::time::{LocalInstant, LocalNow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The table's rules and bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// An entry's life after its fill.
    pub ttl: Duration,
    /// A lease's life after its miss.
    pub lease: Duration,
    /// Entries kept.
    pub entries_max: usize,
    /// Leases kept.
    pub leases_max: usize,
}

/// Planted mistakes the table can make.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableBugs {
    /// Fills need no lease.
    pub fill_without_lease: bool,
    /// Expiry on the wall clock.
    pub ttl_wall_clock: bool,
    /// A hit restarts the TTL.
    pub ttl_refresh_on_hit: bool,
}

/// A cached value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// What the store held (`None`: absent).
    pub value: Option<String>,
    /// Expires when the monotonic clock reaches this.
    expires_mono: LocalInstant,
    /// Expires when the wall clock reaches this (ns; the planted bug's rule).
    expires_wall_ns: i64,
}

/// An outstanding lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lease {
    token: u64,
    expires: LocalInstant,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A live entry.
    Hit(Option<String>),
    /// No live entry; a lease token when one was free.
    Miss(Option<u64>),
}

/// One node's entries and leases.
#[derive(Debug, Clone)]
pub struct Table {
    limits: Limits,
    bugs: TableBugs,
    entries: BTreeMap<String, Entry>,
    leases: BTreeMap<String, Lease>,
    /// The next token; the high 32 bits are the node's incarnation, so a restarted node never
    /// hands out a token its previous life did.
    next_token: u64,
}

impl Table {
    /// An empty table of a node in `incarnation`.
    pub fn new(limits: Limits, bugs: TableBugs, incarnation: u32) -> Self {
        Table {
            limits,
            bugs,
            entries: BTreeMap::new(),
            leases: BTreeMap::new(),
            next_token: (u64::from(incarnation) << 32) | 1,
        }
    }

    /// Entries held (some may have expired and not been swept yet).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Outstanding leases.
    pub fn leases(&self) -> usize {
        self.leases.len()
    }

    fn live(&self, e: &Entry, now: LocalNow) -> bool {
        if self.bugs.ttl_wall_clock {
            now.wall.ns < e.expires_wall_ns
        } else {
            now.mono < e.expires_mono
        }
    }

    fn fresh_entry(&self, value: Option<String>, now: LocalNow) -> Entry {
        let ttl_ns = i64::try_from(self.limits.ttl.as_nanos()).unwrap_or(i64::MAX);
        Entry {
            value,
            expires_mono: now.mono.saturating_add(self.limits.ttl),
            expires_wall_ns: now.wall.ns.saturating_add(ttl_ns),
        }
    }

    /// Looks `key` up. `dropped` says whether an expired entry was dropped on the way.
    pub fn get(&mut self, key: &str, now: LocalNow) -> (Lookup, bool) {
        let mut dropped = false;
        if let Some(e) = self.entries.get(key) {
            if self.live(e, now) {
                let value = e.value.clone();
                if self.bugs.ttl_refresh_on_hit {
                    let renewed = self.fresh_entry(value.clone(), now);
                    self.entries.insert(key.to_string(), renewed);
                }
                return (Lookup::Hit(value), false);
            }
            self.entries.remove(key);
            dropped = true;
        }
        (Lookup::Miss(self.lease_for(key, now)), dropped)
    }

    /// A new lease on `key`, unless a live one is out or the table of leases is full.
    fn lease_for(&mut self, key: &str, now: LocalNow) -> Option<u64> {
        if let Some(l) = self.leases.get(key)
            && now.mono < l.expires
        {
            // Someone is filling it (memcache's thundering-herd guard): read, do not fill.
            return None;
        }
        if self.leases.len() >= self.limits.leases_max && !self.leases.contains_key(key) {
            self.leases.retain(|_, l| now.mono < l.expires);
            if self.leases.len() >= self.limits.leases_max {
                return None;
            }
        }
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1);
        let expires = now.mono.saturating_add(self.limits.lease);
        self.leases
            .insert(key.to_string(), Lease { token, expires });
        Some(token)
    }

    /// Installs `value` under `token`, if the key's lease is still that token and live.
    /// Returns whether it was installed, and the key evicted to make room, if any.
    pub fn fill(
        &mut self,
        key: &str,
        token: u64,
        value: Option<String>,
        now: LocalNow,
    ) -> (bool, Option<String>) {
        let good = match self.leases.get(key) {
            Some(l) => l.token == token && now.mono < l.expires,
            None => false,
        };
        if !good && !self.bugs.fill_without_lease {
            return (false, None);
        }
        // A lease is good for one fill.
        self.leases.remove(key);
        let mut evicted = None;
        if !self.entries.contains_key(key) && self.entries.len() >= self.limits.entries_max {
            evicted = self.evict_one();
        }
        let entry = self.fresh_entry(value, now);
        self.entries.insert(key.to_string(), entry);
        debug_assert!(self.entries.len() <= self.limits.entries_max);
        (true, evicted)
    }

    /// The entry expiring first goes (ties: the smallest key), to make room.
    fn evict_one(&mut self) -> Option<String> {
        let key = self
            .entries
            .iter()
            .min_by_key(|(k, e)| (e.expires_mono, (*k).clone()))
            .map(|(k, _)| k.clone())?;
        self.entries.remove(&key);
        Some(key)
    }

    /// Drops `key`'s entry and revokes its lease; true when an entry was dropped.
    pub fn invalidate(&mut self, key: &str) -> bool {
        self.leases.remove(key);
        self.entries.remove(key).is_some()
    }

    /// Drops expired entries and leases; returns the keys of the entries dropped.
    pub fn sweep(&mut self, now: LocalNow) -> Vec<String> {
        let dead: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| !self.live(e, now))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &dead {
            self.entries.remove(k);
        }
        self.leases.retain(|_, l| now.mono < l.expires);
        dead
    }

    /// Every entry's key and value (what a warm restart would save).
    pub fn contents(&self) -> Vec<(String, Option<String>)> {
        self.entries
            .iter()
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect()
    }

    /// Installs saved entries with fresh TTLs (the planted warm restart; at most
    /// `entries_max`).
    pub fn load(&mut self, saved: Vec<(String, Option<String>)>, now: LocalNow) {
        for (k, v) in saved.into_iter().take(self.limits.entries_max) {
            let entry = self.fresh_entry(v, now);
            self.entries.insert(k, entry);
        }
    }
}
