//! Every fault kind declared once, in one row: the parameters a schedule entry of it takes,
//! which node it hits when the scenario leaves `node` open, whether a swarm may draw it, and the
//! line the docs table shows. The schedule parser, the shrinker's write-back, the nemesis's
//! resolution and the README's table are all read off these rows (and off serde's encoding of
//! [`Fault`](super::Fault)); nothing else lists the kinds' parameters.

use super::FaultKind;

/// Which node a fault hits when the scenario leaves `node` open: the nemesis draws one among
/// the nodes that qualify when the fault fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The fault names no node (partitions, network rules, heals and calms).
    NoNode,
    /// Any node of the cluster.
    Any,
    /// A node that is up. The fault takes it down, so a swarm's `down_nodes_max` bounds it.
    Up,
    /// A node that is down.
    Down,
    /// A node that is up and not paused. The fault stops it, so `down_nodes_max` bounds it.
    Running,
    /// A paused node.
    Paused,
    /// A node holding at least one durable file.
    WithFiles,
}

impl Target {
    /// How a skipped fault's reason says "no node qualifies": `no node is {what}` (these words
    /// are in the event log, so in pinned digests).
    pub fn what(self) -> &'static str {
        match self {
            Target::NoNode | Target::Any => "in the cluster",
            Target::Up => "up",
            Target::Down => "down",
            Target::Running => "running",
            Target::Paused => "paused",
            Target::WithFiles => "holding a file",
        }
    }

    /// True for a fault that takes its node out of service (bounded in a swarm).
    pub fn impairs(self) -> bool {
        matches!(self, Target::Up | Target::Running)
    }
}

/// What a fault kind is, besides its variant of [`Fault`](super::Fault) and its undo.
#[derive(Debug, Clone, Copy)]
pub struct Decl {
    /// The parameters a `[[faults.schedule]]` entry of this kind may carry besides `at_ms` and
    /// `fault`, in the order the shrinker writes them; anything else is an error, never
    /// silently ignored. A lasting kind's last one (`duration_ms`, or `down_ms` for a crash)
    /// says when its [`Fault::undo`](super::Fault::undo) runs. Each name's type is in
    /// [`ScheduleEntryFile`](super::schedule::ScheduleEntryFile), its meaning in the variant.
    pub params: &'static [&'static str],
    /// The node it hits when left open.
    pub target: Target,
    /// A swarm may draw it (the others only undo or target faults).
    pub drawable: bool,
    /// A disk fault: simulated disks only, never on real machines.
    pub disk: bool,
    /// Its row in the docs table (README, "Faults and their parameters").
    pub about: &'static str,
}

const NET_RULE: &[&str] = &["probability", "from", "to", "duration_ms"];
const NODE_FOR_A_WHILE: &[&str] = &["node", "duration_ms"];

