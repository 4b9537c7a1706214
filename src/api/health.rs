//! `/healthz` (process up) and `/readyz` (database reachable; cache state reported).

use actix_web::{web, HttpResponse};
use diesel::RunQueryDsl;
use serde_json::json;

use crate::cache::Cache;
use crate::db::Database;
use crate::error::{AppError, Code};
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
