//! The `faultlab` binary: the edge where errors become exit codes.
//!
//! Exit codes: 0 = pass, 1 = an invariant or check failed, 2 = bad input or usage,
//! 3 = the checker ran out of budget (unknown).

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
