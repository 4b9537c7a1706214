//! The cache layer against real Redis (shared server with a unique prefix per test, or a
//! private redis-server when the test kills it) and the memory backend.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use plio::cache::{Cache, Cacheable, EntryKey, Health, Invalidations, Kind};
use plio::tenant::{SchemaName, Tenant};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PlioEntry {
    name: String,
}
impl Cacheable for PlioEntry {
    const KIND: Kind = Kind::Plio;
    const GLOBAL: bool = false;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct UserEntry {
    email: String,
}
impl Cacheable for UserEntry {
    const KIND: Kind = Kind::User;
    const GLOBAL: bool = true;
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A prefix no other test uses.
pub(crate) fn prefix() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "t{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

pub(crate) fn tenant(shortcode: &str) -> Tenant {
    Tenant::new(
        None,
        shortcode.into(),
        SchemaName::for_new_tenant(shortcode).unwrap(),
    )
}

fn redis_cache(url: &str, ttl: Duration) -> Cache {
    Cache::redis(url, &prefix(), ttl, Duration::from_millis(50)).unwrap()
}

fn both() -> Vec<Cache> {
    vec![
        Cache::memory(&prefix(), 1000, Duration::from_secs(300)),
        redis_cache(&redis_url(), Duration::from_secs(300)),
    ]
}

pub(crate) fn entry(name: &str) -> PlioEntry {
    PlioEntry { name: name.into() }
}

pub(crate) async fn load(cache: &Cache, key: &EntryKey, value: &str) -> PlioEntry {
    let v = value.to_string();
    cache
        .get_or_load(key, || async move { Ok::<_, ()>(entry(&v)) })
        .await
        .unwrap()
}

pub(crate) async fn cached(cache: &Cache, key: &EntryKey) -> Option<PlioEntry> {
    cache
        .fetch(std::slice::from_ref(key))
        .await
        .get::<PlioEntry>(0)
}

pub(crate) fn sync_redis(url: &str) -> redis::Connection {
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

#[actix_web::test]
async fn the_same_id_in_two_tenants_gives_two_entries_that_never_cross() {
    for cache in both() {
        let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
        let ka = EntryKey::of::<PlioEntry>(&a, 17);
        let kb = EntryKey::of::<PlioEntry>(&b, 17);
        assert_eq!(load(&cache, &ka, "A's plio 17").await, entry("A's plio 17"));
        assert_eq!(load(&cache, &kb, "B's plio 17").await, entry("B's plio 17"));
        assert_eq!(
            cached(&cache, &ka).await,
            Some(entry("A's plio 17")),
            "{}",
            cache.backend_name()
        );
        assert_eq!(
            cached(&cache, &kb).await,
            Some(entry("B's plio 17")),
            "{}",
            cache.backend_name()
        );
        // Global kinds ignore the tenant they are read from.
        assert_eq!(
            EntryKey::of::<UserEntry>(&a, 4),
            EntryKey::of::<UserEntry>(&b, 4)
        );
    }
}

#[actix_web::test]
async fn redis_keys_follow_the_spec_and_hold_json_readable_by_redis_cli() {
    let cache = redis_cache(&redis_url(), Duration::from_secs(300));
    let t = tenant("avantifellows");
    let key = EntryKey::of::<PlioEntry>(&t, 17);
    load(&cache, &key, "hello").await;
    let user = EntryKey::global::<UserEntry>(42);
    let u = UserEntry {
        email: "u@example.com".into(),
    };
    let fetched = cache.fetch(std::slice::from_ref(&user)).await;
    cache.fill(&fetched, &[(0, &u)]).await;

    let rendered = cache.key_space().entry(&key);
    assert!(rendered.ends_with(":avantifellows:plio:17"), "{rendered}");
    let mut conn = sync_redis(&redis_url());
    let raw: String = redis::cmd("GET").arg(&rendered).query(&mut conn).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&raw).unwrap(),
        serde_json::json!({"name": "hello"})
    );
    let user_key = cache.key_space().entry(&user);
    assert!(user_key.ends_with(":public:user:42"), "{user_key}");
    let ttl: i64 = redis::cmd("TTL").arg(&rendered).query(&mut conn).unwrap();
    assert!(ttl > 0 && ttl <= 300, "{ttl}");
}

#[actix_web::test]
async fn a_plio_and_a_user_entry_come_back_in_one_round_trip() {
    let server = PrivateRedis::start();
    let cache = redis_cache(&server.url(), Duration::from_secs(300));
    let t = tenant("org-one");
    let keys = [
        EntryKey::of::<PlioEntry>(&t, 1),
        EntryKey::global::<UserEntry>(9),
    ];
    let first = cache.fetch(&keys).await;
    assert_eq!(first.misses(), [0, 1]);
    cache.fill(&first, &[(0, &entry("p"))]).await;
    cache
        .fill(
            &first,
            &[(
                1,
                &UserEntry {
                    email: "e@x.y".into(),
                },
            )],
        )
        .await;

    let mut conn = sync_redis(&server.url());
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut conn)
        .unwrap();
    let second = cache.fetch(&keys).await;
    assert_eq!(second.get::<PlioEntry>(0), Some(entry("p")));
    assert_eq!(second.get::<UserEntry>(1).unwrap().email, "e@x.y");
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut conn)
        .unwrap();
    let calls: Vec<&str> = stats
        .lines()
        .filter(|l| l.starts_with("cmdstat_"))
        .collect();
    // Only our INFO-free bookkeeping: one MGET (CONFIG RESETSTAT itself is counted too).
    assert!(
        calls.iter().any(|l| l.starts_with("cmdstat_mget:calls=1,")),
        "{calls:?}"
    );
    assert!(
        !calls.iter().any(|l| l.starts_with("cmdstat_get:")),
        "{calls:?}"
    );
}

