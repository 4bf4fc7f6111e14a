//! The `faultlab` binary: the whole command line for the built-in services. A crate with
//! services of its own writes the same three lines with its own registry.

fn main() -> std::process::ExitCode {
    faultlab::cli::main_with(faultlab::Registry::builtin())
}
