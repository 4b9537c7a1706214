//! `plio bench`: seeds tenants with realistic plios, runs servers in-process (or targets one),
//! drives load with [`load`], and reports each scenario next to its ceiling (SPEC 10.1).

pub mod load;

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use self::load::{LoadResult, Outcome, Req, Workload};
use crate::config::{CacheBackend, Settings};
use crate::db::models::content::{Image, Item, Plio, PlioGraph, Question, Video};
use crate::db::models::{role, user};
use crate::db::{Database, Scope};
use crate::tenancy::provisioning::{self, NewTenant};
use crate::tenancy::SchemaName;
use crate::{Application, ServeOptions};

/// Pins the calling thread to one CPU (Linux; elsewhere a no-op). Best effort.
pub fn pin_current_thread(cpu: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: `set` is a plain bit set on the stack, sized by `size_of`, passed by pointer
    // to sched_setaffinity for the calling thread (pid 0) only.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        let _ = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpu;
}

/// CPUs available to this process.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

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
    /// Scenario names to run (empty = all).
    pub only: Vec<String>,
    /// Items (each with a question) per plio.
    pub items: usize,
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
    fn from_load(scenario: &str, tenants: usize, r: &LoadResult, note: &str) -> Self {
        Self {
            scenario: scenario.into(),
            tenants,
            rps: r.rps(),
            p50_ms: r.percentile_ms(0.50),
            p90_ms: r.percentile_ms(0.90),
            p99_ms: r.percentile_ms(0.99),
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
#[derive(Debug, Clone)]
struct Target {
    org: String,
    uuid: String,
    token: String,
}

struct Seeded {
    token: String,
    /// Each tenant's plio and its creator's token, in creation order. Every tenant has its
    /// own creator: one user in every tenant would make the creator payload (which lists the
    /// user's organizations) grow with the tenant count.
    tenants: Vec<Target>,
    /// Creation time of each tenant, ms.
    create_ms: Vec<f64>,
    personal_uuid: String,
}

fn realistic_graph(items: usize, creator: i32) -> PlioGraph {
    let now = chrono::Utc::now();
    PlioGraph {
        plio: Plio {
            id: 0,
            video_id: None,
            name: "Photosynthesis: the light reactions".into(),
            uuid: String::new(),
            created_by_id: creator,
            failsafe_url: "https://example.org/fallback".into(),
            status: "published".into(),
            is_public: true,
            config: Some(json!({"settings": {"player": {"skipEnabled": true}}})),
            created_at: now,
            updated_at: now,
        },
        video: Some(Video {
            id: 0,
            url: "https://www.youtube.com/watch?v=dQw4w9WgXcQ".into(),
            title: Some("Light reactions".into()),
            duration: Some(600.0),
            created_by_id: Some(creator),
            created_at: now,
            updated_at: now,
        }),
        items: (0..items)
            .map(|i| {
                let item = Item {
                    id: 0,
                    plio_id: 0,
                    type_: "question".into(),
                    time: 30.0 + 45.0 * i as f64,
                    meta: Some(json!({"source": {"name": "bench"}})),
                    created_at: now,
                    updated_at: now,
                };
                let q = Question {
                    id: 0,
                    item_id: 0,
                    image_id: None,
                    type_: "mcq".into(),
                    text: format!("Question {i}: which molecule carries energy out of the thylakoid membrane?"),
                    options: Some(json!(["ATP", "Glucose", "Carbon dioxide", "Water"])),
                    correct_answer: Some(json!(0)),
                    survey: false,
                    has_char_limit: false,
                    max_char_limit: None,
                    created_at: now,
                    updated_at: now,
                };
                (item, Some((q, None::<Image>)))
            })
            .collect(),
    }
}

fn create_bench_database(settings: &Settings) -> anyhow::Result<String> {
    use diesel::{Connection, RunQueryDsl};
    let (maint, _) = crate::cli::db::maintenance_url(&settings.database_url)?;
    let name = format!("plio_bench_{}", std::process::id());
    let mut conn = diesel::PgConnection::establish(&maint)?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)?;
    diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn)?;
    let base = maint.rsplit_once('/').map_or(maint.as_str(), |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

fn drop_bench_database(settings: &Settings, url: &str) {
    use diesel::{Connection, RunQueryDsl};
    let _ = settings;
    let Ok((maint, name)) = crate::cli::db::maintenance_url(url) else {
        return;
    };
    if let Ok(mut conn) = diesel::PgConnection::establish(&maint) {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn);
    }
}

fn seed_base(db: &Database, settings: &Settings, items: usize) -> anyhow::Result<Seeded> {
    let (_, failed) = provisioning::migrate_all(db, 2, &|_| {}, &|_| {})?;
    if let Some(f) = failed.iter().find(|o| o.error.is_some()) {
        anyhow::bail!("migrating {} failed: {:?}", f.schema, f.error);
    }
    let mut conn = db.connection()?;
    crate::seed::run(&mut conn, settings, None)?;
    let (token, personal_uuid) =
        db.run_blocking::<_, anyhow::Error, _>(&Scope::Schema(SchemaName::public()), |conn| {
            let id = user::insert(
                conn,
                &user::NewUser {
                    email: Some("bench@plio.local"),
                    first_name: "Bench",
                    last_name: "Creator",
                    ..Default::default()
                },
            )?;
            let token = crate::auth::tokens::issue(conn, id)?.access_token;
            let plio_id =
                crate::db::models::content::insert_graph(conn, &realistic_graph(items, id), id)?;
            let uuid = plio_uuid(conn, plio_id)?;
            Ok((token, uuid))
        })?;
    Ok(Seeded {
        token,
        tenants: Vec::new(),
        create_ms: Vec::new(),
        personal_uuid,
    })
}

fn plio_uuid(conn: &mut diesel::PgConnection, id: i32) -> anyhow::Result<String> {
    use crate::db::schema::tenant::plio;
    use diesel::prelude::*;
    let published: String = diesel::update(plio::table.filter(plio::id.eq(id)))
        .set(plio::status.eq("published"))
        .returning(plio::uuid)
        .get_result(conn)?;
    Ok(published)
}

/// Grows the tenant set to `target` tenants, each with one realistic plio.
fn grow_tenants(
    db: &Database,
    settings: &Settings,
    seeded: &mut Seeded,
    target: usize,
    items: usize,
    progress: &dyn Fn(usize, usize),
) -> anyhow::Result<()> {
    let mut conn = db.connection()?;
    let view = role::id_by_name(&mut conn, "org-view")?;
    while seeded.tenants.len() < target {
        let n = seeded.tenants.len() + 1;
        let shortcode = format!("bench-{n:05}");
        let started = Instant::now();
        let org = provisioning::create_tenant(
            &mut conn,
            &NewTenant {
                name: format!("Bench {n}"),
                shortcode: shortcode.clone(),
                domain: None,
            },
            &settings.default_tenant_domain,
        )
        .map_err(|e| anyhow::anyhow!("creating {shortcode}: {e}"))?;
        seeded
            .create_ms
            .push(started.elapsed().as_secs_f64() * 1000.0);
        let schema = SchemaName::from_stored(&org.schema_name)
            .ok_or_else(|| anyhow::anyhow!("bad schema"))?;
        let email = format!("creator-{n:05}@bench.plio.local");
        let creator = user::insert(
            &mut conn,
            &user::NewUser {
                email: Some(&email),
                first_name: "Bench",
                last_name: "Creator",
                ..Default::default()
            },
        )?;
        let token = crate::auth::tokens::issue(&mut conn, creator)?.access_token;
        let uuid =
            crate::db::scoped::<_, anyhow::Error, _>(&mut conn, &Scope::Schema(schema), |conn| {
                let id = crate::db::models::content::insert_graph(
                    conn,
                    &realistic_graph(items, creator),
                    creator,
                )?;
                plio_uuid(conn, id)
            })?;
        crate::db::models::membership::insert(&mut conn, creator, org.id, view, false)?;
        seeded.tenants.push(Target {
            org: shortcode,
            uuid,
            token,
        });
        if n % 100 == 0 || n == target {
            progress(n, target);
        }
    }
    Ok(())
}

struct InProcess {
    handle: actix_web::dev::ServerHandle,
    addr: SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    fn stop(mut self) {
        let handle = self.handle.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(handle.stop(true));
            }
        })
        .join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn server_cpu() -> Option<usize> {
    (cores() >= 2).then_some(0)
}

