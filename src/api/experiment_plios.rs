//! `/api/v1/experiment-plios/`: split percentages, only for the experiment's owner and plios
//! they may edit.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::api::content::{accessible_head, plio_payload_by_id, PlioRef};
use crate::api::extract::body::JsonBody;
use crate::api::input::Input;
use crate::api::sessions::experiment_payload;
use crate::auth::AuthUser;
use crate::cache::Cache;
use crate::db::models::learner::{self};
use crate::db::Database;
use crate::error::AppError;
use crate::tenant::Tenant;

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
