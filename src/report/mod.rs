//! The run report: one self-contained HTML page (`report.html`, written by `faultlab replay
//! --out DIR`) that shows a run at a glance — the client operations per client on a time axis
//! (ok / fail / info coloured), fault intervals per node (crashes, pauses, partitions, network
//! rules, clock steps), the verdicts (pass / FAIL / unknown, never confused), the operations a
//! failed verdict blames highlighted on the timeline, and the run's parameters with the replay
//! command. Verdicts judged on the event log blame records instead: those are drawn on lanes of
//! their kind (a protected resource's writes, Raft's leaders and votes) and zoomed on the same
//! way; Raft nodes carry a strip with their role and term as their own records show it.
//!
//! Inline CSS and SVG only: no script, no network. Big runs stay small: the overview draws an
//! operation on its own only when it is at least two pixels wide and otherwise one bar per
//! pixel column and outcome class (info beats fail beats ok, so rare outcomes stay visible); the
//! detail view draws a window around the blamed operations, at most [`DETAIL_OPS_MAX`] of them.
//!
//! It reads records only (history, event log, verdicts): it never imports a service or a backend.

mod files;
mod html;
pub mod records;
mod svg;
pub mod timeline;

pub use files::{WriteError, write_run_dir};
pub use html::render;

/// Operations drawn one by one in the detail view at most.
pub const DETAIL_OPS_MAX: usize = 1500;

/// What a report is made from.
pub struct ReportInput<'a> {
    /// The scenario that ran.
    pub scenario: &'a crate::scenario::Scenario,
    /// What the run produced.
    pub outcome: &'a crate::runner::RunOutcome,
    /// The command that replays the run.
    pub replay: String,
}
