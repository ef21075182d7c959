//! Parse, dispatch, map errors to exit codes.

use clap::Parser;

fn main() {
    // Usage errors exit 2 (clap's own convention, SPEC §1); --help and --version exit 0.
    let cli = jail::cli::Cli::parse();
    let code = jail::commands::dispatch(cli);
    std::process::exit(code);
}
