//! The linearizability checker's tests, one test binary: anomalies pinned with insta, the CLI,
//! differential testing against brute force, generated histories.

mod check_anomalies;
mod check_cli;
mod check_differential;
mod check_files;
mod check_generated;