impl FaultKind {
    /// This kind's declaration.
    pub fn decl(self) -> Decl {
        use Target::*;
        let d = |params, target, drawable, about| Decl {
            params,
            target,
            drawable,
            disk: false,
            about,
        };
        let disk = |params, drawable, about| Decl {
            params,
            target: Any,
            drawable,
            disk: true,
            about,
        };
        match self {
            FaultKind::Partition => d(
                &["kind", "node", "cut", "duration_ms"],
                NoNode,
                true,
                "`kind` = `halves` \\| `isolate` \\| `one-way` \\| `bridge` \\| `majorities-ring`; \
                 `node` (isolated / bridge node) or `cut` (the exact directed links \
                 `[[from, to], ...]` to cut, as the event log records them — nothing is drawn; \
                 what `faultlab shrink` writes); `duration_ms`",
            ),
            FaultKind::Heal => d(&[], NoNode, false, "— (heals every partition)"),
            FaultKind::NetLoss => d(
                NET_RULE,
                NoNode,
                true,
                "`probability`; `from`, `to` (node links; clients share their home node's \
                 links); `duration_ms` — a message is dropped",
            ),
            FaultKind::NetDuplicate => d(
                NET_RULE,
                NoNode,
                true,
                "`probability`; `from`, `to`; `duration_ms` — a message is delivered twice",
            ),
            FaultKind::NetDelay => d(
                &["probability", "delay_ms_max", "from", "to", "duration_ms"],
                NoNode,
                true,
                "`delay_ms_max`, `probability` (default 1); `from`, `to`; `duration_ms` — a \
                 message is held 1..`delay_ms_max` ms more (which reorders)",
            ),
            FaultKind::NetCalm => d(
                &[],
                NoNode,
                false,
                "— (removes every loss/duplicate/delay/corrupt rule)",
            ),
            FaultKind::Crash => d(
                &["node", "down_ms"],
                Up,
                true,
                "`node`; `down_ms` (restart after) — power off: unsynced writes are lost",
            ),
            FaultKind::Restart => d(&["node"], Down, false, "`node`"),
            FaultKind::Pause => d(
                NODE_FOR_A_WHILE,
                Running,
                true,
                "`node`; `duration_ms` — the process stops (SIGSTOP, a GC pause)",
            ),
            FaultKind::Resume => d(&["node"], Paused, false, "`node`"),
            FaultKind::ClockOffset => d(
                &["node", "offset_ms"],
                Any,
                true,
                "`node`, `offset_ms` (wall clock error against true time)",
            ),
            FaultKind::ClockDrift => d(&["node", "drift_ppm"], Any, true, "`node`, `drift_ppm`"),
            FaultKind::ClockJump => d(
                &["node", "delta_ms"],
                Any,
                true,
                "`node`, `delta_ms` (negative: backwards)",
            ),
            FaultKind::DiskTornWrite => disk(
                NODE_FOR_A_WHILE,
                true,
                "`node`; `duration_ms` — while it lasts, a crash of the node keeps only a \
                 prefix (whole 16-byte sectors) of each file's unsynced appends; a file \
                 replaced with `write` is atomic (old or new, as the real backend's rename) and \
                 never tears",
            ),
            FaultKind::DiskCorrupt => Decl {
                target: WithFiles,
                ..disk(
                    &["node", "file", "bit"],
                    true,
                    "`node`; `file` (default: drawn among the node's files); `bit` (default: \
                     drawn) — one bit flips at rest (logged); reads see it, later syncs do not \
                     repair it",
                )
            },
            FaultKind::DiskFsyncFail => disk(
                NODE_FOR_A_WHILE,
                true,
                "`node`; `duration_ms` — syncs fail (EIO) and, as on Linux, drop the writes \
                 they were to persist: gone even if a later sync succeeds",
            ),
            FaultKind::DiskLostSync => disk(
                NODE_FOR_A_WHILE,
                true,
                "`node`; `duration_ms` — syncs report success and persist nothing (a volatile \
                 write cache, a \"lying fsync\"): a crash before the next honest sync loses them",
            ),
            FaultKind::DiskFull => disk(
                NODE_FOR_A_WHILE,
                true,
                "`node`; `duration_ms` — writes and appends fail with no space \
                 (`StorageError::NoSpace`); nothing is written",
            ),
            FaultKind::DiskSlow => disk(
                &["node", "delay_ms", "duration_ms"],
                true,
                "`node`, `delay_ms`; `duration_ms` — every sync takes `delay_ms` longer (the \
                 slowest rule wins)",
            ),
            FaultKind::DiskCalm => Decl {
                target: NoNode,
                ..disk(&[], false, "— (ends every disk rule)")
            },
            FaultKind::NetCorrupt => d(
                NET_RULE,
                NoNode,
                true,
                "`probability`; `from`, `to`; `duration_ms` — one bit of a message flips in \
                 flight (what UDP's own 16-bit checksum misses now and then); every datagram \
                 ends with a CRC-32 of its envelope (4 bytes, not counted in a message's size, \
                 like UDP's own checksum), so the receiver drops it (`garbage_messages`) and \
                 never decodes it into a wrong message",
            ),
            FaultKind::ClockResync => d(
                &["node"],
                Any,
                true,
                "`node` — an NTP step: the wall clock is set to true time (backwards for a clock \
                 that ran ahead or fast) and the drift to 0",
            ),
        }
    }

    /// The parameters a `[[faults.schedule]]` entry of this kind may carry (see [`Decl::params`]).
    pub fn params(self) -> &'static [&'static str] {
        self.decl().params
    }

    /// The parameter that says how long a lasting kind lasts (`duration_ms`, `down_ms`).
    pub fn duration_param(self) -> Option<&'static str> {
        self.params()
            .last()
            .copied()
            .filter(|p| matches!(*p, "duration_ms" | "down_ms"))
    }

    /// True for the kinds a random swarm may draw (the others only undo or target faults).
    pub fn drawable(self) -> bool {
        self.decl().drawable
    }

    /// True for the disk kinds (simulated disks only; never on real machines).
    pub fn is_disk(self) -> bool {
        self.decl().disk
    }

    /// The README's table of fault kinds, rendered from the declarations (a test keeps the
    /// README's copy equal to it).
    pub fn docs_table() -> String {
        let mut out = String::from("| fault | parameters |\n|---|---|\n");
        for &kind in FaultKind::ALL {
            out.push_str(&format!("| `{kind}` | {} |\n", kind.decl().about));
        }
        out
    }
}
