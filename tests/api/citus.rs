//! plio on a Citus coordinator (SPEC 11): CI's Citus lane runs these with `--ignored` and
//! `PLIO_CITUS_URL` naming the coordinator's database (`../shared/citus/cluster.sh start`).
//! Every test shares that one database, so each names its tenants and users uniquely.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use plio::tenancy::citus;
use plio::tenant::SchemaName;
use serde_json::{json, Value};
use tokio::sync::RwLock;

use crate::cli::text;
use crate::helpers::{settings_for, spawn_on, Caller, TestApp, TestDb};

/// Tests that change the shared tables hold it for writing; the others for reading.
static SHARED_TABLES: RwLock<()> = RwLock::const_new(());

fn citus_url() -> String {
    std::env::var("PLIO_CITUS_URL")
        .expect("PLIO_CITUS_URL must name a Citus coordinator's database (see .ci/run)")
}

fn conn() -> PgConnection {
    PgConnection::establish(&citus_url()).expect("connect to the coordinator")
}

/// Migrates and seeds the coordinator's database and runs `plio citus setup`, once.
fn prepared() -> &'static str {
    static READY: OnceLock<String> = OnceLock::new();
    READY.get_or_init(|| {
        let url = citus_url();
        let out = cli(&["migrate"]);
        assert!(out.status.success(), "{}", text(&out));
        let mut c = conn();
        plio::seed::run(&mut c, &settings_for(&url, &[]), None).expect("seed");
        let out = cli(&["citus", "setup"]);
        assert!(out.status.success(), "{}", text(&out));
        url
    })
}

fn cli(args: &[&str]) -> Output {
    plio_env(args, &[])
}

fn plio_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    crate::cli::plio_env(&TestDb::existing(&citus_url()), args, env)
}

/// A password grant as the seeded superuser.
async fn login(app: &TestApp) -> reqwest::Response {
    crate::auth::password_grant_form(
        app,
        crate::helpers::SUPERUSER_EMAIL,
        crate::helpers::SUPERUSER_PASSWORD,
    )
    .await
}

