//! `/api/v1/session-answers/`: a learner's answers within a session.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use crate::api::extract::body::JsonBody;
use crate::api::input::Input;
use crate::auth::AuthUser;
use crate::cache::payloads::plio::{self as payload};
use crate::db::models::content;
use crate::db::models::learner::{self};
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::tenant::Tenant;

/// Validates an answer against the item's question: mcq one option index, checkbox distinct
/// indexes, subjective text within the limit; null = unanswered.
fn validate_answer(
    conn: &mut diesel::PgConnection,
    item_id: i32,
    answer: &Option<Value>,
) -> Result<(), AppError> {
    let Some(a) = answer else { return Ok(()) };
    let questions = payload::questions_of_items(conn, &[item_id])?;
    let Some(q) = questions.first() else {
        return Err(AppError::field(
            "answer",
            "This item has no question to answer.",
        ));
    };
    let n = q
        .options
        .as_ref()
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let in_range = |v: &Value| v.as_u64().is_some_and(|i| (i as usize) < n);
    let ok = match q.type_.as_str() {
        "mcq" => in_range(a),
        "checkbox" => a.as_array().is_some_and(|arr| {
            let mut seen = std::collections::HashSet::new();
            arr.iter().all(|v| in_range(v) && seen.insert(v.as_u64()))
        }),
        "subjective" => a.as_str().is_some_and(|s| {
            let len = s.chars().count();
            len <= 100_000
                && (!q.has_char_limit || q.max_char_limit.is_none_or(|m| len as f64 <= m))
        }),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        let msg = match q.type_.as_str() {
            "mcq" => "For an mcq question, the index (from 0) of one option.",
            "checkbox" => "For a checkbox question, a list of distinct option indexes.",
            _ => "For a subjective question, text within the character limit.",
        };
        Err(AppError::field("answer", msg))
    }
}

/// `GET /api/v1/session-answers/`: answers of the caller's sessions.
#[utoipa::path(
    get,
    path = "/api/v1/session-answers/",
    tag = "session_answers",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Success", body = Vec<AnswerPayload>)
    )
)]
pub async fn list_answers(
    caller: AuthUser,
    tenant: Tenant,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let list = db
        .tenant(&tenant, move |conn| {
            Ok(learner::own_answers(conn, caller.id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list.into_iter().map(answer_json).collect::<Vec<_>>()))
}

/// A session answer as the API shows it (keys in the order clients have always received).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AnswerPayload {
    answer: Option<Value>,
    created_at: chrono::DateTime<chrono::Utc>,
    id: i32,
    item: i32,
    session: i32,
    updated_at: chrono::DateTime<chrono::Utc>,
}

fn answer_json(a: learner::Answer) -> AnswerPayload {
    AnswerPayload {
        answer: a.answer,
        created_at: a.created_at,
        id: a.id,
        item: a.item_id,
        session: a.session_id,
        updated_at: a.updated_at,
    }
}

/// `POST /api/v1/session-answers/` `{session, item, answer}`.
#[utoipa::path(
    post,
    path = "/api/v1/session-answers/",
    tag = "session_answers",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::AnswerRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Success", body = AnswerPayload)
    )
)]
pub async fn create_answer(
    caller: AuthUser,
    tenant: Tenant,
    body: JsonBody,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let mut input = Input::new(body.into_inner())?;
    let session = input.id("session", true);
    let item = input.id("item", true);
    let answer = input.raw("answer").cloned().filter(|v| !v.is_null());
    input.finish()?;
    let (session, item) = (session.unwrap_or(0), item.unwrap_or(0));
    let created = db
        .tenant(&tenant, move |conn| {
            let s = learner::find_own_session(conn, session, caller.id).map_err(|_| {
                AppError::field(
                    "session",
                    format!("Invalid pk \"{session}\" - object does not exist."),
                )
            })?;
            let it = content::find_item(conn, item)
                .ok()
                .filter(|i| i.plio_id == s.plio_id)
                .ok_or_else(|| {
                    AppError::field("item", "The item must belong to the session's plio.")
                })?;
            validate_answer(conn, it.id, &answer)?;
            Ok(learner::insert_answer(conn, s.id, it.id, answer)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(answer_json(created)))
}

fn own_answer(
    conn: &mut diesel::PgConnection,
    id: i32,
    caller: &AuthUser,
) -> Result<learner::Answer, AppError> {
    match learner::find_answer(conn, id) {
        Ok((a, owner)) if owner == caller.id => Ok(a),
        _ => Err(AppError::new(Code::NotFound)),
    }
}

/// `GET /api/v1/session-answers/{id}/`.
#[utoipa::path(
    get,
    path = "/api/v1/session-answers/{id}/",
    tag = "session_answers",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = AnswerPayload)
    )
)]
pub async fn get_answer(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let a = db
        .tenant(&tenant, move |conn| own_answer(conn, id, &caller))
        .await?;
    Ok(HttpResponse::Ok().json(answer_json(a)))
}

/// `PUT|PATCH /api/v1/session-answers/{id}/` `{answer}`.
#[utoipa::path(
    method(put, patch),
    path = "/api/v1/session-answers/{id}/",
    tag = "session_answers",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = crate::api::requests::AnswerRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = AnswerPayload)
    )
)]
pub async fn update_answer(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    _req: HttpRequest,
    body: JsonBody,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = Input::new(body.into_inner())?;
    if !input.has("answer") {
        return Err(AppError::field("answer", "This field is required."));
    }
    let answer = input.raw("answer").cloned().filter(|v| !v.is_null());
    let a = db
        .tenant(&tenant, move |conn| {
            let current = own_answer(conn, id, &caller)?;
            validate_answer(conn, current.item_id, &answer)?;
            Ok(learner::set_answer(conn, id, answer)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer_json(a)))
}

/// `DELETE /api/v1/session-answers/{id}/`: soft-deletes one of the caller's answers.
#[utoipa::path(
    delete,
    path = "/api/v1/session-answers/{id}/",
    tag = "session_answers",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
pub async fn delete_answer(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    db.tenant(&tenant, move |conn| {
        own_answer(conn, id, &caller)?;
        Ok(learner::soft_delete_answer(conn, id)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
