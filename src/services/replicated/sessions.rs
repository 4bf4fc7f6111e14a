//! Client sessions: the idempotency-key pattern in the replicated state. Each client numbers
//! its writes (1, 2, ...) and a retry carries the same number, so a write is applied at most
//! once even when it reaches the log twice (a retry to a new leader, a duplicated message).
//! The session table is part of the replicated state and of every snapshot, so every replica
//! deduplicates the same way.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How sessions behave; every replica must use the same options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Bound on the session table. When a new client arrives and the table is full, the session
    /// applied least recently (smallest log index) is evicted; a retry of that client's last
    /// write can then no longer be recognised and would be applied again: keep this bound well
    /// above the number of concurrently active clients (validation asks for twice). Default 4096.
    pub sessions_max: usize,
    /// Planted bug (e.g. `kv-no-dedup`): ignore sessions, so a retried write is applied twice.
    pub no_dedup: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            sessions_max: 4096,
            no_dedup: false,
        }
    }
}

/// The last write a client had applied, and its output (returned again for a retry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Session<O> {
    seq: u64,
    /// Log index at which the session last applied a request: the eviction order.
    index: u64,
    output: O,
}

/// What became of a logged write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied<O> {
    /// Applied now, or earlier with this output (a retry).
    Output(O),
    /// Not applied: the session already moved past `seq` (a stale duplicate).
    Stale {
        /// The last request number the session applied.
        last_seq: u64,
    },
}

/// The session table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(serialize = "O: Serialize", deserialize = "O: Deserialize<'de>"))]
pub struct Sessions<O> {
    table: BTreeMap<u64, Session<O>>,
}

impl<O> Default for Sessions<O> {
    fn default() -> Self {
        Sessions {
            table: BTreeMap::new(),
        }
    }
}

impl<O: Clone> Sessions<O> {
    /// Sessions held.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when no session is held.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Applies the write `(client_id, seq)` at log `index` with `execute`, unless the session
    /// says it already was (then its first output is returned and `execute` is not called).
    pub fn apply(
        &mut self,
        opts: &SessionOptions,
        index: u64,
        client_id: u64,
        seq: u64,
        execute: impl FnOnce() -> O,
    ) -> Applied<O> {
        if opts.no_dedup {
            return Applied::Output(execute());
        }
        match self.table.get_mut(&client_id) {
            Some(s) if seq == s.seq => {
                s.index = index;
                Applied::Output(s.output.clone())
            }
            Some(s) if seq < s.seq => Applied::Stale { last_seq: s.seq },
            // A session starts with whatever number its first applied write carries: earlier
            // writes of the client may have timed out without ever reaching the log.
            Some(_) | None => self.fresh(opts, index, client_id, seq, execute),
        }
    }

    fn fresh(
        &mut self,
        opts: &SessionOptions,
        index: u64,
        client_id: u64,
        seq: u64,
        execute: impl FnOnce() -> O,
    ) -> Applied<O> {
        let output = execute();
        if !self.table.contains_key(&client_id) && self.table.len() >= opts.sessions_max {
            // Deterministic on every replica: same log, same indexes; ties cannot happen
            // because one index applies one command.
            let oldest = self
                .table
                .iter()
                .min_by_key(|(_, s)| s.index)
                .map(|(&c, _)| c);
            if let Some(c) = oldest {
                self.table.remove(&c);
            }
        }
        self.table.insert(
            client_id,
            Session {
                seq,
                index,
                output: output.clone(),
            },
        );
        debug_assert!(self.table.len() <= opts.sessions_max);
        Applied::Output(output)
    }
}
