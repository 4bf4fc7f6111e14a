//! faultlab — deterministic simulation testing for distributed services.
//!
//! Layers (data flows down, nothing flows back up): the CLI, `sim-tests/` and `ci/` drive the
//! [`runner`], which builds a world from a scenario and a seed, applies the nemesis, collects the
//! event log and the history, and calls the checkers. Services see only the node environment.
//! See `../shared/DESIGN.md` for the full picture.

pub mod bench;
pub mod check;
pub mod history;
