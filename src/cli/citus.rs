//! `plio citus status|setup|distribute` (SPEC 11): plio on a Citus coordinator.

use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

use crate::config::Settings;
use crate::db::models::organization as model;
use crate::db::Database;
use crate::tenancy::citus::{self, SharedTables};
use crate::tenant::SchemaName;

/// Where the shared tables of `public` live.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SharedArg {
    /// Regular tables on the coordinator: a shared write touches one node, joins with tenant
    /// tables are planned across nodes.
    Local,
    /// Reference tables, copied to every node (default; docs/decisions.md).
    Reference,
}

/// Citus subcommands.
#[derive(Debug, Subcommand)]
pub enum CitusCommand {
    /// Show the cluster as plio sees it: extension, workers, sharding, shared tables.
    Status,
    /// Check the cluster and apply plio's settings (idempotent): extension, workers,
    /// schema-based sharding on, shared tables local or reference.
    Setup {
        /// What the shared tables of `public` should be.
        #[arg(long, value_enum, default_value_t = SharedArg::Reference)]
        shared_tables: SharedArg,
    },
    /// Distribute the schemas of tenants created before schema-based sharding was on.
    Distribute,
}

/// Runs a citus subcommand.
pub fn run(settings: &Settings, cmd: CitusCommand) -> anyhow::Result<ExitCode> {
    let db = Database::connect_quiet(&settings.database_url, 1)?;
    let mut conn = db.connection()?;
    match cmd {
        CitusCommand::Status => {
            let status = citus::status(&mut conn)?;
            let Some(version) = status.version else {
                say!("not a Citus database (no citus extension): plain PostgreSQL");
                return Ok(ExitCode::SUCCESS);
            };
            say!("citus {version}");
            say!(
                "coordinator in node list: {}",
                if status.coordinator_registered {
                    "yes"
                } else {
                    "no"
                }
            );
            say!("workers: {}", status.workers.join(", "));
            say!(
                "schema-based sharding: {}",
                if status.schema_sharding { "on" } else { "off" }
            );
            say!(
                "reference tables: {}",
                if status.reference_tables.is_empty() {
                    "none (shared tables on the coordinator)".to_string()
                } else {
                    status.reference_tables.join(", ")
                }
            );
        }
        CitusCommand::Setup { shared_tables } => {
            let shared = match shared_tables {
                SharedArg::Local => SharedTables::Local,
                SharedArg::Reference => SharedTables::Reference,
            };
            for line in citus::setup(&mut conn, shared)?.lines {
                say!("{line}");
            }
        }
        CitusCommand::Distribute => {
            let schemas: Vec<SchemaName> = model::list_all(&mut conn)?
                .iter()
                .filter(|o| o.deleted.is_none())
                .filter_map(|o| SchemaName::from_stored(&o.schema_name))
                .collect();
            let done = citus::distribute(&mut conn, &schemas)?;
            for schema in &done.moved {
                say!("distributed {schema}");
            }
            for (schema, error) in &done.failed {
                eprintln!("could not distribute {schema}: {error}");
            }
            if !done.failed.is_empty() {
                anyhow::bail!("{} tenant schema(s) not distributed", done.failed.len());
            }
            if done.moved.is_empty() {
                say!("every tenant schema is already distributed");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