#[actix_web::test]
async fn get_or_load_many_loads_only_the_misses_and_fills_them() {
    for cache in both() {
        let t = tenant("many");
        let keys: Vec<EntryKey> = (1..=4).map(|i| EntryKey::of::<PlioEntry>(&t, i)).collect();
        load(&cache, &keys[1], "two").await;
        let asked = std::cell::RefCell::new(Vec::new());
        let got = cache
            .get_or_load_many(&keys, |missing| {
                asked.borrow_mut().extend(missing.iter().copied());
                let values = missing
                    .iter()
                    .map(|i| entry(&format!("loaded {i}")))
                    .collect();
                async move { Ok::<_, ()>(values) }
            })
            .await
            .unwrap();
        assert_eq!(*asked.borrow(), [0, 2, 3], "{}", cache.backend_name());
        assert_eq!(
            got,
            [
                entry("loaded 0"),
                entry("two"),
                entry("loaded 2"),
                entry("loaded 3")
            ]
        );
        assert_eq!(cached(&cache, &keys[3]).await, Some(entry("loaded 3")));
    }
}

#[actix_web::test]
async fn entries_expire_after_their_ttl() {
    let caches = [
        Cache::memory(&prefix(), 100, Duration::from_secs(1)),
        redis_cache(&redis_url(), Duration::from_secs(1)),
    ];
    let t = tenant("ttl");
    let key = EntryKey::of::<PlioEntry>(&t, 1);
    for cache in &caches {
        load(cache, &key, "short-lived").await;
        assert!(cached(cache, &key).await.is_some());
    }
    actix_web::rt::time::sleep(Duration::from_millis(2100)).await;
    for cache in &caches {
        assert_eq!(cached(cache, &key).await, None, "{}", cache.backend_name());
    }
}

#[actix_web::test]
async fn the_memory_backend_is_bounded() {
    let cache = Cache::memory(&prefix(), 20, Duration::from_secs(300));
    let t = tenant("bounded");
    for i in 0..500 {
        load(&cache, &EntryKey::of::<PlioEntry>(&t, i), "x").await;
    }
    let held = cache.memory_entry_count().unwrap();
    assert!(held <= 20, "{held} entries held");
    assert!(held > 0);
}

/// The race of SPEC 6.4, made deterministic: the reader misses and loads the old value; the
/// writer commits and invalidates while the reader is between its load and its store.
#[actix_web::test]
async fn a_fill_loaded_before_a_concurrent_invalidation_is_not_stored() {
    for cache in both() {
        let t = tenant("race");
        let key = EntryKey::of::<PlioEntry>(&t, 5);
        let (loaded_tx, loaded_rx) = tokio::sync::oneshot::channel::<()>();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let reader = cache.get_or_load(&key, || async move {
            // The database read happened: the value is the old one.
            let old = entry("before the write");
            loaded_tx.send(()).unwrap();
            go_rx.await.unwrap();
            Ok::<_, ()>(old)
        });
        let writer = async {
            loaded_rx.await.unwrap();
            let mut inv = Invalidations::default();
            inv.entry(key.clone());
            cache.invalidate(&inv).await;
            go_tx.send(()).unwrap();
        };
        let (read, ()) = futures_util::future::join(reader, writer).await;
        // The reader still answers with what it loaded (its request began before the write)...
        assert_eq!(read.unwrap(), entry("before the write"));
        // ...but did not store it: the next read misses and loads the new value.
        assert_eq!(cached(&cache, &key).await, None, "{}", cache.backend_name());
        let plio_stats = cache
            .stats()
            .kinds
            .into_iter()
            .find(|k| k.kind == "plio")
            .unwrap();
        assert_eq!(plio_stats.stale_fills_rejected, 1);
        assert_eq!(
            load(&cache, &key, "after the write").await,
            entry("after the write")
        );
        assert_eq!(cached(&cache, &key).await, Some(entry("after the write")));
    }
}

