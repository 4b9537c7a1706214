//! The `plio` command line (SPEC 9). `main.rs` parses and calls [`run`].

/// `println!` that ignores a closed stdout (`plio tenant list | head` must not panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

pub mod bench;
pub mod cache;
pub mod citus;
pub mod db;
pub mod migrate;
pub mod seed;
pub mod serve;
pub mod tenant;
pub mod user;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;

/// plio: a schema-per-tenant backend for interactive videos (Plio-compatible API).
#[derive(Debug, Parser)]
#[command(name = "plio", version, about, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (BIND, WORKERS, DATABASE_URL, ...).
    Serve,
    /// Apply public migrations, then tenant migrations to public and every tenant schema.
    Migrate(migrate::MigrateArgs),
    /// Load fixtures (public organization, roles) and bootstrap the superuser; idempotent.
    Seed(seed::SeedArgs),
    /// Create, list and drop tenants.
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Inspect and clear the Redis cache.
    #[command(subcommand)]
    Cache(cache::CacheCommand),
    /// Load benchmark: seeds tenants, runs servers, reports req/s and latency per scenario.
    Bench(bench::BenchArgs),
    /// Run on a Citus coordinator: check and set up the cluster, distribute tenants.
    #[command(subcommand)]
    Citus(citus::CitusCommand),
    /// Database server helpers used by entrypoint.sh.
    #[command(subcommand)]
    Db(db::DbCommand),
}

/// Ends the process with `code` without running C exit handlers. libpq's OpenSSL registers
/// `OPENSSL_cleanup` at exit, and r2d2 establishes connections on its own threads: a command
/// that returns while one of them is mid-handshake would crash in that cleanup (seen as
/// SIGSEGV after a successful `plio migrate` under load). Rust's own buffers are flushed
/// first; nothing else needs to run at exit.
pub fn exit(code: ExitCode) -> ! {
    use std::io::Write;
    let raw = if code == ExitCode::SUCCESS {
        0
    } else if code == ExitCode::from(2) {
        2
    } else {
        1
    };
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` only ends the process; every Rust buffer that matters was flushed above.
    #[expect(unsafe_code, reason = "libc::_exit has no safe wrapper; see above")]
    unsafe {
        libc::_exit(raw)
    }
}

/// Runs a parsed command; errors are printed to stderr with a non-zero exit code.
pub fn run(cli: Cli) -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // The benchmark's in-process servers would otherwise log every request.
    let quiet = matches!(cli.command, Command::Bench(_));
    // The server logs through a background writer (flushed when `log_writer` drops, after
    // the command returns); one-shot commands write directly.
    let log_writer = crate::telemetry::init(
        settings.log_format,
        settings.rust_log.as_deref(),
        if quiet {
            "warn"
        } else {
            "info,actix_server=warn"
        },
        matches!(cli.command, Command::Serve),
    );
    let result = match cli.command {
        Command::Serve => serve::run(settings),
        Command::Migrate(args) => migrate::run(&settings, &args),
        Command::Seed(args) => seed::run(&settings, &args),
        Command::Tenant(cmd) => tenant::run(&settings, cmd),
        Command::User(cmd) => user::run(&settings, cmd),
        Command::Cache(cmd) => cache::run(&settings, cmd),
        Command::Bench(args) => bench::run(&settings, &args),
        Command::Citus(cmd) => citus::run(&settings, cmd),
        Command::Db(cmd) => db::run(&settings, cmd),
    };
    // Everything the command logged is out before its outcome is printed.
    drop(log_writer);
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
