//! `/api/v1/items/`: items inherit their plio's permissions, including on create (a caller
//! may only add items to a plio it may edit). Every write invalidates the plio's entry.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

use crate::api::content::{accessible_head, head_in, list_scope, PlioRef};
use crate::api::extract::body::JsonBody;
use crate::api::input::Input;
use crate::auth::AuthUser;
use crate::cache::payloads::plio::{self as payload};
use crate::cache::Cache;
use crate::db::models::content::{self, ItemChanges};
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::tenant::Tenant;

/// Query of the list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    plio: Option<String>,
}

fn read_item(input: &mut Input, partial: bool) -> (Option<i32>, ItemChanges) {
    let plio = input.id("plio", !partial);
    let mut ch = ItemChanges::default();
    if input.has("type") {
        match input.string("type", false, 20).as_deref() {
            Some("question") => ch.type_ = Some("question".into()),
            Some(other) => input.reject("type", format!("\"{other}\" is not a valid choice.")),
            None => input.reject("type", "This field may not be null."),
        }
    }
    ch.time = input.number("time", !partial);
    if let Some(t) = ch.time {
        if !(0.0..=86_400.0 * 30.0).contains(&t) {
            input.reject("time", "Must be a number of seconds from 0.");
            ch.time = None;
        }
    }
    if input.has("meta") {
        ch.meta = Some(if input.is_null("meta") {
            None
        } else {
            input.object("meta", false)
        });
    }
    (plio, ch)
}

/// `GET /api/v1/items/` (`?plio=<uuid>`: that plio's items by time).
#[utoipa::path(
    get,
    path = "/api/v1/items/",
    tag = "items",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "Success", body = Vec<crate::cache::payloads::plio::ItemPayload>)
    )
)]
pub async fn list_items(
    caller: AuthUser,
    tenant: Tenant,
    query: web::Query<ListQuery>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let plio = query.into_inner().plio.filter(|p| !p.is_empty());
    let t = tenant.clone();
    let items = db
        .tenant(&tenant, move |conn| {
            let only = match &plio {
                Some(uuid) => Some(accessible_head(conn, &t, &caller, PlioRef::Uuid(uuid))?.id),
                None => None,
            };
            let scope = if only.is_some() {
                content::Scope::All
            } else {
                list_scope(conn, &t, &caller)?
            };
            let mut items = content::items_in_scope(conn, scope, only)?;
            if only.is_some() {
                items.sort_by(|a, b| a.time.total_cmp(&b.time).then(a.id.cmp(&b.id)));
            }
            Ok(payload::with_details(conn, items)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(items))
}

/// `POST /api/v1/items/` `{plio: <plio id>, type, time, meta}`.
#[utoipa::path(
    post,
    path = "/api/v1/items/",
    tag = "items",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::ItemRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Success", body = crate::cache::payloads::plio::ItemPayload)
    )
)]
pub async fn create_item(
    caller: AuthUser,
    tenant: Tenant,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let mut input = Input::new(body.into_inner())?;
    let (plio, ch) = read_item(&mut input, false);
    input.finish()?;
    let plio = plio.unwrap_or(0);
    let t = tenant.clone();
    let item = cache
        .write(&db, &tenant, move |conn, inv| {
            let head = head_in(conn, &t, Some(&caller), PlioRef::Id(plio))?.ok_or_else(|| {
                AppError::field(
                    "plio",
                    format!("Invalid pk \"{plio}\" - object does not exist."),
                )
            })?;
            crate::api::content::check_access(&t, &caller, &head)?;
            let item = content::insert_item(conn, head.id, &ch)?;
            inv.plios(&t, &[head.id]);
            Ok(payload::with_details(conn, vec![item])?)
        })
        .await?;
    Ok(HttpResponse::Created().json(item.first()))
}

/// The item and its plio, if the caller may edit that plio.
fn item_with_access(
    conn: &mut diesel::PgConnection,
    tenant: &Tenant,
    caller: &AuthUser,
    id: i32,
) -> Result<content::Item, AppError> {
    let item = content::find_item(conn, id)?;
    accessible_head(conn, tenant, caller, PlioRef::Id(item.plio_id))?;
    Ok(item)
}

