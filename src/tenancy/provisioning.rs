//! Tenant provisioning: create (atomic), migrate (concurrent over tenants), drop.

use crate::bus::{self, Change};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::models::organization::{self as org_model, NewOrganization, Organization};
use crate::db::schema::{organization_user, organizations_domain, user};
use crate::db::{migrations, Database};
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

fn schema_exists(conn: &mut PgConnection, name: &str) -> Result<bool, ProvisionError> {
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let row: Exists = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists",
    )
    .bind::<diesel::sql_types::Text, _>(name)
    .get_result(conn)?;
    Ok(row.exists)
}

/// Creates a tenant atomically: organization row, primary domain, schema and every tenant
/// migration in one transaction. On any failure nothing remains.
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
        if schema_exists(conn, schema.as_str())? {
            return Err(ProvisionError::Conflict {
                field: "shortcode",
                message: "a schema for this shortcode already exists".into(),
            });
        }
        conn.batch_execute(&format!("CREATE SCHEMA {}", schema.quoted()))?;
        migrations::apply_tenant(conn, &schema)?;
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

/// The outcome of migrating one schema.
#[derive(Debug, Clone)]
pub struct SchemaOutcome {
    /// Organization shortcode (empty for an unseeded public schema).
    pub shortcode: String,
    /// The schema.
    pub schema: String,
    /// Versions applied by this run.
    pub applied: Vec<String>,
    /// The failure, if any.
    pub error: Option<String>,
}

/// Applies public migrations, then tenant migrations to `public` and to every tenant schema
/// with at most `jobs` schemas in flight. One schema's failure does not stop the others.
/// `tick` is called after each schema (for a progress bar); `total` is reported first.
pub fn migrate_all(
    db: &Database,
    jobs: usize,
    on_total: &dyn Fn(usize),
    tick: &(dyn Fn(&SchemaOutcome) + Sync),
) -> anyhow::Result<(Vec<String>, Vec<SchemaOutcome>)> {
    let mut conn = db.connection()?;
    let public_applied = migrations::apply_public(&mut conn)?;
    let orgs = org_model::list_all(&mut conn)?;
    drop(conn);

    let mut targets: Vec<(Option<i32>, String, SchemaName)> = Vec::new();
    if !orgs.iter().any(|o| o.schema_name == "public") {
        targets.push((None, String::new(), SchemaName::public()));
    }
    for o in &orgs {
        match SchemaName::from_stored(&o.schema_name) {
            Some(s) => targets.push((Some(o.id), o.shortcode.clone(), s)),
            None => {
                tracing::warn!(shortcode = %o.shortcode, "skipping organization with an invalid schema name")
            }
        }
    }
    // Public first: it is the personal workspace and the most used.
    targets.sort_by_key(|(_, _, s)| !s.is_public());
    on_total(targets.len());

    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::with_capacity(targets.len()));
    let workers = jobs.clamp(1, targets.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((org_id, shortcode, schema)) = targets.get(i) else {
                    break;
                };
                let outcome = migrate_one(db, *org_id, shortcode, schema);
                tick(&outcome);
                outcomes
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(outcome);
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|p| p.into_inner());
    outcomes.sort_by(|a, b| a.schema.cmp(&b.schema));
    // Schema versions changed: every running instance reloads its registry now.
    if outcomes.iter().any(|o| !o.applied.is_empty()) {
        let sent = db
            .connection()
            .map_err(anyhow::Error::from)
            .and_then(|mut c| Ok(bus::publish(&mut c, &Change::registry())?));
        if let Err(e) = sent {
            tracing::warn!(error = %format!("{e:#}"), "could not announce the migration on the change bus");
        }
    }
    Ok((public_applied, outcomes))
}

fn migrate_one(
    db: &Database,
    org_id: Option<i32>,
    shortcode: &str,
    schema: &SchemaName,
) -> SchemaOutcome {
    let mut outcome = SchemaOutcome {
        shortcode: shortcode.to_string(),
        schema: schema.as_str().to_string(),
        applied: Vec::new(),
        error: None,
    };
    // A missing schema fails in the scope check (TenantUnavailable) before any DDL runs.
    let result = db
        .connection()
        .map_err(anyhow::Error::from)
        .and_then(|mut conn| migrations::apply_tenant(&mut conn, schema));
    match result {
        Ok(applied) => outcome.applied = applied,
        Err(e) => outcome.error = Some(format!("{e:#}")),
    }
    // Record the schema's actual state, success or not, so the registry serves it only when current.
    if let Some(id) = org_id {
        let recorded = (|| -> anyhow::Result<()> {
            let mut conn = db.connection()?;
            let version = migrations::applied_tenant_version(&mut conn, schema)
                .ok()
                .flatten();
            org_model::record_schema_version(
                &mut conn,
                id,
                version.as_deref(),
                migrations::latest_tenant_version(),
            )?;
            Ok(())
        })();
        if let Err(e) = recorded {
            if outcome.error.is_none() {
                outcome.error = Some(format!("recording migration state: {e:#}"));
            }
        }
    }
    outcome
}
