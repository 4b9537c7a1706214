//! The burst scenarios (`--only burst`): a `plio serve` child process, so that its resident
//! memory is its own and not the load generator's, hit by `--burst-connections` connections at
//! once, right after it started and read each plio once (its caches hold the payloads; its
//! pool has yet to open its connections, as after a deploy). Reported: resident memory at rest
//! before the burst, at the peak of the burst and `--settle` seconds after the burst's
//! connections closed, and the 503s answered (a healthy database must not yield any: SPEC 6.5).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::child::{ChildOptions, PeakRss, Server};
use super::load::{Outcome, Req, Workload};
use super::{report::*, run::*, seed::*, workloads::*};

/// Counts the 503s and other failed statuses of a workload over the whole burst (warm-up
/// included; the row's `errors` also counts broken connections, in the measured window only).
struct Counting {
    inner: Arc<dyn Workload>,
    unavailable: AtomicU64,
    other: AtomicU64,
}

impl Workload for Counting {
    fn next(&self, conn: usize, seq: u64) -> Req {
        self.inner.next(conn, seq)
    }

    fn check(&self, req: &Req, status: u16, body: &[u8]) -> Outcome {
        if status == 503 {
            self.unavailable.fetch_add(1, Ordering::Relaxed);
        } else if !(200..300).contains(&status) {
            self.other.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.check(req, status, body)
    }
}

/// The burst rows: the cached plio detail and the (uncached) plio list, with the Redis cache
/// unless `--no-redis` (then the memory cache).
pub(super) fn bursts(
    cfg: &BenchConfig,
    url: &str,
    count: usize,
    targets: &[Target],
    redis_prefix: &str,
    say: &dyn Fn(&str),
) -> anyhow::Result<Vec<Row>> {
    // The load generator holds one descriptor per connection.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let mut rows = Vec::new();
    let Some(probe) = targets.first() else {
        return Ok(rows);
    };
    let scenarios: [(&str, Arc<dyn Workload>); 2] = [
        (
            "burst-detail",
            Arc::new(Detail {
                targets: targets.to_vec(),
                suffix: "",
                anonymous: false,
            }),
        ),
        (
            "burst-list",
            Arc::new(List {
                targets: targets.to_vec(),
            }),
        ),
    ];
    for (name, workload) in scenarios {
        if !cfg.only.iter().any(|o| name.starts_with(o.as_str())) {
            continue;
        }
        let redis = cfg.redis_url.as_deref().map(|u| (u, redis_prefix));
        let options = ChildOptions {
            redis,
            ..ChildOptions::default()
        };
        let server = Server::start(url, &options, probe)?;
        prewarm(server.addr, targets);
        let rest = server.rss_mb();
        say(&format!("{name}: {} connections", cfg.burst_connections));
        let counting = Arc::new(Counting {
            inner: workload,
            unavailable: AtomicU64::new(0),
            other: AtomicU64::new(0),
        });
        let sampler = PeakRss::start(server.child.id());
        let burst = BenchConfig {
            concurrency: cfg.burst_connections,
            ..cfg.clone()
        };
        let r = drive(server.addr, &burst, counting.clone());
        let peak = sampler.stop();
        say(&format!(
            "{name}: burst over, waiting {:.0} s",
            cfg.settle.as_secs_f64()
        ));
        std::thread::sleep(cfg.settle);
        let after = server.rss_mb();
        let note = format!(
            "{} conns, {} cache; RSS MB rest {rest:.0}, peak {peak:.0}, {:.0} s after {after:.0}; {} x 503, {} other failed statuses",
            cfg.burst_connections,
            if redis.is_some() { "redis" } else { "memory" },
            cfg.settle.as_secs_f64(),
            counting.unavailable.load(Ordering::Relaxed),
            counting.other.load(Ordering::Relaxed)
        );
        rows.push(Row::from_load(name, count, &r, &note));
    }
    Ok(rows)
}
