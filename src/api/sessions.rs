//! `/api/v1/sessions/`: a learner's viewing sessions of a plio.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::content::{head_in, plio_payload_by_id, PlioRef};
use crate::api::extract::body::JsonBody;
use crate::api::input::Input;
use crate::auth::permissions::may_play_plio;
use crate::auth::AuthUser;
use crate::cache::Cache;
use crate::db::models::learner::{self, NewSession, Session, SessionChanges};
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::tenant::Tenant;

/// The session payload: Plio's fields with the plio (from the cache), the user, the
/// experiment, the resume point (`last_event`) and the answers ordered by item time.
async fn payload(
    db: &Database,
    cache: &Cache,
    tenant: &Tenant,
    viewer: &AuthUser,
    s: Session,
) -> Result<Value, AppError> {
    let s2 = s.clone();
    let (answers, last, experiment) = db
        .tenant(tenant, move |conn| {
            let answers = learner::session_answers(conn, s2.id)?;
            let last = learner::last_event(conn, &s2)?;
            let experiment = match s2.experiment_id {
                Some(e) => learner::find_experiment(conn, e).ok(),
                None => None,
            };
            Ok((answers, last, experiment))
        })
        .await?;
    let plio = plio_payload_by_id(db, cache, tenant, viewer, s.plio_id).await?;
    let user = crate::api::user_payloads::payload(db, cache, s.user_id)
        .await
        .ok();
    let experiment = match experiment {
        Some(e) => Some(experiment_payload(db, cache, viewer, e).await?),
        None => None,
    };
    let last_event = match last {
        Some(e) => serde_json::to_value(e).map_err(AppError::internal)?,
        None => {
            json!({"id": null, "type": null, "player_time": null, "details": null, "session": null, "created_at": null, "updated_at": null})
        }
    };
    let mut v = serde_json::to_value(&s).map_err(AppError::internal)?;
    if let Value::Object(m) = &mut v {
        m.insert("plio".into(), plio);
        m.insert(
            "user".into(),
            serde_json::to_value(user).map_err(AppError::internal)?,
        );
        m.insert(
            "experiment".into(),
            serde_json::to_value(experiment).map_err(AppError::internal)?,
        );
        m.insert("last_event".into(), last_event);
        m.insert(
            "session_answers".into(),
            serde_json::to_value(answers).map_err(AppError::internal)?,
        );
    }
    Ok(v)
}

/// An experiment with its creator's user payload: whole for the creator and superusers,
/// public fields for anyone else (a learner whose session runs the experiment), as plios'
/// `created_by` (SPEC 4.2).
pub async fn experiment_payload(
    db: &Database,
    cache: &Cache,
    viewer: &AuthUser,
    e: learner::Experiment,
) -> Result<Value, AppError> {
    let creator = crate::api::user_payloads::payload(db, cache, e.created_by_id)
        .await
        .ok();
    let full = viewer.is_superuser || viewer.id == e.created_by_id;
    let created_by = match creator {
        Some(c) if !full => c.public_view(),
        c => serde_json::to_value(c).map_err(AppError::internal)?,
    };
    let mut v = serde_json::to_value(&e).map_err(AppError::internal)?;
    if let Value::Object(m) = &mut v {
        m.insert("created_by".into(), created_by);
    }
    Ok(v)
}

fn read_session_fields(
    input: &mut Input,
) -> (
    Option<String>,
    Option<f64>,
    Option<bool>,
    Option<Option<i32>>,
) {
    let retention = input.string("retention", false, 200_000);
    if let Some(r) = &retention {
        let ok = r.is_empty()
            || r.split(',')
                .all(|v| v == "NaN" || v.parse::<f64>().is_ok_and(|f| f >= 0.0));
        if !ok {
            input.reject(
                "retention",
                "Comma-separated numbers, one per second of video.",
            );
        }
    }
    let watch_time = input.number("watch_time", false);
    if watch_time.is_some_and(|w| w < 0.0) {
        input.reject(
            "watch_time",
            "Ensure this value is greater than or equal to 0.",
        );
    }
    let played = input.boolean("has_video_played");
    let experiment = if input.has("experiment") {
        Some(if input.is_null("experiment") {
            None
        } else {
            input.id("experiment", false)
        })
    } else {
        None
    };
    (retention, watch_time, played, experiment)
}

/// A session may only name an experiment that runs on its plio (a live experiment-plio
/// links them): any other id would let a learner read experiments of the workspace.
fn check_experiment(
    conn: &mut diesel::PgConnection,
    experiment: Option<Option<i32>>,
    plio_id: i32,
) -> Result<(), AppError> {
    if let Some(Some(e)) = experiment {
        if !learner::experiment_runs_on(conn, e, plio_id)? {
            return Err(AppError::field(
                "experiment",
                format!("Invalid pk \"{e}\" - object does not exist."),
            ));
        }
    }
    Ok(())
}

