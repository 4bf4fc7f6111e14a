//! The Ready loop: each `Ready` carried out in the order raft-rs's contract gives (see the
//! module above), the committed entries applied, confirmed reads served, leadership tracked and
//! the log compacted.

use super::*;

impl Live {
    /// Carries out one `Ready` (see the module docs for the order).
    pub(super) fn handle_ready(&mut self, ctx: &mut Ctx<'_, RaftKvNode>) -> Result<(), Stop> {
        let mut rd = self.raw.ready();
        // 1. What needs no persistence: a leader's appends and heartbeats.
        let msgs = rd.take_messages();
        self.send_all(ctx, msgs);
        let mut persisted = rd.take_persisted_messages();
        if self.bugs.send_before_persist {
            // PLANTED BUG: votes and append acks go out before what they promise is durable.
            let early = std::mem::take(&mut persisted);
            self.send_all(ctx, early);
        }
        // 2. Persist: hard state, snapshot, entries (page cache).
        let snapshot: Option<Snapshot> = (!rd.snapshot().is_empty()).then(|| rd.snapshot().clone());
        let mut hs = rd.hs().cloned();
        if let Some(h) = &hs {
            self.raw.mut_store().set_hard_state(h.clone());
        }
        if let Some(s) = &snapshot {
            self.raw.mut_store().install_snapshot(s.clone());
            if !self.bugs.snapshot_not_persisted {
                // The whole WAL becomes [snapshot][hard state]; the hard state is in it.
                self.wal
                    .rewrite(ctx.storage(), self.raw.store())
                    .map_err(|e| Stop::of_wal("cannot persist a snapshot", e))?;
                hs = None;
            }
            // PLANTED BUG (`raftkv-snapshot-not-persisted`): the snapshot lives only in memory;
            // the entries after it are appended to the old log on disk.
        }
        self.raw
            .mut_store()
            .append(rd.entries())
            .map_err(|e| Stop::Refuse(format!("raft-rs handed entries that do not fit: {e}")))?;
        self.wal
            .append(ctx.storage(), None, rd.entries(), hs.as_ref())
            .map_err(|e| Stop::of_wal("cannot persist entries", e))?;
        // 3. Sync, 4. then the messages that promise durability.
        let must_sync = rd.must_sync();
        if self.bugs.apply_before_persist {
            // PLANTED BUG: the fsync runs in the background (group commit); raft-rs is told the
            // Ready is persisted (advance, below) before it is.
            if must_sync {
                self.dirty = true;
            }
            if self.dirty {
                self.held.append(&mut persisted);
                if !self.group_commit_armed {
                    self.group_commit_armed = true;
                    ctx.set_timer(
                        GROUP_COMMIT,
                        Duration::from_millis(self.cfg.group_commit_ms),
                    );
                }
            }
        } else if must_sync {
            ctx.sync();
        }
        self.send_all(ctx, persisted);
        // 5. Restore, apply, serve reads.
        if let Some(s) = &snapshot {
            let meta = s.get_metadata();
            self.machine = Machine::restore(&s.data, meta.index)
                .map_err(|e| Stop::Refuse(format!("a snapshot from the leader: {e}")))?;
            self.observe_applied(ctx, meta.term);
            ctx.note(
                "raftkv/snapshot-installed",
                json!({ "index": meta.index, "persisted": !self.bugs.snapshot_not_persisted }),
            );
        }
        let committed = rd.take_committed_entries();
        self.apply(ctx, &committed);
        for rs in rd.take_read_states() {
            let Ok(id) = <[u8; 8]>::try_from(rs.request_ctx.as_slice()) else {
                continue;
            };
            if let Some((to, key)) = self.reads.remove(&u64::from_be_bytes(id)) {
                self.confirmed.push((rs.index, to, key));
            }
        }
        // 6. Advance; the LightReady.
        let mut light = self.raw.advance(rd);
        if let Some(commit) = light.commit_index() {
            self.raw.mut_store().set_commit(commit);
        }
        let msgs = light.take_messages();
        self.send_all(ctx, msgs);
        let committed = light.take_committed_entries();
        self.apply(ctx, &committed);
        self.raw.advance_apply();
        self.serve_confirmed(ctx);
        Ok(())
    }

