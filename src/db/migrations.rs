//! The two migration sets: `migrations/public` (shared tables, applied to `public`) and
//! `migrations/tenant` (content tables, applied to `public` and to every tenant schema).
//!
//! diesel_migrations records applied versions in an unqualified `__diesel_schema_migrations`
//! table, so with `search_path` set to one schema each schema keeps its own record.

use std::sync::OnceLock;

use diesel::migration::{Migration, MigrationSource};
use diesel::pg::{Pg, PgConnection};
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::db::{set_scope, Scope};
use crate::tenant::SchemaName;

/// Migrations of the shared tables.
pub const PUBLIC_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/public");
/// Migrations of the per-tenant content tables.
pub const TENANT_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/tenant");

fn versions(source: &EmbeddedMigrations) -> Vec<String> {
    let migrations: Vec<Box<dyn Migration<Pg>>> =
        MigrationSource::<Pg>::migrations(source).unwrap_or_default();
    let mut v: Vec<String> = migrations
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    v.sort();
    v
}

/// Versions of the tenant set, sorted.
pub fn tenant_versions() -> &'static [String] {
    static V: OnceLock<Vec<String>> = OnceLock::new();
    V.get_or_init(|| versions(&TENANT_MIGRATIONS))
}

/// The newest tenant migration version: a schema at this version is current.
pub fn latest_tenant_version() -> &'static str {
    tenant_versions().last().map_or("", String::as_str)
}

fn boxed(e: Box<dyn std::error::Error + Send + Sync>) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Applies pending public migrations to `public`; returns the versions applied.
pub fn apply_public(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    conn.transaction(|conn| {
        set_scope::<anyhow::Error>(conn, &Scope::Schema(SchemaName::public()))?;
        let done = conn
            .run_pending_migrations(PUBLIC_MIGRATIONS)
            .map_err(boxed)?;
        Ok(done.iter().map(ToString::to_string).collect())
    })
}

/// Applies pending tenant migrations to `schema` in one transaction (or savepoint when the
/// caller already opened one); returns the versions applied.
pub fn apply_tenant(conn: &mut PgConnection, schema: &SchemaName) -> anyhow::Result<Vec<String>> {
    conn.transaction(|conn| {
        set_scope::<anyhow::Error>(conn, &Scope::Schema(schema.clone()))?;
        let done = conn
            .run_pending_migrations(TENANT_MIGRATIONS)
            .map_err(boxed)?;
        Ok(done.iter().map(ToString::to_string).collect())
    })
}

/// The newest tenant migration recorded in `schema`'s own record (`None` if none).
pub fn applied_tenant_version(
    conn: &mut PgConnection,
    schema: &SchemaName,
) -> anyhow::Result<Option<String>> {
    conn.transaction(|conn| {
        set_scope::<anyhow::Error>(conn, &Scope::Schema(schema.clone()))?;
        // Only tenant versions: `public` also records the shared tables' migrations.
        let applied = conn.applied_migrations().map_err(boxed)?;
        let known = tenant_versions();
        Ok(applied
            .iter()
            .map(ToString::to_string)
            .filter(|v| known.contains(v))
            .max())
    })
}
