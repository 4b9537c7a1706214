//! `/api/v1/questions/`: questions inherit their item's plio permissions. Options and
//! correct answers are checked for their types per question type (mcq: one 0-based index,
//! checkbox: a list of them); drafts are accepted as the editor saves them (SPEC 5.1).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use crate::api::content::{accessible_head, list_scope, PlioRef};
use crate::api::extract::body::JsonBody;
use crate::api::input::Input;
use crate::auth::AuthUser;
use crate::cache::payloads::plio::{self as payload};
use crate::cache::Cache;
use crate::db::models::content::{self, QuestionState};
use crate::db::Database;
use crate::error::{AppError, Code, FieldErrors};
use crate::tenant::Tenant;

/// Overlays the body's fields on `base` (all fields for create).
fn merge(input: &mut Input, mut q: QuestionState) -> QuestionState {
    if let Some(item) = input.id("item", false) {
        q.item_id = item;
    }
    if input.has("type") {
        match input.string("type", false, 20).as_deref() {
            Some(t @ ("mcq" | "checkbox" | "subjective")) => q.type_ = t.to_string(),
            Some(other) => input.reject("type", format!("\"{other}\" is not a valid choice.")),
            None => input.reject("type", "This field may not be null."),
        }
    }
    if let Some(text) = input.string("text", false, 10_000) {
        q.text = text;
    }
    if input.has("options") {
        q.options = input.raw("options").cloned().filter(|v| !v.is_null());
    }
    if input.has("correct_answer") {
        q.correct_answer = input
            .raw("correct_answer")
            .cloned()
            .filter(|v| !v.is_null());
    }
    if let Some(b) = input.boolean("survey") {
        q.survey = b;
    }
    if let Some(b) = input.boolean("has_char_limit") {
        q.has_char_limit = b;
    }
    if input.has("max_char_limit") {
        q.max_char_limit = if input.is_null("max_char_limit") {
            None
        } else {
            input.number("max_char_limit", false)
        };
    }
    if input.has("image") {
        q.image_id = if input.is_null("image") {
            None
        } else {
            input.id("image", false)
        };
    }
    q
}

/// Per-type rules on the merged state: types and shapes, not completeness. The editor saves
/// drafts at every stage (a subjective question arrives with `options: ["", ""]` and
/// `correct_answer: 0`, any question with empty text; SPEC 5.1), so an index beyond the
/// options or an answer on a subjective question is stored as sent, as Plio does.
pub fn validate(q: &QuestionState) -> FieldErrors {
    let mut e = FieldErrors::new();
    let mut err = |k: &str, m: &str| e.entry(k.to_string()).or_default().push(m.to_string());
    match &q.options {
        None => {}
        Some(Value::Array(a))
            if a.len() <= 100
                && a.iter()
                    .all(|o| o.as_str().is_some_and(|s| s.chars().count() <= 10_000)) => {}
        Some(_) => err("options", "Must be a list of at most 100 strings."),
    }
    let index_ok = |v: &Value| v.as_u64().is_some_and(|i| i < 100);
    match (q.type_.as_str(), &q.correct_answer) {
        (_, None) => {}
        ("mcq", Some(v)) if index_ok(v) => {}
        ("mcq", Some(_)) => err(
            "correct_answer",
            "For mcq, the index (from 0) of one of the options.",
        ),
        ("checkbox", Some(Value::Array(a))) if a.len() <= 100 && a.iter().all(index_ok) => {}
        ("checkbox", Some(_)) => err(
            "correct_answer",
            "For checkbox, a list of option indexes (from 0).",
        ),
        ("subjective", Some(v)) if v.to_string().len() <= 10_000 => {}
        ("subjective", Some(_)) => err("correct_answer", "The value is too large."),
        _ => {}
    }
    if q.max_char_limit
        .is_some_and(|m| !(0.0..=100_000.0).contains(&m))
    {
        err("max_char_limit", "A limit from 0 to 100000.");
    }
    e
}

fn check(q: &QuestionState) -> Result<(), AppError> {
    let errors = validate(q);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::validation(errors))
    }
}

/// The question's item's plio, if the caller may edit it; returns the plio id.
fn plio_of_item_checked(
    conn: &mut diesel::PgConnection,
    tenant: &Tenant,
    caller: &AuthUser,
    item: i32,
) -> Result<i32, AppError> {
    let item = content::find_item(conn, item).map_err(|_| {
        AppError::field(
            "item",
            format!("Invalid pk \"{item}\" - object does not exist."),
        )
    })?;
    Ok(accessible_head(conn, tenant, caller, PlioRef::Id(item.plio_id))?.id)
}

