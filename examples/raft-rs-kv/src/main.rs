//! `raftkv-lab`: faultlab's whole command line (run, replay, shrink, bench, scenarios, check,
//! serve, load) for the KV service on TiKV's raft crate.

fn main() -> std::process::ExitCode {
    faultlab::cli::main_with(faultlab::Registry::new().with::<raft_rs_kv::RaftKvService>())
}
