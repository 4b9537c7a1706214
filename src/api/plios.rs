//! `/api/v1/plios/`: the plio list of a workspace (SPEC 5). Personal workspace: the caller's
//! own plios; organization: members see public plios and their own, non-members nothing.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::db::models::membership;
use crate::db::models::plio::{self, Visibility, PAGE_SIZE};
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::http::body::JsonBody;
use crate::tenant::Tenant;

/// Query parameters of the list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    page: Option<String>,
    search: Option<String>,
    ordering: Option<String>,
}

/// A page of the plio list (keys in the order Plio's client has always received them).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PlioPage {
    /// Plios matching the search.
    count: i64,
    /// The next page's URL.
    next: Option<String>,
    /// Always 5.
    page_size: i64,
    /// The previous page's URL.
    previous: Option<String>,
    /// Plios visible before the search.
    raw_count: i64,
    results: Vec<plio::PlioListRow>,
}

fn invalid_page() -> AppError {
    AppError::with_detail(Code::NotFound, "Invalid page.")
}

/// `GET /api/v1/plios/`: `{count, page_size, next, previous, results, raw_count}`.
#[utoipa::path(
    get,
    path = "/api/v1/plios/",
    tag = "plios",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "Success", body = PlioPage)
    )
)]
pub async fn list_plios(
    user: AuthUser,
    tenant: Tenant,
    query: web::Query<ListQuery>,
    req: HttpRequest,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page: i64 = match query.page.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(invalid_page)?,
    };
    let search = query.search.filter(|s| s.len() <= 200);
    let ordering = query.ordering;
    let personal = tenant.is_personal_workspace();
    let tenant_id = tenant.id();
    let (rows, count, raw_count) = db
        .tenant(&tenant, move |conn| {
            let visibility = if personal {
                Some(Visibility::Own(user.id))
            } else {
                match tenant_id {
                    Some(org) if membership::is_member(conn, user.id, org.0)? => {
                        Some(Visibility::PublicOrOwn(user.id))
                    }
                    _ => None,
                }
            };
            match visibility {
                Some(v) => Ok(plio::list_page(
                    conn,
                    v,
                    search.as_deref(),
                    ordering.as_deref(),
                    page,
                )?),
                None => Ok((Vec::new(), 0, 0)),
            }
        })
        .await?;
    let last_page = ((count + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    if page > last_page {
        return Err(invalid_page());
    }
    let next = (page < last_page).then(|| page_url(&req, page + 1));
    let previous = (page > 1).then(|| page_url(&req, page - 1));
    Ok(HttpResponse::Ok().json(PlioPage {
        count,
        next,
        page_size: PAGE_SIZE,
        previous,
        raw_count,
        results: rows,
    }))
}

/// The absolute URL of another page, as the client addressed this one.
fn page_url(req: &HttpRequest, page: i64) -> String {
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    pairs.retain(|(k, _)| k != "page");
    if page > 1 {
        pairs.push(("page".into(), page.to_string()));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let sep = if query.is_empty() { "" } else { "?" };
    format!(
        "{}{}{sep}{query}",
        crate::http::addressed_base(req).unwrap_or_default(),
        req.path()
    )
}

// ---- detail, create, update, delete, actions ------------------------------------------

use crate::api::content::{
    accessible_head, check_may_create, head_in, invalidate_plios, plio_detail, plio_key, read_plio,
    PlioRef, Read,
};
use crate::api::input::Input;
use crate::auth::MaybeUser;
use crate::cache::plio_index::PlioIndex;
use crate::cache::Cache;
use crate::db::models::content::{self, PlioChanges};
use crate::tenancy::{TenantRegistry, TenantState};
use serde_json::Value;

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
            inv.entry(plio_key(&t, id));
            head_in(conn, &t, Some(&caller), PlioRef::Id(id))?
                .ok_or_else(|| AppError::new(Code::NotFound))
        })
        .await?;
    Ok(HttpResponse::Created().json(plio_detail(&db, &cache, &tenant, &viewer, &head).await?))
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
    Ok(HttpResponse::Ok().json(payload))
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
            invalidate_plios(inv, &t, &[head.id]);
            Ok(head)
        })
        .await?;
    Ok(HttpResponse::Ok().json(plio_detail(&db, &cache, &tenant, &viewer, &head).await?))
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
            invalidate_plios(inv, &t, &[head.id]);
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
    Ok(HttpResponse::Ok().json(payload))
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
            invalidate_plios(inv, &t, &[head.id]);
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
            invalidate_plios(inv, &t, &[id]);
            head_in(conn, &t, Some(&caller), PlioRef::Id(id))?
                .ok_or_else(|| AppError::new(Code::NotFound))
        })
        .await?;
    Ok(HttpResponse::Ok().json(plio_detail(&db, &cache, &tenant, &viewer, &head).await?))
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
            invalidate_plios(inv, &tt, &[id]);
            head_in(conn, &tt, Some(&caller), PlioRef::Id(id))?
                .ok_or_else(|| AppError::new(Code::NotFound))
        })
        .await?;
    Ok(HttpResponse::Ok().json(plio_detail(&db, &cache, &target, &viewer, &head).await?))
}
