//! Several instances on one database (SPEC 2.2, 6.4): a change made through one instance, or
//! by the CLI, is seen by the others within a second, with or without Redis, because it
//! travels on the change bus (PostgreSQL NOTIFY) and not only through a shared cache.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{names, spawn_app, spawn_app_with, spawn_on, Caller, TestApp};
use crate::metrics::scrape;

/// SPEC 2.2 / 6.4: "within 1 second".
const WITHIN: Duration = Duration::from_secs(1);

/// A second server on `app`'s database. Its registry refresh (the safety net) is as slow as
/// allowed, so what it sees within a second came over the bus.
fn peer(app: &TestApp, extra: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![("TENANT_REFRESH_MS", "5000")];
    settings.extend_from_slice(extra);
    spawn_on(app.db.shared(), &settings)
}

/// Polls `seen` until it holds; fails if it does not within `limit`.
async fn seen_within<F, Fut>(limit: Duration, what: &str, mut seen: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if seen().await {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{what}: not seen within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A tenant with an org-admin who made a published plio through `a`; returns (creator's
/// token, plio uuid).
async fn tenant_with_plio(a: &TestApp, shortcode: &str) -> (String, String) {
    let org = a.create_tenant(shortcode).await;
    let (creator, token) = a.create_user(&format!("creator@{shortcode}.example"), false);
    a.add_member(creator, org["id"].as_i64().unwrap() as i32, "org-admin");
    let plio = Caller::new(a, Some(&token), Some(shortcode))
        .make_plio("Before", true, 1)
        .await;
    (token, plio["uuid"].as_str().unwrap().to_string())
}

async fn bus_messages(app: &TestApp) -> String {
    scrape(app)
        .await
        .lines()
        .find(|l| l.starts_with("plio_bus_messages_total "))
        .unwrap_or_default()
        .to_string()
}

/// Waits until `app` has applied every change sent so far by the others (a late message would
/// drop entries a test expects to be cached).
async fn settled(app: &TestApp) {
    let mut last = bus_messages(app).await;
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the bus did not go quiet"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        let now = bus_messages(app).await;
        if now == last {
            return;
        }
        last = now;
    }
}

async fn name_on(app: &TestApp, token: &str, org: &str, uuid: &str) -> Value {
    let (status, body) = Caller::new(app, Some(token), Some(org))
        .get(&format!("/api/v1/plios/{uuid}/"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["name"].clone()
}

/// Two servers with the same cache settings (`extra`) on one database.
async fn pair(extra: &[(&str, &str)]) -> (TestApp, TestApp) {
    let a = spawn_app_with(extra).await;
    let b = peer(&a, extra);
    (a, b)
}

/// Both on Redis, in a key space of their own.
async fn redis_pair() -> (TestApp, TestApp) {
    let prefix = format!("bus{}x{}", std::process::id(), rand_suffix());
    let redis = crate::cache::redis_url();
    pair(&[
        ("REDIS_URL", redis.as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
    ])
    .await
}

#[actix_web::test]
async fn memory_cached_instances_see_each_others_writes_revocations_and_memberships() {
    let (a, b) = pair(&[]).await;
    writes_revocations_and_memberships(a, b).await;
}

#[actix_web::test]
async fn redis_cached_instances_see_each_others_writes_revocations_and_memberships() {
    let (a, b) = redis_pair().await;
    writes_revocations_and_memberships(a, b).await;
}

async fn writes_revocations_and_memberships(a: TestApp, b: TestApp) {
    let (token, uuid) = tenant_with_plio(&a, "bus-mem").await;
    settled(&b).await;
    for _ in 0..2 {
        assert_eq!(name_on(&b, &token, "bus-mem", &uuid).await, "Before");
        assert_eq!(
            names(&b.plio_names(&token, Some("bus-mem")).await.1),
            ["Before"]
        );
    }

    // A plio write on A.
    let (status, _) = Caller::new(&a, Some(&token), Some("bus-mem"))
        .patch(&format!("/api/v1/plios/{uuid}/"), json!({"name": "After"}))
        .await;
    assert_eq!(status, 200);
    seen_within(WITHIN, "a plio renamed on A, read on B", || async {
        name_on(&b, &token, "bus-mem", &uuid).await == "After"
    })
    .await;
    seen_within(WITHIN, "a plio renamed on A, listed on B", || async {
        names(&b.plio_names(&token, Some("bus-mem")).await.1) == ["After"]
    })
    .await;

    // A membership removed on A: B stops showing the member the organization's plio (on the
    // cached path, access follows the caller's own cached user entry).
    let org_id =
        a.count("SELECT id::bigint AS n FROM public.organization WHERE shortcode = 'bus-mem'");
    let (member, member_token) = a.create_user("member@bus-mem.example", false);
    a.add_member(member, org_id as i32, "org-view");
    settled(&b).await;
    let detail = format!("/api/v1/plios/{uuid}/");
    let on_b = Caller::new(&b, Some(&member_token), Some("bus-mem"));
    let before = on_b.get(&detail).await;
    assert_eq!(before.0, 200, "{}", before.1);
    assert_eq!(on_b.get(&detail).await, before, "served again (cached)");
    let membership = a.count(&format!(
        "SELECT id::bigint AS n FROM public.organization_user WHERE user_id = {member}"
    ));
    let (_, root) = a.superuser();
    let (status, _) = Caller::new(&a, Some(&root), None)
        .delete(&format!("/api/v1/organization-users/{membership}/"))
        .await;
    assert_eq!(status, 204);
    let on_a = Caller::new(&a, Some(&member_token), Some("bus-mem"))
        .get(&detail)
        .await;
    assert_ne!(
        on_a.0, 200,
        "A no longer shows a former member the private plio"
    );
    seen_within(WITHIN, "a membership removed on A, on B", || async {
        on_b.get(&detail).await.0 == on_a.0
    })
    .await;

    // A token revoked on A (B has it in its token cache).
    let me = format!("/api/v1/users/{member}/");
    assert_eq!(on_b.get(&me).await.0, 200);
    let res = a
        .client
        .post(a.url("/auth/revoke-token/"))
        .form(&[("token", member_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    seen_within(WITHIN, "a token revoked on A, used on B", || async {
        on_b.get(&me).await.0 == 401
    })
    .await;

    // A user deactivated on A: B stops trusting their token (which it has cached).
    let (other, other_token) = a.create_user("other@bus-mem.example", false);
    let as_other = Caller::new(&b, Some(&other_token), None);
    let theirs = format!("/api/v1/users/{other}/");
    assert_eq!(as_other.get(&theirs).await.0, 200);
    let (status, body) = Caller::new(&a, Some(&root), None)
        .patch(&theirs, json!({"is_active": false}))
        .await;
    assert_eq!(status, 200, "{body}");
    seen_within(
        WITHIN,
        "a user deactivated on A, their token on B",
        || async { as_other.get(&theirs).await.0 == 401 },
    )
    .await;

    // The bus is visible in B's metrics.
    let metrics = scrape(&b).await;
    assert!(metrics.contains("plio_bus_connected 1"), "{metrics}");
    assert!(metrics.contains("plio_bus_lag_seconds_count"), "{metrics}");
}

#[actix_web::test]
async fn tenants_created_and_deleted_on_one_instance_are_seen_by_another() {
    let (a, b) = pair(&[]).await;
    tenants_created_and_deleted(a, b).await;
}

#[actix_web::test]
async fn tenants_created_and_deleted_on_one_redis_instance_are_seen_by_another() {
    let (a, b) = redis_pair().await;
    tenants_created_and_deleted(a, b).await;
}

async fn tenants_created_and_deleted(a: TestApp, b: TestApp) {
    let (_, root) = a.superuser();
    let on_b = Caller::new(&b, Some(&root), Some("bus-new"));
    assert_eq!(on_b.get("/api/v1/plios/").await.0, 404);
    let org = a.create_tenant("bus-new").await;
    seen_within(WITHIN, "a tenant created on A, on B", || async {
        on_b.get("/api/v1/plios/").await.0 == 200
    })
    .await;
    let (status, _) = Caller::new(&a, Some(&root), None)
        .delete(&format!("/api/v1/organizations/{}/", org["id"]))
        .await;
    assert_eq!(status, 204);
    seen_within(WITHIN, "a tenant deleted on A, on B", || async {
        on_b.get("/api/v1/plios/").await.0 == 404
    })
    .await;
}

#[actix_web::test]
async fn an_instance_cut_off_from_redis_while_writing_leaves_nothing_stale() {
    let prefix = format!("bus{}x{}", std::process::id(), rand_suffix());
    let redis = crate::cache::redis_url();
    let b = spawn_app_with(&[
        ("REDIS_URL", redis.as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
    ])
    .await;
    // A's Redis is unreachable (nothing listens on port 1); same key space otherwise.
    let a = peer(
        &b,
        &[
            ("REDIS_URL", "redis://127.0.0.1:1"),
            ("CACHE_KEY_PREFIX", prefix.as_str()),
        ],
    );
    let (token, uuid) = tenant_with_plio(&b, "bus-redis").await;
    settled(&b).await;
    for _ in 0..2 {
        assert_eq!(name_on(&b, &token, "bus-redis", &uuid).await, "Before");
    }
    let (status, _) = Caller::new(&a, Some(&token), Some("bus-redis"))
        .patch(&format!("/api/v1/plios/{uuid}/"), json!({"name": "After"}))
        .await;
    assert_eq!(status, 200);
    seen_within(
        WITHIN,
        "a write on an instance without Redis, read on B",
        || async { name_on(&b, &token, "bus-redis", &uuid).await == "After" },
    )
    .await;
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

/// Renames a plio in the database behind every server's back (no bus message).
fn rename_behind_their_backs(app: &TestApp, schema: &str, uuid: &str, name: &str) {
    use diesel::RunQueryDsl;
    let mut conn = app.conn();
    diesel::sql_query(format!(
        "UPDATE \"{schema}\".plio SET name = '{name}' WHERE uuid = '{uuid}'"
    ))
    .execute(&mut conn)
    .unwrap();
}

#[actix_web::test]
async fn the_cli_reaches_memory_caches_through_the_bus() {
    let a = spawn_app().await;
    let b = peer(&a, &[]);
    let (token, uuid) = tenant_with_plio(&a, "bus-cli").await;
    settled(&b).await;
    for _ in 0..2 {
        assert_eq!(name_on(&b, &token, "bus-cli", &uuid).await, "Before");
    }
    rename_behind_their_backs(&a, "bus_cli", &uuid, "Behind");
    assert_eq!(
        name_on(&b, &token, "bus-cli", &uuid).await,
        "Before",
        "served from B's memory cache"
    );
    let out = crate::cli::plio_env(&a.db, &["cache", "clear", "--tenant", "bus-cli"], &[]);
    assert!(out.status.success(), "{}", crate::cli::text(&out));
    seen_within(WITHIN, "plio cache clear --tenant, on B", || async {
        name_on(&b, &token, "bus-cli", &uuid).await == "Behind"
    })
    .await;

    // `plio tenant drop`: B stops serving the tenant at once.
    let out = crate::cli::plio_env(&a.db, &["tenant", "drop", "bus-cli", "--yes"], &[]);
    assert!(out.status.success(), "{}", crate::cli::text(&out));
    let on_b = Caller::new(&b, Some(&token), Some("bus-cli"));
    seen_within(WITHIN, "plio tenant drop, on B", || async {
        on_b.get(&format!("/api/v1/plios/{uuid}/")).await.0 == 404
    })
    .await;
}

#[actix_web::test]
async fn an_instance_that_loses_the_bus_clears_its_local_caches_when_it_reconnects() {
    let a = spawn_app().await;
    let (token, uuid) = tenant_with_plio(&a, "bus-lost").await;
    settled(&a).await;
    for _ in 0..2 {
        assert_eq!(name_on(&a, &token, "bus-lost", &uuid).await, "Before");
    }
    rename_behind_their_backs(&a, "bus_lost", &uuid, "Missed");
    assert_eq!(name_on(&a, &token, "bus-lost", &uuid).await, "Before");
    // Cut the listener's connection (as a network failure or a PostgreSQL restart would).
    let killed = a.count(&format!(
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
         WHERE application_name = 'plio-bus' AND datname = '{}'",
        a.db.name
    ));
    assert_eq!(killed, 1);
    seen_within(
        Duration::from_secs(3),
        "local caches cleared after the bus reconnected",
        || async { name_on(&a, &token, "bus-lost", &uuid).await == "Missed" },
    )
    .await;
    let metrics = scrape(&a).await;
    assert!(metrics.contains("plio_bus_reconnects_total 1"), "{metrics}");
}
