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

use crate::db::statements::OneStatementAtATime;
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

/// The current tenant schema as one script (`migrations/tenant_current.sql`), which new
/// tenants are built from; a test keeps it equal to the migrations.
pub const TENANT_SCRIPT: &str = include_str!("../../migrations/tenant_current.sql");

/// The newest tenant migration [`TENANT_SCRIPT`] includes (its `-- version:` line).
pub fn script_version() -> Option<&'static str> {
    TENANT_SCRIPT
        .lines()
        .find_map(|l| l.strip_prefix("-- version:"))
        .map(str::trim)
}

/// Builds the tables of a new, empty `schema` inside the caller's transaction: the current
/// schema from [`TENANT_SCRIPT`] and the record of the migrations it includes, exactly as
/// diesel keeps it (its own table, one row per version), in one round trip; then any newer
/// migration through the harness (only when the script was not brought up to date). Returns
/// the versions recorded.
///
/// One batch is safe on Citus too: tenant creation builds the schema with schema-based
/// sharding off (coordinator-local tables: nothing is forwarded to a worker) and distributes
/// it after the commit. Migrations of existing schemas, which may live on a worker, go one
/// statement per round trip (`db::statements`).
pub fn create_tenant_schema(
    conn: &mut PgConnection,
    schema: &SchemaName,
) -> anyhow::Result<Vec<String>> {
    let Some(script) = script_version().filter(|v| tenant_versions().iter().any(|k| k == v)) else {
        // A script naming no known migration is a build mistake the tests catch; the
        // migrations alone still build a correct schema.
        return apply_tenant(conn, schema);
    };
    let included: Vec<&String> = tenant_versions()
        .iter()
        .filter(|v| v.as_str() <= script)
        .collect();
    if included
        .iter()
        .any(|v| v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()))
    {
        anyhow::bail!("unexpected tenant migration version in {included:?}");
    }
    let rows: Vec<String> = included.iter().map(|v| format!("('{v}')")).collect();
    let batch = format!(
        "{TENANT_SCRIPT}\n{}\nINSERT INTO __diesel_schema_migrations (version) VALUES {};",
        diesel::migration::CREATE_MIGRATIONS_TABLE,
        rows.join(", ")
    );
    set_scope::<anyhow::Error>(conn, &Scope::Schema(schema.clone()))?;
    diesel::connection::SimpleConnection::batch_execute(conn, &batch)?;
    let mut recorded: Vec<String> = included.into_iter().cloned().collect();
    if script != latest_tenant_version() {
        recorded.extend(apply_tenant(conn, schema)?);
    }
    Ok(recorded)
}

fn boxed(e: Box<dyn std::error::Error + Send + Sync>) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Applies pending public migrations to `public`; returns the versions applied.
pub fn apply_public(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    conn.transaction(|conn| {
        set_scope::<anyhow::Error>(conn, &Scope::Schema(SchemaName::public()))?;
        let done = conn
            .run_pending_migrations(OneStatementAtATime(PUBLIC_MIGRATIONS))
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
            .run_pending_migrations(OneStatementAtATime(TENANT_MIGRATIONS))
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

/// Schemas read per query by [`current_schemas`]: each read locks its record table until the
/// query ends, and the lock table is shared by every session (64 per connection by default).
const CURRENCY_BATCH: usize = 200;

#[derive(diesel::QueryableByName)]
struct Known {
    #[diesel(sql_type = diesel::sql_types::Int4)]
    i: i32,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    known: i64,
}

#[derive(diesel::QueryableByName)]
struct Named {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// Which of `schemas` already hold every tenant migration in their own record: the ones
/// `plio migrate` has nothing to do for. A few queries for all of them (each reads the
/// records of up to [`CURRENCY_BATCH`] schemas) instead of a transaction per schema. A
/// schema not reported (no record table, a record behind, a batch that failed) is simply not
/// known to be current: the harness then looks at it on its own.
pub fn current_schemas(
    conn: &mut PgConnection,
    schemas: &[SchemaName],
) -> anyhow::Result<std::collections::HashSet<String>> {
    use diesel::RunQueryDsl;
    let with_record: std::collections::HashSet<String> = diesel::sql_query(
        "SELECT n.nspname::text AS name FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname = '__diesel_schema_migrations' AND c.relkind = 'r'",
    )
    .load::<Named>(conn)?
    .into_iter()
    .map(|n| n.name)
    .collect();
    let candidates: Vec<&SchemaName> = schemas
        .iter()
        .filter(|s| with_record.contains(s.as_str()))
        .collect();
    let wanted = i64::try_from(tenant_versions().len())?;
    let mut current = std::collections::HashSet::new();
    for batch in candidates.chunks(CURRENCY_BATCH) {
        let sql = batch
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "SELECT {i} AS i, COUNT(*) AS known FROM {}.__diesel_schema_migrations \
                     WHERE version = ANY($1)",
                    s.quoted()
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let rows = diesel::sql_query(sql)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(tenant_versions())
            .load::<Known>(conn);
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "reading a batch of migration records failed; checking those schemas one by one");
                continue;
            }
        };
        for row in rows.iter().filter(|r| r.known == wanted) {
            if let Some(s) = usize::try_from(row.i).ok().and_then(|i| batch.get(i)) {
                current.insert(s.as_str().to_string());
            }
        }
    }
    Ok(current)
}
