//! The cache's side of the change bus (SPEC 6.4): what a write does after COMMIT, and what
//! an instance does with a change it hears.
//!
//! - A memory cache belongs to one process: every instance drops the entries (and tenants)
//!   it hears about, so N instances agree within the bus's latency.
//! - Redis is shared: the writer invalidates it after COMMIT. If the writer could not reach
//!   Redis, it says so on the bus (a second message, outside the write's transaction), and
//!   every instance that can reach Redis applies the invalidation there: one instance cut off
//!   from Redis cannot leave a stale entry behind for the others.

use super::*;
use crate::bus::{self, Change};
use crate::db::Database;

impl Cache {
    /// After a write's COMMIT: invalidate here, and if the shared cache could not be reached,
    /// ask the other instances to invalidate it.
    pub(super) async fn after_commit(&self, db: &Database, inv: &Invalidations) {
        if inv.is_empty() {
            return;
        }
        self.invalidate(inv).await;
        if !matches!(self.inner.backend, Backend::Redis(_)) || !self.shared_unreachable() {
            return;
        }
        let mut change = inv.change();
        if change.entries.is_empty() && change.tenants.is_empty() {
            return;
        }
        change.tokens.clear();
        change.all_tokens = false;
        change.registry = false;
        change.shared_cache = true;
        let sent = db
            .shared(move |conn| Ok(bus::publish(conn, &change)?))
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not ask other instances to invalidate the cache");
        }
    }

    /// Whether Redis failed and has not answered since, or this instance's invalidations wait
    /// for a replay (they may not have reached it).
    fn shared_unreachable(&self) -> bool {
        self.unavailable() || self.has_pending()
    }

    /// Applies a change heard on the bus: the memory cache drops its entries and tenants;
    /// Redis is invalidated only when the sender could not do it.
    pub async fn apply_change(&self, change: &Change) {
        let keys: Vec<EntryKey> = change
            .entries
            .iter()
            .filter_map(|name| EntryKey::from_bus_name(name))
            .collect();
        let schemas: Vec<&str> = change
            .tenants
            .iter()
            .filter(|s| crate::tenant::SchemaName::from_stored(s).is_some())
            .map(String::as_str)
            .collect();
        match &self.inner.backend {
            Backend::None => {}
            Backend::Memory(m) if change.all_entries => m.clear_all(),
            Backend::Memory(m) => {
                for schema in &schemas {
                    m.clear_tenant(schema);
                }
                let rendered: Vec<(String, String)> = keys
                    .iter()
                    .map(|k| (self.inner.keys.entry(k), k.schema().as_str().to_string()))
                    .collect();
                m.invalidate(&rendered);
            }
            Backend::Redis(_) if change.shared_cache && change.all_entries => {
                self.forget_all().await;
            }
            Backend::Redis(_) if change.shared_cache => {
                for schema in &schemas {
                    self.clear_schema(schema).await;
                }
                let mut inv = Invalidations::default();
                for k in keys {
                    inv.entry(k);
                }
                self.invalidate(&inv).await;
            }
            Backend::Redis(_) => {}
        }
    }

    /// Forgets everything this process holds (the bus was lost: changes may have been
    /// missed). Redis is shared and kept consistent by the writers; nothing to do there.
    pub fn clear_local(&self) {
        if let Backend::Memory(m) = &self.inner.backend {
            m.clear_all();
        }
    }
}
