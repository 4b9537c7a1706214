//! Running the scenarios and assembling the report.

use std::net::SocketAddr;
use std::sync::Arc;

use super::load::{Req, Workload};
use super::{affinity::*, report::*, seed::*, servers::*, workloads::*};
use crate::config::CacheBackend;
use crate::db::Database;

pub(super) fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

pub(super) fn wants(cfg: &BenchConfig, name: &str) -> bool {
    cfg.only.is_empty() || cfg.only.iter().any(|o| name.starts_with(o.as_str()))
}

/// Runs the benchmark; `say` prints progress lines.
pub fn run(cfg: &BenchConfig, say: &dyn Fn(&str)) -> anyhow::Result<Report> {
    let fresh = cfg.database_url.is_none();
    let url = match &cfg.database_url {
        Some(u) => u.clone(),
        None => create_bench_database(&cfg.settings)?,
    };
    let result = run_on(cfg, &url, say);
    if fresh {
        drop_bench_database(&cfg.settings, &url);
    }
    result
}

pub(super) fn run_on(cfg: &BenchConfig, url: &str, say: &dyn Fn(&str)) -> anyhow::Result<Report> {
    let mut settings = cfg.settings.clone();
    settings.database_url = url.to_string();
    settings.workers = workers();
    settings.db_pool_size = 16;
    // Tokens stay cached as long as allowed: warming 10,000 tenants' caches takes longer than
    // the default 30 s, and the measured window is about cached reads, tokens included.
    settings.token_cache_seconds = settings.token_cache_seconds.max(300);
    let db = Database::connect_quiet(url, 4)?;
    say(&format!("seeding {url}"));
    let mut seeded = seed_base(&db, &settings, cfg.items)?;
    let personal = settings.default_tenant_shortcode.clone();
    let mut report = Report {
        cores: cores(),
        concurrency: cfg.concurrency,
        duration_s: cfg.duration.as_secs_f64(),
        detail_bytes: 0,
        tenant_create_median_ms: Vec::new(),
        rows: Vec::new(),
    };
    let redis_prefix = format!("plio-bench-{}", std::process::id());
    let mut ceilings: (Option<f64>, Option<f64>) = (None, None);
    let counts = if cfg.tenants.is_empty() {
        vec![10]
    } else {
        cfg.tenants.clone()
    };

    for (round, &count) in counts.iter().enumerate() {
        let before = seeded.create_ms.len();
        say(&format!("creating tenants up to {count}"));
        grow_tenants(&db, &settings, &mut seeded, count, cfg.items, &|n, t| {
            say(&format!("  {n}/{t} tenants"))
        })?;
        let batch = &seeded.create_ms[before..];
        if !batch.is_empty() {
            report.tenant_create_median_ms.push((count, median(batch)));
            let first = median(&seeded.create_ms[..seeded.create_ms.len().min(10)]);
            let last = median(&seeded.create_ms[seeded.create_ms.len().saturating_sub(10)..]);
            report.rows.push(Row {
                scenario: "tenant-create".into(),
                tenants: count,
                rps: 1000.0 / median(batch).max(1e-9),
                p50_ms: median(batch),
                p90_ms: 0.0,
                p99_ms: 0.0,
                max_ms: 0.0,
                over_100ms: 0,
                errors: 0,
                stale: 0,
                of_ceiling: None,
                note: format!(
                    "median of {} creations; first 10 {first:.1} ms, last 10 {last:.1} ms{}",
                    batch.len(),
                    distributed_note(&seeded.distribute_ms)
                ),
            });
        }
        // Requests spread over every tenant's plio (the cache working set grows with the
        // tenant count) and the personal workspace's.
        let targets: Vec<Target> = seeded
            .tenants
            .iter()
            .cloned()
            .chain([Target {
                org: personal.clone(),
                uuid: seeded.personal_uuid.clone(),
                token: seeded.token.clone(),
            }])
            .collect();
        let detail = |anonymous: bool, suffix: &'static str| -> Arc<dyn Workload> {
            Arc::new(Detail {
                targets: targets.clone(),
                suffix,
                anonymous,
            })
        };

        let mut backends = vec![("memory", CacheBackend::Memory)];
        backends.push(("redis", CacheBackend::Redis));
        if cfg.redis_cluster_urls.is_some() {
            backends.push(("redis-cluster", CacheBackend::Redis));
        }
        if round == 0 {
            backends.push(("none", CacheBackend::None));
        }
        for (label, backend) in backends {
            let name = format!("detail-{label}");
            let cluster = label == "redis-cluster";
            let needed = wants(cfg, &name)
                || (round == 0 && label == "redis" && wants(cfg, "write-mix"))
                || (round == 0
                    && backend == CacheBackend::Memory
                    && (wants(cfg, "play") || wants(cfg, "list") || wants(cfg, "session-create")));
            if !needed || (label == "redis" && cfg.redis_url.is_none()) {
                continue;
            }
            let mut s = settings.clone();
            s.cache_backend = backend;
            s.redis_url = cfg.redis_url.clone().filter(|_| !cluster);
            s.redis_cluster_urls = cfg.redis_cluster_urls.clone().filter(|_| cluster);
            s.cache_key_prefix = redis_prefix.clone();
            let (addr, server) = match &cfg.target {
                Some(t) => (t.parse()?, None),
                None => {
                    let srv = start_plio(s)?;
                    (srv.addr, Some(srv))
                }
            };
            if report.detail_bytes == 0 {
                report.detail_bytes = fetch_size(addr, &targets[0]).unwrap_or(0);
            }
            if wants(cfg, &name) {
                say(&format!("warming {name}: one request per plio"));
                prewarm(addr, &targets);
                say(&format!("running {name} with {count} tenants"));
                let r = drive(addr, cfg, detail(false, ""));
                report.rows.push(Row::from_load(&name, count, &r, ""));
            }
            if round == 0 && backend == CacheBackend::Memory && wants(cfg, "play") {
                say("running play (anonymous)");
                let r = drive(addr, cfg, detail(true, "play/"));
                report
                    .rows
                    .push(Row::from_load("play", count, &r, "anonymous, memory cache"));
            }
            if round == 0 && backend == CacheBackend::Memory && wants(cfg, "list") {
                say("running list");
                let w = Arc::new(List {
                    targets: targets.clone(),
                });
                let r = drive(addr, cfg, w);
                report.rows.push(Row::from_load(
                    "list",
                    count,
                    &r,
                    "5 per page, cached pages",
                ));
            }
            if round == 0 && backend == CacheBackend::Memory && wants(cfg, "session-create") {
                say("running session-create");
                let plios: Vec<(Target, i64)> = targets
                    .iter()
                    .filter_map(|t| {
                        let body = fetch_body(addr, t)?;
                        let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
                        Some((t.clone(), v["id"].as_i64()?))
                    })
                    .collect();
                let r = drive(addr, cfg, Arc::new(SessionCreate { plios }));
                report.rows.push(Row::from_load(
                    "session-create",
                    count,
                    &r,
                    "POST /api/v1/sessions/, memory cache",
                ));
            }
            if round == 0 && label == "redis" && wants(cfg, "write-mix") {
                say("running write-mix (10% PATCH, 90% GET of detail and list, stale check)");
                let writers = (cfg.concurrency / 10).clamp(1, targets.len());
                let w = Arc::new(WriteMix::new(targets[..writers].to_vec()));
                let r = drive(addr, cfg, w);
                report.rows.push(Row::from_load(
                    "write-mix",
                    count,
                    &r,
                    "redis cache; detail and list reads",
                ));
            }
            if let Some(srv) = server {
                srv.stop();
            }
        }
        if round == 0 && cfg.target.is_none() && wants(cfg, "detail-logged") {
            say("running detail-logged (plio serve, access log to a file)");
            report
                .rows
                .push(super::child::logged(cfg, url, count, &targets)?);
        }
        if round == 0 && cfg.only.iter().any(|o| o.starts_with("burst")) {
            if cfg.target.is_some() {
                say("burst scenarios skipped: they start their own server (no --target)");
            } else {
                let rows = super::burst::bursts(cfg, url, count, &targets, &redis_prefix, say)?;
                report.rows.extend(rows);
            }
        }
        if round == 0 && cfg.target.is_none() && report.detail_bytes > 0 {
            let payload = Arc::new(vec![b'x'; report.detail_bytes]);
            if wants(cfg, "ceiling") {
                say("running ceiling-bare");
                let srv = start_ceiling(payload.clone(), None)?;
                let r = drive(srv.addr, cfg, Arc::new(Ceiling));
                srv.stop();
                ceilings.0 = Some(r.rps());
                report.rows.push(Row::from_load(
                    "ceiling-bare",
                    count,
                    &r,
                    "bare actix handler, same-size payload",
                ));
                if cfg.redis_url.is_some() {
                    say("running ceiling-redis");
                    let srv = start_ceiling(payload, cfg.redis_url.clone())?;
                    let r = drive(srv.addr, cfg, Arc::new(Ceiling));
                    srv.stop();
                    ceilings.1 = Some(r.rps());
                    report.rows.push(Row::from_load(
                        "ceiling-redis",
                        count,
                        &r,
                        "actix handler + one Redis GET",
                    ));
                }
            }
        }
    }
    for row in &mut report.rows {
        let ceiling = match row.scenario.as_str() {
            "detail-memory" | "detail-none" | "detail-logged" | "play" | "list" => ceilings.0,
            "detail-redis" | "detail-redis-cluster" | "write-mix" => ceilings.1,
            _ => None,
        };
        row.of_ceiling = ceiling.map(|c| row.rps / c.max(1e-9));
    }
    // The tenant-count target: each detail row beside the same scenario at the first count.
    let first_count = counts.first().copied().unwrap_or(10);
    let baselines: Vec<(String, f64)> = report
        .rows
        .iter()
        .filter(|r| r.tenants == first_count && r.scenario.starts_with("detail-"))
        .map(|r| (r.scenario.clone(), r.rps))
        .collect();
    for row in &mut report.rows {
        if row.tenants == first_count {
            continue;
        }
        if let Some((_, base)) = baselines.iter().find(|(s, _)| *s == row.scenario) {
            let share = format!(
                "{:.0}% of the {first_count}-tenant figure",
                100.0 * row.rps / base.max(1e-9)
            );
            row.note = if row.note.is_empty() {
                share
            } else {
                format!("{}; {share}", row.note)
            };
        }
    }
    clear_bench_keys(cfg, &redis_prefix);
    Ok(report)
}

