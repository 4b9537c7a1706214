//! The `plio` binary: parse the command line, load `.env`, hand over to the library.

use clap::Parser;

/// jemalloc with background threads: what a burst of connections allocated goes back to the
/// OS within seconds of the burst (glibc's arenas kept it; see docs/decisions.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
