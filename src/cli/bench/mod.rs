//! `plio bench`: see the README section "Benchmark". The benchmark lives here, outside the
//! server's path: CPU affinity and its `unsafe` stay in this module tree
//! (the only other `unsafe` is `cli::exit`'s `_exit`).

#![expect(
    clippy::indexing_slicing,
    reason = "the benchmark indexes vectors it sized itself; a panic ends a measurement, not a request"
)]

use std::process::ExitCode;
use std::time::Duration;

mod affinity;
mod burst;
mod child;
mod load;
mod report;
mod run;
mod seed;
mod servers;
mod workloads;

use self::report::{table, BenchConfig};
use crate::config::Settings;

/// Options of `plio bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Seed and use this database (default: a fresh `plio_bench_<pid>` on DATABASE_URL's
    /// server, dropped afterwards).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Drive an already running server (HOST:PORT) whose database is --database-url, instead
    /// of in-process servers. Pin it yourself, e.g. `taskset -c 0 plio serve`.
    #[arg(long)]
    pub target: Option<String>,
    /// Tenant counts to measure at, ascending (e.g. 10,10000).
    #[arg(long, value_delimiter = ',', default_value = "10")]
    pub tenants: Vec<usize>,
    /// Concurrent keep-alive connections.
    #[arg(short = 'c', long, default_value_t = 32)]
    pub concurrency: usize,
    /// Seconds measured per scenario.
    #[arg(short = 'd', long, default_value_t = 5.0)]
    pub duration: f64,
    /// Seconds of unmeasured warm-up per scenario.
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Redis for the redis scenarios (default: REDIS_URL, else redis://127.0.0.1:6379).
    #[arg(long)]
    pub redis_url: Option<String>,
    /// Seed nodes of a Redis Cluster (redis://h:p,redis://h:p) to run the cached detail on it
    /// too, as `detail-redis-cluster` (default: REDIS_CLUSTER_URLS, else not run).
    #[arg(long, value_delimiter = ',')]
    pub redis_cluster_urls: Vec<String>,
    /// Skip the scenarios that need Redis.
    #[arg(long)]
    pub no_redis: bool,
    /// Only scenarios starting with these names (detail-memory, detail-redis (with
    /// detail-redis-cluster), detail-none,
    /// detail-logged, play, list, session-create, write-mix, ceiling; burst-detail and
    /// burst-list run only when named here).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Connections opened at once by the burst scenarios.
    #[arg(long, default_value_t = 4096)]
    pub burst_connections: usize,
    /// Seconds to wait after a burst before reading the server's memory again.
    #[arg(long, default_value_t = 20.0)]
    pub settle: f64,
    /// Items (each with a question) per plio.
    #[arg(long, default_value_t = 10)]
    pub items: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit non-zero if any request failed or any read was stale.
    #[arg(long)]
    pub strict: bool,
}

/// Runs the benchmark and prints the report.
pub fn run(settings: &Settings, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    if args.duration <= 0.0
        || args.warmup < 0.0
        || args.settle < 0.0
        || args.concurrency == 0
        || args.burst_connections == 0
    {
        anyhow::bail!(
            "--duration must be positive, --warmup and --settle non-negative, --concurrency and --burst-connections at least 1"
        );
    }
    if args.tenants.iter().any(|&t| t == 0 || t > 100_000) {
        anyhow::bail!("--tenants takes counts from 1 to 100000");
    }
    let mut tenants = args.tenants.clone();
    tenants.sort_unstable();
    tenants.dedup();
    let redis_url = if args.no_redis {
        None
    } else {
        Some(
            args.redis_url
                .clone()
                .or_else(|| settings.redis_url.clone())
                .unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
        )
    };
    let redis_cluster_urls = match (&args.redis_cluster_urls[..], args.no_redis) {
        (_, true) => None,
        ([], false) => settings.redis_cluster_urls.clone(),
        (urls, false) => Some(urls.to_vec()),
    };
    let cfg = BenchConfig {
        settings: settings.clone(),
        database_url: args.database_url.clone(),
        target: args.target.clone(),
        tenants,
        concurrency: args.concurrency,
        duration: Duration::from_secs_f64(args.duration),
        warmup: Duration::from_secs_f64(args.warmup),
        redis_url,
        redis_cluster_urls,
        only: args.only.clone(),
        items: args.items,
        burst_connections: args.burst_connections,
        settle: Duration::from_secs_f64(args.settle),
    };
    let json = args.json;
    let report = run::run(&cfg, &|line| {
        if !json {
            eprintln!("{line}");
        }
    })?;
    if json {
        say!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        say!("{}", table(&report));
    }
    let bad = report.rows.iter().any(|r| r.errors > 0 || r.stale > 0);
    Ok(if args.strict && bad {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
