//! `/api/v1/organization-users/`: organization admins manage their own organization's
//! members. super-admin grants (and acts on members holding) org-admin and org-view;
//! org-admin only org-view; superusers bypass. Unique per (user, organization): 400 with
//! DRF's `non_field_errors` message, which Plio's add-member dialog reads. Rows carry Plio's
//! `user_details` and `is_owner`.
//! Every change invalidates the member's cached user payload after commit.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::api::extract::body::JsonBody;
use crate::api::input::Input;
use crate::auth::permissions::may_manage;
use crate::auth::AuthUser;
use crate::cache::payloads::user::{self as user_payload};
use crate::cache::Cache;
use crate::db::models::{membership, organization, role};
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::tenant::Tenant;

/// Query of the list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    organization: Option<String>,
}

/// DRF's message for a second membership of the same user in the same organization.
const DUPLICATE: &str = "organization user with this User and Organization already exists.";

fn with_user(
    conn: &mut diesel::PgConnection,
    m: membership::Membership,
) -> Result<membership::MembershipWithUser, AppError> {
    membership::with_users(conn, vec![m])?
        .pop()
        .ok_or_else(|| AppError::new(Code::NotFound))
}

/// Organizations whose memberships the caller may see (`None` = all, for superusers).
fn scope(conn: &mut diesel::PgConnection, caller: &AuthUser) -> Result<Option<Vec<i32>>, AppError> {
    if caller.is_superuser {
        Ok(None)
    } else {
        Ok(Some(membership::administered_by(conn, caller.id)?))
    }
}

/// `GET /api/v1/organization-users/`: `?organization=<id>` or the `Organization` header
/// narrows it; plain members see nothing.
#[utoipa::path(
    get,
    path = "/api/v1/organization-users/",
    tag = "memberships",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "Success", body = Vec<crate::db::models::membership::MembershipWithUser>)
    )
)]
pub async fn list_memberships(
    caller: AuthUser,
    tenant: Tenant,
    query: web::Query<ListQuery>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let filter = query
        .into_inner()
        .organization
        .filter(|s| !s.trim().is_empty());
    let rows = db
        .shared(move |conn| {
            let allowed = scope(conn, &caller)?;
            let wanted: Option<i32> = match filter {
                Some(f) => match f.trim().parse::<i32>() {
                    Ok(id) => Some(id),
                    Err(_) => return Ok(Vec::new()),
                },
                None if !tenant.is_personal_workspace() => tenant.id().map(|t| t.0),
                None => None,
            };
            let orgs: Option<Vec<i32>> = match (allowed, wanted) {
                (None, w) => w.map(|w| vec![w]),
                (Some(a), Some(w)) => Some(if a.contains(&w) { vec![w] } else { Vec::new() }),
                (Some(a), None) => Some(a),
            };
            let rows = membership::list(conn, orgs.as_deref())?;
            Ok(membership::with_users(conn, rows)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// `GET /api/v1/organization-users/{id}/`.
#[utoipa::path(
    get,
    path = "/api/v1/organization-users/{id}/",
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = crate::db::models::membership::MembershipWithUser)
    )
)]
pub async fn get_membership(
    caller: AuthUser,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let row = db
        .shared(move |conn| {
            let m = membership::find(conn, id)?;
            match scope(conn, &caller)? {
                Some(allowed) if !allowed.contains(&m.organization) => {
                    Err(AppError::new(Code::NotFound))
                }
                _ => Ok(with_user(conn, m)?),
            }
        })
        .await?;
    Ok(HttpResponse::Ok().json(row))
}

/// The caller's role in `org` (`Some("superuser")` for superusers).
fn caller_role(
    conn: &mut diesel::PgConnection,
    caller: &AuthUser,
    org: i32,
) -> Result<Option<String>, AppError> {
    if caller.is_superuser {
        return Ok(Some("superuser".into()));
    }
    Ok(membership::role_in(conn, caller.id, org)?)
}

fn allowed(caller_role: Option<&str>, role: &str) -> bool {
    caller_role == Some("superuser") || may_manage(caller_role, role)
}

