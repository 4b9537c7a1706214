//! `plio cache stats|keys|clear` (SPEC 6.6): stats and keys read Redis; clear also tells every
//! running server on the change bus, so memory caches are cleared too.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Subcommand;

use crate::bus::Change;
use crate::cache::{Cache, Kind};
use crate::config::{CacheBackend, Settings};
use crate::db::models::organization as org_model;
use crate::db::Database;
use crate::tenant::{SchemaName, Tenant};

/// Cache subcommands.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Entries per tenant and kind, memory used.
    Stats,
    /// List entry keys.
    Keys {
        /// Only this tenant (shortcode).
        #[arg(long)]
        tenant: Option<String>,
        /// Only this kind (plio, user).
        #[arg(long)]
        kind: Option<String>,
    },
    /// Remove entries: one tenant's, or all.
    Clear {
        /// The tenant (shortcode) whose entries go.
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        tenant: Option<String>,
        /// Every entry under CACHE_KEY_PREFIX.
        #[arg(long)]
        all: bool,
    },
}

fn tenant_by_shortcode(settings: &Settings, shortcode: &str) -> anyhow::Result<Tenant> {
    let db = Database::connect_quiet(&settings.database_url, 1)?;
    let mut conn = db.connection()?;
    let org = org_model::find_by_shortcode(&mut conn, shortcode)
        .map_err(|_| anyhow::anyhow!("no organization with shortcode {shortcode:?}"))?;
    let schema = SchemaName::from_stored(&org.schema_name)
        .ok_or_else(|| anyhow::anyhow!("organization {shortcode:?} has an invalid schema name"))?;
    Ok(Tenant::new(None, org.shortcode, schema))
}

/// Tells every running server (on the change bus) to forget one tenant's entries or all.
fn announce_clear(settings: &Settings, tenant: Option<&Tenant>) -> anyhow::Result<()> {
    let change = Change {
        tenants: tenant
            .map(|t| vec![t.schema().as_str().to_string()])
            .unwrap_or_default(),
        all_entries: tenant.is_none(),
        ..Change::default()
    };
    let db = Database::connect_quiet(&settings.database_url, 1)?;
    let mut conn = db.connection()?;
    crate::bus::publish(&mut conn, &change)?;
    Ok(())
}

/// Runs a cache subcommand.
pub fn run(settings: &Settings, cmd: CacheCommand) -> anyhow::Result<ExitCode> {
    if let CacheCommand::Clear { tenant, all } = &cmd {
        let tenant = match (tenant, all) {
            (Some(shortcode), false) => Some(tenant_by_shortcode(settings, shortcode)?),
            _ => None,
        };
        announce_clear(settings, tenant.as_ref())?;
        if settings.cache_backend != CacheBackend::Redis {
            say!(
                "asked every running server to forget {} (their memory caches)",
                tenant
                    .as_ref()
                    .map_or("every entry".to_string(), |t| format!(
                        "{}'s entries",
                        t.shortcode()
                    ))
            );
            return Ok(ExitCode::SUCCESS);
        }
    }
    if settings.cache_backend != CacheBackend::Redis {
        anyhow::bail!(
            "CACHE_BACKEND is {:?}: that cache lives inside each server process and cannot be managed from the CLI; set REDIS_URL or REDIS_CLUSTER_URLS to manage the Redis cache",
            settings.cache_backend
        );
    }
    // Administrative calls may touch many keys: allow them more than a request's budget.
    let mut admin = settings.clone();
    admin.cache_timeout_ms = 30_000;
    let cache = Cache::from_settings(&admin)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cmd {
            CacheCommand::Stats => {
                let (used, dbsize) = cache.server_summary().await?;
                let keys = cache.list_keys(None, None).await?;
                let mut per: BTreeMap<(String, String), u64> = BTreeMap::new();
                for k in &keys {
                    if let Some((schema, kind, _)) = cache.key_space().parse(k) {
                        *per.entry((schema.to_string(), kind.to_string())).or_default() += 1;
                    }
                }
                say!("backend: redis; memory used: {used}; keys in database: {dbsize}; entries under prefix: {}", keys.len());
                say!("{:<32} {:<8} ENTRIES", "SCHEMA", "KIND");
                for ((schema, kind), n) in per {
                    say!("{schema:<32} {kind:<8} {n}");
                }
            }
            CacheCommand::Keys { tenant, kind } => {
                let kind = match kind.as_deref() {
                    Some(k) => Some(Kind::parse(k).ok_or_else(|| {
                        anyhow::anyhow!(
                            "unknown kind {k:?}; kinds: {}",
                            Kind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                        )
                    })?),
                    None => None,
                };
                let schema = match tenant {
                    Some(t) => Some(tenant_by_shortcode(settings, &t)?.schema().as_str().to_string()),
                    None => None,
                };
                for k in cache.list_keys(schema.as_deref(), kind).await? {
                    say!("{k}");
                }
            }
            CacheCommand::Clear { tenant, all } => {
                let removed = if all {
                    cache.clear_all().await
                } else {
                    let shortcode = tenant.unwrap_or_default();
                    let t = tenant_by_shortcode(settings, &shortcode)?;
                    cache.clear_tenant(&t).await
                };
                match removed {
                    Some(n) => say!("removed {n} entries"),
                    None => anyhow::bail!("Redis did not answer within CACHE_TIMEOUT_MS"),
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