fn loadgen_cpu() -> Option<usize> {
    (cores() >= 2).then(|| cores() - 1)
}

fn workers() -> usize {
    cores().saturating_sub(1).max(1)
}

fn start_plio(settings: Settings) -> anyhow::Result<InProcess> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        system.block_on(async move {
            let options = ServeOptions {
                pin_cpu: server_cpu(),
                disable_signals: true,
            };
            match Application::build_with(settings, listener, options) {
                Ok(app) => {
                    let _ = tx.send(Ok(app.handle()));
                    let _ = app.run_until_stopped().await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
    });
    let handle = rx.recv()??;
    Ok(InProcess {
        handle,
        addr,
        thread: Some(thread),
    })
}

/// The ceilings: a bare handler answering `payload`, and one answering a Redis GET of it.
fn start_ceiling(payload: Arc<Vec<u8>>, redis: Option<String>) -> anyhow::Result<InProcess> {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        system.block_on(async move {
            let conn = match &redis {
                Some(url) => match async {
                    let client = redis::Client::open(url.as_str())?;
                    let mut c = client.get_multiplexed_async_connection().await?;
                    let _: () = redis::cmd("SET")
                        .arg("plio-bench:ceiling")
                        .arg(payload.as_slice())
                        .query_async(&mut c)
                        .await?;
                    Ok::<_, redis::RedisError>(c)
                }
                .await
                {
                    Ok(c) => Some(c),
                    Err(e) => {
                        let _ = tx.send(Err(anyhow::anyhow!("redis: {e}")));
                        return;
                    }
                },
                None => None,
            };
            let body = payload.clone();
            let server = HttpServer::new(move || {
                if let Some(cpu) = server_cpu() {
                    pin_current_thread(cpu);
                }
                let body = body.clone();
                let conn = conn.clone();
                App::new().route(
                    "/ceiling",
                    web::get().to(move || {
                        let body = body.clone();
                        let conn = conn.clone();
                        async move {
                            match conn {
                                Some(mut c) => {
                                    let v: Result<Vec<u8>, _> = redis::cmd("GET")
                                        .arg("plio-bench:ceiling")
                                        .query_async(&mut c)
                                        .await;
                                    match v {
                                        Ok(bytes) => HttpResponse::Ok()
                                            .content_type("application/json")
                                            .body(bytes),
                                        Err(_) => HttpResponse::ServiceUnavailable().finish(),
                                    }
                                }
                                None => HttpResponse::Ok()
                                    .content_type("application/json")
                                    .body(body.as_ref().clone()),
                            }
                        }
                    }),
                )
            })
            .workers(workers())
            .disable_signals()
            .listen(listener);
            match server {
                Ok(s) => {
                    let s = s.run();
                    let _ = tx.send(Ok(s.handle()));
                    let _ = s.await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e.into()));
                }
            }
        });
    });
    let handle = rx.recv()??;
    Ok(InProcess {
        handle,
        addr,
        thread: Some(thread),
    })
}