#[actix_web::test]
async fn a_fill_with_no_invalidation_in_between_is_stored() {
    // The control for the race test: the same interleaving without a write stores the value.
    for cache in both() {
        let t = tenant("norace");
        let key = EntryKey::of::<PlioEntry>(&t, 5);
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let reader = cache.get_or_load(&key, || async move {
            go_rx.await.unwrap();
            Ok::<_, ()>(entry("value"))
        });
        let other = async {
            // A different entry is invalidated meanwhile: it must not affect this one.
            let mut inv = Invalidations::default();
            inv.entry(EntryKey::of::<PlioEntry>(&t, 6));
            cache.invalidate(&inv).await;
            go_tx.send(()).unwrap();
        };
        let (read, ()) = futures_util::future::join(reader, other).await;
        read.unwrap();
        assert_eq!(
            cached(&cache, &key).await,
            Some(entry("value")),
            "{}",
            cache.backend_name()
        );
    }
}

#[actix_web::test]
async fn clearing_a_tenant_removes_only_that_tenants_entries() {
    for cache in both() {
        let (a, b) = (tenant("clear-a"), tenant("clear-b"));
        for i in 0..5 {
            load(&cache, &EntryKey::of::<PlioEntry>(&a, i), "a").await;
            load(&cache, &EntryKey::of::<PlioEntry>(&b, i), "b").await;
        }
        cache.clear_tenant(&a).await.unwrap();
        for i in 0..5 {
            assert_eq!(
                cached(&cache, &EntryKey::of::<PlioEntry>(&a, i)).await,
                None
            );
            assert_eq!(
                cached(&cache, &EntryKey::of::<PlioEntry>(&b, i)).await,
                Some(entry("b")),
                "{}",
                cache.backend_name()
            );
        }
    }
}

#[actix_web::test]
async fn a_fill_in_flight_during_a_tenant_clear_is_not_stored() {
    for cache in both() {
        let t = tenant("clear-race");
        let key = EntryKey::of::<PlioEntry>(&t, 1);
        let fetched = cache.fetch(std::slice::from_ref(&key)).await;
        cache.clear_tenant(&t).await.unwrap();
        cache.fill(&fetched, &[(0, &entry("stale"))]).await;
        assert_eq!(cached(&cache, &key).await, None, "{}", cache.backend_name());
    }
}

