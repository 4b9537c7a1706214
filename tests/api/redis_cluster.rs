//! SPEC 11 "Redis Cluster": with `REDIS_CLUSTER_URLS` every cache promise of SPEC 6 holds on a
//! Redis Cluster. Each test runs on a private three-master cluster started from redis-server
//! processes on free ports: tests that stop a master have one of their own, the others share
//! one per test process (it stops when the last of them ends). The shared Redis is not used.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use plio::cache::{Cache, EntryKey, Invalidations};
use plio::tenant::{SchemaName, Tenant};
use serde_json::{json, Value};

use crate::cache::{cached, entry, load, prefix, tenant, PlioEntry};
use crate::helpers::{names, spawn_app_with, spawn_on, Caller, TestApp, TestDb};

/// A Redis Cluster of three masters (no replicas) on free ports, in a directory of its own;
/// every server is killed and the directory removed when this is dropped.
pub struct PrivateCluster {
    dir: PathBuf,
    /// (client port, cluster bus port, process) per node.
    nodes: Vec<(u16, u16, Option<Child>)>,
}

fn sync_conn(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .get_connection_with_timeout(Duration::from_secs(2))
        .unwrap()
}

impl PrivateCluster {
    pub fn start() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "plio-cluster-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Six distinct free ports (client and bus per node), held until all are chosen.
        let held: Vec<std::net::TcpListener> = (0..6)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let ports: Vec<u16> = held
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        drop(held);
        let mut cluster = Self {
            dir,
            nodes: ports.chunks(2).map(|p| (p[0], p[1], None)).collect(),
        };
        for i in 0..3 {
            cluster.spawn(i);
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for port in cluster.ports() {
            create.arg(format!("127.0.0.1:{port}"));
        }
        let out = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli must be installed");
        assert!(
            out.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        cluster.wait_until_ok();
        cluster
    }

    fn spawn(&mut self, i: usize) {
        let (port, bus, _) = self.nodes[i];
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--cluster-port", &bus.to_string()])
            .args(["--bind", "127.0.0.1", "--cluster-enabled", "yes"])
            .arg("--cluster-config-file")
            .arg(self.dir.join(format!("nodes-{port}.conf")))
            .arg("--dir")
            .arg(&self.dir)
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        self.nodes[i].2 = Some(child);
        for _ in 0..200 {
            let ping = redis::Client::open(format!("redis://127.0.0.1:{port}"))
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if ping.is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start on {port}");
    }

    /// Waits until every node reports `cluster_state:ok`.
    fn wait_until_ok(&self) {
        let started = Instant::now();
        loop {
            let ok = self.ports().iter().all(|&port| {
                redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query::<String>(&mut sync_conn(port))
                    .is_ok_and(|info| info.contains("cluster_state:ok"))
            });
            if ok {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the cluster did not reach cluster_state:ok"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.0).collect()
    }

    /// `REDIS_CLUSTER_URLS`.
    pub fn urls(&self) -> String {
        self.ports()
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn url_list(&self) -> Vec<String> {
        self.urls().split(',').map(str::to_string).collect()
    }

    /// The index of the master serving `key` (as the cluster says: CLUSTER KEYSLOT / NODES).
    pub fn node_of(&self, key: &str) -> usize {
        let port = self.ports()[0];
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut sync_conn(port))
            .unwrap();
        let nodes: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query(&mut sync_conn(port))
            .unwrap();
        for line in nodes.lines().filter(|l| l.contains("master")) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let owns = fields.iter().skip(8).any(|range| {
                let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                matches!((lo.parse::<u16>(), hi.parse::<u16>()), (Ok(lo), Ok(hi)) if lo <= slot && slot <= hi)
            });
            if owns {
                let addr = fields[1].split('@').next().unwrap();
                let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
                return self.ports().iter().position(|&p| p == port).unwrap();
            }
        }
        panic!("no master owns slot {slot}");
    }

    /// The keys matching `pattern` held by node `i`.
    pub fn keys_on(&self, i: usize, pattern: &str) -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query(&mut sync_conn(self.ports()[i]))
            .unwrap();
        keys.sort();
        keys
    }

    /// A command on the node that holds `key` (reads of bookkeeping keys).
    pub fn query<T: redis::FromRedisValue>(&self, cmd: &str, key: &str) -> T {
        redis::cmd(cmd)
            .arg(key)
            .query(&mut sync_conn(self.ports()[self.node_of(key)]))
            .unwrap()
    }

    fn signal(&self, i: usize, sig: &str) {
        let pid = self.nodes[i].2.as_ref().expect("running").id();
        let status = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {sig}");
    }

    /// Stops node `i` (SIGSTOP): its connections stay open and nothing is answered.
    pub fn freeze(&self, i: usize) {
        self.signal(i, "-STOP");
    }

    pub fn thaw(&self, i: usize) {
        self.signal(i, "-CONT");
    }

    /// Kills node `i`: its port refuses connections.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].2.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Two tenant shortcodes whose slots are on two different masters, neither of them the
    /// master of `public` (users, the personal workspace, the whole cache's generation).
    pub fn tenants_apart(&self, stem: &str) -> (String, String) {
        let public = self.node_of("{public}");
        let mut found: Vec<(String, usize)> = Vec::new();
        for n in 0.. {
            let code = format!("{stem}-{n}");
            let schema = SchemaName::for_new_tenant(&code).unwrap();
            let node = self.node_of(&format!("{{{}}}", schema.as_str()));
            if node == public || found.iter().any(|(_, other)| *other == node) {
                continue;
            }
            found.push((code, node));
            if found.len() == 2 {
                break;
            }
        }
        (found[0].0.clone(), found[1].0.clone())
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.thaw_quietly(i);
            self.kill(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl PrivateCluster {
    fn thaw_quietly(&self, i: usize) {
        if let Some(c) = &self.nodes[i].2 {
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .status();
        }
    }
}

/// The cluster the tests of this process share (started by the first, stopped after the last).
pub fn shared_cluster() -> Arc<PrivateCluster> {
    static SHARED: Mutex<Weak<PrivateCluster>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(cluster) = shared.upgrade() {
        return cluster;
    }
    let cluster = Arc::new(PrivateCluster::start());
    *shared = Arc::downgrade(&cluster);
    cluster
}

fn schema(shortcode: &str) -> String {
    SchemaName::for_new_tenant(shortcode)
        .unwrap()
        .as_str()
        .to_string()
}

/// A server on `cluster` under a prefix of its own (returned).
async fn app_on(cluster: &PrivateCluster, extra: &[(&str, &str)]) -> (TestApp, String) {
    let p = prefix();
    let urls = cluster.urls();
    let mut settings = vec![
        ("REDIS_CLUSTER_URLS", urls.as_str()),
        ("CACHE_KEY_PREFIX", p.as_str()),
    ];
    settings.extend_from_slice(extra);
    (spawn_app_with(&settings).await, p)
}

/// A tenant with an org-admin; the admin's id and a caller in the tenant.
async fn admin_of<'a>(app: &'a TestApp, shortcode: &str) -> (i32, Caller<'a>) {
    let org = app.create_tenant(shortcode).await;
    let (uid, token) = app.create_user(&format!("admin@{shortcode}.example"), false);
    app.add_member(uid, org["id"].as_i64().unwrap() as i32, "org-admin");
    (uid, Caller::new(app, Some(&token), Some(shortcode)))
}

/// The plio counters of `/readyz`.
async fn plio_stats(app: &TestApp) -> Value {
    let body: Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds = body["cache"]["stats"]["kinds"].as_array().unwrap().clone();
    kinds.into_iter().find(|k| k["kind"] == "plio").unwrap()
}

#[actix_web::test]
async fn cached_plios_are_hits_on_the_cluster_with_each_tenant_on_its_own_master() {
    let cluster = shared_cluster();
    let (app, p) = app_on(&cluster, &[]).await;
    let (a, b) = cluster.tenants_apart("apart");
    let mut entries = Vec::new();
    for code in [&a, &b] {
        let (uid, c) = admin_of(&app, code).await;
        let plio = c.make_plio(&format!("Plio of {code}"), true, 2).await;
        let path = format!("/api/v1/plios/{}/", plio["uuid"].as_str().unwrap());
        for _ in 0..2 {
            let (status, body) = c.get(&path).await;
            assert_eq!((status, &body), (200, &plio));
        }
        entries.push((schema(code), plio["id"].clone(), uid));
    }
    let stats = plio_stats(&app).await;
    assert!(stats["hits"].as_u64().unwrap() >= 4, "{stats}");
    assert!(stats["populates"].as_u64().unwrap() >= 2, "{stats}");
    assert_eq!(stats["errors"], 0, "{stats}");

    // Each tenant's entry and bookkeeping sit on its tenant's master, and only there; the
    // creators' user entries on the master of `public`.
    let mut masters = Vec::new();
    for (schema, id, uid) in &entries {
        let node = cluster.node_of(&format!("{{{schema}}}"));
        masters.push(node);
        let own = cluster.keys_on(node, &format!("{p}:*{{{schema}}}*"));
        for key in [
            format!("{p}:{{{schema}}}:plio:{id}"),
            format!("{p}:_s:{{{schema}}}:plio:{id}"),
            format!("{p}:_idx:{{{schema}}}"),
        ] {
            assert!(own.contains(&key), "{key} not on master {node}: {own:?}");
        }
        for other in (0..3).filter(|&n| n != node) {
            assert_eq!(
                cluster.keys_on(other, &format!("{p}:*{{{schema}}}*")),
                Vec::<String>::new()
            );
        }
        let public = cluster.node_of("{public}");
        let users = cluster.keys_on(public, &format!("{p}:{{public}}:user:{uid}"));
        assert_eq!(users.len(), 1, "user {uid} on master {public}");
    }
    assert_ne!(masters[0], masters[1], "the two tenants are on two masters");
}

#[actix_web::test]
async fn a_write_on_the_cluster_invalidates_exactly_the_plio_and_the_list() {
    let cluster = shared_cluster();
    let (app, p) = app_on(&cluster, &[]).await;
    let (code, _) = cluster.tenants_apart("exact");
    let s = schema(&code);
    let (_, c) = admin_of(&app, &code).await;
    let x = c.make_plio("X", true, 1).await;
    let y = c.make_plio("Y", true, 1).await;
    let path = |plio: &Value| format!("/api/v1/plios/{}/", plio["uuid"].as_str().unwrap());
    for _ in 0..2 {
        assert_eq!(c.get(&path(&x)).await.1["name"], "X");
        assert_eq!(c.get(&path(&y)).await.1["name"], "Y");
        assert_eq!(names(&c.get("/api/v1/plios/").await.1).len(), 2);
    }
    let key = |kind: &str, id: &Value| format!("{p}:{{{s}}}:{kind}:{id}");
    let version = |kind: &str, id: &Value| -> Option<i64> {
        cluster.query("GET", &format!("{p}:_v:{{{s}}}:{kind}:{id}"))
    };
    let (xk, yk, epoch) = (
        key("plio", &x["id"]),
        key("plio", &y["id"]),
        key("plio_list", &json!(0)),
    );
    let y_before: Option<String> = cluster.query("GET", &yk);
    assert!(y_before.is_some(), "Y is cached");
    let epoch_before: Option<String> = cluster.query("GET", &epoch);
    assert!(epoch_before.is_some(), "the list's epoch is cached");
    // Creating the plios' items invalidated them already: versions before the write.
    let (x_version, y_version) = (version("plio", &x["id"]), version("plio", &y["id"]));
    let list_version = version("plio_list", &json!(0));

    let (status, body) = c.patch(&path(&x), json!({"name": "X renamed"})).await;
    assert_eq!(status, 200, "{body}");

    // X's version and the list's epoch were bumped; X's entry holds no stale value.
    assert!(version("plio", &x["id"]) > x_version);
    assert!(version("plio_list", &json!(0)) > list_version);
    let x_now: Option<String> = cluster.query("GET", &xk);
    assert!(
        x_now.as_ref().is_none_or(|v| v.contains("X renamed")),
        "{x_now:?}"
    );
    let epoch_now: Option<String> = cluster.query("GET", &epoch);
    assert_ne!(epoch_now, epoch_before, "a new list epoch");
    // Y is untouched: same entry, no version.
    assert_eq!(cluster.query::<Option<String>>("GET", &yk), y_before);
    assert_eq!(version("plio", &y["id"]), y_version);
    // And reads show the write.
    assert_eq!(c.get(&path(&x)).await.1["name"], "X renamed");
    let mut listed = names(&c.get("/api/v1/plios/").await.1);
    listed.sort();
    assert_eq!(listed, ["X renamed", "Y"]);
}

#[actix_web::test]
async fn two_servers_sharing_a_cluster_never_serve_a_stale_read() {
    let cluster = shared_cluster();
    let (one, p) = app_on(&cluster, &[]).await;
    let urls = cluster.urls();
    let two = spawn_on(
        one.db.shared(),
        &[
            ("REDIS_CLUSTER_URLS", urls.as_str()),
            ("CACHE_KEY_PREFIX", p.as_str()),
        ],
    );
    let (code, _) = cluster.tenants_apart("stale");
    let (_, writer) = admin_of(&one, &code).await;
    let plio = writer.make_plio("Round none", true, 1).await;
    let path = format!("/api/v1/plios/{}/", plio["uuid"].as_str().unwrap());
    let reader = Caller::new(&two, writer.token.as_deref(), Some(&code));
    // The second server learns of the tenant (registry), then both have the plio cached.
    let started = Instant::now();
    while reader.get(&path).await.0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "tenant unknown to the second server"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for c in [&writer, &reader] {
        for _ in 0..2 {
            assert_eq!(c.get(&path).await.1["name"], "Round none");
            c.get("/api/v1/plios/").await;
        }
    }
    let hits = plio_stats(&two).await["hits"].as_u64().unwrap();
    assert!(hits >= 1, "the second server reads through the cluster");
    for round in 0..5 {
        let name = format!("Round {round}");
        let (status, body) = writer.patch(&path, json!({"name": name})).await;
        assert_eq!(status, 200, "{body}");
        // No wait: the writer invalidated the cluster before it answered.
        assert_eq!(
            reader.get(&path).await.1["name"],
            name.as_str(),
            "detail, round {round}"
        );
        assert_eq!(
            names(&reader.get("/api/v1/plios/").await.1),
            vec![name.clone()]
        );
        // Cached again by the reader; the next write must reach it too.
        assert_eq!(reader.get(&path).await.1["name"], name.as_str());
    }
}

/// The cache layer's own promises on a cluster: one MGET per slot for a read, tenants that
/// never cross, no stale fill after an invalidation or a tenant clear, tenant and whole clears.
#[actix_web::test]
async fn the_cache_promises_hold_on_a_cluster() {
    let cluster = PrivateCluster::start();
    let cache = Cache::redis_cluster(
        &cluster.url_list(),
        &prefix(),
        Duration::from_secs(300),
        Duration::from_secs(2),
    )
    .unwrap();
    let (a, b) = cluster.tenants_apart("promise");
    let (a, b) = (tenant(&a), tenant(&b));
    let (ka, kb) = (
        EntryKey::of::<PlioEntry>(&a, 17),
        EntryKey::of::<PlioEntry>(&b, 17),
    );
    load(&cache, &ka, "A's 17").await;
    load(&cache, &kb, "B's 17").await;

    // A read of two tenants' entries: one MGET per slot, and nothing else.
    for port in cluster.ports() {
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query(&mut sync_conn(port))
            .unwrap();
    }
    let both = cache.fetch(&[ka.clone(), kb.clone()]).await;
    assert_eq!(both.get::<PlioEntry>(0), Some(entry("A's 17")));
    assert_eq!(both.get::<PlioEntry>(1), Some(entry("B's 17")));
    let mut mgets = 0;
    for port in cluster.ports() {
        let stats: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(&mut sync_conn(port))
            .unwrap();
        for line in stats.lines().filter(|l| l.starts_with("cmdstat_")) {
            let calls: u64 = line
                .split("calls=")
                .nth(1)
                .and_then(|r| r.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap();
            if line.starts_with("cmdstat_mget:") {
                mgets += calls;
            } else {
                // Our own CONFIG and INFO, and what a cluster client may send on its own.
                let ours = ["config", "info", "cluster", "ping", "client"]
                    .iter()
                    .any(|c| {
                        let name = line.split([':', '|']).next().unwrap_or_default();
                        name == format!("cmdstat_{c}")
                    });
                assert!(ours, "a read sent {line}");
            }
        }
    }
    assert_eq!(
        mgets, 3,
        "the slots of tenant A, tenant B and public (the generation)"
    );

    // A fill loaded before a concurrent invalidation is refused.
    let (loaded_tx, loaded_rx) = tokio::sync::oneshot::channel::<()>();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let key = EntryKey::of::<PlioEntry>(&a, 5);
    let reader = cache.get_or_load(&key, || async move {
        loaded_tx.send(()).unwrap();
        go_rx.await.unwrap();
        Ok::<_, ()>(entry("before the write"))
    });
    let writer = async {
        loaded_rx.await.unwrap();
        let mut inv = Invalidations::default();
        inv.entry(key.clone());
        inv.entry(kb.clone());
        cache.invalidate(&inv).await;
        go_tx.send(()).unwrap();
    };
    let (read, ()) = futures_util::future::join(reader, writer).await;
    assert_eq!(read.unwrap(), entry("before the write"));
    assert_eq!(
        cached(&cache, &key).await,
        None,
        "the stale fill was not stored"
    );
    assert_eq!(
        cached(&cache, &kb).await,
        None,
        "invalidated in the same call, other slot"
    );
    assert_eq!(
        cached(&cache, &ka).await,
        Some(entry("A's 17")),
        "not invalidated"
    );
    let plio = cache
        .stats()
        .kinds
        .into_iter()
        .find(|k| k.kind == "plio")
        .unwrap();
    assert_eq!(plio.stale_fills_rejected, 1);
    load(&cache, &kb, "B's 17, again").await;

    // A fill in flight during a tenant clear is refused; the other tenant keeps its entries.
    let in_flight = cache.fetch(std::slice::from_ref(&key)).await;
    assert_eq!(
        cache.clear_tenant(&a).await,
        Some(1),
        "A's one stored entry removed"
    );
    cache.fill(&in_flight, &[(0, &entry("stale"))]).await;
    assert_eq!(cached(&cache, &key).await, None);
    assert_eq!(cached(&cache, &ka).await, None);
    assert_eq!(cached(&cache, &kb).await, Some(entry("B's 17, again")));

    // Filled again after the clear; then everything goes, on every master.
    load(&cache, &ka, "A's 17, again").await;
    assert_eq!(cached(&cache, &ka).await, Some(entry("A's 17, again")));
    let fetched = cache.fetch(std::slice::from_ref(&ka)).await;
    assert!(cache.clear_all().await.unwrap() >= 2);
    cache.fill(&fetched, &[(0, &entry("stale"))]).await;
    for k in [&ka, &kb, &key] {
        assert_eq!(cached(&cache, k).await, None);
    }
    assert!(cache.list_keys(None, None).await.unwrap().is_empty());
}

#[test]
fn the_cache_cli_lists_counts_and_clears_entries_on_a_cluster() {
    let cluster = shared_cluster();
    let db = TestDb::new();
    let p = prefix();
    let (one, two) = cluster.tenants_apart("cli");
    {
        let mut conn = db.conn();
        for code in [&one, &two] {
            plio::tenancy::provisioning::create_tenant(
                &mut conn,
                &plio::tenancy::provisioning::NewTenant {
                    name: code.clone(),
                    shortcode: code.clone(),
                    domain: None,
                },
                "localhost",
            )
            .unwrap();
        }
    }
    let cache = Cache::redis_cluster(
        &cluster.url_list(),
        &p,
        Duration::from_secs(300),
        Duration::from_secs(2),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for code in [&one, &two] {
            for i in 1..=3 {
                load(&cache, &EntryKey::of::<PlioEntry>(&tenant(code), i), "x").await;
            }
        }
        let personal = Tenant::new(None, "plio".into(), SchemaName::public());
        load(&cache, &EntryKey::of::<PlioEntry>(&personal, 1), "public").await;
    });
    let urls = cluster.urls();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_plio"))
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env_remove("REDIS_URL")
            .env("REDIS_CLUSTER_URLS", &urls)
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
    let (s1, s2) = (schema(&one), schema(&two));
    let all = run(&["cache", "keys"]);
    assert_eq!(all.lines().count(), 7, "{all}");
    let listed = run(&["cache", "keys", "--tenant", &one]);
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        (1..=3)
            .map(|i| format!("{p}:{{{s1}}}:plio:{i}"))
            .collect::<Vec<_>>()
    );
    let stats = run(&["cache", "stats"]);
    assert!(stats.contains("entries under prefix: 7"), "{stats}");
    assert!(stats.contains("over 3 masters"), "{stats}");
    assert!(
        stats
            .lines()
            .any(|l| l.starts_with(&s2) && l.trim_end().ends_with('3')),
        "{stats}"
    );
    let cleared = run(&["cache", "clear", "--tenant", &one]);
    assert!(cleared.contains("removed 3 entries"), "{cleared}");
    let left = run(&["cache", "keys"]);
    assert_eq!(left.lines().count(), 4, "{left}");
    assert!(!left.contains(&format!("{{{s1}}}")), "{left}");
    let cleared = run(&["cache", "clear", "--all"]);
    assert!(cleared.contains("removed"), "{cleared}");
    assert_eq!(run(&["cache", "keys"]), "");
    for node in 0..3 {
        let left: Vec<String> = cluster
            .keys_on(node, &format!("{p}:*"))
            .into_iter()
            .filter(|k| {
                !k.starts_with(&format!("{p}:_v:"))
                    && !k.starts_with(&format!("{p}:_tg:"))
                    && !k.starts_with(&format!("{p}:_g:"))
            })
            .collect();
        assert_eq!(left, Vec::<String>::new(), "master {node}");
    }
}

/// The cache timeout of the outage test: large, so that scheduler noise is small next to it.
const TIMEOUT_MS: u64 = 400;
/// What a request may take beyond its Redis budget (a debug build, next to the other tests).
const MARGIN_MS: u64 = 350;

/// A request that must answer 200 within the budget plus a margin; its body.
async fn promptly(what: &str, call: impl std::future::Future<Output = (u16, Value)>) -> Value {
    let started = Instant::now();
    let (status, body) = tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .unwrap_or_else(|_| panic!("{what} hung"));
    let took = started.elapsed();
    eprintln!("{what}: {} ms", took.as_millis());
    assert_eq!(status, 200, "{what}: {body}");
    assert!(
        took < Duration::from_millis(TIMEOUT_MS + MARGIN_MS),
        "{what} took {} ms",
        took.as_millis()
    );
    body
}

/// SPEC 6.5 on a cluster: a master frozen (SIGSTOP: nothing answers) and then killed
/// (connections refused). Reads and writes of a tenant on that master, and of one on a live
/// master, answer correctly and within the cache budget; after the frozen master resumes, hits
/// come back without a restart.
#[actix_web::test]
async fn with_a_cluster_master_stopped_requests_fail_open_and_none_hangs() {
    let mut cluster = PrivateCluster::start();
    let timeout = TIMEOUT_MS.to_string();
    let (app, _) = app_on(&cluster, &[("CACHE_TIMEOUT_MS", timeout.as_str())]).await;
    let (down, up) = cluster.tenants_apart("outage");
    let mut plios = Vec::new();
    for code in [&down, &up] {
        let (_, c) = admin_of(&app, code).await;
        let plio = c.make_plio("Before", true, 1).await;
        let path = format!("/api/v1/plios/{}/", plio["uuid"].as_str().unwrap());
        assert_eq!(c.get(&path).await.1, plio);
        plios.push((c, path));
    }
    let stopped = cluster.node_of(&format!("{{{}}}", schema(&down)));

    cluster.freeze(stopped);
    for round in 0..2 {
        for (c, path) in &plios {
            let what = format!("round {round}, {:?}", c.org);
            promptly(&format!("{what}: detail"), c.get(path)).await;
            let name = format!("Frozen {round}");
            promptly(
                &format!("{what}: PATCH"),
                c.patch(path, json!({"name": name})),
            )
            .await;
            let body = promptly(&format!("{what}: detail after PATCH"), c.get(path)).await;
            assert_eq!(body["name"], name.as_str(), "{what}");
        }
        // Past the back-off: the cache tries the cluster again.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    cluster.thaw(stopped);

    // The master is back: hits resume by themselves (the failed invalidations replayed first).
    let (c, path) = &plios[0];
    let before = plio_stats(&app).await["hits"].as_u64().unwrap();
    let started = Instant::now();
    loop {
        assert_eq!(c.get(path).await.1["name"], "Frozen 1");
        if plio_stats(&app).await["hits"].as_u64().unwrap() > before {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no hits 20 s after the thaw"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    cluster.kill(stopped);
    for round in 0..2 {
        for (c, path) in &plios {
            let what = format!("killed, round {round}, {:?}", c.org);
            let name = format!("Killed {round}");
            promptly(
                &format!("{what}: PATCH"),
                c.patch(path, json!({"name": name})),
            )
            .await;
            let body = promptly(&format!("{what}: detail"), c.get(path)).await;
            assert_eq!(body["name"], name.as_str(), "{what}");
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
}
