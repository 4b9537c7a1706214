//! `/api/v1/users/`: users, as Plio serializes them (cached payloads, SPEC 6.3).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;
use serde::Deserialize;

use crate::api::extract::body::JsonBody;
use crate::api::input::Input;
use crate::api::user_payloads::{payload, payload_for, payloads};
use crate::auth::tokens::TokenCache;
use crate::auth::{password, AuthUser};
use crate::cache::Cache;
use crate::db::models::user::{self, UserChanges};
use crate::db::schema::{access_token, organization_user, refresh_token, user as user_table};
use crate::db::Database;
use crate::error::{AppError, Code};

pub(crate) fn self_or_superuser(caller: &AuthUser, id: i32) -> Result<(), AppError> {
    if caller.is_superuser || caller.id == id {
        Ok(())
    } else {
        Err(AppError::new(Code::PermissionDenied))
    }
}

fn superuser(caller: &AuthUser) -> Result<(), AppError> {
    if caller.is_superuser {
        Ok(())
    } else {
        Err(AppError::new(Code::PermissionDenied))
    }
}

/// Query filters of the list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    ids: Option<String>,
    organization: Option<String>,
    email: Option<String>,
}

/// `GET /api/v1/users/` (superusers): `?ids=1,2`, `?organization=<id>`, `?email=<exact>`.
/// As Plio: empty filters are absent; `ids` with no valid integer is ignored; a
/// non-integer `organization` matches nothing.
#[utoipa::path(
    get,
    path = "/api/v1/users/",
    tag = "users",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "Success", body = Vec<crate::cache::payloads::user::UserPayload>)
    )
)]
pub async fn list_users(
    caller: AuthUser,
    query: web::Query<ListQuery>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    superuser(&caller)?;
    let q = query.into_inner();
    let ids: Vec<i32> = q
        .ids
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let organization = q.organization.filter(|s| !s.trim().is_empty());
    let email = q.email.filter(|s| !s.is_empty());
    let matching: Vec<i32> = db
        .shared(move |conn| {
            let mut sel = user_table::table
                .filter(user_table::deleted.is_null())
                .select(user_table::id)
                .order(user_table::id)
                .into_boxed();
            if !ids.is_empty() {
                sel = sel.filter(user_table::id.eq_any(ids));
            }
            if let Some(org) = organization {
                let Ok(org) = org.trim().parse::<i32>() else {
                    return Ok(Vec::new());
                };
                let members = organization_user::table
                    .filter(organization_user::organization_id.eq(org))
                    .select(organization_user::user_id);
                sel = sel.filter(user_table::id.eq_any(members));
            }
            if let Some(e) = email {
                sel = sel.filter(user_table::email.eq(e));
            }
            Ok(sel.load(conn)?)
        })
        .await?;
    let list = payloads(&db, &cache, &matching).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Validated user fields from a body (`partial`: absent fields untouched).
fn read_changes(input: &mut Input, partial: bool, caller_is_superuser: bool) -> UserChanges {
    let mut ch = UserChanges::default();
    if let Some(e) = input.string("email", false, 255) {
        let e = e.trim().to_string();
        if e.is_empty() {
            ch.email = Some(None);
        } else if !e.contains('@') || e.contains(char::is_whitespace) {
            input.reject("email", "Enter a valid email address.");
        } else {
            ch.email = Some(Some(user::normalize_email(&e)));
        }
    }
    if let Some(m) = input.string("mobile", false, 20) {
        ch.mobile = Some((!m.trim().is_empty()).then(|| m.trim().to_string()));
    }
    ch.first_name = input.string("first_name", false, 150);
    ch.last_name = input.string("last_name", false, 150);
    if let Some(a) = input.string("avatar_url", false, 255) {
        ch.avatar_url = Some((!a.is_empty()).then_some(a));
    }
    ch.config = input.config("config", false);
    if input.has("status") {
        match input.string("status", false, 20).as_deref() {
            Some(s @ ("waitlist" | "approved")) if caller_is_superuser => {
                ch.status = Some(s.to_string())
            }
            Some("waitlist" | "approved") => {
                input.reject("status", "Only superusers can change the status.")
            }
            _ => input.reject("status", "Must be one of: waitlist, approved."),
        }
    }
    if input.has("is_active") && !caller_is_superuser {
        input.reject("is_active", "Only superusers can change this field.");
    }
    if !partial
        && ch.first_name.is_none()
        && ch.last_name.is_none()
        && ch.email.is_none()
        && ch.mobile.is_none()
    {
        input.reject(
            "non_field_errors",
            "Send at least one of email, mobile, first_name, last_name.",
        );
    }
    ch
}

fn read_password(input: &mut Input) -> Option<String> {
    let pw = input.string("password", false, 1024)?;
    if pw.chars().count() < 8 {
        input.reject("password", "Ensure this field has at least 8 characters.");
        return None;
    }
    Some(pw)
}

fn email_conflict(e: diesel::result::Error) -> AppError {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => AppError::unique("email", "user with this email already exists."),
        other => other.into(),
    }
}

