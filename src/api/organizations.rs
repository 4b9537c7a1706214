//! `/api/v1/organizations/`: superusers create, list, read, update and soft-delete tenants;
//! `PATCH {id}/setting/` is open to that organization's admins too (SPEC 2.2, 5).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::api::extract::body::JsonBody;
use crate::api::input::Input;
use crate::auth::AuthUser;
use crate::cache::Cache;
use crate::config::Settings;
use crate::db::models::membership;
use crate::db::models::organization::{self as model, Domain, Organization, OrganizationChanges};
use crate::db::schema::{organization, organizations_domain};
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::tenancy::provisioning::{self, NewTenant};
use crate::tenancy::TenantRegistry;
use crate::tenant::validate_domain;

/// The answer of `rotate-api-key/`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    /// The new key (the old one stops working at once).
    pub api_key: String,
}

/// The organization payload (api_key included: only superusers and its admins see it).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganizationPayload {
    id: i32,
    name: String,
    shortcode: String,
    schema_name: String,
    api_key: String,
    config: Value,
    domains: Vec<Domain>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn payload(org: Organization, all_domains: &[Domain]) -> OrganizationPayload {
    OrganizationPayload {
        domains: all_domains
            .iter()
            .filter(|d| d.tenant_id == org.id)
            .cloned()
            .collect(),
        id: org.id,
        name: org.name,
        shortcode: org.shortcode,
        schema_name: org.schema_name,
        api_key: org.api_key,
        config: org.config,
        created_at: org.created_at,
        updated_at: org.updated_at,
    }
}

fn load_payload(conn: &mut PgConnection, id: i32) -> Result<OrganizationPayload, AppError> {
    let org = model::find_live(conn, id)?;
    let domains = model::domains_of(conn, &[id])?;
    Ok(payload(org, &domains))
}

fn require_superuser(user: &AuthUser) -> Result<(), AppError> {
    if user.is_superuser {
        Ok(())
    } else {
        Err(AppError::new(Code::PermissionDenied))
    }
}

