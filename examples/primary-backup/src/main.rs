//! `pb-lab`: faultlab's whole command line (run, replay, shrink, bench, scenarios, check,
//! serve, load) for the primary-backup service.

fn main() -> std::process::ExitCode {
    faultlab::cli::main_with(faultlab::Registry::new().with::<primary_backup::PbService>())
}