/// Query of the session list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    plio: Option<String>,
}

/// `GET /api/v1/sessions/` (`?plio=<uuid>`): the caller's own sessions, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/sessions/",
    tag = "sessions",
    security(("bearer" = [])),
    params(SessionQuery),
    responses(
        (status = 200, description = "Success", body = Vec<crate::api::responses::SessionPayload>)
    )
)]
pub async fn list_sessions(
    caller: AuthUser,
    tenant: Tenant,
    query: web::Query<SessionQuery>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let plio = query.into_inner().plio.filter(|p| !p.is_empty());
    let t = tenant.clone();
    let sessions = db
        .tenant(&tenant, move |conn| {
            let plio_id = match &plio {
                Some(u) => match head_in(conn, &t, Some(&caller), PlioRef::Uuid(u))? {
                    Some(h) => Some(h.id),
                    None => return Ok(Vec::new()),
                },
                None => None,
            };
            Ok(learner::own_sessions(conn, caller.id, plio_id)?)
        })
        .await?;
    let mut out = Vec::with_capacity(sessions.len());
    for s in sessions {
        out.push(payload(&db, &cache, &tenant, &viewer, s).await?);
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /api/v1/sessions/` `{plio: <id>, retention?, watch_time?, has_video_played?, experiment?}`.
#[utoipa::path(
    post,
    path = "/api/v1/sessions/",
    tag = "sessions",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::SessionRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Success", body = crate::api::responses::SessionPayload)
    )
)]
pub async fn create_session(
    caller: AuthUser,
    tenant: Tenant,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let mut input = Input::new(body.into_inner())?;
    let plio = input.id("plio", true);
    let (retention, watch_time, has_video_played, experiment_id) = read_session_fields(&mut input);
    input.finish()?;
    let plio = plio.unwrap_or(0);
    let t = tenant.clone();
    let session = cache
        .write(&db, &tenant, move |conn, inv| {
            let head = head_in(conn, &t, Some(&caller), PlioRef::Id(plio))?
                .filter(|h| may_play_plio(Some(&caller), h))
                .ok_or_else(|| {
                    AppError::field(
                        "plio",
                        format!("Invalid pk \"{plio}\" - object does not exist."),
                    )
                })?;
            if head.status != "published" {
                return Err(AppError::with_detail(
                    Code::Invalid,
                    "A session can only be created for a published plio",
                ));
            }
            check_experiment(conn, experiment_id, head.id)?;
            let new = NewSession {
                retention,
                watch_time,
                has_video_played,
                experiment_id,
            };
            // A new viewer counts towards the list's `unique_viewers`.
            inv.plio_list(&t);
            Ok(learner::create_session(conn, caller.id, head.id, &new)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(payload(&db, &cache, &tenant, &viewer, session).await?))
}

/// `GET /api/v1/sessions/{id}/` (own only).
#[utoipa::path(
    get,
    path = "/api/v1/sessions/{id}/",
    tag = "sessions",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = crate::api::responses::SessionPayload)
    )
)]
pub async fn get_session(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let viewer = caller.clone();
    let id = path.into_inner();
    let s = db
        .tenant(&tenant, move |conn| {
            Ok(learner::find_own_session(conn, id, caller.id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(payload(&db, &cache, &tenant, &viewer, s).await?))
}

/// `PUT|PATCH /api/v1/sessions/{id}/`: retention, watch time, video-played flag, experiment.
#[utoipa::path(
    method(put, patch),
    path = "/api/v1/sessions/{id}/",
    tag = "sessions",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = crate::api::requests::SessionRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = crate::api::responses::SessionPayload)
    )
)]
pub async fn update_session(
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
    let (retention, watch_time, has_video_played, experiment_id) = read_session_fields(&mut input);
    input.finish()?;
    let s = db
        .tenant(&tenant, move |conn| {
            let current = learner::find_own_session(conn, id, caller.id)?;
            check_experiment(conn, experiment_id, current.plio_id)?;
            let ch = SessionChanges {
                retention,
                watch_time,
                has_video_played,
                experiment_id,
                updated_at: Some(chrono::Utc::now()),
            };
            Ok(learner::update_session(conn, id, &ch)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(payload(&db, &cache, &tenant, &viewer, s).await?))
}

/// `DELETE /api/v1/sessions/{id}/`: soft delete with its answers and events.
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/{id}/",
    tag = "sessions",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
pub async fn delete_session(
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
            learner::find_own_session(conn, id, caller.id)?;
            // One viewer fewer, perhaps, in the list's `unique_viewers`.
            inv.plio_list(&t);
            Ok(learner::soft_delete_session(conn, id)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