fn drive(addr: SocketAddr, cfg: &BenchConfig, workload: Arc<dyn Workload>) -> LoadResult {
    let (c, w, d) = (cfg.concurrency, cfg.warmup, cfg.duration);
    let host = addr.to_string();
    std::thread::spawn(move || {
        if let Some(cpu) = loadgen_cpu() {
            pin_current_thread(cpu);
        }
        load::run(addr, &host, c, w, d, workload)
    })
    .join()
    .unwrap_or_default()
}

struct Detail {
    targets: Vec<Target>,
    suffix: &'static str,
    anonymous: bool,
}

impl Workload for Detail {
    fn next(&self, conn: usize, seq: u64) -> Req {
        let i =
            (conn as u64).wrapping_mul(7919).wrapping_add(seq) as usize % self.targets.len().max(1);
        let t = &self.targets[i];
        let mut headers = vec![("Organization".to_string(), t.org.clone())];
        if !self.anonymous {
            headers.push(("Authorization".into(), format!("Bearer {}", t.token)));
        }
        Req {
            method: "GET",
            path: format!("/api/v1/plios/{}/{}", t.uuid, self.suffix),
            headers,
            body: None,
            tag: 0,
        }
    }
}

struct List {
    targets: Vec<Target>,
}

impl Workload for List {
    fn next(&self, conn: usize, seq: u64) -> Req {
        let t = &self.targets[(conn + seq as usize) % self.targets.len().max(1)];
        Req {
            method: "GET",
            path: "/api/v1/plios/".into(),
            headers: vec![
                ("Organization".into(), t.org.clone()),
                ("Authorization".into(), format!("Bearer {}", t.token)),
            ],
            body: None,
            tag: 0,
        }
    }
}

struct Ceiling;

impl Workload for Ceiling {
    fn next(&self, _: usize, _: u64) -> Req {
        Req {
            method: "GET",
            path: "/ceiling".into(),
            headers: Vec::new(),
            body: None,
            tag: 0,
        }
    }
}

/// About 10% of connections each PATCH their own plio (name = "v{n}", one writer per plio,
/// so versions are totally ordered); the others GET those plios. A GET sent after a PATCH
/// was acknowledged must show that version or a newer one.
struct WriteMix {
    /// Each writer's plio.
    plios: Vec<Target>,
    issued: Vec<AtomicU64>,
    acknowledged: Vec<AtomicU64>,
}

