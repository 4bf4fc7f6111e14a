//! The madsim backend's tests (`cargo simtest`).

#[cfg(not(madsim))]
compile_error!(
    "sim-tests/madsim.rs must be built with `--cfg madsim`: run `cargo simtest`. If you did, a \
     RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS environment variable replaced the flags the alias \
     sets (cargo gives the environment precedence); unset it, or add `--cfg madsim --cfg \
     tokio_unstable` to it."
);

#[test]
fn smoke() {
    use faultlab::backend::BackendKind;
    use faultlab::runner::{RunOptions, run_seed};
    use faultlab::scenario::Scenario;
    let sc = Scenario::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fault-scenarios/idgen-calm.toml"))).unwrap();
    let opts = RunOptions { backend: BackendKind::Madsim, ..RunOptions::default() };
    let o = run_seed(&sc, 0, &opts).unwrap();
    eprintln!("{} {:?}", o.digest, o.overall());
    for v in &o.verdicts { eprintln!("{} {:?}", v.invariant, v.outcome); }
    eprintln!("{:?}", o.counters);
}
