//! `/api/v1/tags/`: slug generated, unique per workspace.

use actix_web::{web, HttpResponse};

use crate::api::content::check_may_create;
use crate::api::extract::body::JsonBody;
use crate::api::input::Input;
use crate::auth::AuthUser;
use crate::db::models::learner::{self};
use crate::db::Database;
use crate::error::AppError;
use crate::tenant::Tenant;

/// `GET /api/v1/tags/`.
#[utoipa::path(
    get,
    path = "/api/v1/tags/",
    tag = "experiments",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Success", body = Vec<crate::db::models::learner::Tag>)
    )
)]
pub async fn list_tags(
    caller: AuthUser,
    tenant: Tenant,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let t = tenant.clone();
    // An organization's tags are its members' (SPEC 4.2), as every workspace resource.
    let list = db
        .tenant(&tenant, move |conn| {
            check_may_create(conn, &t, &caller)?;
            Ok(learner::list_tags(conn)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// `POST /api/v1/tags/` `{name}`: the slug is generated (read-only), unique in the workspace.
#[utoipa::path(
    post,
    path = "/api/v1/tags/",
    tag = "experiments",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::TagRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Success", body = crate::db::models::learner::Tag)
    )
)]
pub async fn create_tag(
    caller: AuthUser,
    tenant: Tenant,
    body: JsonBody,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let mut input = Input::new(body.into_inner())?;
    let name = input.string("name", true, 255);
    input.finish()?;
    let name = name.unwrap_or_default();
    let t = tenant.clone();
    let tag = db
        .tenant(&tenant, move |conn| {
            check_may_create(conn, &t, &caller)?;
            Ok(learner::insert_tag(conn, name.trim())?)
        })
        .await?;
    Ok(HttpResponse::Created().json(tag))
}

/// `GET /api/v1/tags/{id}/`.
#[utoipa::path(
    get,
    path = "/api/v1/tags/{id}/",
    tag = "experiments",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = crate::db::models::learner::Tag)
    )
)]
pub async fn get_tag(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let t = tenant.clone();
    let tag = db
        .tenant(&tenant, move |conn| {
            check_may_create(conn, &t, &caller)?;
            Ok(learner::find_tag(conn, id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(tag))
}

/// `PUT|PATCH /api/v1/tags/{id}/` `{name}` (members of the workspace's organization).
#[utoipa::path(
    method(put, patch),
    path = "/api/v1/tags/{id}/",
    tag = "experiments",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = crate::api::requests::TagRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = crate::db::models::learner::Tag)
    )
)]
pub async fn update_tag(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    body: JsonBody,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let mut input = Input::new(body.into_inner())?;
    let name = input.string("name", true, 255);
    input.finish()?;
    let name = name.unwrap_or_default();
    let t = tenant.clone();
    let tag = db
        .tenant(&tenant, move |conn| {
            check_may_create(conn, &t, &caller)?;
            learner::find_tag(conn, id)?;
            Ok(learner::rename_tag(conn, id, name.trim())?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(tag))
}

/// `DELETE /api/v1/tags/{id}/`.
#[utoipa::path(
    delete,
    path = "/api/v1/tags/{id}/",
    tag = "experiments",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
pub async fn delete_tag(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let t = tenant.clone();
    db.tenant(&tenant, move |conn| {
        check_may_create(conn, &t, &caller)?;
        learner::find_tag(conn, id)?;
        Ok(learner::soft_delete_tag(conn, id)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
