//! Tenant provisioning: create (atomic), drop; migrating every schema is in `migrate`.

use crate::bus::{self, Change};
pub use crate::tenancy::migrate::{migrate_all, SchemaOutcome};

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::migrations;
use crate::db::models::organization::{self as org_model, NewOrganization, Organization};
use crate::db::schema::{organization_user, organizations_domain, user};
use crate::error::{AppError, Code};
use crate::secrets;
use crate::tenant::{validate_domain, SchemaName, ShortcodeError};

/// What a new tenant needs.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// Display name (1-255 characters).
    pub name: String,
    /// Shortcode; the schema name derives from it.
    pub shortcode: String,
    /// Primary domain; defaults to `{DEFAULT_TENANT_DOMAIN}/{shortcode}`.
    pub domain: Option<String>,
}

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Bad input (400).
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Already exists (409).
    #[error("{field}: {message}")]
    Conflict {
        /// The field at fault.
        field: &'static str,
        /// What is taken.
        message: String,
    },
    /// Not found.
    #[error("organization not found")]
    NotFound,
    /// Any other failure.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<DieselError> for ProvisionError {
    fn from(e: DieselError) -> Self {
        match &e {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                let constraint = info.constraint_name().unwrap_or_default();
                if constraint.contains("domain") {
                    Self::Conflict {
                        field: "domain",
                        message: "an organization with this domain already exists".into(),
                    }
                } else {
                    // shortcode_key or schema_name_key: both mean this shortcode is taken.
                    Self::Conflict {
                        field: "shortcode",
                        message: "an organization with this shortcode already exists".into(),
                    }
                }
            }
            _ => Self::Other(e.into()),
        }
    }
}

impl From<crate::tenant::TenantUnavailable> for ProvisionError {
    fn from(e: crate::tenant::TenantUnavailable) -> Self {
        Self::Other(e.into())
    }
}

impl From<crate::db::DatabaseDown> for ProvisionError {
    fn from(e: crate::db::DatabaseDown) -> Self {
        Self::Other(anyhow::anyhow!("{e}"))
    }
}

impl From<diesel::r2d2::PoolError> for ProvisionError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Other(anyhow::anyhow!("connection pool: {e}"))
    }
}

impl From<ProvisionError> for AppError {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::Invalid { field, message } => AppError::field(field, message),
            ProvisionError::Conflict { field, message } => AppError::conflict(field, message),
            ProvisionError::NotFound => AppError::new(Code::NotFound),
            ProvisionError::Other(cause) => match cause.downcast::<DieselError>() {
                Ok(db_error) => AppError::from(db_error),
                Err(cause) => AppError::internal(cause),
            },
        }
    }
}

/// Validates a tenant's input; returns (name, shortcode, schema, domain).
fn validate(
    new: &NewTenant,
    default_host: &str,
) -> Result<(String, SchemaName, String), ProvisionError> {
    let name = new.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(ProvisionError::Invalid {
            field: "name",
            message: "must be 1-255 characters".into(),
        });
    }
    let schema =
        SchemaName::for_new_tenant(&new.shortcode).map_err(|e| ProvisionError::Invalid {
            field: "shortcode",
            message: match e {
                ShortcodeError::Reserved => format!("'{}' is reserved", new.shortcode),
                other => other.to_string(),
            },
        })?;
    let domain = match &new.domain {
        Some(d) => d.trim().to_string(),
        None => format!("{default_host}/{}", new.shortcode),
    };
    validate_domain(&domain).map_err(|message| ProvisionError::Invalid {
        field: "domain",
        message,
    })?;
    Ok((name, schema, domain))
}

/// Whether a schema of that name exists, and whether this session would make a new schema
/// a Citus distributed schema (`citus.enable_schema_based_sharding`; false on plain
/// PostgreSQL), in one round trip.
fn schema_state(conn: &mut PgConnection, name: &str) -> Result<(bool, bool), ProvisionError> {
    #[derive(diesel::QueryableByName)]
    struct State {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        sharding: bool,
    }
    let row: State = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists, \
         coalesce(current_setting('citus.enable_schema_based_sharding', true), '') = 'on' AS sharding",
    )
    .bind::<diesel::sql_types::Text, _>(name)
    .get_result(conn)?;
    Ok((row.exists, row.sharding))
}

