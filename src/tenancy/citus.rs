//! Citus (SPEC 11): checks and settings for running on a Citus coordinator with schema-based
//! sharding, distributing tenant schemas created before sharding was on, and where each
//! tenant's schema lives. Everything here is idempotent and reads Citus's own catalog.

use std::collections::{BTreeMap, HashSet};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Int4, Text};

use crate::db::migrations::TENANT_SCRIPT;
use crate::db::statements;
use crate::tenant::SchemaName;

/// What the shared tables of `public` are on a Citus cluster (docs/decisions.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedTables {
    /// Regular tables on the coordinator: a shared write touches one node, but a tenant
    /// query joining them is planned across nodes.
    Local,
    /// Reference tables copied to every node (plio's default): joins with them run on the
    /// tenant's worker; every shared write (a token, a login) is a distributed transaction
    /// over all nodes.
    Reference,
}

/// What the coordinator reports about itself.
#[derive(Debug, Default)]
pub struct Status {
    /// `citus` extension version (`None`: not a Citus database).
    pub version: Option<String>,
    /// Whether the coordinator itself is in the node list (needed for reference tables).
    pub coordinator_registered: bool,
    /// Active primary workers as `host:port`.
    pub workers: Vec<String>,
    /// `citus.enable_schema_based_sharding` as this session sees it.
    pub schema_sharding: bool,
    /// Shared tables that are reference tables.
    pub reference_tables: Vec<String>,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Placement {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    node: String,
    #[diesel(sql_type = Int4)]
    port: i32,
}

fn names(conn: &mut PgConnection, sql: &str) -> QueryResult<Vec<String>> {
    Ok(diesel::sql_query(sql)
        .load::<Name>(conn)?
        .into_iter()
        .map(|n| n.name)
        .collect())
}

/// The `citus` extension's version, if installed in this database.
pub fn version(conn: &mut PgConnection) -> QueryResult<Option<String>> {
    Ok(names(
        conn,
        "SELECT extversion::text AS name FROM pg_catalog.pg_extension WHERE extname = 'citus'",
    )?
    .pop())
}

/// The coordinator's view of the cluster (`version` is `None` on plain PostgreSQL).
pub fn status(conn: &mut PgConnection) -> QueryResult<Status> {
    let Some(version) = version(conn)? else {
        return Ok(Status::default());
    };
    let nodes = diesel::sql_query(
        "SELECT CASE WHEN groupid = 0 THEN 'coordinator' ELSE 'worker' END AS name, \
         nodename::text AS node, nodeport AS port FROM pg_dist_node \
         WHERE noderole = 'primary' AND isactive ORDER BY groupid",
    )
    .load::<Placement>(conn)?;
    let sharding = names(
        conn,
        "SELECT current_setting('citus.enable_schema_based_sharding') AS name",
    )?;
    Ok(Status {
        version: Some(version),
        coordinator_registered: nodes.iter().any(|n| n.name == "coordinator"),
        workers: nodes
            .iter()
            .filter(|n| n.name == "worker")
            .map(|n| format!("{}:{}", n.node, n.port))
            .collect(),
        schema_sharding: sharding.first().is_some_and(|s| s == "on"),
        reference_tables: status_reference_tables(conn)?,
    })
}

/// The tables of `public` that are reference tables.
fn status_reference_tables(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    names(
        conn,
        "SELECT c.relname::text AS name FROM pg_dist_partition p \
         JOIN pg_catalog.pg_class c ON c.oid = p.logicalrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND p.partmethod = 'n' AND p.repmodel = 't' \
         ORDER BY 1",
    )
}

/// The tables of a tenant schema (from the current tenant script): in `public` they are the
/// personal workspace's content, not shared tables.
fn tenant_tables() -> HashSet<String> {
    statements::split(TENANT_SCRIPT)
        .iter()
        .filter_map(|s| {
            let rest = s
                .lines()
                .find(|l| l.starts_with("CREATE TABLE "))?
                .strip_prefix("CREATE TABLE ")?;
            rest.split_whitespace().next().map(str::to_string)
        })
        .collect()
}

/// The shared tables of `public` (everything but the personal workspace's content and the
/// migration record), referenced tables before the tables referring to them.
pub fn shared_tables(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Edge {
        #[diesel(sql_type = Text)]
        from_table: String,
        #[diesel(sql_type = Text)]
        to_table: String,
    }
    let content = tenant_tables();
    let mut tables: Vec<String> = names(
        conn,
        "SELECT c.relname::text AS name FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
    )?
    .into_iter()
    .filter(|t| !content.contains(t) && t != "__diesel_schema_migrations")
    .collect();
    let edges = diesel::sql_query(
        "SELECT f.relname::text AS from_table, t.relname::text AS to_table \
         FROM pg_catalog.pg_constraint k \
         JOIN pg_catalog.pg_class f ON f.oid = k.conrelid \
         JOIN pg_catalog.pg_class t ON t.oid = k.confrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = f.relnamespace \
         WHERE k.contype = 'f' AND n.nspname = 'public'",
    )
    .load::<Edge>(conn)?;
    // Order: a table after every shared table it references (a cycle keeps name order).
    let mut ordered: Vec<String> = Vec::new();
    while !tables.is_empty() {
        let ready = tables.iter().position(|t| {
            edges.iter().all(|e| {
                e.from_table != *t
                    || e.to_table == *t
                    || ordered.contains(&e.to_table)
                    || !tables.contains(&e.to_table)
            })
        });
        ordered.push(tables.remove(ready.unwrap_or(0)));
    }
    Ok(ordered)
}

/// What `setup` did.
#[derive(Debug, Default)]
pub struct SetupReport {
    /// Lines for the operator, one per change or check.
    pub lines: Vec<String>,
}

/// Checks the cluster and applies plio's settings (idempotent): the extension, at least one
/// worker, schema-based sharding on (set with ALTER SYSTEM when off), and the shared tables
/// as `shared` says. Errors name what is missing and how to add it.
pub fn setup(conn: &mut PgConnection, shared: SharedTables) -> anyhow::Result<SetupReport> {
    let mut report = SetupReport::default();
    let status = status(conn)?;
    let Some(version) = &status.version else {
        anyhow::bail!(
            "the citus extension is not installed in this database: \
             CREATE EXTENSION citus (with 'citus' in shared_preload_libraries) first"
        );
    };
    report.lines.push(format!("citus {version}"));
    if status.workers.is_empty() {
        anyhow::bail!(
            "no active worker node: add workers with SELECT citus_add_node('host', port)"
        );
    }
    report
        .lines
        .push(format!("workers: {}", status.workers.join(", ")));
    if shared == SharedTables::Reference && !status.coordinator_registered {
        anyhow::bail!(
            "reference tables need the coordinator in the node list: \
             SELECT citus_set_coordinator_host('host', port)"
        );
    }
    if status.schema_sharding {
        report.lines.push("schema-based sharding: on".into());
    } else {
        conn.batch_execute("ALTER SYSTEM SET citus.enable_schema_based_sharding = on")?;
        conn.batch_execute("SELECT pg_reload_conf()")?;
        conn.batch_execute("SET citus.enable_schema_based_sharding = on")?;
        report
            .lines
            .push("schema-based sharding: turned on (ALTER SYSTEM, configuration reloaded)".into());
    }
    let tables = shared_tables(conn)?;
    let reference: HashSet<&String> = status.reference_tables.iter().collect();
    match shared {
        SharedTables::Reference => {
            let todo: Vec<&String> = tables.iter().filter(|t| !reference.contains(t)).collect();
            for table in &todo {
                diesel::sql_query(
                    "SELECT create_reference_table(format('public.%I', $1)::regclass)::text AS name",
                )
                .bind::<Text, _>(table.as_str())
                    .load::<Name>(conn)?;
            }
            report.lines.push(format!(
                "shared tables: reference tables ({} made now, {} already)",
                todo.len(),
                tables.len() - todo.len()
            ));
        }
        SharedTables::Local => {
            // One at a time, from the referring end: undistributing follows foreign keys,
            // so one call may turn back several; the catalog says what is left.
            let mut turned = 0usize;
            loop {
                let left = status_reference_tables(conn)?;
                let Some(table) = tables.iter().rev().find(|t| left.contains(t)) else {
                    break;
                };
                diesel::sql_query(
                    "SELECT undistribute_table(format('public.%I', $1)::regclass, \
                     cascade_via_foreign_keys => true)::text AS name",
                )
                .bind::<Text, _>(table.as_str())
                .load::<Name>(conn)?;
                turned += 1;
                if turned > tables.len() {
                    anyhow::bail!(
                        "shared tables did not turn back from reference tables: {left:?}"
                    );
                }
            }
            report.lines.push(format!(
                "shared tables: on the coordinator ({} reference tables turned back)",
                reference.len()
            ));
        }
    }
    Ok(report)
}

/// The node holding each distributed tenant schema, as `host:port` (empty on plain
/// PostgreSQL or before `plio citus setup`).
pub fn schema_nodes(conn: &mut PgConnection) -> QueryResult<BTreeMap<String, String>> {
    if version(conn)?.is_none() {
        return Ok(BTreeMap::new());
    }
    Ok(diesel::sql_query(
        "SELECT DISTINCT ON (n.nspname) n.nspname::text AS name, d.nodename::text AS node, \
         d.nodeport AS port FROM pg_dist_schema s \
         JOIN pg_catalog.pg_namespace n ON n.oid = s.schemaid \
         JOIN pg_dist_partition p ON p.colocationid = s.colocationid \
         JOIN pg_dist_shard sh ON sh.logicalrelid = p.logicalrelid \
         JOIN pg_dist_placement pl ON pl.shardid = sh.shardid \
         JOIN pg_dist_node d ON d.groupid = pl.groupid \
         ORDER BY n.nspname, d.nodename, d.nodeport",
    )
    .load::<Placement>(conn)?
    .into_iter()
    .map(|p| (p.name, format!("{}:{}", p.node, p.port)))
    .collect())
}

/// Whether new schemas become distributed schemas in this session (schema-based sharding
/// on); false on plain PostgreSQL.
pub fn sharding_on(conn: &mut PgConnection) -> QueryResult<bool> {
    Ok(names(
        conn,
        "SELECT coalesce(current_setting('citus.enable_schema_based_sharding', true), '') AS name",
    )?
    .first()
    .is_some_and(|s| s == "on"))
}

/// Waits between attempts to distribute a schema (see [`try_distribute`]).
pub const RETRY_DELAYS_MS: [u64; 6] = [100, 200, 400, 800, 1600, 3200];

/// One attempt to move `schema` to a worker, if schema-based sharding is on and it is not a
/// distributed schema yet; returns whether it moved it (false on plain PostgreSQL: one
/// query). `citus_schema_distribute` takes every table of the schema in turn, exclusively: a
/// request holding one of them while waiting for another would deadlock with it, and either
/// could be the one PostgreSQL cancels. So the attempt waits at most 100 ms for each lock
/// (`lock_timeout`) and gives way: requests never fail because of it (they wait while it holds
/// one of their tables), and the caller tries again later.
pub fn try_distribute(conn: &mut PgConnection, schema: &SchemaName) -> anyhow::Result<bool> {
    if schema.is_public() || !sharding_on(conn)? {
        return Ok(false);
    }
    conn.transaction(|conn| {
        // Gone (dropped meanwhile) or already distributed: nothing to do.
        let state = diesel::sql_query(
            "SELECT CASE WHEN n.oid IS NULL THEN 'missing' \
             WHEN EXISTS (SELECT 1 FROM pg_dist_schema s WHERE s.schemaid = n.oid) \
             THEN 'distributed' ELSE 'local' END AS name \
             FROM (SELECT 1) one LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = $1",
        )
        .bind::<Text, _>(schema.as_str())
        .load::<Name>(conn)?;
        if state.first().is_none_or(|s| s.name != "local") {
            return Ok(false);
        }
        conn.batch_execute("SET LOCAL lock_timeout = '100ms'")?;
        diesel::sql_query("SELECT citus_schema_distribute($1::regnamespace)::text AS name")
            .bind::<Text, _>(schema.quoted())
            .load::<Name>(conn)
            .map_err(|e| anyhow::anyhow!("distributing {schema}: {e}"))?;
        Ok(true)
    })
}

/// [`try_distribute`], retried after each of [`RETRY_DELAYS_MS`] (blocking: CLI, bench).
/// After a tenant's creation committed, this moves its schema (built on the coordinator, see
/// `provisioning::create_tenant`) to a worker. A tenant left on the coordinator serves all
/// the same and is distributed by `plio citus distribute`.
pub fn distribute_new(conn: &mut PgConnection, schema: &SchemaName) -> anyhow::Result<bool> {
    let mut delays = RETRY_DELAYS_MS.iter();
    loop {
        match try_distribute(conn, schema) {
            Ok(done) => return Ok(done),
            Err(e) => match delays.next() {
                Some(ms) => std::thread::sleep(std::time::Duration::from_millis(*ms)),
                None => return Err(e),
            },
        }
    }
}

/// Distributes each of `schemas` that is not a distributed schema yet (tenants created
/// before sharding was on, or whose move after creation did not happen); returns the ones
/// distributed now. Each is its own transaction, so one failure leaves the others done and
/// is reported with its schema.
pub fn distribute(conn: &mut PgConnection, schemas: &[SchemaName]) -> anyhow::Result<Distributed> {
    if version(conn)?.is_none() {
        anyhow::bail!("not a Citus database (no citus extension)");
    }
    if !sharding_on(conn)? {
        anyhow::bail!("schema-based sharding is off: run plio citus setup first");
    }
    let mut out = Distributed::default();
    for schema in schemas.iter().filter(|s| !s.is_public()) {
        match distribute_new(conn, schema) {
            Ok(true) => out.moved.push(schema.as_str().to_string()),
            Ok(false) => {}
            Err(e) => out
                .failed
                .push((schema.as_str().to_string(), format!("{e:#}"))),
        }
    }
    Ok(out)
}

/// What [`distribute`] did: schemas moved now, and those it could not move (with why).
#[derive(Debug, Default)]
pub struct Distributed {
    /// Moved to a worker now.
    pub moved: Vec<String>,
    /// Not moved: schema and error.
    pub failed: Vec<(String, String)>,
}
