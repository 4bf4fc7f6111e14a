//! The madsim backend's tests (`cargo simtest`): every shipped scenario on madsim, the
//! determinism audit (record by record, in one process and across two), planted bugs, and —
//! compiled under the same cfg — the planted-bug table on turmoil too, so both backends are
//! exercised by this binary.
//!
//! `FAULTLAB_SEED=N cargo simtest` replays one seed; `FAULTLAB_SEEDS=A..B cargo simtest`
//! sweeps; `MADSIM_TEST_CHECK_DETERMINISM=1 cargo simtest` runs every seed of the sweep twice
//! and compares the two event logs record by record (by default one seed per scenario is).

#[cfg(not(madsim))]
compile_error!(
    "sim-tests/madsim.rs must be built with `--cfg madsim`: run `cargo simtest`. If you did, a \
     RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS environment variable replaced the flags the alias \
     sets (cargo gives the environment precedence); unset it, or add `--cfg madsim --cfg \
     tokio_unstable` to it."
);

#[allow(dead_code)] // shared with the turmoil binary, which uses all of it
mod common;
mod madsim_backend;
#[allow(unused_imports, dead_code)]
// its own tests, and what only they use, are the turmoil binary's
mod planted_bugs;
