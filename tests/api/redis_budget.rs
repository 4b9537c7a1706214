//! SPEC 6.5: no request waits on Redis for more than `CACHE_TIMEOUT_MS` in total (not per
//! call), and no cache maintenance (a tenant clear, a replay) can switch the cache off for
//! good. Every test here has a redis-server of its own (frozen, slowed, flooded); the shared
//! one is never touched.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plio::cache::{Cache, EntryKey, Invalidations};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::cache::{cached, entry, load, prefix, sync_redis, tenant, PlioEntry, PrivateRedis};
use crate::helpers::{spawn_app_with, Caller, TestApp};

/// The cache timeout of the HTTP tests: large, so that scheduler noise is small next to it.
const TIMEOUT_MS: u64 = 400;
/// What a request may take beyond its Redis budget (a debug build, next to the other tests).
const MARGIN_MS: u64 = 350;

async fn timed<F: Future>(f: F) -> (F::Output, Duration) {
    let started = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("a request hung for a minute");
    (out, started.elapsed())
}

/// The slowest of the requests seen, with its name.
#[derive(Default)]
struct Worst(Duration, String);

impl Worst {
    fn see(&mut self, what: &str, (status, body): (u16, Value), took: Duration) {
        assert_eq!(status, 200, "{what}: {body}");
        eprintln!("{what}: {} ms", took.as_millis());
        if took > self.0 {
            *self = Self(took, what.to_string());
        }
    }
    fn check(&self) {
        let bound = Duration::from_millis(TIMEOUT_MS + MARGIN_MS);
        assert!(
            self.0 < bound,
            "{} took {} ms: more than the Redis budget ({TIMEOUT_MS} ms) plus {MARGIN_MS} ms",
            self.1,
            self.0.as_millis()
        );
    }
}

/// A server on a private Redis with `CACHE_TIMEOUT_MS=400`, and a cached plio of the
/// superuser (its detail path).
async fn app_on(url: &str) -> (TestApp, String, String) {
    let timeout = TIMEOUT_MS.to_string();
    let app = spawn_app_with(&[("REDIS_URL", url), ("CACHE_TIMEOUT_MS", timeout.as_str())]).await;
    let (_, token) = app.superuser();
    let c = Caller::new(&app, Some(&token), None);
    let plio = c.make_plio("Budget", true, 1).await;
    let path = format!("/api/v1/plios/{}/", plio["uuid"].as_str().unwrap());
    for _ in 0..2 {
        assert_eq!(c.get(&path).await.0, 200);
    }
    (app, token, path)
}

/// Frozen (SIGSTOP): connections stay open and nothing answers. A read, a write that
/// invalidates, and a write whose invalidations overflow what the cache keeps for replay (an
/// organization with 10,001 members): each waits on Redis once at most, also after the
/// back-off, when the failed maintenance is retried (before: inside the next request, the
/// whole-cache clear with 20 times the timeout).
#[actix_web::test]
async fn with_redis_frozen_no_request_waits_longer_than_the_cache_timeout() {
    let redis = PrivateRedis::start();
    let (app, token, path) = app_on(&redis.url()).await;
    let c = Caller::new(&app, Some(&token), None);
    let org = app.create_tenant("crowded").await;
    let org_path = format!("/api/v1/organizations/{}/", org["id"]);
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "WITH u AS (INSERT INTO public.\"user\" (email) \
               SELECT 'member' || g || '@crowd.example' FROM generate_series(1, 10001) g RETURNING id) \
             INSERT INTO public.organization_user (user_id, organization_id, role_id) \
               SELECT u.id, {}, (SELECT id FROM public.role WHERE name = 'org-view') FROM u",
            org["id"]
        )),
        &mut app.conn(),
    )
    .unwrap();

    redis.freeze();
    let mut worst = Worst::default();
    for round in 0..2 {
        let (r, took) = timed(c.get(&path)).await;
        worst.see(&format!("round {round}: plio detail"), r, took);
        let body = json!({"name": format!("Renamed {round}")});
        let (r, took) = timed(c.patch(&path, body)).await;
        worst.see(&format!("round {round}: plio PATCH"), r, took);
        let body = json!({"name": format!("Crowd {round}")});
        let (r, took) = timed(c.patch(&org_path, body)).await;
        worst.see(&format!("round {round}: organization PATCH"), r, took);
        // Past the back-off: the cache tries Redis again.
        actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    }
    redis.thaw();
    worst.check();
    // And the answers were right: the last rename is what a read shows now.
    assert_eq!(c.get(&path).await.1["name"], "Renamed 1");
}

