//! The in-memory tenant registry: shortcode → tenant and domain → tenant (SPEC 2.2).
//!
//! Resolving a request reads an `Arc` snapshot and costs no query. The snapshot is reloaded
//! right after every change made through this instance, when the change bus reports a change
//! made elsewhere (another instance, the CLI), and every `TENANT_REFRESH_MS` (default 2 s) as
//! the safety net.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Int4, Nullable, Text};

use crate::db::Database;
use crate::tenant::{SchemaName, Tenant, TenantId};

/// Whether a tenant can be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantState {
    /// Schema present and its migrations at or ahead of the binary's (a rolling deploy: a
    /// newer release migrated it while this one still serves).
    Ready,
    /// The schema does not exist.
    SchemaMissing,
    /// The schema's migrations are behind the binary's.
    MigrationsPending,
}

/// A registry entry.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The tenant.
    pub tenant: Tenant,
    /// Whether it can be served.
    pub state: TenantState,
}

#[derive(Default)]
struct Snapshot {
    by_shortcode: HashMap<String, Arc<Entry>>,
    by_domain: HashMap<String, Arc<Entry>>,
    public: Option<Arc<Entry>>,
}

/// The registry (cheap to clone: shared snapshot).
#[derive(Clone, Default)]
pub struct TenantRegistry {
    snapshot: Arc<RwLock<Arc<Snapshot>>>,
    /// One reload at a time, query to store: an older reload (the periodic one) never
    /// replaces a newer one's snapshot (a change heard on the bus).
    reloading: Arc<std::sync::Mutex<()>>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Int4)]
    id: i32,
    #[diesel(sql_type = Text)]
    shortcode: String,
    #[diesel(sql_type = Text)]
    schema_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    schema_version: Option<String>,
    #[diesel(sql_type = Bool)]
    schema_exists: bool,
    #[diesel(sql_type = Array<Text>)]
    domains: Vec<String>,
}

/// Whether a schema migrated to `version` can be served by a binary whose newest tenant
/// migration is `latest`. Versions are diesel's fixed-width timestamps, so they order as text.
fn at_or_ahead(version: Option<&str>, latest: &str) -> bool {
    version.is_some_and(|v| v.len() == latest.len() && v >= latest)
}

const LOAD_SQL: &str = "\
SELECT o.id, o.shortcode::text AS shortcode, o.schema_name::text AS schema_name,
       o.schema_version::text AS schema_version,
       EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = o.schema_name) AS schema_exists,
       COALESCE(ARRAY(SELECT d.domain::text FROM public.organizations_domain d WHERE d.tenant_id = o.id),
                '{}'::text[]) AS domains
FROM public.organization o
WHERE o.deleted IS NULL";

impl TenantRegistry {
    /// An empty registry (public workspace only, until loaded).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reloads the snapshot from the database (one query).
    pub fn reload(&self, db: &Database) -> anyhow::Result<()> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let rows: Vec<Row> = db.shared_blocking(|conn| {
            diesel::sql_query(LOAD_SQL)
                .load::<Row>(conn)
                .map_err(anyhow::Error::from)
        })?;
        let latest = crate::db::migrations::latest_tenant_version();
        let mut snap = Snapshot::default();
        for row in rows {
            let Some(schema) = SchemaName::from_stored(&row.schema_name) else {
                tracing::warn!(shortcode = %row.shortcode, "ignoring organization with an invalid schema name");
                continue;
            };
            let state = if !row.schema_exists {
                TenantState::SchemaMissing
            } else if !at_or_ahead(row.schema_version.as_deref(), latest) {
                TenantState::MigrationsPending
            } else {
                TenantState::Ready
            };
            let is_public = schema.is_public();
            let entry = Arc::new(Entry {
                tenant: Tenant::new(Some(TenantId(row.id)), row.shortcode.clone(), schema),
                state,
            });
            for d in row.domains {
                snap.by_domain.insert(d.to_ascii_lowercase(), entry.clone());
            }
            if is_public {
                snap.public = Some(entry.clone());
            }
            snap.by_shortcode.insert(row.shortcode, entry);
        }
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snap);
        Ok(())
    }

    /// Reloads on the blocking pool (from async code).
    pub async fn reload_async(&self, db: &Database) {
        let (registry, db) = (self.clone(), db.clone());
        match tokio::task::spawn_blocking(move || registry.reload(&db)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %format!("{e:#}"), "tenant registry reload failed")
            }
            Err(e) => tracing::warn!(error = %e, "tenant registry reload failed"),
        }
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The tenant with this shortcode (live organizations only).
    pub fn by_shortcode(&self, shortcode: &str) -> Option<Arc<Entry>> {
        self.current().by_shortcode.get(shortcode).cloned()
    }

    /// The tenant owning this domain (`host` or `host/segment`, lower-case).
    pub fn by_domain(&self, domain: &str) -> Option<Arc<Entry>> {
        self.current().by_domain.get(domain).cloned()
    }

    /// The personal workspace. Before seeding there is no public row: it is served anyway.
    pub fn public(&self) -> Arc<Entry> {
        self.current().public.clone().unwrap_or_else(|| {
            Arc::new(Entry {
                tenant: Tenant::new(None, String::new(), SchemaName::public()),
                state: TenantState::Ready,
            })
        })
    }

    /// Number of live tenants known.
    pub fn len(&self) -> usize {
        self.current().by_shortcode.len()
    }

    /// Organizations per state (the personal workspace's included once seeded), for
    /// `/metrics`.
    pub fn state_counts(&self) -> Vec<(&'static str, u64)> {
        let snap = self.current();
        let mut counts = [0u64; 3];
        for e in snap.by_shortcode.values() {
            let i = match e.state {
                TenantState::Ready => 0,
                TenantState::SchemaMissing => 1,
                TenantState::MigrationsPending => 2,
            };
            if let Some(c) = counts.get_mut(i) {
                *c += 1;
            }
        }
        let [ready, missing, pending] = counts;
        vec![
            ("ready", ready),
            ("schema_missing", missing),
            ("migrations_pending", pending),
        ]
    }

    /// Whether no tenant is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Spawns the periodic refresh on the current runtime.
    pub fn spawn_refresh(&self, db: Database, every: std::time::Duration) {
        let registry = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                registry.reload_async(&db).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::at_or_ahead;

    #[test]
    fn schemas_at_or_ahead_of_the_binary_are_served_and_behind_are_not() {
        assert!(at_or_ahead(Some("20260201000001"), "20260201000001"));
        assert!(at_or_ahead(Some("20990101000000"), "20260201000001"));
        assert!(!at_or_ahead(Some("20000101000000"), "20260201000001"));
        assert!(!at_or_ahead(None, "20260201000001"));
        assert!(!at_or_ahead(Some("garbage"), "20260201000001"));
    }
}
