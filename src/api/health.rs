//! `/healthz` (process up), `/readyz` (database reachable; cache state reported) and `/metrics`.

use actix_web::{web, HttpResponse};
use diesel::RunQueryDsl;
use serde_json::json;

use crate::bus::listener::Connected;
use crate::cache::Cache;
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::metrics::{Metrics, ScrapeState};
use crate::tenancy::TenantRegistry;

/// `{"status": "..."}`: liveness, and the answer of writes that return no resource.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Status {
    /// `ok` (or, for `users/{id}/config/`, `config set`).
    pub status: &'static str,
}

/// Liveness: answers while the process runs.
#[utoipa::path(
    get,
    path = "/healthz/",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "Success", body = Status)
    )
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// Prometheus text (SPEC 5): requests by route template and status, latency, cache events per
/// kind, pool connections (open, idle, waiting), tenants by state, the change bus (messages,
/// lag, reconnections, connected).
#[utoipa::path(
    get,
    path = "/metrics/",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain")
    )
)]
pub async fn metrics(
    metrics: web::Data<Metrics>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
    registry: web::Data<TenantRegistry>,
    bus: web::Data<Connected>,
) -> HttpResponse {
    let (connections, idle) = db.pool_state();
    let mut events = Vec::new();
    for k in cache.stats().kinds {
        for (event, n) in [
            ("hit", k.hits),
            ("miss", k.misses),
            ("fill", k.populates),
            ("stale_fill_refused", k.stale_fills_rejected),
            ("invalidation", k.invalidations),
            ("error", k.errors),
        ] {
            events.push((k.kind, event, n));
        }
    }
    let state = ScrapeState {
        pool_connections: u64::from(connections),
        pool_idle: u64::from(idle),
        pool_waiting: db.pool_waiting(),
        db_breaker_open: db.breaker_open(),
        cache: events,
        tenants: registry.state_counts(),
        bus_connected: bus.get_ref().get(),
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render(&state))
}

/// Readiness: the database answers `SELECT 1`.
#[utoipa::path(
    get,
    path = "/readyz/",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "Success", body = serde_json::Value)
    )
)]
pub async fn readyz(
    db: web::Data<Database>,
    cache: web::Data<Cache>,
    registry: web::Data<TenantRegistry>,
) -> Result<HttpResponse, AppError> {
    db.shared(|conn| {
        diesel::sql_query("SELECT 1").execute(conn)?;
        Ok(())
    })
    .await
    .map_err(|e| match e.code() {
        Code::Internal => AppError::new(Code::DatabaseUnavailable),
        _ => e,
    })?;
    let (connections, idle) = db.pool_state();
    Ok(HttpResponse::Ok().json(json!({
        "status": "ok",
        "database": "ok",
        "cache": {"backend": cache.backend_name(), "state": cache.health(), "stats": cache.stats()},
        "tenants": registry.len(),
        "pool": {"connections": connections, "idle": idle},
    })))
}