/// `POST /api/v1/organization-users/` `{user, organization, role}`.
#[utoipa::path(
    post,
    path = "/api/v1/organization-users/",
    tag = "memberships",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::MembershipRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Success", body = crate::db::models::membership::MembershipWithUser)
    )
)]
pub async fn create_membership(
    caller: AuthUser,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let mut input = Input::new(body.into_inner())?;
    let user_id = input.id("user", true);
    let org_id = input.id("organization", true);
    let role_id = input.id("role", true);
    let is_owner = input.boolean("is_owner").unwrap_or(false);
    input.finish()?;
    let (user_id, org_id, role_id) = (
        user_id.unwrap_or(0),
        org_id.unwrap_or(0),
        role_id.unwrap_or(0),
    );
    let created = cache
        .write_shared(&db, move |conn, inv| {
            let role_name = role::name_of(conn, role_id)?.ok_or_else(|| {
                AppError::field(
                    "role",
                    format!("Invalid pk \"{role_id}\" - object does not exist."),
                )
            })?;
            let mine = caller_role(conn, &caller, org_id)?;
            if !allowed(mine.as_deref(), &role_name) {
                return Err(AppError::new(Code::PermissionDenied));
            }
            if organization::find_live(conn, org_id).is_err() {
                return Err(AppError::field(
                    "organization",
                    format!("Invalid pk \"{org_id}\" - object does not exist."),
                ));
            }
            let exists: bool = user_payload::load_payloads(conn, &[user_id])?.len() == 1;
            if !exists {
                return Err(AppError::field(
                    "user",
                    format!("Invalid pk \"{user_id}\" - object does not exist."),
                ));
            }
            let m =
                membership::insert(conn, user_id, org_id, role_id, is_owner).map_err(
                    |e| match e {
                        diesel::result::Error::DatabaseError(
                            diesel::result::DatabaseErrorKind::UniqueViolation,
                            _,
                        ) => AppError::non_field(DUPLICATE),
                        other => other.into(),
                    },
                )?;
            inv.user(user_id);
            with_user(conn, m)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// `PUT|PATCH /api/v1/organization-users/{id}/` `{role}`: changes a member's role.
#[utoipa::path(
    method(put, patch),
    path = "/api/v1/organization-users/{id}/",
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = crate::api::requests::MembershipRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = crate::db::models::membership::MembershipWithUser)
    )
)]
pub async fn update_membership(
    caller: AuthUser,
    path: web::Path<i32>,
    req: actix_web::HttpRequest,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let put = req.method() == actix_web::http::Method::PUT;
    let mut input = Input::new(body.into_inner())?;
    // PUT needs the role (as DRF's full update); PATCH may change `is_owner` alone.
    let role_id = input.id("role", put);
    let user_id = input.id("user", false);
    let org_id = input.id("organization", false);
    let is_owner = input.boolean("is_owner");
    input.finish()?;
    let updated = cache
        .write_shared(&db, move |conn, inv| {
            let current = membership::find(conn, id)?;
            if user_id.is_some_and(|u| u != current.user) || org_id.is_some_and(|o| o != current.organization) {
                return Err(AppError::with_detail(
                    Code::Invalid,
                    "A membership's user and organization cannot change; delete it and create another.",
                ));
            }
            let mine = caller_role(conn, &caller, current.organization)?;
            if mine.is_none() && !caller.is_superuser {
                return Err(AppError::new(Code::NotFound));
            }
            let current_role = role::name_of(conn, current.role)?.unwrap_or_default();
            let role_id = role_id.unwrap_or(current.role);
            let new_role = role::name_of(conn, role_id)?
                .ok_or_else(|| AppError::field("role", format!("Invalid pk \"{role_id}\" - object does not exist.")))?;
            if !allowed(mine.as_deref(), &current_role) || !allowed(mine.as_deref(), &new_role) {
                return Err(AppError::new(Code::PermissionDenied));
            }
            let m = membership::set_role(conn, id, role_id, is_owner)?;
            inv.user(m.user);
            with_user(conn, m)
        })
        .await?;
    Ok(HttpResponse::Ok().json(updated))
}

/// `DELETE /api/v1/organization-users/{id}/`: the member loses access at once.
#[utoipa::path(
    delete,
    path = "/api/v1/organization-users/{id}/",
    tag = "memberships",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
pub async fn delete_membership(
    caller: AuthUser,
    path: web::Path<i32>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    cache
        .write_shared(&db, move |conn, inv| {
            let current = membership::find(conn, id)?;
            let mine = caller_role(conn, &caller, current.organization)?;
            if mine.is_none() {
                return Err(AppError::new(Code::NotFound));
            }
            let current_role = role::name_of(conn, current.role)?.unwrap_or_default();
            if !allowed(mine.as_deref(), &current_role) {
                return Err(AppError::new(Code::PermissionDenied));
            }
            membership::delete(conn, id)?;
            inv.user(current.user);
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