impl WriteMix {
    fn new(plios: Vec<Target>) -> Self {
        let n = plios.len();
        Self {
            plios,
            issued: (0..n).map(|_| AtomicU64::new(0)).collect(),
            acknowledged: (0..n).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Workload for WriteMix {
    fn next(&self, conn: usize, seq: u64) -> Req {
        let writers = self.plios.len();
        let (target, write) = if conn < writers {
            (conn, true)
        } else {
            ((conn + seq as usize) % writers, false)
        };
        let t = &self.plios[target];
        let headers = vec![
            ("Organization".to_string(), t.org.clone()),
            ("Authorization".into(), format!("Bearer {}", t.token)),
        ];
        let path = format!("/api/v1/plios/{}/", t.uuid);
        if write {
            let v = self.issued[target].fetch_add(1, Ordering::SeqCst) + 1;
            Req {
                method: "PATCH",
                path,
                headers,
                body: Some(format!("{{\"name\": \"v{v}\"}}").into_bytes()),
                tag: (target as u64) << 40 | v,
            }
        } else {
            let acked = self.acknowledged[target].load(Ordering::SeqCst);
            Req {
                method: "GET",
                path,
                headers,
                body: None,
                tag: (target as u64) << 40 | acked,
            }
        }
    }

    fn check(&self, req: &Req, status: u16, body: &[u8]) -> Outcome {
        if !(200..300).contains(&status) {
            return Outcome::Error;
        }
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Outcome::Error;
        };
        let target = (req.tag >> 40) as usize;
        let version = req.tag & ((1 << 40) - 1);
        let seen: u64 = v["name"]
            .as_str()
            .and_then(|n| n.strip_prefix('v'))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if req.method == "PATCH" {
            if let Some(a) = self.acknowledged.get(target) {
                a.fetch_max(version, Ordering::SeqCst);
            }
            Outcome::Ok
        } else if seen < version {
            Outcome::Stale
        } else {
            Outcome::Ok
        }
    }
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn wants(cfg: &BenchConfig, name: &str) -> bool {
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

fn run_on(cfg: &BenchConfig, url: &str, say: &dyn Fn(&str)) -> anyhow::Result<Report> {
    let mut settings = cfg.settings.clone();
    settings.database_url = url.to_string();
    settings.workers = workers();
    settings.db_pool_size = 16;
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
                errors: 0,
                stale: 0,
                of_ceiling: None,
                note: format!(
                    "median of {} creations; first 10 {first:.1} ms, last 10 {last:.1} ms",
                    batch.len()
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

        let backends: Vec<(&str, CacheBackend)> = if round == 0 {
            vec![
                ("memory", CacheBackend::Memory),
                ("redis", CacheBackend::Redis),
                ("none", CacheBackend::None),
            ]
        } else {
            vec![
                ("memory", CacheBackend::Memory),
                ("redis", CacheBackend::Redis),
            ]
        };
        for (label, backend) in backends {
            let name = format!("detail-{label}");
            let needed = wants(cfg, &name)
                || (round == 0 && backend == CacheBackend::Redis && wants(cfg, "write-mix"))
                || (round == 0
                    && backend == CacheBackend::Memory
                    && (wants(cfg, "play") || wants(cfg, "list")));
            if !needed || (backend == CacheBackend::Redis && cfg.redis_url.is_none()) {
                continue;
            }
            let mut s = settings.clone();
            s.cache_backend = backend;
            s.redis_url = cfg.redis_url.clone();
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
                report
                    .rows
                    .push(Row::from_load("list", count, &r, "5 per page, not cached"));
            }
            if round == 0 && backend == CacheBackend::Redis && wants(cfg, "write-mix") {
                say("running write-mix (10% PATCH, 90% GET, stale check)");
                let writers = (cfg.concurrency / 10).clamp(1, targets.len());
                let w = Arc::new(WriteMix::new(targets[..writers].to_vec()));
                let r = drive(addr, cfg, w);
                report
                    .rows
                    .push(Row::from_load("write-mix", count, &r, "redis cache"));
            }
            if let Some(srv) = server {
                srv.stop();
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
            "detail-memory" | "detail-none" | "play" | "list" => ceilings.0,
            "detail-redis" | "write-mix" => ceilings.1,
            _ => None,
        };
        row.of_ceiling = ceiling.map(|c| row.rps / c.max(1e-9));
    }
    if let Some(url) = &cfg.redis_url {
        let cleanup = crate::cache::Cache::redis(
            url,
            &redis_prefix,
            Duration::from_secs(1),
            Duration::from_secs(10),
        );
        if let Ok(c) = cleanup {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(c.clear_all());
            }
        }
    }
    Ok(report)
}

/// One request per target, so that the measured window starts with a warm cache.
fn prewarm(addr: SocketAddr, targets: &[Target]) {
    for t in targets {
        let _ = fetch_size(addr, t);
    }
}

fn fetch_size(addr: SocketAddr, target: &Target) -> Option<usize> {
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
        Some(body.len())
    })
}

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