    /// The planted bug's background fsync: sync what was written, then release what waited.
    pub(super) fn group_commit(&mut self, ctx: &mut Ctx<'_, RaftKvNode>) {
        self.group_commit_armed = false;
        if self.dirty {
            ctx.sync();
            self.dirty = false;
        }
        let held = std::mem::take(&mut self.held);
        self.send_all(ctx, held);
    }

    pub(super) fn apply(&mut self, ctx: &mut Ctx<'_, RaftKvNode>, entries: &[Entry]) {
        for e in entries {
            if e.index <= self.machine.applied() {
                continue;
            }
            let applied = self.machine.apply(e.index, e.term, &e.data);
            self.observe_applied(ctx, e.term);
            let Ok(cmd) = serde_json::from_slice::<Command>(&e.data) else {
                continue;
            };
            let Some(waiting) = self.writes.remove(&(cmd.client_id, cmd.seq)) else {
                continue;
            };
            let resp = match applied {
                Applied::Output(out) => KvResponse::Done(out),
                // Not applied now, but an earlier copy may have been: unknown.
                Applied::Stale | Applied::Nothing => KvResponse::Unknown,
            };
            for to in waiting {
                ctx.reply(to, resp.clone());
            }
        }
    }

    pub(super) fn observe_applied(&self, ctx: &mut Ctx<'_, RaftKvNode>, term: u64) {
        ctx.observe(
            "raftkv/applied",
            json!({
                "index": self.machine.applied(),
                "term": term,
                "digest": format!("{:016x}", self.machine.digest()),
            }),
        );
    }

    /// Answers the confirmed reads the state machine has caught up with.
    pub(super) fn serve_confirmed(&mut self, ctx: &mut Ctx<'_, RaftKvNode>) {
        let applied = self.machine.applied();
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.confirmed)
            .into_iter()
            .partition(|(index, _, _)| *index <= applied);
        self.confirmed = waiting;
        for (_, to, key) in ready {
            let value = self.machine.get(&key);
            ctx.reply(to, KvResponse::Done(KvOutput::Value { value }));
        }
    }

    /// Records a leadership won; answers what was in flight when one is lost.
    pub(super) fn track_leadership(&mut self, ctx: &mut Ctx<'_, RaftKvNode>) {
        let r = &self.raw.raft;
        let now = (r.state == StateRole::Leader).then_some(r.term);
        if now == self.leading {
            return;
        }
        if let Some(term) = now {
            ctx.observe("raftkv/leader", json!({ "term": term }));
        } else {
            let hint = self.hint();
            // Unconfirmed reads never took effect; proposals may still commit: unknown.
            for (_, (to, _)) in std::mem::take(&mut self.reads) {
                ctx.reply(to, KvResponse::NotLeader { hint });
            }
            for (_, waiting) in std::mem::take(&mut self.writes) {
                for to in waiting {
                    ctx.reply(to, KvResponse::Unknown);
                }
            }
        }
        self.leading = now;
    }

    /// Takes a snapshot at the applied index when enough was applied since the last one, and
    /// rewrites the WAL (also when appended records pile up).
    pub(super) fn maybe_compact(&mut self, ctx: &mut Ctx<'_, RaftKvNode>) -> Result<(), Stop> {
        let applied = self.machine.applied();
        let store = self.raw.store();
        let due = applied >= store.snapshot_index() + self.cfg.compact_after_entries;
        if due && applied > store.snapshot_index() {
            let Some(term) = store.term_at(applied) else {
                return Ok(());
            };
            let mut snap = Snapshot::default();
            snap.mut_metadata().index = applied;
            snap.mut_metadata().term = term;
            snap.mut_metadata()
                .set_conf_state(store.conf_state().clone());
            snap.data = self.machine.snapshot().into();
            self.raw
                .mut_store()
                .compact(snap)
                .map_err(|e| Stop::Refuse(format!("cannot compact: {e}")))?;
            ctx.note("raftkv/compacted", json!({ "index": applied }));
        } else if self.wal.appended() < self.cfg.rewrite_after_records {
            return Ok(());
        }
        self.wal
            .rewrite(ctx.storage(), self.raw.store())
            .map_err(|e| Stop::of_wal("cannot rewrite the WAL", e))
    }
}