/// `GET /api/v1/organizations/`.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/",
    tag = "organizations",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Success", body = Vec<OrganizationPayload>)
    )
)]
pub async fn list_organizations(
    user: AuthUser,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    require_superuser(&user)?;
    let list = db
        .shared(|conn| {
            let orgs = model::list_live(conn)?;
            let ids: Vec<i32> = orgs.iter().map(|o| o.id).collect();
            let domains = model::domains_of(conn, &ids)?;
            Ok(orgs
                .into_iter()
                .map(|o| payload(o, &domains))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// `POST /api/v1/organizations/` `{name, shortcode, domain?}` → 201, schema built atomically.
#[utoipa::path(
    post,
    path = "/api/v1/organizations/",
    tag = "organizations",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::OrganizationRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Success", body = OrganizationPayload),
        (status = 409, description = "The shortcode or domain is taken (tenant creation keeps 409, SPEC 2.2)", body = crate::api::responses::ErrorBody)
    )
)]
pub async fn create_organization(
    user: AuthUser,
    body: JsonBody,
    db: web::Data<Database>,
    settings: web::Data<Settings>,
    registry: web::Data<TenantRegistry>,
) -> Result<HttpResponse, AppError> {
    require_superuser(&user)?;
    let mut input = Input::new(body.into_inner())?;
    let name = input.string("name", true, 255);
    let shortcode = input.string("shortcode", true, 50);
    let domain = input.string("domain", false, 253);
    input.finish()?;
    let new = NewTenant {
        name: name.unwrap_or_default(),
        shortcode: shortcode.unwrap_or_default(),
        domain: domain.map(|d| d.trim().to_ascii_lowercase()),
    };
    let default_host = settings.default_tenant_domain.clone();
    let created = db
        .shared(move |conn| {
            // The provisioning transaction nests as a savepoint in the chokepoint's transaction.
            let org = provisioning::create_tenant(conn, &new, &default_host)?;
            load_payload(conn, org.id)
        })
        .await?;
    registry.reload_async(&db).await;
    tracing::info!(shortcode = %created.shortcode, "organization created");
    // On Citus: the new schema moves to a worker right after the commit, in the background
    // (it serves from the coordinator meanwhile; provisioning::create_tenant).
    if let Some(schema) = crate::tenant::SchemaName::from_stored(&created.schema_name) {
        actix_web::rt::spawn(distribute_in_background(db.get_ref().clone(), schema));
    }
    Ok(HttpResponse::Created().json(created))
}

/// Moves a new tenant's schema to a Citus worker, giving way to its requests (see
/// `citus::try_distribute`); a no-op on plain PostgreSQL.
async fn distribute_in_background(db: Database, schema: crate::tenant::SchemaName) {
    use crate::tenancy::citus;
    let mut delays = citus::RETRY_DELAYS_MS.iter();
    loop {
        // Provisioning, not a request's unit of work: a raw pooled connection, so the move is
        // its own top-level transaction (not a savepoint in a door's transaction), and no
        // request's turn at the gate is taken for its duration.
        let (db_ref, attempt) = (db.clone(), schema.clone());
        let done = actix_web::web::block(move || -> anyhow::Result<bool> {
            let mut conn = db_ref.connection()?;
            citus::try_distribute(&mut conn, &attempt)
        })
        .await
        .map_err(anyhow::Error::from)
        .and_then(|r| r);
        match done {
            Ok(true) => {
                tracing::info!(schema = %schema, "tenant schema distributed to a worker");
                return;
            }
            Ok(false) => return,
            Err(e) => match delays.next() {
                Some(ms) => actix_web::rt::time::sleep(std::time::Duration::from_millis(*ms)).await,
                None => {
                    tracing::warn!(schema = %schema, error = %format!("{e:#}"), "the tenant schema stays on the coordinator; plio citus distribute moves it");
                    return;
                }
            },
        }
    }
}

pub(crate) fn require_superuser_or_admin(
    conn: &mut PgConnection,
    user: &AuthUser,
    org: i32,
) -> Result<(), AppError> {
    if user.is_superuser || membership::is_admin(conn, user.id, org)? {
        Ok(())
    } else {
        Err(AppError::new(Code::PermissionDenied))
    }
}

/// `GET /api/v1/organizations/{id}/` (superusers and that organization's admins).
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{id}/",
    tag = "organizations",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = OrganizationPayload)
    )
)]
pub async fn get_organization(
    user: AuthUser,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let org = db
        .shared(move |conn| {
            require_superuser_or_admin(conn, &user, id)?;
            load_payload(conn, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(org))
}

/// `PUT|PATCH /api/v1/organizations/{id}/`: name, config and primary domain; the shortcode
/// and schema name are immutable (the schema is named after the shortcode).
#[utoipa::path(
    method(put, patch),
    path = "/api/v1/organizations/{id}/",
    tag = "organizations",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = crate::api::requests::OrganizationRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = OrganizationPayload)
    )
)]
pub async fn update_organization(
    user: AuthUser,
    path: web::Path<i32>,
    body: JsonBody,
    req: actix_web::HttpRequest,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
    registry: web::Data<TenantRegistry>,
) -> Result<HttpResponse, AppError> {
    require_superuser(&user)?;
    let id = path.into_inner();
    let partial = req.method() == actix_web::http::Method::PATCH;
    let mut input = Input::new(body.into_inner())?;
    let name = input.string("name", !partial, 255);
    let config = input.config("config", false);
    let domain = input
        .string("domain", false, 253)
        .map(|d| d.trim().to_ascii_lowercase());
    if let Some(d) = &domain {
        if let Err(message) = validate_domain(d) {
            input.reject("domain", message);
        }
    }
    let shortcode = input.string("shortcode", false, 50);
    let schema_name = input.string("schema_name", false, 63);
    input.finish()?;

    let updated = cache
        .write_shared(&db, move |conn, inv| {
            let current = model::find_live(conn, id)?;
            inv.organization(conn, id)?;
            inv.registry();
            if shortcode.is_some_and(|s| s != current.shortcode) {
                return Err(AppError::field(
                    "shortcode",
                    "The shortcode cannot be changed.",
                ));
            }
            if schema_name.is_some_and(|s| s != current.schema_name) {
                return Err(AppError::field(
                    "schema_name",
                    "The schema name cannot be changed.",
                ));
            }
            diesel::update(organization::table.find(id))
                .set(&OrganizationChanges {
                    name,
                    config,
                    updated_at: Some(Utc::now()),
                })
                .execute(conn)?;
            if let Some(domain) = domain {
                let changed = diesel::update(
                    organizations_domain::table
                        .filter(organizations_domain::tenant_id.eq(id))
                        .filter(organizations_domain::is_primary.eq(true)),
                )
                .set((
                    organizations_domain::domain.eq(&domain),
                    organizations_domain::updated_at.eq(Utc::now()),
                ))
                .execute(conn)
                .map_err(domain_conflict)?;
                if changed == 0 {
                    diesel::insert_into(organizations_domain::table)
                        .values((
                            organizations_domain::domain.eq(&domain),
                            organizations_domain::tenant_id.eq(id),
                            organizations_domain::is_primary.eq(true),
                        ))
                        .execute(conn)
                        .map_err(domain_conflict)?;
                }
            }
            load_payload(conn, id)
        })
        .await?;
    registry.reload_async(&db).await;
    Ok(HttpResponse::Ok().json(updated))
}

fn domain_conflict(e: diesel::result::Error) -> AppError {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => AppError::unique("domain", "domain with this domain already exists."),
        other => other.into(),
    }
}

/// `DELETE /api/v1/organizations/{id}/`: soft delete; its requests get 404 at once.
#[utoipa::path(
    delete,
    path = "/api/v1/organizations/{id}/",
    tag = "organizations",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
pub async fn delete_organization(
    user: AuthUser,
    path: web::Path<i32>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
    registry: web::Data<TenantRegistry>,
) -> Result<HttpResponse, AppError> {
    require_superuser(&user)?;
    let id = path.into_inner();
    cache
        .write_shared(&db, move |conn, inv| {
            let current = model::find_live(conn, id)?;
            inv.organization(conn, id)?;
            inv.registry();
            if current.schema_name == "public" {
                return Err(AppError::with_detail(
                    Code::Invalid,
                    "The personal workspace (public organization) cannot be deleted.",
                ));
            }
            diesel::update(organization::table.find(id))
                .set((
                    organization::deleted.eq(Some(Utc::now())),
                    organization::updated_at.eq(Utc::now()),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await?;
    registry.reload_async(&db).await;
    tracing::info!(organization_id = id, "organization soft-deleted");
    Ok(HttpResponse::NoContent().finish())
}
