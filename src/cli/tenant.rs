//! `plio tenant create|list|drop`.

use std::process::ExitCode;
use std::time::Instant;

use clap::Subcommand;

use crate::cache::{Cache, Invalidations};
use crate::config::{CacheBackend, Settings};
use crate::db::migrations::latest_tenant_version;
use crate::db::models::organization::{self as model, Organization};
use crate::db::Database;
use crate::tenancy::provisioning::{self, NewTenant};
use crate::tenant::{SchemaName, Tenant};

/// Tenant subcommands.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant: organization, primary domain, schema and all tables, atomically.
    Create {
        /// Shortcode (3-50 chars: a-z, 0-9, '-'); the schema is named after it.
        shortcode: String,
        /// Display name (default: the shortcode).
        #[arg(long)]
        name: Option<String>,
        /// Primary domain (default: DEFAULT_TENANT_DOMAIN/<shortcode>).
        #[arg(long)]
        domain: Option<String>,
    },
    /// List tenants with schema, domains and migration state.
    List,
    /// Drop a tenant's schema and rows for good.
    Drop {
        /// Shortcode of the tenant.
        shortcode: String,
        /// Confirm: this deletes the tenant's data.
        #[arg(long)]
        yes: bool,
    },
}

/// Runs a tenant subcommand.
pub fn run(settings: &Settings, cmd: TenantCommand) -> anyhow::Result<ExitCode> {
    let db = Database::connect_quiet(&settings.database_url, 2)?;
    let mut conn = db.connection()?;
    match cmd {
        TenantCommand::Create {
            shortcode,
            name,
            domain,
        } => {
            let new = NewTenant {
                name: name.unwrap_or_else(|| shortcode.clone()),
                shortcode,
                domain: domain.map(|d| d.to_ascii_lowercase()),
            };
            let started = Instant::now();
            let org =
                provisioning::create_tenant(&mut conn, &new, &settings.default_tenant_domain)?;
            say!(
                "created {} (schema {}) in {:.1} ms",
                org.shortcode,
                org.schema_name,
                started.elapsed().as_secs_f64() * 1000.0
            );
            if let Some(schema) = SchemaName::from_stored(&org.schema_name) {
                let started = Instant::now();
                // The tenant exists whatever happens here: a failed move is a warning.
                match crate::tenancy::citus::distribute_new(&mut conn, &schema) {
                    Ok(true) => say!(
                        "distributed {} to a worker in {:.1} ms",
                        org.schema_name,
                        started.elapsed().as_secs_f64() * 1000.0
                    ),
                    Ok(false) => {}
                    Err(e) => eprintln!(
                        "warning: {} stays on the coordinator for now ({e:#}); plio citus distribute moves it",
                        org.schema_name
                    ),
                }
            }
        }
        TenantCommand::List => {
            let orgs = model::list_all(&mut conn)?;
            let ids: Vec<i32> = orgs.iter().map(|o| o.id).collect();
            let domains = model::domains_of(&mut conn, &ids)?;
            let existing: Vec<String> = diesel::RunQueryDsl::load(
                diesel::sql_query("SELECT nspname::text AS name FROM pg_catalog.pg_namespace"),
                &mut conn,
            )
            .map(|rows: Vec<NameRow>| rows.into_iter().map(|r| r.name).collect())?;
            // On Citus: the node holding each tenant's schema.
            let nodes = crate::tenancy::citus::version(&mut conn)?
                .map(|_| crate::tenancy::citus::schema_nodes(&mut conn))
                .transpose()?;
            let node_header = if nodes.is_some() {
                format!("{:<22} ", "NODE")
            } else {
                String::new()
            };
            say!(
                "{:<24} {:<24} {:<28} {node_header}DOMAINS",
                "SHORTCODE",
                "SCHEMA",
                "STATE"
            );
            for o in orgs {
                let state = if o.deleted.is_some() {
                    "deleted".to_string()
                } else if !existing.contains(&o.schema_name) {
                    "schema missing".to_string()
                } else if o.schema_version.as_deref() == Some(latest_tenant_version()) {
                    "current".to_string()
                } else {
                    format!(
                        "pending ({} < {})",
                        o.schema_version.as_deref().unwrap_or("none"),
                        latest_tenant_version()
                    )
                };
                let ds: Vec<String> = domains
                    .iter()
                    .filter(|d| d.tenant_id == o.id)
                    .map(|d| {
                        if d.is_primary {
                            format!("{}*", d.domain)
                        } else {
                            d.domain.clone()
                        }
                    })
                    .collect();
                let node = match &nodes {
                    None => String::new(),
                    Some(_) if o.schema_name == "public" => format!("{:<22} ", "coordinator"),
                    Some(nodes) => format!(
                        "{:<22} ",
                        nodes
                            .get(&o.schema_name)
                            .map_or("coordinator (local)", String::as_str)
                    ),
                };
                say!(
                    "{:<24} {:<24} {:<28} {node}{}",
                    o.shortcode,
                    o.schema_name,
                    state,
                    ds.join(", ")
                );
            }
        }
        TenantCommand::Drop { shortcode, yes } => {
            if !yes {
                anyhow::bail!("refusing to drop {shortcode} without --yes (this deletes its data)");
            }
            if SchemaName::for_new_tenant(&shortcode).is_err() {
                anyhow::bail!("{shortcode:?} is not a droppable tenant shortcode");
            }
            // The drop and its bus message commit together (the drop's own transaction nests
            // as a savepoint): every server forgets the tenant, its entries and its members'
            // user entries as soon as it is gone.
            let (org, inv) = diesel::Connection::transaction(&mut conn, |conn| {
                let (org, members) = provisioning::drop_tenant(conn, &shortcode)?;
                let inv = dropped(&org, &members);
                inv.announce(conn)
                    .map_err(provisioning::ProvisionError::from)?;
                Ok::<_, provisioning::ProvisionError>((org, inv))
            })?;
            say!("dropped {} (schema {})", org.shortcode, org.schema_name);
            forget_dropped(settings, &inv);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// SPEC 6.3 for a dropped tenant: its key space and its former members' user entries, and
/// the registry; the tokens of the users it deactivated stop being trusted from cache.
fn dropped(org: &Organization, members: &[i32]) -> Invalidations {
    let mut inv = Invalidations::default();
    if let Some(schema) = SchemaName::from_stored(&org.schema_name) {
        inv.tenant_dropped(&Tenant::new(None, org.shortcode.clone(), schema), members);
    }
    inv.registry();
    inv.all_tokens();
    inv
}

/// Applies a dropped tenant's invalidations to Redis from here (servers with a memory cache
/// apply them from the change bus).
fn forget_dropped(settings: &Settings, inv: &Invalidations) {
    if settings.cache_backend != CacheBackend::Redis {
        return;
    }
    let done = Cache::from_settings(settings).and_then(|cache| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(cache.invalidate(inv));
        Ok(())
    });
    if let Err(e) = done {
        tracing::warn!(error = %format!("{e:#}"), "could not clear the dropped tenant's cache entries");
    }
}

#[derive(diesel::QueryableByName)]
struct NameRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}
