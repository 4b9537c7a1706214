//! `/api/v1/experiments/`: a creator's own experiments.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::content::check_may_create;
use crate::api::extract::body::JsonBody;
use crate::api::input::Input;
use crate::api::sessions::experiment_payload;
use crate::auth::AuthUser;
use crate::cache::Cache;
use crate::db::models::learner::{self, ExperimentChanges};
use crate::db::Database;
use crate::error::AppError;
use crate::tenant::Tenant;

fn read_experiment(input: &mut Input, partial: bool) -> ExperimentChanges {
    let ch = ExperimentChanges {
        name: input.string("name", !partial, 255),
        description: input.string("description", false, 10_000),
        is_test: input.boolean("is_test"),
        updated_at: Some(chrono::Utc::now()),
    };
    if input.has("type") && input.string("type", false, 20).as_deref() != Some("split_url") {
        input.reject("type", "Must be split_url.");
    }
    ch
}

/// `GET /api/v1/experiments/`: the caller's experiments.
#[utoipa::path(
    get,
    path = "/api/v1/experiments/",
    tag = "experiments",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Success", body = Vec<crate::api::responses::ExperimentPayload>)
    )
)]
pub async fn list_experiments(
    caller: AuthUser,
    tenant: Tenant,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let list = db
        .tenant(&tenant, move |conn| {
            Ok(learner::own_experiments(conn, caller.id)?)
        })
        .await?;
    let mut out = Vec::new();
    for e in list {
        out.push(experiment_payload(&db, &cache, &viewer, e).await?);
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /api/v1/experiments/` `{name, description, is_test}`.
#[utoipa::path(
    post,
    path = "/api/v1/experiments/",
    tag = "experiments",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::ExperimentRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Success", body = crate::api::responses::ExperimentPayload)
    )
)]
pub async fn create_experiment(
    caller: AuthUser,
    tenant: Tenant,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let mut input = Input::new(body.into_inner())?;
    let ch = read_experiment(&mut input, false);
    input.finish()?;
    let t = tenant.clone();
    let e = db
        .tenant(&tenant, move |conn| {
            check_may_create(conn, &t, &caller)?;
            Ok(learner::insert_experiment(conn, &ch, caller.id)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(experiment_payload(&db, &cache, &viewer, e).await?))
}

/// `GET /api/v1/experiments/{id}/`.
#[utoipa::path(
    get,
    path = "/api/v1/experiments/{id}/",
    tag = "experiments",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = crate::api::responses::ExperimentPayload)
    )
)]
pub async fn get_experiment(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let id = path.into_inner();
    let e = db
        .tenant(&tenant, move |conn| {
            Ok(learner::find_own_experiment(conn, id, caller.id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(experiment_payload(&db, &cache, &viewer, e).await?))
}

/// `PUT|PATCH /api/v1/experiments/{id}/`.
#[utoipa::path(
    method(put, patch),
    path = "/api/v1/experiments/{id}/",
    tag = "experiments",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = crate::api::requests::ExperimentRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = crate::api::responses::ExperimentPayload)
    )
)]
pub async fn update_experiment(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    req: HttpRequest,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let id = path.into_inner();
    let partial = req.method() == actix_web::http::Method::PATCH;
    let mut input = Input::new(body.into_inner())?;
    let ch = read_experiment(&mut input, partial);
    input.finish()?;
    let e = db
        .tenant(&tenant, move |conn| {
            learner::find_own_experiment(conn, id, caller.id)?;
            Ok(learner::update_experiment(conn, id, &ch)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(experiment_payload(&db, &cache, &viewer, e).await?))
}

/// `DELETE /api/v1/experiments/{id}/`.
#[utoipa::path(
    delete,
    path = "/api/v1/experiments/{id}/",
    tag = "experiments",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
pub async fn delete_experiment(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    db.tenant(&tenant, move |conn| {
        learner::find_own_experiment(conn, id, caller.id)?;
        Ok(learner::soft_delete_experiment(conn, id)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