/// A question may show an image only if the caller may use it: its creator, a superuser, or
/// someone who may edit a plio already showing it (SPEC 4.2, as videos). The image a question
/// already shows stays allowed (the editor PUTs whole questions). Anything else reads as a
/// missing image, so ids cannot be probed.
fn check_image(
    conn: &mut diesel::PgConnection,
    tenant: &Tenant,
    caller: &AuthUser,
    q: &QuestionState,
    current: Option<i32>,
) -> Result<(), AppError> {
    match q.image_id {
        Some(id) if Some(id) != current => {
            match crate::api::images::image_with_access(conn, tenant, caller, id) {
                Ok(_) => Ok(()),
                Err(e) if matches!(e.code(), Code::NotFound | Code::PermissionDenied) => {
                    Err(AppError::field(
                        "image",
                        format!("Invalid pk \"{id}\" - object does not exist."),
                    ))
                }
                // A database failure stays what it is (503/500), not a 400.
                Err(e) => Err(e),
            }
        }
        _ => Ok(()),
    }
}

/// `GET /api/v1/questions/` ordered by item time.
#[utoipa::path(
    get,
    path = "/api/v1/questions/",
    tag = "questions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Success", body = Vec<crate::cache::payloads::plio::QuestionPayload>)
    )
)]
pub async fn list_questions(
    caller: AuthUser,
    tenant: Tenant,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let t = tenant.clone();
    let list = db
        .tenant(&tenant, move |conn| {
            let scope = list_scope(conn, &t, &caller)?;
            Ok(payload::questions_in_scope(conn, scope)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// `POST /api/v1/questions/` `{item, type, text, options, correct_answer, survey, image, ...}`.
#[utoipa::path(
    post,
    path = "/api/v1/questions/",
    tag = "questions",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::QuestionRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Success", body = crate::cache::payloads::plio::QuestionPayload)
    )
)]
pub async fn create_question(
    caller: AuthUser,
    tenant: Tenant,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let mut input = Input::new(body.into_inner())?;
    let item = input.id("item", true);
    let q = merge(
        &mut input,
        QuestionState {
            item_id: item.unwrap_or(0),
            image_id: None,
            type_: "mcq".into(),
            text: String::new(),
            options: None,
            correct_answer: None,
            survey: false,
            has_char_limit: false,
            max_char_limit: None,
        },
    );
    input.finish()?;
    check(&q)?;
    let t = tenant.clone();
    let payload = cache
        .write(&db, &tenant, move |conn, inv| {
            let plio = plio_of_item_checked(conn, &t, &caller, q.item_id)?;
            check_image(conn, &t, &caller, &q, None)?;
            let id = content::insert_question(conn, &q)?;
            inv.plios(&t, &[plio]);
            Ok(payload::question_payload(conn, id)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(payload))
}

/// `GET /api/v1/questions/{id}/`.
#[utoipa::path(
    get,
    path = "/api/v1/questions/{id}/",
    tag = "questions",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = crate::cache::payloads::plio::QuestionPayload)
    )
)]
pub async fn get_question(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let t = tenant.clone();
    let payload = db
        .tenant(&tenant, move |conn| {
            let q = content::find_question(conn, id)?;
            plio_of_item_checked(conn, &t, &caller, q.item_id)?;
            Ok(payload::question_payload(conn, id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(payload))
}

/// `PUT|PATCH /api/v1/questions/{id}/`: the merged result is validated as a whole.
#[utoipa::path(
    method(put, patch),
    path = "/api/v1/questions/{id}/",
    tag = "questions",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = crate::api::requests::QuestionRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = crate::cache::payloads::plio::QuestionPayload)
    )
)]
pub async fn update_question(
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
    let body = body.into_inner();
    let t = tenant.clone();
    let payload = cache
        .write(&db, &tenant, move |conn, inv| {
            let current = content::find_question(conn, id)?;
            let old_plio = plio_of_item_checked(conn, &t, &caller, current.item_id)?;
            let mut input = Input::new(body)?;
            if !partial && !input.has("item") {
                input.reject("item", "This field is required.");
            }
            let merged = merge(&mut input, current.clone().into());
            input.finish()?;
            check(&merged)?;
            let mut touched = vec![old_plio];
            if merged.item_id != current.item_id {
                touched.push(plio_of_item_checked(conn, &t, &caller, merged.item_id)?);
            }
            check_image(conn, &t, &caller, &merged, current.image_id)?;
            content::update_question(conn, id, &merged)?;
            inv.plios(&t, &touched);
            Ok(payload::question_payload(conn, id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(payload))
}

/// `DELETE /api/v1/questions/{id}/`: soft delete.
#[utoipa::path(
    delete,
    path = "/api/v1/questions/{id}/",
    tag = "questions",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
pub async fn delete_question(
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
            let q = content::find_question(conn, id)?;
            let plio = plio_of_item_checked(conn, &t, &caller, q.item_id)?;
            content::soft_delete_question(conn, id)?;
            inv.plios(&t, &[plio]);
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
