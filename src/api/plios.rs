//! `/api/v1/plios/{uuid}/`: a plio's detail (served from the cache), create, update, delete,
//! and its actions: play, setting, duplicate, copy.

use actix_web::{web, HttpResponse};

use crate::api::extract::body::JsonBody;
use crate::auth::AuthUser;
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::tenant::Tenant;

use crate::api::content::{
    accessible_head, check_may_create, head_in, plio_detail, read_plio, PlioRef, Read,
};
use crate::api::input::Input;
use crate::auth::MaybeUser;
use crate::cache::plio_index::PlioIndex;
use crate::cache::Cache;
use crate::db::models::content::{self, PlioChanges};
use crate::tenancy::{TenantRegistry, TenantState};
use serde_json::Value;

/// A response whose body is JSON already encoded.
fn json_bytes(mut builder: actix_web::HttpResponseBuilder, body: Vec<u8>) -> HttpResponse {
    builder
        .content_type(actix_web::http::header::ContentType::json())
        .body(body)
}

/// Reads plio fields from a body; `uuid` and `created_by` are ignored (server-owned).
fn read_plio_fields(input: &mut Input) -> PlioChanges {
    let mut ch = PlioChanges {
        name: input.string("name", false, 255),
        failsafe_url: input.string("failsafe_url", false, 255),
        is_public: input.boolean("is_public"),
        ..Default::default()
    };
    if input.has("status") {
        match input.string("status", false, 20).as_deref() {
            Some(s @ ("draft" | "published")) => ch.status = Some(s.to_string()),
            Some(other) => input.reject("status", format!("\"{other}\" is not a valid choice.")),
            None => input.reject("status", "This field may not be null."),
        }
    }
    if input.has("video") {
        ch.video_id = Some(if input.is_null("video") {
            None
        } else {
            input.id("video", false)
        });
    }
    if input.has("config") {
        ch.config = Some(if input.is_null("config") {
            None
        } else {
            input.config("config", false)
        });
    }
    ch
}

fn check_video(
    conn: &mut diesel::PgConnection,
    ch: &PlioChanges,
    caller: &AuthUser,
) -> Result<(), AppError> {
    if let Some(Some(video)) = ch.video_id {
        if !content::video_usable(conn, video, caller.id, caller.is_superuser)? {
            return Err(AppError::field(
                "video",
                format!("Invalid pk \"{video}\" - object does not exist."),
            ));
        }
    }
    Ok(())
}

/// `POST /api/v1/plios/` `{name, video, status, is_public, failsafe_url, config}`: the caller is
/// the creator; in an organization only members may create.
#[utoipa::path(
    post,
    path = "/api/v1/plios/",
    tag = "plios",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::PlioRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Success", body = crate::api::responses::PlioDetail)
    )
)]
pub async fn create_plio(
    caller: AuthUser,
    tenant: Tenant,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let mut input = Input::new(body.into_inner())?;
    let ch = read_plio_fields(&mut input);
    input.finish()?;
    let t = tenant.clone();
    let head = cache
        .write(&db, &tenant, move |conn, inv| {
            check_may_create(conn, &t, &caller)?;
            check_video(conn, &ch, &caller)?;
            let id = content::insert_plio(conn, &ch, caller.id)?;
            // A new id may have been used by a dropped tenant of the same name: start clean.
            inv.plios(&t, &[id]);
            head_in(conn, &t, Some(&caller), PlioRef::Id(id))?
                .ok_or_else(|| AppError::new(Code::NotFound))
        })
        .await?;
    let body = plio_detail(&db, &cache, &tenant, &viewer, &head).await?;
    Ok(json_bytes(HttpResponse::Created(), body))
}

