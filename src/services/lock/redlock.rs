//! One Redlock-style server (`--bug lock-redlock`, a design flaw rather than a code slip): an
//! in-memory key store with TTLs judged on the node's *wall* clock, as Redis judges expiry, no
//! replication, no consensus, no fencing tokens. A client holds the lock when a majority of
//! these independent servers granted it within its validity time.

use super::wire::{RedlockReq, RedlockResp};
use crate::time::WallTime;
use std::collections::BTreeMap;

/// One server's keys: owner and expiry (wall clock, ns).
#[derive(Debug, Default)]
pub struct RedlockServer {
    keys: BTreeMap<String, (String, WallTime)>,
}

impl RedlockServer {
    /// Answers one request at wall-clock time `now`.
    pub fn handle(&mut self, now: WallTime, req: &RedlockReq) -> RedlockResp {
        match req {
            RedlockReq::SetNx {
                name,
                owner,
                ttl_ms,
            } => {
                let free = match self.keys.get(name) {
                    None => true,
                    Some((o, expires)) => o == owner || *expires <= now,
                };
                if free {
                    let ttl_ns =
                        i64::try_from(ttl_ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
                    let expires = WallTime {
                        ns: now.ns.saturating_add(ttl_ns),
                    };
                    self.keys.insert(name.clone(), (owner.clone(), expires));
                }
                RedlockResp::Set { ok: free }
            }
            RedlockReq::Del { name, owner } => {
                let mine = self.keys.get(name).is_some_and(|(o, _)| o == owner);
                if mine {
                    self.keys.remove(name);
                }
                RedlockResp::Deleted { ok: mine }
            }
        }
    }
}
