//! An organization's settings (`PATCH /organizations/{id}/setting/`) and api key rotation.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;
use serde_json::Value;

use crate::api::extract::body::JsonBody;
use crate::api::organizations::{require_superuser_or_admin, ApiKey};
use crate::auth::AuthUser;
use crate::cache::Cache;
use crate::db::models::membership;
use crate::db::models::organization::{self as model};
use crate::db::schema::organization;
use crate::db::Database;
use crate::error::{AppError, Code};

/// `POST /api/v1/organizations/{id}/rotate-api-key/` (superusers and that organization's
/// admins): a new api_key from the CSPRNG; the old one stops working at once.
#[utoipa::path(
    post,
    path = "/api/v1/organizations/{id}/rotate-api-key/",
    tag = "organizations",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = ApiKey)
    )
)]
pub async fn rotate_api_key(
    user: AuthUser,
    path: web::Path<i32>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let key = cache
        .write_shared(&db, move |conn, inv| {
            require_superuser_or_admin(conn, &user, id)?;
            inv.organization(conn, id)?;
            model::find_live(conn, id)?;
            let key = crate::secrets::random_string(32, crate::secrets::ALPHANUMERIC);
            diesel::update(organization::table.find(id))
                .set((
                    organization::api_key.eq(&key),
                    organization::updated_at.eq(Utc::now()),
                ))
                .execute(conn)?;
            Ok(key)
        })
        .await?;
    tracing::info!(organization_id = id, "api_key rotated");
    Ok(HttpResponse::Ok().json(ApiKey { api_key: key }))
}

/// `PATCH /api/v1/organizations/{id}/setting/`: replaces `config.settings`; returns `config`.
#[utoipa::path(
    patch,
    path = "/api/v1/organizations/{id}/setting/",
    tag = "organizations",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = serde_json::Value)
    )
)]
pub async fn update_organization_setting(
    user: AuthUser,
    path: web::Path<i32>,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let settings = body.into_inner();
    crate::api::input::check_config_size(&settings)?;
    if !settings.is_object() {
        return Err(AppError::with_detail(
            Code::Invalid,
            "Expected a JSON object.",
        ));
    }
    // Members' user payloads carry the organization's config (SPEC 5.1): they go stale.
    let config = cache
        .write_shared(&db, move |conn, inv| {
            if !user.is_superuser && !membership::is_admin(conn, user.id, id)? {
                return Err(AppError::new(Code::PermissionDenied));
            }
            inv.organization(conn, id)?;
            let current = model::find_live(conn, id)?;
            let mut config = match current.config {
                Value::Object(map) => map,
                _ => serde_json::Map::new(),
            };
            config.insert("settings".into(), settings);
            let config = Value::Object(config);
            crate::api::input::check_config_size(&config)?;
            diesel::update(organization::table.find(id))
                .set((
                    organization::config.eq(&config),
                    organization::updated_at.eq(Utc::now()),
                ))
                .execute(conn)?;
            Ok(config)
        })
        .await?;
    Ok(HttpResponse::Ok().json(config))
}