/// `GET /api/v1/plios/{uuid}/`.
#[utoipa::path(
    get,
    path = "/api/v1/plios/{uuid}/",
    tag = "plios",
    security(("bearer" = [])),
    params(("uuid" = String, Path, description = "The plio's uuid")),
    responses(
        (status = 200, description = "Success", body = crate::api::responses::PlioDetail)
    )
)]
pub async fn get_plio(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<String>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
    index: web::Data<PlioIndex>,
) -> Result<HttpResponse, AppError> {
    let payload = read_plio(
        &db,
        &cache,
        &index,
        &tenant,
        Some(&caller),
        &path,
        Read::Retrieve,
    )
    .await?;
    Ok(json_bytes(HttpResponse::Ok(), payload))
}

/// `PUT|PATCH /api/v1/plios/{uuid}/` (the uuid itself is immutable).
#[utoipa::path(
    method(put, patch),
    path = "/api/v1/plios/{uuid}/",
    tag = "plios",
    security(("bearer" = [])),
    params(("uuid" = String, Path, description = "The plio's uuid")),
    request_body(content = crate::api::requests::PlioRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = crate::api::responses::PlioDetail)
    )
)]
pub async fn update_plio(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<String>,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let uuid = path.into_inner();
    let mut input = Input::new(body.into_inner())?;
    let mut ch = read_plio_fields(&mut input);
    input.finish()?;
    ch.updated_at = Some(chrono::Utc::now());
    let t = tenant.clone();
    let head = cache
        .write(&db, &tenant, move |conn, inv| {
            let head = accessible_head(conn, &t, &caller, PlioRef::Uuid(&uuid))?;
            check_video(conn, &ch, &caller)?;
            content::update_plio(conn, head.id, &ch)?;
            inv.plios(&t, &[head.id]);
            Ok(head)
        })
        .await?;
    let body = plio_detail(&db, &cache, &tenant, &viewer, &head).await?;
    Ok(json_bytes(HttpResponse::Ok(), body))
}