/// `POST /api/v1/users/` (superusers) `{email, password, first_name, last_name, mobile}`.
#[utoipa::path(
    post,
    path = "/api/v1/users/",
    tag = "users",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::UserRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Success", body = crate::cache::payloads::user::UserPayload)
    )
)]
pub async fn create_user(
    caller: AuthUser,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    superuser(&caller)?;
    let mut input = Input::new(body.into_inner())?;
    let changes = read_changes(&mut input, true, true);
    let pw = read_password(&mut input);
    if changes.email.as_ref().and_then(|e| e.as_ref()).is_none()
        && changes.mobile.as_ref().and_then(|m| m.as_ref()).is_none()
    {
        input.reject("email", "An email or a mobile number is required.");
    }
    input.finish()?;
    let hash = match pw {
        Some(pw) => Some(
            web::block(move || password::hash(&pw))
                .await?
                .map_err(AppError::internal)?,
        ),
        None => None,
    };
    let id = cache
        .write_shared(&db, move |conn, _inv| {
            let email = changes.email.clone().flatten();
            let mobile = changes.mobile.clone().flatten();
            let id = user::insert(
                conn,
                &user::NewUser {
                    email: email.as_deref(),
                    mobile: mobile.as_deref(),
                    first_name: changes.first_name.as_deref().unwrap_or(""),
                    last_name: changes.last_name.as_deref().unwrap_or(""),
                    password: hash.as_deref(),
                    ..Default::default()
                },
            )
            .map_err(email_conflict)?;
            if let Some(config) = changes.config {
                diesel::update(user_table::table.find(id))
                    .set(user_table::config.eq(config))
                    .execute(conn)?;
            }
            Ok(id)
        })
        .await?;
    Ok(HttpResponse::Created().json(payload(&db, &cache, id).await?))
}

/// `GET /api/v1/users/{id}/` (self or superuser).
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = crate::cache::payloads::user::UserPayload)
    )
)]
pub async fn get_user(
    caller: AuthUser,
    path: web::Path<i32>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    self_or_superuser(&caller, id)?;
    Ok(HttpResponse::Ok().json(payload_for(&db, &cache, id, caller.id).await?))
}

/// `PUT|PATCH /api/v1/users/{id}/` (self or superuser). `password` is stored as an Argon2id
/// hash; `is_superuser` is read-only; `status` and `is_active` are for superusers.
#[utoipa::path(
    method(put, patch),
    path = "/api/v1/users/{id}/",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = crate::api::requests::UserRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = crate::cache::payloads::user::UserPayload)
    )
)]
pub async fn update_user(
    caller: AuthUser,
    path: web::Path<i32>,
    req: HttpRequest,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
    tokens: web::Data<TokenCache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    self_or_superuser(&caller, id)?;
    let partial = req.method() == actix_web::http::Method::PATCH;
    let mut input = Input::new(body.into_inner())?;
    let mut changes = read_changes(&mut input, partial, caller.is_superuser);
    if caller.is_superuser {
        changes.is_active = input.boolean("is_active");
    }
    let pw = read_password(&mut input);
    input.finish()?;
    if let Some(pw) = pw {
        let hash = web::block(move || password::hash(&pw))
            .await?
            .map_err(AppError::internal)?;
        changes.password = Some(Some(hash));
    }
    changes.updated_at = Some(Utc::now());
    // A deactivated user's cached tokens must stop working on this instance at once.
    let deactivating = changes.is_active == Some(false);
    // A new password ends every other session of the user (SPEC 4.1): the caller's own token
    // survives when they change their own password.
    let password_changed = changes.password.is_some();
    let keep = (caller.id == id)
        .then(|| crate::api::extract::caller::bearer_digest(&req))
        .flatten();
    let may_change_email = caller.is_superuser;
    let ended = cache
        .write_shared(&db, move |conn, inv| {
            // An address is an identity: Google sign-in adopts the account that has it, so
            // only a superuser may set one (a user could otherwise claim someone else's).
            if let (Some(new_email), false) = (&changes.email, may_change_email) {
                let current: Option<String> = user_table::table
                    .find(id)
                    .select(user_table::email)
                    .first(conn)?;
                if &current != new_email {
                    return Err(AppError::field(
                        "email",
                        "Only an administrator can change an email address.",
                    ));
                }
            }
            let n = diesel::update(
                user_table::table
                    .find(id)
                    .filter(user_table::deleted.is_null()),
            )
            .set(&changes)
            .execute(conn)
            .map_err(email_conflict)?;
            if n == 0 {
                return Err(AppError::new(Code::NotFound));
            }
            inv.user(id);
            // Cached token checks of a deactivated user must go everywhere.
            let mut ended = if deactivating {
                crate::db::models::token::access_digests_of(conn, id)?
            } else {
                Vec::new()
            };
            if password_changed {
                ended.extend(crate::db::models::token::revoke_all_but(
                    conn,
                    id,
                    keep.as_deref(),
                )?);
            }
            inv.tokens(&ended);
            Ok(ended)
        })
        .await?;
    tokens.forget(&ended);
    Ok(HttpResponse::Ok().json(payload_for(&db, &cache, id, caller.id).await?))
}

/// `DELETE /api/v1/users/{id}/` (self or superuser): soft delete; the user's tokens end.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
pub async fn delete_user(
    caller: AuthUser,
    path: web::Path<i32>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
    tokens: web::Data<TokenCache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    self_or_superuser(&caller, id)?;
    let ended = cache
        .write_shared(&db, move |conn, inv| {
            let ended = crate::db::models::token::access_digests_of(conn, id)?;
            let n = diesel::update(
                user_table::table
                    .find(id)
                    .filter(user_table::deleted.is_null()),
            )
            .set((
                user_table::deleted.eq(Some(Utc::now())),
                user_table::updated_at.eq(Utc::now()),
            ))
            .execute(conn)?;
            if n == 0 {
                return Err(AppError::new(Code::NotFound));
            }
            diesel::delete(refresh_token::table.filter(refresh_token::user_id.eq(id)))
                .execute(conn)?;
            diesel::delete(access_token::table.filter(access_token::user_id.eq(id)))
                .execute(conn)?;
            inv.user(id);
            inv.tokens(&ended);
            Ok(ended)
        })
        .await?;
    tokens.forget(&ended);
    Ok(HttpResponse::NoContent().finish())
}
