//! The `mge` command line. Business logic lives in the `crates/`; this binary parses arguments,
//! opens the store and prints results.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