/// `DELETE /api/v1/plios/{uuid}/`: soft delete, cascading to items and questions.
#[utoipa::path(
    delete,
    path = "/api/v1/plios/{uuid}/",
    tag = "plios",
    security(("bearer" = [])),
    params(("uuid" = String, Path, description = "The plio's uuid")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
pub async fn delete_plio(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<String>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let uuid = path.into_inner();
    let t = tenant.clone();
    cache
        .write(&db, &tenant, move |conn, inv| {
            let head = accessible_head(conn, &t, &caller, PlioRef::Uuid(&uuid))?;
            content::soft_delete_plio(conn, head.id)?;
            inv.plios(&t, &[head.id]);
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/plios/{uuid}/play/`: anyone for a public plio; a private one only for its
/// creator (everyone else, superusers included, gets 404).
#[utoipa::path(
    get,
    path = "/api/v1/plios/{uuid}/play/",
    tag = "plios",
    security((), ("bearer" = [])),
    params(("uuid" = String, Path, description = "The plio's uuid")),
    responses(
        (status = 200, description = "Success", body = crate::api::responses::PlioDetail)
    )
)]
pub async fn play_plio(
    caller: MaybeUser,
    tenant: Tenant,
    path: web::Path<String>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
    index: web::Data<PlioIndex>,
) -> Result<HttpResponse, AppError> {
    let payload = read_plio(
        &db,
        &cache,
        &index,
        &tenant,
        caller.0.as_ref(),
        &path,
        Read::Play,
    )
    .await?;
    Ok(json_bytes(HttpResponse::Ok(), payload))
}

/// `PATCH /api/v1/plios/{uuid}/setting/`: replaces `config.settings`; returns `config`.
#[utoipa::path(
    patch,
    path = "/api/v1/plios/{uuid}/setting/",
    tag = "plios",
    security(("bearer" = [])),
    params(("uuid" = String, Path, description = "The plio's uuid")),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = serde_json::Value)
    )
)]
pub async fn update_plio_setting(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<String>,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let uuid = path.into_inner();
    let settings = body.into_inner();
    crate::api::input::check_config_size(&settings)?;
    if !settings.is_object() {
        return Err(AppError::with_detail(
            Code::Invalid,
            "Expected a JSON object.",
        ));
    }
    let t = tenant.clone();
    let config = cache
        .write(&db, &tenant, move |conn, inv| {
            let head = accessible_head(conn, &t, &caller, PlioRef::Uuid(&uuid))?;
            let config = content::set_plio_settings(conn, head.id, settings)?;
            // Checked on the merged config; refusing rolls the write back.
            crate::api::input::check_config_size(&config)?;
            inv.plios(&t, &[head.id]);
            Ok(config)
        })
        .await?;
    Ok(HttpResponse::Ok().json(config))
}

/// `POST /api/v1/plios/{uuid}/duplicate/`: a draft copy in the same workspace (new uuid, new
/// video, items, questions and images), created by the caller.
#[utoipa::path(
    post,
    path = "/api/v1/plios/{uuid}/duplicate/",
    tag = "plios",
    security(("bearer" = [])),
    params(("uuid" = String, Path, description = "The plio's uuid")),
    responses(
        (status = 200, description = "Success", body = crate::api::responses::PlioDetail)
    )
)]
pub async fn duplicate_plio(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<String>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let uuid = path.into_inner();
    let t = tenant.clone();
    let head = cache
        .write(&db, &tenant, move |conn, inv| {
            let source = accessible_head(conn, &t, &caller, PlioRef::Uuid(&uuid))?;
            let graph = content::read_graph(conn, source.id)?;
            let id = content::insert_graph(conn, &graph, caller.id)?;
            inv.plios(&t, &[id]);
            head_in(conn, &t, Some(&caller), PlioRef::Id(id))?
                .ok_or_else(|| AppError::new(Code::NotFound))
        })
        .await?;
    let body = plio_detail(&db, &cache, &tenant, &viewer, &head).await?;
    Ok(json_bytes(HttpResponse::Ok(), body))
}

/// `POST /api/v1/plios/{uuid}/copy/` `{workspace: <shortcode>}`: a draft copy in another
/// workspace. 400 without `workspace`, 404 for an unknown one, 403 unless the caller may
/// create content there (member, superuser, or the personal workspace).
#[utoipa::path(
    post,
    path = "/api/v1/plios/{uuid}/copy/",
    tag = "plios",
    security(("bearer" = [])),
    params(("uuid" = String, Path, description = "The plio's uuid")),
    request_body(content = crate::api::requests::CopyRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = crate::api::responses::PlioDetail)
    )
)]
pub async fn copy_plio(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<String>,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
    registry: web::Data<TenantRegistry>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let uuid = path.into_inner();
    let workspace = match body.get("workspace") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => {
            return Err(AppError::with_detail(
                Code::Invalid,
                "workspace is not provided",
            ))
        }
    };
    let entry = registry
        .by_shortcode(&workspace)
        .ok_or_else(|| AppError::with_detail(Code::NotFound, "workspace does not exist"))?;
    if entry.state != TenantState::Ready {
        return Err(AppError::new(Code::TenantUnavailable));
    }
    let target = entry.tenant.clone();
    let (t, c) = (tenant.clone(), caller.clone());
    let graph = db
        .tenant(&tenant, move |conn| {
            let source = accessible_head(conn, &t, &c, PlioRef::Uuid(&uuid))?;
            Ok(content::read_graph(conn, source.id)?)
        })
        .await?;
    let tt = target.clone();
    let head = cache
        .write(&db, &target, move |conn, inv| {
            check_may_create(conn, &tt, &caller)?;
            let id = content::insert_graph(conn, &graph, caller.id)?;
            inv.plios(&tt, &[id]);
            head_in(conn, &tt, Some(&caller), PlioRef::Id(id))?
                .ok_or_else(|| AppError::new(Code::NotFound))
        })
        .await?;
    let body = plio_detail(&db, &cache, &target, &viewer, &head).await?;
    Ok(json_bytes(HttpResponse::Ok(), body))
}