/// One request per target, so that the measured window starts with a warm cache (eight at a
/// time: with 10,000 tenants, each first read plans its queries in a schema of its own).
pub(super) fn prewarm(addr: SocketAddr, targets: &[Target]) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                while let Some(t) =
                    targets.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                {
                    let _ = fetch_size(addr, t);
                }
            });
        }
    });
}

pub(super) fn fetch_size(addr: SocketAddr, target: &Target) -> Option<usize> {
    fetch_body(addr, target).map(|b| b.len())
}

/// The plio detail's body, on a connection of its own.
pub(super) fn fetch_body(addr: SocketAddr, target: &Target) -> Option<Vec<u8>> {
    let req = Req {
        method: "GET",
        path: format!("/api/v1/plios/{}/", target.uuid),
        headers: vec![
            ("Organization".into(), target.org.clone()),
            ("Authorization".into(), format!("Bearer {}", target.token)),
        ],
        body: None,
        tag: 0,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let s = tokio::net::TcpStream::connect(addr).await.ok()?;
        let mut r = tokio::io::BufReader::new(s);
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let mut head = format!(
            "GET {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
            req.path
        );
        for (k, v) in &req.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        r.get_mut().write_all(head.as_bytes()).await.ok()?;
        let mut line = String::new();
        let mut len = 0;
        loop {
            line.clear();
            if r.read_line(&mut line).await.ok()? == 0 {
                return None;
            }
            if line.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().ok()?;
                }
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).await.ok()?;
        Some(body)
    })
}

/// On Citus: how long moving each new schema to a worker took (after the creation's commit).
fn distributed_note(ms: &[f64]) -> String {
    if ms.is_empty() {
        String::new()
    } else {
        format!(
            "; then distributed to a worker (after the response) in median {:.1} ms",
            median(ms)
        )
    }
}