/// `GET /api/v1/items/{id}/`.
#[utoipa::path(
    get,
    path = "/api/v1/items/{id}/",
    tag = "items",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = crate::cache::payloads::plio::ItemPayload)
    )
)]
pub async fn get_item(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let t = tenant.clone();
    let item = db
        .tenant(&tenant, move |conn| {
            let item = item_with_access(conn, &t, &caller, id)?;
            Ok(payload::with_details(conn, vec![item])?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(item.first()))
}

/// `PUT|PATCH /api/v1/items/{id}/` (moving an item needs edit rights on both plios).
#[utoipa::path(
    method(put, patch),
    path = "/api/v1/items/{id}/",
    tag = "items",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = crate::api::requests::ItemRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = crate::cache::payloads::plio::ItemPayload)
    )
)]
pub async fn update_item(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    req: HttpRequest,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let partial = req.method() == actix_web::http::Method::PATCH;
    let mut input = Input::new(body.into_inner())?;
    let (plio, mut ch) = read_item(&mut input, partial);
    input.finish()?;
    ch.updated_at = Some(chrono::Utc::now());
    let t = tenant.clone();
    let item = cache
        .write(&db, &tenant, move |conn, inv| {
            let current = item_with_access(conn, &t, &caller, id)?;
            let mut touched = vec![current.plio_id];
            if let Some(target) = plio.filter(|p| *p != current.plio_id) {
                let head =
                    head_in(conn, &t, Some(&caller), PlioRef::Id(target))?.ok_or_else(|| {
                        AppError::field(
                            "plio",
                            format!("Invalid pk \"{target}\" - object does not exist."),
                        )
                    })?;
                crate::api::content::check_access(&t, &caller, &head)?;
                ch.plio_id = Some(head.id);
                touched.push(head.id);
            }
            let item = content::update_item(conn, id, &ch)?;
            inv.plios(&t, &touched);
            Ok(payload::with_details(conn, vec![item])?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(item.first()))
}

/// `DELETE /api/v1/items/{id}/`: soft delete, cascading to its question.
#[utoipa::path(
    delete,
    path = "/api/v1/items/{id}/",
    tag = "items",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
pub async fn delete_item(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let t = tenant.clone();
    cache
        .write(&db, &tenant, move |conn, inv| {
            let item = item_with_access(conn, &t, &caller, id)?;
            content::soft_delete_items(conn, &[id], false)?;
            inv.plios(&t, &[item.plio_id]);
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /api/v1/items/bulk_delete/` `{id: [..]}` with Plio's messages; all or nothing, and
/// only items of plios the caller may edit.
#[utoipa::path(
    delete,
    path = "/api/v1/items/bulk_delete/",
    tag = "items",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::BulkDeleteRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = String)
    )
)]
pub async fn bulk_delete_items(
    caller: AuthUser,
    tenant: Tenant,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let ids = match body.get("id") {
        None | Some(Value::Null) => {
            return Err(AppError::with_detail(
                Code::Invalid,
                "item id(s) not provided",
            ))
        }
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_i64().and_then(|n| i32::try_from(n).ok()))
            .collect::<Option<Vec<i32>>>()
            .filter(|v| !v.is_empty() && v.len() <= 10_000),
        Some(_) => None,
    }
    .ok_or_else(|| {
        AppError::with_detail(
            Code::Invalid,
            "id should contain a list of item ids to be deleted",
        )
    })?;
    let t = tenant.clone();
    cache
        .write(&db, &tenant, move |conn, inv| {
            let mut unique = ids.clone();
            unique.sort_unstable();
            unique.dedup();
            let found = content::live_items(conn, &unique)?;
            if found.len() != unique.len() {
                return Err(AppError::with_detail(
                    Code::NotFound,
                    "one or more of the ids provided do not exist",
                ));
            }
            let mut plios: Vec<i32> = found.iter().map(|(_, p)| *p).collect();
            plios.sort_unstable();
            plios.dedup();
            for p in &plios {
                accessible_head(conn, &t, &caller, PlioRef::Id(*p))?;
            }
            content::soft_delete_items(conn, &unique, false)?;
            inv.plios(&t, &plios);
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json("deletion successful"))
}
