//! The `plio` binary: parse the command line, load `.env`, hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    // A missing .env is normal; a malformed one is reported.
    if let Err(e) = dotenvy::dotenv() {
        if !e.not_found() {
            eprintln!("error: .env: {e}");
            return std::process::ExitCode::from(2);
        }
    }
    plio::cli::exit(plio::cli::run(plio::cli::Cli::parse()))
}