/// Creates a tenant atomically: organization row, primary domain, schema (built from the
/// current schema script, with its migration record) in one transaction. On any failure
/// nothing remains. On Citus with schema-based sharding, call
/// [`crate::tenancy::citus::distribute_new`] after the commit.
pub fn create_tenant(
    conn: &mut PgConnection,
    new: &NewTenant,
    default_host: &str,
) -> Result<Organization, ProvisionError> {
    let (name, schema, domain) = validate(new, default_host)?;
    let api_key = secrets::random_string(32, secrets::ALPHANUMERIC);
    conn.transaction(|conn| {
        let created: Organization = diesel::insert_into(crate::db::schema::organization::table)
            .values(NewOrganization {
                name: &name,
                shortcode: &new.shortcode,
                schema_name: schema.as_str(),
                api_key: &api_key,
                config: serde_json::json!({}),
            })
            .returning(Organization::as_returning())
            .get_result(conn)?;
        diesel::insert_into(organizations_domain::table)
            .values((
                organizations_domain::domain.eq(&domain),
                organizations_domain::tenant_id.eq(created.id),
                organizations_domain::is_primary.eq(true),
            ))
            .execute(conn)?;
        // A schema of that name without an organization (left by an operator): a conflict,
        // told by the catalog rather than by the text of PostgreSQL's error (whose language
        // follows lc_messages). Concurrent creators are already serialized by the
        // organization row's unique keys above.
        let (exists, sharding) = schema_state(conn, schema.as_str())?;
        if exists {
            return Err(ProvisionError::Conflict {
                field: "shortcode",
                message: "a schema for this shortcode already exists".into(),
            });
        }
        if sharding {
            // On Citus the schema is built on the coordinator, where its thirteen tables take
            // milliseconds, and distributed to a worker right after the commit
            // ([`crate::tenancy::citus::distribute_new`]); built as a distributed schema,
            // each table is created on a worker and recorded on every node inside this
            // transaction (several hundred ms; docs/decisions.md).
            conn.batch_execute("SET LOCAL citus.enable_schema_based_sharding = off")?;
        }
        conn.batch_execute(&format!("CREATE SCHEMA {}", schema.quoted()))?;
        // The current schema from one script, not a replay of every migration.
        migrations::create_tenant_schema(conn, &schema)?;
        // Back to no schema for the rest of this transaction.
        crate::db::set_scope::<ProvisionError>(conn, &crate::db::Scope::Shared)?;
        let latest = migrations::latest_tenant_version();
        org_model::set_schema_version(conn, created.id, Some(latest))?;
        // Every instance learns of the tenant when (and only if) this commits.
        bus::publish(conn, &Change::registry())?;
        Ok(Organization {
            schema_version: Some(latest.to_string()),
            ..created
        })
    })
}

/// Drops a tenant for good: its schema, domains, memberships and row. SSO users minted by
/// its api_key are deactivated (they belong to no organization any more). Returns the
/// organization and the ids of its former members and of the users it deactivated, whose
/// cached user payloads embed it.
pub fn drop_tenant(
    conn: &mut PgConnection,
    shortcode: &str,
) -> Result<(Organization, Vec<i32>), ProvisionError> {
    conn.transaction(|conn| {
        let org = org_model::find_by_shortcode(conn, shortcode)?;
        let schema =
            SchemaName::from_stored(&org.schema_name).ok_or_else(|| ProvisionError::Invalid {
                field: "shortcode",
                message: "stored schema name is invalid; refusing to drop".into(),
            })?;
        if schema.is_public() {
            return Err(ProvisionError::Invalid {
                field: "shortcode",
                message: "the public organization (personal workspace) cannot be dropped".into(),
            });
        }
        let mut members = crate::db::models::user::member_ids(conn, org.id)?;
        let deactivated: Vec<i32> =
            diesel::update(user::table.filter(user::auth_org_id.eq(org.id)))
                .set((
                    user::auth_org_id.eq(None::<i32>),
                    user::is_active.eq(false),
                    user::updated_at.eq(Utc::now()),
                ))
                .returning(user::id)
                .get_results(conn)?;
        members.extend(deactivated);
        members.sort_unstable();
        members.dedup();
        diesel::delete(
            organization_user::table.filter(organization_user::organization_id.eq(org.id)),
        )
        .execute(conn)?;
        diesel::delete(
            organizations_domain::table.filter(organizations_domain::tenant_id.eq(org.id)),
        )
        .execute(conn)?;
        diesel::delete(crate::db::schema::organization::table.find(org.id)).execute(conn)?;
        conn.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            schema.quoted()
        ))?;
        Ok((org, members))
    })
}