/// A TCP proxy in front of a Redis that holds every chunk a client sends for `delay`
/// before passing it on: each call is answered, but late (a slow network or server).
struct SlowProxy {
    port: u16,
    delay_ms: Arc<AtomicU64>,
}

impl SlowProxy {
    async fn start(upstream: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let delay_ms = Arc::new(AtomicU64::new(0));
        let delay = delay_ms.clone();
        actix_web::rt::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                actix_web::rt::spawn(pump(client_read, server_write, Some(delay.clone())));
                actix_web::rt::spawn(pump(server_read, client_write, None));
            }
        });
        Self { port, delay_ms }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn slow_down(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }
}

/// Copies `from` to `to`, each chunk `delay` after it was read (order kept).
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Option<Arc<AtomicU64>>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    actix_web::rt::spawn(async move {
        while let Some((due, bytes)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let wait = delay.as_ref().map_or(0, |d| d.load(Ordering::SeqCst));
        let due = tokio::time::Instant::now() + Duration::from_millis(wait);
        if tx.send((due, buf[..n].to_vec())).is_err() {
            return;
        }
    }
}

/// Slow: every call is answered, 300 ms late, so none times out; a request that makes
/// several calls (a write's invalidation, then the read and the fill of its response) used
/// to wait for each of them.
#[actix_web::test]
async fn with_redis_slow_a_request_waits_on_it_one_cache_timeout_in_all() {
    let redis = PrivateRedis::start();
    let proxy = SlowProxy::start(redis.port()).await;
    let (app, token, path) = app_on(&proxy.url()).await;
    let c = Caller::new(&app, Some(&token), None);
    proxy.slow_down(Duration::from_millis(300));
    let mut worst = Worst::default();
    for round in 0..3 {
        let body = json!({"name": format!("Slow {round}")});
        let (r, took) = timed(c.patch(&path, body)).await;
        worst.see(&format!("round {round}: plio PATCH"), r, took);
        let (r, took) = timed(c.get(&path)).await;
        worst.see(&format!("round {round}: plio detail"), r, took);
    }
    proxy.slow_down(Duration::ZERO);
    worst.check();
    assert_eq!(c.get(&path).await.1["name"], "Slow 2");
}

/// Fills the server with `n` keys outside the cache's prefix (one script per 200,000).
fn flood(url: &str, n: u64) {
    let mut conn = sync_redis(url);
    for start in (0..n).step_by(200_000) {
        let _: () = redis::cmd("EVAL")
            .arg("for i = ARGV[1], ARGV[2] do redis.call('SET', 'other:' .. i, 'x') end")
            .arg(0)
            .arg(start)
            .arg((start + 200_000).min(n) - 1)
            .query(&mut conn)
            .unwrap();
    }
}

/// Loads fresh entries until one is served from the cache (bounded); returns the attempts.
async fn until_a_hit(cache: &Cache, stale: &[(&EntryKey, &str)]) -> usize {
    let t = tenant("fresh");
    for attempt in 0..150 {
        for (key, old) in stale {
            assert_ne!(
                cached(cache, key).await,
                Some(entry(old)),
                "an entry that failed maintenance made stale was served"
            );
        }
        let key = EntryKey::of::<PlioEntry>(&t, attempt as i64);
        load(cache, &key, "fresh").await;
        if cached(cache, &key).await == Some(entry("fresh")) {
            return attempt;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the cache stayed off for 15 s after Redis came back");
}

/// A tenant clear that fails, then invalidations that overflow what the cache keeps for
/// replay, each while Redis is frozen, on a Redis holding a million other keys (a
/// whole-keyspace SCAN of it takes longer than 20 times the timeout, the time the replay was
/// given): after Redis returns, the cache is used again (hits) within seconds, and never
/// serves what the lost maintenance made stale.
#[actix_web::test]
async fn failed_clears_and_overflowed_replays_never_switch_the_cache_off() {
    let redis = PrivateRedis::start();
    flood(&redis.url(), 1_000_000);
    let cache = Cache::redis(
        &redis.url(),
        &prefix(),
        Duration::from_secs(300),
        Duration::from_millis(20),
    )
    .unwrap();
    let (kept, cleared) = (tenant("kept"), tenant("cleared"));
    let ka = EntryKey::of::<PlioEntry>(&kept, 1);
    let kb = EntryKey::of::<PlioEntry>(&cleared, 1);
    load(&cache, &ka, "a, before").await;
    load(&cache, &kb, "b, before").await;
    assert_eq!(cached(&cache, &ka).await, Some(entry("a, before")));
    let hits = cache.stats().kinds[0].hits;

    // A tenant clear lost to a freeze.
    redis.freeze();
    assert_eq!(cache.clear_tenant(&cleared).await, None);
    redis.thaw();
    let attempts = until_a_hit(&cache, &[(&kb, "b, before")]).await;
    eprintln!("hits again after a failed tenant clear: attempt {attempts}");
    assert_eq!(cached(&cache, &ka).await, Some(entry("a, before")));

    // Invalidations lost to a freeze, more than the cache keeps: everything is cleared.
    redis.freeze();
    let mut inv = Invalidations::default();
    inv.entry(ka.clone());
    for id in 1000..11_000 {
        inv.entry(EntryKey::of::<PlioEntry>(&kept, id));
    }
    cache.invalidate(&inv).await;
    redis.thaw();
    let attempts = until_a_hit(&cache, &[(&ka, "a, before"), (&kb, "b, before")]).await;
    eprintln!("hits again after an overflowed replay: attempt {attempts}");
    assert!(cache.stats().kinds[0].hits > hits + 1);
}

/// After the back-off, one call at a time probes a Redis that failed: of many requests
/// arriving together at a frozen Redis, one waits for it, the others do not (before: each
/// waited its whole timeout).
#[actix_web::test]
async fn after_the_back_off_one_call_probes_a_frozen_redis_the_others_skip_it() {
    let redis = PrivateRedis::start();
    let timeout = Duration::from_millis(TIMEOUT_MS);
    let cache = Cache::redis(&redis.url(), &prefix(), Duration::from_secs(300), timeout).unwrap();
    let t = tenant("probed");
    let keys: Vec<EntryKey> = (0..16).map(|i| EntryKey::of::<PlioEntry>(&t, i)).collect();
    for k in &keys {
        load(&cache, k, "v").await;
    }
    redis.freeze();
    let (_, took) = timed(cached(&cache, &keys[0])).await;
    assert!(took >= timeout, "the first call waits for the timeout");
    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    let waits = futures_util::future::join_all(keys.iter().map(|k| timed(cached(&cache, k)))).await;
    redis.thaw();
    let waited: Vec<u128> = waits.iter().map(|(_, took)| took.as_millis()).collect();
    let long = waited
        .iter()
        .filter(|&&ms| ms >= u128::from(TIMEOUT_MS) / 2)
        .count();
    assert_eq!(
        long, 1,
        "calls that waited on the frozen Redis (ms): {waited:?}"
    );
}
