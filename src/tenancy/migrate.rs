//! `plio migrate` over every schema: public migrations, then tenant migrations to `public`
//! and to every tenant schema, concurrently, each schema's state recorded in
//! `organization.schema_version`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::bus::{self, Change};
use crate::db::models::organization as org_model;
use crate::db::{migrations, Database};
use crate::tenant::SchemaName;

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
/// Schemas whose own record already holds every tenant migration are found first, in a few
/// batched queries, and only have their `schema_version` record brought up to date (one
/// statement for all). `tick` is called after each schema (for a progress bar); `total` is
/// reported first.
pub fn migrate_all(
    db: &Database,
    jobs: usize,
    on_total: &dyn Fn(usize),
    tick: &(dyn Fn(&SchemaOutcome) + Sync),
) -> anyhow::Result<(Vec<String>, Vec<SchemaOutcome>)> {
    let mut conn = db.connection()?;
    let public_applied = migrations::apply_public(&mut conn)?;
    let orgs = org_model::list_all(&mut conn)?;

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

    let schemas: Vec<SchemaName> = targets.iter().map(|(_, _, s)| s.clone()).collect();
    let current = migrations::current_schemas(&mut conn, &schemas)?;
    let (done, targets): (Vec<_>, Vec<_>) = targets
        .into_iter()
        .partition(|(_, _, s)| current.contains(s.as_str()));
    let done_ids: Vec<i32> = done.iter().filter_map(|(id, _, _)| *id).collect();
    org_model::record_current(&mut conn, &done_ids, migrations::latest_tenant_version())?;
    drop(conn);
    let mut outcomes: Vec<SchemaOutcome> = Vec::with_capacity(done.len() + targets.len());
    for (_, shortcode, schema) in done {
        let outcome = SchemaOutcome {
            shortcode,
            schema: schema.as_str().to_string(),
            applied: Vec::new(),
            error: None,
        };
        tick(&outcome);
        outcomes.push(outcome);
    }

    let next = AtomicUsize::new(0);
    let migrated = Mutex::new(Vec::with_capacity(targets.len()));
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
                migrated
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(outcome);
            });
        }
    });
    outcomes.extend(migrated.into_inner().unwrap_or_else(|p| p.into_inner()));
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
    let mut conn = match db.connection() {
        Ok(conn) => conn,
        Err(e) => {
            outcome.error = Some(format!("connection pool: {e}"));
            return outcome;
        }
    };
    // A missing schema fails in the scope check (TenantUnavailable) before any DDL runs.
    let version = match migrations::apply_tenant(&mut conn, schema) {
        // Every pending migration applied: the schema holds all of this binary's.
        Ok(applied) => {
            outcome.applied = applied;
            Some(migrations::latest_tenant_version().to_string())
        }
        Err(e) => {
            outcome.error = Some(format!("{e:#}"));
            migrations::applied_tenant_version(&mut conn, schema)
                .ok()
                .flatten()
        }
    };
    // Record the schema's actual state, success or not, so the registry serves it only when current.
    if let Some(id) = org_id {
        let recorded = org_model::record_schema_version(
            &mut conn,
            id,
            version.as_deref(),
            migrations::latest_tenant_version(),
        );
        if let Err(e) = recorded {
            if outcome.error.is_none() {
                outcome.error = Some(format!("recording migration state: {e}"));
            }
        }
    }
    outcome
}
