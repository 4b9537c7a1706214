//! `/api/v1/experiments/` (a creator's own), `/api/v1/experiment-plios/` (split
//! percentages, only for the experiment's owner and plios they may edit) and `/api/v1/tags/`
//! (slug generated, unique per workspace).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::api::content::{accessible_head, check_may_create, plio_payload_by_id, PlioRef};
use crate::api::input::Input;
use crate::api::sessions::experiment_payload;
use crate::auth::AuthUser;
use crate::cache::Cache;
use crate::db::models::learner::{self, ExperimentChanges};
use crate::db::Database;
use crate::error::AppError;
use crate::http::body::JsonBody;
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

// ---- experiment-plios ------------------------------------------------------------------

async fn experiment_plio_payload(
    db: &Database,
    cache: &Cache,
    tenant: &Tenant,
    viewer: &AuthUser,
    ep: learner::ExperimentPlio,
) -> Result<Value, AppError> {
    let plio = plio_payload_by_id(db, cache, tenant, viewer, ep.plio_id).await?;
    let eid = ep.experiment_id;
    let experiment = db
        .tenant(tenant, move |conn| Ok(learner::find_experiment(conn, eid)?))
        .await?;
    Ok(json!({
        "id": ep.id,
        "experiment": experiment_payload(db, cache, viewer, experiment).await?,
        "plio": plio,
        "split_percentage": ep.split_percentage,
    }))
}

fn read_split(input: &mut Input, required: bool) -> Option<f64> {
    let split = input.number("split_percentage", required);
    if split.is_some_and(|s| !(0.0..=100.0).contains(&s)) {
        input.reject("split_percentage", "A percentage from 0 to 100.");
    }
    split
}

/// `GET /api/v1/experiment-plios/`: those of the caller's experiments.
#[utoipa::path(
    get,
    path = "/api/v1/experiment-plios/",
    tag = "experiments",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Success", body = Vec<crate::api::responses::ExperimentPlioPayload>)
    )
)]
pub async fn list_experiment_plios(
    caller: AuthUser,
    tenant: Tenant,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let list = db
        .tenant(&tenant, move |conn| {
            Ok(learner::own_experiment_plios(conn, caller.id)?)
        })
        .await?;
    let mut out = Vec::new();
    for ep in list {
        out.push(experiment_plio_payload(&db, &cache, &tenant, &viewer, ep).await?);
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /api/v1/experiment-plios/` `{experiment, plio, split_percentage}`.
#[utoipa::path(
    post,
    path = "/api/v1/experiment-plios/",
    tag = "experiments",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::ExperimentPlioRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Success", body = crate::api::responses::ExperimentPlioPayload)
    )
)]
pub async fn create_experiment_plio(
    caller: AuthUser,
    tenant: Tenant,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let mut input = Input::new(body.into_inner())?;
    let experiment = input.id("experiment", true);
    let plio = input.id("plio", true);
    let split = read_split(&mut input, true);
    input.finish()?;
    let (experiment, plio, split) = (
        experiment.unwrap_or(0),
        plio.unwrap_or(0),
        split.unwrap_or(0.0),
    );
    let t = tenant.clone();
    let ep = db
        .tenant(&tenant, move |conn| {
            learner::find_own_experiment(conn, experiment, caller.id).map_err(|_| {
                AppError::field(
                    "experiment",
                    format!("Invalid pk \"{experiment}\" - object does not exist."),
                )
            })?;
            let head = accessible_head(conn, &t, &caller, PlioRef::Id(plio))?;
            Ok(learner::insert_experiment_plio(
                conn, experiment, head.id, split,
            )?)
        })
        .await?;
    Ok(HttpResponse::Created()
        .json(experiment_plio_payload(&db, &cache, &tenant, &viewer, ep).await?))
}

/// `GET /api/v1/experiment-plios/{id}/`.
#[utoipa::path(
    get,
    path = "/api/v1/experiment-plios/{id}/",
    tag = "experiments",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = crate::api::responses::ExperimentPlioPayload)
    )
)]
pub async fn get_experiment_plio(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let id = path.into_inner();
    let ep = db
        .tenant(&tenant, move |conn| {
            Ok(learner::find_own_experiment_plio(conn, id, caller.id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(experiment_plio_payload(&db, &cache, &tenant, &viewer, ep).await?))
}

/// `PUT|PATCH /api/v1/experiment-plios/{id}/` `{split_percentage}`.
#[utoipa::path(
    method(put, patch),
    path = "/api/v1/experiment-plios/{id}/",
    tag = "experiments",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = crate::api::requests::ExperimentPlioRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = crate::api::responses::ExperimentPlioPayload)
    )
)]
pub async fn update_experiment_plio(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let id = path.into_inner();
    let mut input = Input::new(body.into_inner())?;
    let split = read_split(&mut input, true);
    input.finish()?;
    let split = split.unwrap_or(0.0);
    let ep = db
        .tenant(&tenant, move |conn| {
            learner::find_own_experiment_plio(conn, id, caller.id)?;
            Ok(learner::set_split(conn, id, split)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(experiment_plio_payload(&db, &cache, &tenant, &viewer, ep).await?))
}

/// `DELETE /api/v1/experiment-plios/{id}/`.
#[utoipa::path(
    delete,
    path = "/api/v1/experiment-plios/{id}/",
    tag = "experiments",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
pub async fn delete_experiment_plio(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    db.tenant(&tenant, move |conn| {
        learner::find_own_experiment_plio(conn, id, caller.id)?;
        Ok(learner::soft_delete_experiment_plio(conn, id)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- tags ------------------------------------------------------------------------------

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
