//! `/api/v1/events/`: the player's events, scoped to the caller's own sessions. The player
//! creates an event and then updates it in place with `PUT events/{id}/` (SPEC 5.1).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

use crate::api::extract::body::JsonBody;
use crate::api::input::Input;
use crate::auth::AuthUser;
use crate::db::models::learner::{self, Event, EventChanges, EVENT_TYPES};
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::tenant::Tenant;

/// Query of the event list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    session: Option<i32>,
}

/// `GET /api/v1/events/` (`?session=<id>`): the caller's events, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/events/",
    tag = "events",
    security(("bearer" = [])),
    params(EventQuery),
    responses(
        (status = 200, description = "Success", body = Vec<crate::db::models::learner::Event>)
    )
)]
pub async fn list_events(
    caller: AuthUser,
    tenant: Tenant,
    query: web::Query<EventQuery>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let session = query.into_inner().session;
    let list = db
        .tenant(&tenant, move |conn| {
            Ok(learner::own_events(conn, caller.id, session)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// The fields of an event body; `required` for create and PUT, as DRF's serializer.
struct EventFields {
    session: Option<i32>,
    changes: EventChanges,
}

fn read_fields(body: Value, required: bool) -> Result<EventFields, AppError> {
    let mut input = Input::new(body)?;
    let session = input.id("session", required);
    let type_ = input.string("type", required, 40);
    if let Some(t) = &type_ {
        if !EVENT_TYPES.contains(&t.as_str()) {
            input.reject("type", format!("\"{t}\" is not a valid choice."));
        }
    }
    let player_time = input.number("player_time", required);
    if player_time.is_some_and(|p| p < 0.0) {
        input.reject(
            "player_time",
            "Ensure this value is greater than or equal to 0.",
        );
    }
    let details = if !input.has("details") {
        None
    } else if input.is_null("details") {
        Some(None)
    } else {
        input.object("details", false).map(Some)
    };
    input.finish()?;
    Ok(EventFields {
        session,
        changes: EventChanges {
            type_,
            player_time,
            details,
            updated_at: None,
        },
    })
}

fn own_session(
    conn: &mut diesel::PgConnection,
    session: i32,
    caller: &AuthUser,
) -> Result<i32, AppError> {
    learner::find_own_session(conn, session, caller.id)
        .map(|s| s.id)
        .map_err(|_| {
            AppError::field(
                "session",
                format!("Invalid pk \"{session}\" - object does not exist."),
            )
        })
}

/// `POST /api/v1/events/` `{session, type, player_time, details}`.
#[utoipa::path(
    post,
    path = "/api/v1/events/",
    tag = "events",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::EventRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Success", body = crate::db::models::learner::Event)
    )
)]
pub async fn create_event(
    caller: AuthUser,
    tenant: Tenant,
    body: JsonBody,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let f = read_fields(body.into_inner(), true)?;
    let session = f.session.unwrap_or(0);
    let created = db
        .tenant(&tenant, move |conn| {
            let s = own_session(conn, session, &caller)?;
            Ok(learner::insert_event(
                conn,
                s,
                f.changes.type_.as_deref().unwrap_or_default(),
                f.changes.player_time.unwrap_or(0.0),
                f.changes.details.flatten(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

fn own_event(
    conn: &mut diesel::PgConnection,
    id: i32,
    caller: &AuthUser,
) -> Result<Event, AppError> {
    match learner::find_event(conn, id) {
        Ok((e, owner)) if owner == caller.id => Ok(e),
        _ => Err(AppError::new(Code::NotFound)),
    }
}

/// `GET /api/v1/events/{id}/`.
#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/",
    tag = "events",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = crate::db::models::learner::Event)
    )
)]
pub async fn get_event(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let e = db
        .tenant(&tenant, move |conn| own_event(conn, id, &caller))
        .await?;
    Ok(HttpResponse::Ok().json(e))
}

/// `PUT|PATCH /api/v1/events/{id}/`: PUT needs every field (as DRF), PATCH any. An event
/// stays in its session: another session of the caller's is refused.
#[utoipa::path(
    method(put, patch),
    path = "/api/v1/events/{id}/",
    tag = "events",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = crate::api::requests::EventRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = crate::db::models::learner::Event)
    )
)]
pub async fn update_event(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    req: actix_web::HttpRequest,
    body: JsonBody,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let put = req.method() == actix_web::http::Method::PUT;
    let f = read_fields(body.into_inner(), put)?;
    let updated = db
        .tenant(&tenant, move |conn| {
            let current = own_event(conn, id, &caller)?;
            if f.session.is_some_and(|s| s != current.session_id) {
                return Err(AppError::field(
                    "session",
                    "An event cannot move to another session.",
                ));
            }
            Ok(learner::update_event(conn, id, f.changes)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(updated))
}

/// `DELETE /api/v1/events/{id}/`: soft-deletes one of the caller's events.
#[utoipa::path(
    delete,
    path = "/api/v1/events/{id}/",
    tag = "events",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
pub async fn delete_event(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    db.tenant(&tenant, move |conn| {
        own_event(conn, id, &caller)?;
        Ok(learner::soft_delete_event(conn, id)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