/// Invalidation happens after COMMIT: a rolled-back write leaves the entry; a committed one
/// removes it, and during the transaction the entry is still there.
#[actix_web::test]
async fn invalidation_happens_only_after_commit() {
    let app = crate::helpers::spawn_app().await;
    let db = plio::db::Database::connect(&app.db.url, 2).unwrap();
    let public = Tenant::new(None, "plio".into(), SchemaName::public());
    let url = redis_url();
    for cache in both() {
        let key = EntryKey::of::<PlioEntry>(&public, 1);
        load(&cache, &key, "cached").await;

        let k = key.clone();
        let failed = cache
            .write(&db, &public, move |conn, inv| {
                use diesel::RunQueryDsl;
                diesel::sql_query("INSERT INTO video (url) VALUES ('https://rolled.back')")
                    .execute(conn)?;
                inv.entry(k);
                Err::<(), _>(plio::error::AppError::new(plio::error::Code::Invalid))
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(
            cached(&cache, &key).await,
            Some(entry("cached")),
            "rolled back: entry kept"
        );
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM public.video"), 0);

        let k = key.clone();
        let rendered = cache.key_space().entry(&key);
        let is_redis = cache.backend_name() == "redis";
        let url = url.clone();
        let during = cache
            .write(&db, &public, move |conn, inv| {
                use diesel::RunQueryDsl;
                diesel::sql_query("INSERT INTO video (url) VALUES ('https://committed')")
                    .execute(conn)?;
                inv.entry(k);
                // Still cached while the transaction is open (checked directly in Redis).
                let present = if is_redis {
                    let n: i64 = redis::cmd("EXISTS")
                        .arg(&rendered)
                        .query(&mut sync_redis(&url))
                        .unwrap();
                    Some(n == 1)
                } else {
                    None
                };
                Ok(present)
            })
            .await
            .unwrap();
        if is_redis {
            assert_eq!(during, Some(true));
        }
        assert_eq!(cached(&cache, &key).await, None, "committed: entry removed");
        diesel::RunQueryDsl::execute(
            diesel::sql_query("DELETE FROM public.video"),
            &mut app.conn(),
        )
        .unwrap();
    }
}

/// A redis-server of our own on a free port, killed and restarted by the test.
pub struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = Self { port, child: None };
        s.restart();
        s
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        self.child = Some(child);
        for _ in 0..100 {
            if let Ok(mut c) = redis::Client::open(self.url()).and_then(|c| c.get_connection()) {
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start on {}", self.port);
    }

    /// Stops the server's process (SIGSTOP): connections stay open, nothing is answered.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen server run again (SIGCONT).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let child = self.child.as_ref().expect("redis-server running");
        let status = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {sig}");
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[actix_web::test]
async fn with_redis_killed_calls_are_misses_and_hits_resume_after_restart() {
    let mut server = PrivateRedis::start();
    let cache = redis_cache(&server.url(), Duration::from_secs(300));
    let t = tenant("outage");
    let key = EntryKey::of::<PlioEntry>(&t, 1);
    load(&cache, &key, "v1").await;
    assert_eq!(cached(&cache, &key).await, Some(entry("v1")));

    server.kill();
    // Requests keep working: loads come from the "database", nothing fails. (The outer
    // timeout only guards against a hang; it is not a performance assertion.)
    for _ in 0..20 {
        let got = tokio::time::timeout(Duration::from_secs(10), load(&cache, &key, "from db"))
            .await
            .expect("a cache call hung");
        assert_eq!(got, entry("from db"));
    }
    assert_eq!(cache.health(), Health::Degraded);
    let stats = cache.stats();
    assert!(stats.errors >= 1);
    assert!(
        stats.bypassed >= 1,
        "calls during the back-off skip Redis entirely"
    );

    server.restart();
    // After the back-off the cache is used again by itself.
    let mut resumed = false;
    for _ in 0..50 {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        load(&cache, &key, "v2").await;
        if cached(&cache, &key).await == Some(entry("v2")) {
            resumed = true;
            break;
        }
    }
    assert!(resumed, "hits resumed without a restart");
    assert_eq!(cache.health(), Health::Ok);
}

#[actix_web::test]
async fn an_invalidation_lost_to_an_outage_is_replayed_before_the_cache_is_used_again() {
    let server = PrivateRedis::start();
    let cache = redis_cache(&server.url(), Duration::from_secs(300));
    let t = tenant("replay");
    let key = EntryKey::of::<PlioEntry>(&t, 1);
    load(&cache, &key, "old").await;
    // Redis stops answering (clients paused) but keeps its data.
    let mut conn = sync_redis(&server.url());
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(700)
        .arg("ALL")
        .query(&mut conn)
        .unwrap();
    let mut inv = Invalidations::default();
    inv.entry(key.clone());
    cache.invalidate(&inv).await; // times out: remembered
    assert_eq!(cache.health(), Health::Degraded);
    // The stale "old" entry stays in Redis until a background task replays the invalidation
    // (after the back-off); meanwhile reads skip the cache, so it is never served.
    let raw = || -> Option<String> {
        redis::cmd("GET")
            .arg(cache.key_space().entry(&key))
            .query(&mut sync_redis(&server.url()))
            .unwrap()
    };
    let mut replayed = false;
    for _ in 0..100 {
        assert_eq!(cached(&cache, &key).await, None);
        if raw().is_none() {
            replayed = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(replayed, "the invalidation was replayed within 5 s");
    // And the cache is used again (once the replay task has recorded its success).
    let mut resumed = false;
    for _ in 0..40 {
        load(&cache, &key, "new").await;
        if cached(&cache, &key).await == Some(entry("new")) {
            resumed = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(resumed, "hits resumed within 2 s of the replay");
    assert_eq!(cache.health(), Health::Ok);
}

#[actix_web::test]
async fn the_server_keeps_serving_with_redis_down_and_reports_the_cache_state() {
    let mut server = PrivateRedis::start();
    let url = server.url();
    let app = crate::helpers::spawn_app_with(&[("REDIS_URL", url.as_str())]).await;
    let (_, token) = app.superuser();
    let body: Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["cache"]["backend"], "redis");
    assert_eq!(body["cache"]["state"], "ok");
    // A route that goes through the cache (plio detail), warmed while Redis is up.
    let c = crate::helpers::Caller::new(&app, Some(&token), None);
    let plio = c.make_plio("Cached", true, 2).await;
    let path = format!("/api/v1/plios/{}/", plio["uuid"].as_str().unwrap());
    let (s, warm) = c.get(&path).await;
    assert_eq!(s, 200);
    server.kill();
    // Served from the database, the same answer, for reads and writes alike.
    for _ in 0..3 {
        let (s, body) = c.get(&path).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body, warm);
    }
    let (s, body) = c
        .patch(&path, json!({"name": "Renamed while Redis is down"}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(c.get(&path).await.1["name"], "Renamed while Redis is down");
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(
        res.status(),
        200,
        "the database is up: ready, with a degraded cache"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["cache"]["state"], "degraded", "{body}");
}

#[test]
fn the_cache_cli_lists_counts_and_clears_redis_entries() {
    let db = crate::helpers::TestDb::new();
    let p = prefix();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    {
        let mut conn = <diesel::PgConnection as diesel::Connection>::establish(&db.url).unwrap();
        for code in ["cli-one", "cli-two"] {
            plio::tenancy::provisioning::create_tenant(
                &mut conn,
                &plio::tenancy::provisioning::NewTenant {
                    name: code.into(),
                    shortcode: code.into(),
                    domain: None,
                },
                "localhost",
            )
            .unwrap();
        }
    }
    let cache = Cache::redis(
        &redis_url(),
        &p,
        Duration::from_secs(300),
        Duration::from_secs(1),
    )
    .unwrap();
    rt.block_on(async {
        for code in ["cli-one", "cli-two"] {
            let t = tenant(code);
            for i in 1..=3 {
                load(&cache, &EntryKey::of::<PlioEntry>(&t, i), "x").await;
            }
        }
        let fetched = cache.fetch(&[EntryKey::global::<UserEntry>(7)]).await;
        cache
            .fill(
                &fetched,
                &[(
                    0,
                    &UserEntry {
                        email: "a@b.c".into(),
                    },
                )],
            )
            .await;
    });
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_plio"))
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("REDIS_URL", redis_url())
            .env("CACHE_KEY_PREFIX", &p)
            .env("RUST_LOG", "warn")
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let all = run(&["cache", "keys"]);
    assert_eq!(all.lines().count(), 7, "{all}");
    let one = run(&["cache", "keys", "--tenant", "cli-one"]);
    assert_eq!(
        one.lines().collect::<Vec<_>>(),
        [
            format!("{p}:cli_one:plio:1"),
            format!("{p}:cli_one:plio:2"),
            format!("{p}:cli_one:plio:3")
        ]
    );
    let users = run(&["cache", "keys", "--kind", "user"]);
    assert_eq!(users.trim(), format!("{p}:public:user:7"));
    let stats = run(&["cache", "stats"]);
    assert!(stats.contains("entries under prefix: 7"), "{stats}");
    assert!(
        stats
            .lines()
            .any(|l| l.starts_with("cli_two") && l.trim_end().ends_with('3')),
        "{stats}"
    );
    let cleared = run(&["cache", "clear", "--tenant", "cli-one"]);
    assert!(cleared.contains("removed 3 entries"), "{cleared}");
    assert_eq!(run(&["cache", "keys"]).lines().count(), 4);
    let cleared = run(&["cache", "clear", "--all"]);
    assert!(cleared.contains("removed"), "{cleared}");
    assert_eq!(run(&["cache", "keys"]).lines().count(), 0);
}

/// SPEC 6.3 for `plio tenant drop`: the dropped organization disappears from its former
/// members' cached user payloads at once (it used to stay until the entry expired).
#[actix_web::test]
async fn dropping_a_tenant_from_the_cli_forgets_its_members_cached_payloads() {
    let p = prefix();
    let redis = redis_url();
    let app = crate::helpers::spawn_app_with(&[
        ("REDIS_URL", redis.as_str()),
        ("CACHE_KEY_PREFIX", p.as_str()),
    ])
    .await;
    let org = app.create_tenant("gone-soon").await;
    let org_id = org["id"].as_i64().unwrap() as i32;
    let (uid, token) = app.create_user("member@example.com", false);
    app.add_member(uid, org_id, "org-view");
    let me = crate::helpers::Caller::new(&app, Some(&token), None);
    let path = format!("/api/v1/users/{uid}/");
    let (status, before) = me.get(&path).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(
        before["organizations"][0]["shortcode"], "gone-soon",
        "{before}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_plio"))
        .args(["tenant", "drop", "gone-soon", "--yes"])
        .env("DATABASE_URL", &app.db.url)
        .env("REDIS_URL", &redis)
        .env("CACHE_KEY_PREFIX", &p)
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (status, after) = me.get(&path).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["organizations"], json!([]), "{after}");
}