/// A name no other test (or earlier run against the same cluster) uses.
fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{tag}{}x{}x{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn app() -> TestApp {
    spawn_on(TestDb::existing(prepared()), &[])
}

fn nodes() -> std::collections::BTreeMap<String, String> {
    citus::schema_nodes(&mut conn()).expect("schema nodes")
}

/// The node holding `schema` once the server has moved it to a worker (right after the
/// creation's response).
async fn placed_on_a_worker(schema: &str) -> String {
    for _ in 0..400 {
        if let Some(node) = nodes().get(schema) {
            return node.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{schema} was not distributed within 20 s");
}

fn schema_of(org: &Value) -> String {
    org["schema_name"]
        .as_str()
        .expect("schema_name")
        .to_string()
}

fn uuid(plio: &Value) -> &str {
    plio["uuid"].as_str().expect("uuid")
}

#[actix_web::test]
#[ignore = "needs a Citus coordinator in PLIO_CITUS_URL (CI's Citus lane)"]
async fn tenants_are_distributed_schemas_and_the_api_works_across_workers() {
    let _shared = SHARED_TABLES.read().await;
    let app = app();
    let (a, b) = (unique("ca"), unique("cb"));
    let org_a = app.create_tenant(&a).await;
    let org_b = app.create_tenant(&b).await;
    let (sa, sb) = (schema_of(&org_a), schema_of(&org_b));
    for s in [&sa, &sb] {
        let node = placed_on_a_worker(s).await;
        let coordinator = citus_url()
            .rsplit_once(':')
            .and_then(|(_, rest)| rest.split('/').next().map(str::to_string))
            .unwrap_or_default();
        assert!(
            !node.ends_with(&format!(":{coordinator}")),
            "{s} lives on a worker, not {node}"
        );
    }
    let placed = nodes();
    let out = cli(&["tenant", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(listing.contains("NODE"), "{listing}");
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with(&a) && l.contains(&placed[&sa])),
        "{listing}"
    );

    // A creator authors in tenant A (org-admin there, member of B).
    let (me, token) = app.create_user(&format!("{}@citus.test", unique("me")), false);
    app.add_member(me, org_a["id"].as_i64().unwrap() as i32, "org-admin");
    app.add_member(me, org_b["id"].as_i64().unwrap() as i32, "org-view");
    let in_a = Caller::new(&app, Some(&token), Some(&a));
    let plio = in_a.make_plio("Sharded", true, 2).await;
    assert_eq!(plio["items"].as_array().unwrap().len(), 2);
    let (s, list) = in_a.get("/api/v1/plios/?search=Sharded").await;
    assert_eq!((s, list["count"].as_i64()), (200, Some(1)), "{list}");
    let (s, _) = in_a
        .patch(
            &format!("/api/v1/plios/{}/", uuid(&plio)),
            json!({"name": "Sharded again"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, dup) = in_a
        .post(
            &format!("/api/v1/plios/{}/duplicate/", uuid(&plio)),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{dup}");
    let (s, tags) = in_a
        .post("/api/v1/tags/", json!({"name": unique("t")}))
        .await;
    assert_eq!(s, 201, "{tags}");

    // A learner plays it: session, answers, events; the creator reads metrics and the report.
    let (_, learner) = app.create_user(&format!("{}@citus.test", unique("l")), false);
    let l = Caller::new(&app, Some(&learner), Some(&a));
    let (s, play) = l.get(&format!("/api/v1/plios/{}/play/", uuid(&plio))).await;
    assert_eq!(s, 200, "{play}");
    let (s, session) = l
        .post("/api/v1/sessions/", json!({"plio": plio["id"]}))
        .await;
    assert_eq!(s, 201, "{session}");
    let answer = &session["session_answers"][0];
    let (s, _) = l
        .patch(
            &format!("/api/v1/session-answers/{}/", answer["id"]),
            json!({"answer": 1}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = l
        .post(
            "/api/v1/events/",
            json!({"session": session["id"], "type": "played", "player_time": 3.0, "details": {}}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = l
        .patch(
            &format!("/api/v1/sessions/{}/", session["id"]),
            json!({"watch_time": 30.0}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, metrics) = in_a
        .get(&format!("/api/v1/plios/{}/metrics/", uuid(&plio)))
        .await;
    assert_eq!(
        (s, metrics["unique_viewers"].as_i64()),
        (200, Some(1)),
        "{metrics}"
    );
    let res = app
        .client
        .get(app.url(&format!("/api/v1/plios/{}/download_data/", uuid(&plio))))
        .bearer_auth(&token)
        .header("Organization", a.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Copies between schemas on (possibly) different workers and the coordinator.
    let (s, copy) = in_a
        .post(
            &format!("/api/v1/plios/{}/copy/", uuid(&plio)),
            json!({"workspace": b}),
        )
        .await;
    assert_eq!(s, 200, "{copy}");
    let in_b = Caller::new(&app, Some(&token), Some(&b));
    assert_eq!(
        in_b.get(&format!("/api/v1/plios/{}/", uuid(&copy))).await.0,
        200
    );
    let personal = Caller::new(&app, Some(&token), None);
    let mine = personal.make_plio("Personal", false, 1).await;
    let (s, back) = personal
        .post(
            &format!("/api/v1/plios/{}/copy/", uuid(&mine)),
            json!({"workspace": a}),
        )
        .await;
    assert_eq!(s, 200, "{back}");
    assert_eq!(
        in_a.get(&format!("/api/v1/plios/{}/", uuid(&back))).await.0,
        200
    );
    assert_eq!(
        in_a.delete(&format!("/api/v1/plios/{}/", uuid(&dup)))
            .await
            .0,
        204
    );

    // Members and the organization's own routes.
    let (s, members) = in_a.get("/api/v1/organization-users/").await;
    assert_eq!(s, 200, "{members}");
    let (_, root) = app.superuser();
    let (s, orgs) = Caller::new(&app, Some(&root), None)
        .get(&format!("/api/v1/organizations/{}/", org_a["id"]))
        .await;
    assert_eq!(
        (s, orgs["shortcode"].as_str()),
        (200, Some(a.as_str())),
        "{orgs}"
    );

    // Migrating again finds every schema current; dropping removes the schema everywhere.
    let out = cli(&["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cli(&["tenant", "drop", &b, "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!nodes().contains_key(&sb), "{sb} is gone from the cluster");
    // The server hears of the drop on the change bus.
    let mut status = 0;
    for _ in 0..100 {
        status = in_b.get("/api/v1/plios/").await.0;
        if status == 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 404);
}

#[actix_web::test]
#[ignore = "needs a Citus coordinator in PLIO_CITUS_URL (CI's Citus lane)"]
async fn setup_is_idempotent_and_distribute_takes_tenants_made_before_sharding() {
    let _shared = SHARED_TABLES.read().await;
    let app = app();
    for _ in 0..2 {
        let out = cli(&["citus", "setup"]);
        assert!(out.status.success(), "{}", text(&out));
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(said.contains("schema-based sharding: on"), "{said}");
    }
    // A tenant created while sharding was off in its session stays on the coordinator.
    let old = unique("old");
    let out = plio_env(
        &["tenant", "create", &old],
        &[("PGOPTIONS", "-c citus.enable_schema_based_sharding=off")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let schema = SchemaName::for_new_tenant(&old).unwrap();
    assert!(
        !nodes().contains_key(schema.as_str()),
        "not distributed yet"
    );
    let out = cli(&["citus", "distribute"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("distributed {schema}")),
        "{}",
        text(&out)
    );
    assert!(nodes().contains_key(schema.as_str()), "distributed now");
    let out = cli(&["citus", "distribute"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(schema.as_str()));
    // And it serves (once the server has heard of the tenant).
    let (_, token) = app.superuser();
    let c = Caller::new(&app, Some(&token), Some(&old));
    for _ in 0..100 {
        if c.get("/api/v1/plios/").await.0 == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let plio = c.make_plio("After distribute", true, 1).await;
    assert_eq!(
        c.get(&format!("/api/v1/plios/{}/", uuid(&plio))).await.0,
        200
    );
}

#[actix_web::test]
#[ignore = "needs a Citus coordinator in PLIO_CITUS_URL (CI's Citus lane)"]
async fn a_schema_behind_migrates_one_statement_at_a_time() {
    let _shared = SHARED_TABLES.read().await;
    prepared();
    // A schema built by replaying every tenant migration (each has a CREATE INDEX beside
    // other statements: sent as one text, a worker refused it).
    let schema = SchemaName::for_new_tenant(&unique("replay")).unwrap();
    let mut c = conn();
    c.batch_execute(&format!("CREATE SCHEMA {}", schema.quoted()))
        .unwrap();
    let applied = plio::db::migrations::apply_tenant(&mut c, &schema).expect("replay");
    assert_eq!(applied.len(), plio::db::migrations::tenant_versions().len());
    assert!(nodes().contains_key(schema.as_str()));
    // Already distributed, then gone: a move attempt (the server's, after a creation that was
    // dropped meanwhile) has nothing to do and no error.
    assert!(!citus::try_distribute(&mut c, &schema).unwrap());
    c.batch_execute(&format!("DROP SCHEMA {} CASCADE", schema.quoted()))
        .unwrap();
    assert!(!citus::try_distribute(&mut c, &schema).unwrap());
}

#[actix_web::test]
#[ignore = "needs a Citus coordinator in PLIO_CITUS_URL (CI's Citus lane)"]
async fn shared_tables_can_be_local_tables_and_back_to_reference_tables() {
    let _exclusive = SHARED_TABLES.write().await;
    let app = app();
    let shared = citus::shared_tables(&mut conn()).unwrap();
    assert!(shared.iter().any(|t| t == "user"), "{shared:?}");
    // The default (setup without a flag, as `prepared` ran it): reference tables.
    let status = citus::status(&mut conn()).unwrap();
    assert_eq!(status.reference_tables.len(), shared.len(), "{status:?}");
    let out = cli(&["citus", "setup", "--shared-tables", "local"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(citus::status(&mut conn())
        .unwrap()
        .reference_tables
        .is_empty());
    // Tenant creation, logins and content work with the shared tables on the coordinator.
    let t = unique("loc");
    let org = app.create_tenant(&t).await;
    let (me, token) = app.create_user(&format!("{}@citus.test", unique("r")), false);
    app.add_member(me, org["id"].as_i64().unwrap() as i32, "org-admin");
    let c = Caller::new(&app, Some(&token), Some(&t));
    let plio = c.make_plio("Local", true, 1).await;
    assert_eq!(
        c.get(&format!("/api/v1/plios/{}/", uuid(&plio))).await.0,
        200
    );
    // Back to the default, then idempotent.
    let out = cli(&["citus", "setup"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cli(&["citus", "setup"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 made now"),
        "{}",
        text(&out)
    );
    let status = citus::status(&mut conn()).unwrap();
    assert_eq!(status.reference_tables.len(), shared.len(), "{status:?}");
}

/// A cluster of this test's own (`cluster.sh` on another base port), dropped at the end.
struct OwnCluster {
    script: String,
    base: u16,
}

impl OwnCluster {
    fn start(base: u16) -> Self {
        let dir = std::env::var("PLIO_CITUS_DIR")
            .expect("PLIO_CITUS_DIR must name the Citus bundle (../shared/citus; see .ci/run)");
        let this = Self {
            script: format!("{dir}/cluster.sh"),
            base,
        };
        this.run("stop");
        let out = this.run("start");
        assert!(out.status.success(), "{}", text(&out));
        this
    }
    fn run(&self, verb: &str) -> Output {
        Command::new(&self.script)
            .args([verb, &self.base.to_string()])
            .output()
            .expect("cluster.sh")
    }
    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/plio", self.base)
    }
    fn worker(&self, port: u16, verb: &str) {
        let name = if port == self.base + 1 { "w1" } else { "w2" };
        let out = Command::new("pg_ctlcluster")
            .args([
                "--skip-systemctl-redirect",
                "15",
                &format!("citus_{}_{name}", self.base),
                verb,
            ])
            .output()
            .expect("pg_ctlcluster");
        assert!(out.status.success(), "{}", text(&out));
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        self.run("stop");
    }
}

/// SPEC 6.5 on Citus: with one worker stopped, its tenants' uncached requests get a fast 503
/// `database_unavailable` (their cached reads still answer), every other tenant and the
/// personal workspace are served as before (the breaker does not take the whole database
/// down), a login (a write to the shared reference tables, on every node) fails fast, and all
/// is back once the worker is.
#[actix_web::test]
#[ignore = "needs the Citus bundle in PLIO_CITUS_DIR (CI's Citus lane)"]
async fn a_stopped_worker_fails_its_tenants_fast_and_spares_the_others() {
    let cluster = OwnCluster::start(5630);
    let url = cluster.url();
    let out = Command::new(env!("CARGO_BIN_EXE_plio"))
        .args(["migrate"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    plio::seed::run(
        &mut PgConnection::establish(&url).unwrap(),
        &settings_for(&url, &[]),
        None,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_plio"))
        .args(["citus", "setup"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let app = spawn_on(TestDb::existing(&url), &[]);
    let (_, root) = app.superuser();
    // Tenants until each worker holds one.
    let mut on: std::collections::BTreeMap<String, String> = Default::default();
    for i in 0..6 {
        let shortcode = format!("down-{i}");
        let org = app.create_tenant(&shortcode).await;
        let schema = schema_of(&org);
        let mut node = None;
        for _ in 0..200 {
            node = citus::schema_nodes(&mut PgConnection::establish(&url).unwrap())
                .unwrap()
                .get(&schema)
                .cloned();
            if node.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        on.entry(node.expect("distributed")).or_insert(shortcode);
        if on.len() == 2 {
            break;
        }
    }
    assert_eq!(on.len(), 2, "{on:?}");
    let stopped_port = cluster.base + 2;
    let down = on[&format!("127.0.0.1:{stopped_port}")].clone();
    let up = on[&format!("127.0.0.1:{}", cluster.base + 1)].clone();
    let in_down = Caller::new(&app, Some(&root), Some(&down));
    let in_up = Caller::new(&app, Some(&root), Some(&up));
    let cached = in_down.make_plio("Cached before", true, 1).await;
    in_up.make_plio("Up", true, 1).await;

    cluster.worker(stopped_port, "stop");
    let started = std::time::Instant::now();
    let (s, body) = in_down.get("/api/v1/videos/").await;
    assert_eq!(
        (s, body["code"].as_str()),
        (503, Some("database_unavailable")),
        "{body}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "a stopped worker answered in {:?}",
        started.elapsed()
    );
    let (s, body) = in_down
        .post("/api/v1/videos/", json!({"url": "https://youtu.be/x"}))
        .await;
    assert_eq!(s, 503, "{body}");
    // Cached reads of its tenants still answer; the other worker's tenant and the personal
    // workspace are untouched.
    assert_eq!(
        in_down
            .get(&format!("/api/v1/plios/{}/", uuid(&cached)))
            .await
            .0,
        200
    );
    assert_eq!(in_up.get("/api/v1/videos/").await.0, 200);
    let (s, made) = in_up
        .post("/api/v1/videos/", json!({"url": "https://youtu.be/y"}))
        .await;
    assert_eq!(s, 201, "{made}");
    assert_eq!(
        Caller::new(&app, Some(&root), None)
            .get("/api/v1/videos/")
            .await
            .0,
        200
    );

    // A shared write (a token) needs every node: the shared tables are reference tables (the
    // default, docs/decisions.md), written on all nodes at once. It fails fast too.
    let reference = citus::status(&mut PgConnection::establish(&url).unwrap())
        .unwrap()
        .reference_tables;
    assert!(
        reference.iter().any(|t| t == "access_token"),
        "{reference:?}"
    );
    let started = std::time::Instant::now();
    let res = login(&app).await;
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("database_unavailable")),
        "{body}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    cluster.worker(stopped_port, "start");
    let mut status = 0;
    for _ in 0..100 {
        status = in_down.get("/api/v1/videos/").await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "back once the worker is");
    let res = login(&app).await;
    assert_eq!(res.status(), 200, "logins are back too");
}
