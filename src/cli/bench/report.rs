//! What `plio bench` measured: configuration, rows, the report and its table.

use std::time::Duration;

use serde::Serialize;

use super::load::LoadResult;
use crate::config::Settings;

/// What the benchmark does.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Base settings (DATABASE_URL's server hosts the bench database).
    pub settings: Settings,
    /// Use this database instead of creating a fresh one.
    pub database_url: Option<String>,
    /// Drive an already running server instead of in-process ones.
    pub target: Option<String>,
    /// Tenant counts to run the detail scenario at (ascending).
    pub tenants: Vec<usize>,
    /// Connections.
    pub concurrency: usize,
    /// Measured time per scenario.
    pub duration: Duration,
    /// Unmeasured time before each scenario.
    pub warmup: Duration,
    /// Redis for the redis scenarios.
    pub redis_url: Option<String>,
    /// Seed nodes of a Redis Cluster for `detail-redis-cluster` (none: not run).
    pub redis_cluster_urls: Option<Vec<String>>,
    /// Scenario names to run (empty = all).
    pub only: Vec<String>,
    /// Items (each with a question) per plio.
    pub items: usize,
    /// Connections opened at once by the burst scenarios.
    pub burst_connections: usize,
    /// Wait after a burst before reading the server's memory again.
    pub settle: Duration,
}

/// One row of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Scenario name.
    pub scenario: String,
    /// Tenants present.
    pub tenants: usize,
    /// Requests per second (or tenants created per second for tenant-create).
    pub rps: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest request, ms (JSON report only).
    pub max_ms: f64,
    /// Requests slower than 100 ms (JSON report only).
    pub over_100ms: u64,
    /// Failed requests.
    pub errors: u64,
    /// Stale reads (write mix).
    pub stale: u64,
    /// Share of the scenario's ceiling, if it has one.
    pub of_ceiling: Option<f64>,
    /// Notes (which ceiling, sizes).
    pub note: String,
}

impl Row {
    pub(super) fn from_load(scenario: &str, tenants: usize, r: &LoadResult, note: &str) -> Self {
        Self {
            scenario: scenario.into(),
            tenants,
            rps: r.rps(),
            p50_ms: r.percentile_ms(0.50),
            p90_ms: r.percentile_ms(0.90),
            p99_ms: r.percentile_ms(0.99),
            max_ms: r.percentile_ms(1.0),
            over_100ms: r.latencies_us.iter().filter(|&&us| us > 100_000).count() as u64,
            errors: r.errors,
            stale: r.stale,
            of_ceiling: None,
            note: note.into(),
        }
    }
}

/// The full report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// CPUs available.
    pub cores: usize,
    /// Connections used.
    pub concurrency: usize,
    /// Seconds measured per scenario.
    pub duration_s: f64,
    /// Bytes of one plio detail response.
    pub detail_bytes: usize,
    /// Median ms to create one tenant (schema + all tables), per batch.
    pub tenant_create_median_ms: Vec<(usize, f64)>,
    /// Rows.
    pub rows: Vec<Row>,
}

/// A plio to request: the `Organization` header, its uuid and a token that may read it.
/// The report as a terminal table.
pub fn table(r: &Report) -> String {
    let mut out = format!(
        "plio bench: {} cores (server pinned to CPU 0, load generator to CPU {}), {} connections, {:.0} s per scenario, detail payload {} bytes\n",
        r.cores,
        r.cores.saturating_sub(1),
        r.concurrency,
        r.duration_s,
        r.detail_bytes
    );
    out.push_str(&format!(
        "{:<15} {:>8} {:>10} {:>8} {:>8} {:>8} {:>7} {:>6} {:>9}  {}\n",
        "scenario",
        "tenants",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "errors",
        "stale",
        "ceiling%",
        "note"
    ));
    for row in &r.rows {
        out.push_str(&format!(
            "{:<15} {:>8} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>7} {:>6} {:>9}  {}\n",
            row.scenario,
            row.tenants,
            row.rps,
            row.p50_ms,
            row.p90_ms,
            row.p99_ms,
            row.errors,
            row.stale,
            row.of_ceiling
                .map_or("-".to_string(), |c| format!("{:.0}%", c * 100.0)),
            row.note
        ));
    }
    out
}
