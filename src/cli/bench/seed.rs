//! Seeding the benchmark database: tenants, a realistic plio, users and tokens.

use std::time::{Duration, Instant};

use serde_json::json;

use super::report::BenchConfig;
use crate::cache::Cache;
use crate::config::Settings;
use crate::db::models::content::{Image, Item, Plio, PlioGraph, Question, Video};
use crate::db::models::{role, user};
use crate::db::{Database, Scope};
use crate::tenancy::provisioning::{self, NewTenant};
use crate::tenant::{SchemaName, Tenant};

#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) org: String,
    pub(super) uuid: String,
    pub(super) token: String,
}

pub(super) struct Seeded {
    pub(super) token: String,
    /// Each tenant's plio and its creator's token, in creation order. Every tenant has its
    /// own creator: one user in every tenant would make the creator payload (which lists the
    /// user's organizations) grow with the tenant count.
    pub(super) tenants: Vec<Target>,
    /// Creation time of each tenant, ms.
    pub(super) create_ms: Vec<f64>,
    /// On Citus: time to distribute each new schema to a worker after its creation, ms.
    pub(super) distribute_ms: Vec<f64>,
    pub(super) personal_uuid: String,
}

pub(super) fn realistic_graph(items: usize, creator: i32) -> PlioGraph {
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

pub(super) fn create_bench_database(settings: &Settings) -> anyhow::Result<String> {
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

pub(super) fn drop_bench_database(settings: &Settings, url: &str) {
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

pub(super) fn seed_base(
    db: &Database,
    settings: &Settings,
    items: usize,
) -> anyhow::Result<Seeded> {
    let (_, failed) = provisioning::migrate_all(db, 2, &|_| {}, &|_| {})?;
    if let Some(f) = failed.iter().find(|o| o.error.is_some()) {
        anyhow::bail!("migrating {} failed: {:?}", f.schema, f.error);
    }
    let mut conn = db.connection()?;
    crate::seed::run(&mut conn, settings, None)?;
    let (token, personal_uuid) = db.tenant_blocking::<_, anyhow::Error, _>(
        &Tenant::new(None, String::new(), SchemaName::public()),
        |conn| {
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
        },
    )?;
    Ok(Seeded {
        token,
        tenants: Vec::new(),
        create_ms: Vec::new(),
        distribute_ms: Vec::new(),
        personal_uuid,
    })
}

pub(super) fn plio_uuid(conn: &mut diesel::PgConnection, id: i32) -> anyhow::Result<String> {
    use crate::db::schema::tenant::plio;
    use diesel::prelude::*;
    let published: String = diesel::update(plio::table.filter(plio::id.eq(id)))
        .set(plio::status.eq("published"))
        .returning(plio::uuid)
        .get_result(conn)?;
    Ok(published)
}

/// Grows the tenant set to `target` tenants, each with one realistic plio.
///
/// Tenants are created on a connection that does not also fill them. For each of the
/// hundreds of relation invalidations a new schema makes, PostgreSQL walks every cached plan
/// of the session, and the filling connection caches the foreign-key check plans of every
/// tenant it wrote to (three per tenant here): creating on it measured that one session's
/// ever longer history (O(N) per tenant), not tenant creation. A server's pooled connections
/// carry such plans only from the tenants they wrote to within r2d2's 30-minute lifetime.
pub(super) fn grow_tenants(
    db: &Database,
    settings: &Settings,
    seeded: &mut Seeded,
    target: usize,
    items: usize,
    progress: &dyn Fn(usize, usize),
) -> anyhow::Result<()> {
    use diesel::Connection;
    // For the same reason, the filling connection is replaced every few hundred tenants:
    // otherwise each creation costs it a walk over all its plans, and seeding 10,000 tenants
    // takes hours.
    let fresh = || diesel::PgConnection::establish(&settings.database_url);
    let mut conn = fresh()?;
    let mut provisioning_conn = db.connection()?;
    let view = role::id_by_name(&mut conn, "org-view")?;
    while seeded.tenants.len() < target {
        let n = seeded.tenants.len() + 1;
        if n % 250 == 0 {
            conn = fresh()?;
        }
        let shortcode = format!("bench-{n:05}");
        let started = Instant::now();
        let org = provisioning::create_tenant(
            &mut provisioning_conn,
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
        // What a server does right after the response (Citus only; a no-op otherwise).
        let started = Instant::now();
        if crate::tenancy::citus::distribute_new(&mut provisioning_conn, &schema)? {
            seeded
                .distribute_ms
                .push(started.elapsed().as_secs_f64() * 1000.0);
        }
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
        let uuid = crate::db::scoped::<_, anyhow::Error, _>(
            &mut conn,
            &Scope::Schema(schema),
            "",
            |conn| {
                let id = crate::db::models::content::insert_graph(
                    conn,
                    &realistic_graph(items, creator),
                    creator,
                )?;
                plio_uuid(conn, id)
            },
        )?;
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

/// Removes the benchmark's cache entries from Redis (and the Redis Cluster, if one was used).
pub(super) fn clear_bench_keys(cfg: &BenchConfig, prefix: &str) {
    let (ttl, timeout) = (Duration::from_secs(1), Duration::from_secs(10));
    let caches = [
        cfg.redis_url
            .as_ref()
            .and_then(|url| Cache::redis(url, prefix, ttl, timeout).ok()),
        cfg.redis_cluster_urls
            .as_ref()
            .and_then(|urls| Cache::redis_cluster(urls, prefix, ttl, timeout).ok()),
    ];
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    for cache in caches.into_iter().flatten() {
        rt.block_on(cache.clear_all());
    }
}
