//! `/api/v1/roles/`: read-only, filtered by the caller's role (SPEC 4.2). Superusers see all;
//! others see, in the organization of the `Organization` header, the roles they may grant:
//! super-admin → org-admin, org-view; org-admin → org-view; anyone else → none.

use actix_web::{web, HttpResponse};

use crate::auth::permissions::manageable_roles;
use crate::auth::AuthUser;
use crate::db::models::{membership, role};
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::tenant::Tenant;

async fn visible(
    caller: AuthUser,
    tenant: Tenant,
    db: &Database,
) -> Result<Vec<role::Role>, AppError> {
    db.shared(move |conn| {
        if caller.is_superuser {
            return Ok(role::by_names(
                conn,
                &["super-admin", "org-admin", "org-view"],
            )?);
        }
        let caller_role = match (tenant.is_personal_workspace(), tenant.id()) {
            (false, Some(org)) => membership::role_in(conn, caller.id, org.0)?,
            _ => None,
        };
        Ok(role::by_names(
            conn,
            manageable_roles(caller_role.as_deref()),
        )?)
    })
    .await
}

/// `GET /api/v1/roles/`.
#[utoipa::path(
    get,
    path = "/api/v1/roles/",
    tag = "roles",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Success", body = Vec<crate::db::models::role::Role>)
    )
)]
pub async fn list_roles(
    caller: AuthUser,
    tenant: Tenant,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(visible(caller, tenant, &db).await?))
}

/// `GET /api/v1/roles/{id}/` (only a visible role).
#[utoipa::path(
    get,
    path = "/api/v1/roles/{id}/",
    tag = "roles",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = crate::db::models::role::Role)
    )
)]
pub async fn get_role(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let role = visible(caller, tenant, &db)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| AppError::new(Code::NotFound))?;
    Ok(HttpResponse::Ok().json(role))
}
