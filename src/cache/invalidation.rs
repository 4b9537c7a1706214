//! What a write makes stale and how it is removed: SPEC 6.3's table lives here, in
//! [`Invalidations`]' methods, and every write path (handlers, provisioning, the CLI) goes
//! through them; entries are removed after COMMIT, whole tenants by clearing their key space.
//!
//! | entry | built from | made stale by |
//! |---|---|---|
//! | plio | plio, its video, items, questions, question images | [`Invalidations::plios`], [`Invalidations::video`], [`Invalidations::image`] |
//! | user | user, memberships, role names, organization names | [`Invalidations::user`], [`Invalidations::organization`] |
//! | a whole tenant | everything in its schema | [`Invalidations::tenant`], [`Invalidations::tenant_dropped`] |

use diesel::pg::PgConnection;
use diesel::QueryResult;

use super::payloads::plio::PlioEntry;
use super::payloads::user::UserPayload;
use crate::bus::{self, Change};
use crate::db::models::{content, user};

use super::*;
use crate::db::Database;
use crate::error::AppError;
use crate::tenant::Tenant;

/// Entries (and whole tenants) a unit of work makes stale; applied here after COMMIT, and
/// sent to every instance on the change bus inside the transaction (with what else they must
/// forget: ended tokens, registry changes).
#[derive(Debug, Default, Clone)]
pub struct Invalidations {
    entries: Vec<EntryKey>,
    tenants: Vec<Tenant>,
    /// What only other layers act on (tokens, the registry), carried to other instances.
    others: Change,
}

impl Invalidations {
    /// Marks one entry stale.
    pub fn entry(&mut self, key: EntryKey) {
        if !self.entries.contains(&key) {
            self.entries.push(key);
        }
    }
    /// Marks every entry of a tenant stale.
    pub fn tenant(&mut self, tenant: &Tenant) {
        self.tenants.push(tenant.clone());
    }
    /// Nothing registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.tenants.is_empty() && self.others.is_empty()
    }

    /// Ended access tokens: every instance forgets its cached checks of them.
    pub fn tokens(&mut self, digests: &[String]) {
        self.others.tokens.extend(digests.iter().cloned());
    }

    /// Every cached token check is stale (a user deleted, deactivated or changed rank).
    pub fn all_tokens(&mut self) {
        self.others.all_tokens = true;
    }

    /// The tenant registry changed: every instance reloads it.
    pub fn registry(&mut self) {
        self.others.registry = true;
    }

    /// Sends these invalidations on the change bus from outside a server (the CLI, the seed),
    /// within the caller's transaction: every server applies them, to Redis as well.
    pub fn announce(&self, conn: &mut PgConnection) -> QueryResult<()> {
        let mut change = self.change();
        change.shared_cache = true;
        bus::publish(conn, &change)
    }

    /// The bus message of this unit of work.
    pub fn change(&self) -> Change {
        let mut change = self.others.clone();
        change.entries = self.entries.iter().map(EntryKey::bus_name).collect();
        change.tenants = self
            .tenants
            .iter()
            .map(|t| t.schema().as_str().to_string())
            .collect();
        change
    }

    // ---- SPEC 6.3 ---------------------------------------------------------------------

    /// Plio rows changed (the plio itself, its items or questions; created, updated, soft or
    /// bulk deleted, duplicated into, copied into): those plios' entries.
    pub fn plios(&mut self, tenant: &Tenant, ids: &[i32]) {
        for id in ids {
            self.entry(PlioEntry::key(tenant, *id));
        }
        if !ids.is_empty() {
            self.plio_list(tenant);
        }
    }

    /// Something the plio list shows changed (a plio row, a video's url, a session, which
    /// counts towards `unique_viewers`): the tenant's list epoch, which every cached list page
    /// is keyed by.
    pub fn plio_list(&mut self, tenant: &Tenant) {
        self.entry(super::payloads::plio_list::epoch_key(tenant));
    }

    /// A video changed: the entries of every plio that shows it.
    pub fn video(
        &mut self,
        conn: &mut PgConnection,
        tenant: &Tenant,
        video_id: i32,
    ) -> QueryResult<()> {
        let ids = content::plios_of_video(conn, video_id)?;
        self.plios(tenant, &ids);
        Ok(())
    }

    /// A question image changed: the entries of every plio whose questions show it.
    pub fn image(
        &mut self,
        conn: &mut PgConnection,
        tenant: &Tenant,
        image_id: i32,
    ) -> QueryResult<()> {
        let ids = content::plios_of_image(conn, image_id)?;
        self.plios(tenant, &ids);
        Ok(())
    }

    /// A user row or one of their memberships changed: their user entry (plio payloads compose
    /// the creator from it at read time, so nothing else).
    pub fn user(&mut self, user_id: i32) {
        self.entry(UserPayload::key(user_id));
    }

    /// An organization changed (name, settings, key, deletion): every member's user entry,
    /// which embeds it.
    pub fn organization(&mut self, conn: &mut PgConnection, org_id: i32) -> QueryResult<()> {
        for id in user::member_ids(conn, org_id)? {
            self.user(id);
        }
        Ok(())
    }

    /// A tenant is dropped: its whole key space and its members' user entries (read the
    /// members before the memberships go).
    pub fn tenant_dropped(&mut self, tenant: &Tenant, members: &[i32]) {
        self.tenant(tenant);
        for id in members {
            self.user(*id);
        }
    }
}

impl Cache {
    /// Removes entries (and clears tenants) now. Normally called by [`Cache::write`].
    pub async fn invalidate(&self, inv: &Invalidations) {
        for tenant in &inv.tenants {
            self.clear_schema(tenant.schema().as_str()).await;
        }
        if inv.entries.is_empty() {
            return;
        }
        for k in &inv.entries {
            self.inner.stats.add(k.kind(), Event::Invalidate, 1);
            tracing::debug!(key = %self.inner.keys.entry(k), "cache INVALIDATE");
        }
        match &self.inner.backend {
            Backend::None => {}
            Backend::Memory(m) => {
                let rendered: Vec<(String, String)> = inv
                    .entries
                    .iter()
                    .map(|k| (self.inner.keys.entry(k), k.schema().as_str().to_string()))
                    .collect();
                m.invalidate(&rendered);
            }
            Backend::Redis(r) => {
                let rendered: Vec<_> = inv
                    .entries
                    .iter()
                    .map(|k| self.inner.keys.render(k))
                    .collect();
                // Behind maintenance still waiting for its replay, it joins the queue.
                let applied = !self.has_pending()
                    && self
                        .guarded("invalidate", r.invalidate(&rendered))
                        .await
                        .is_some();
                if !applied {
                    self.remember_failed_invalidations(&inv.entries);
                }
            }
        }
    }

    /// Clears every entry of one tenant and removes them from Redis (`plio cache clear`);
    /// the cost depends on that tenant's entries only. Returns the entries removed.
    pub async fn clear_tenant(&self, tenant: &Tenant) -> Option<u64> {
        let schema = tenant.schema().as_str();
        let Backend::Redis(r) = &self.inner.backend else {
            return self.clear_schema(schema).await;
        };
        let removed = self
            .guarded("clear tenant", r.clear_tenant(&self.inner.keys, schema))
            .await;
        if removed.is_none() {
            self.remember_failed_clear(schema);
        }
        removed
    }

    pub(super) async fn clear_schema(&self, schema: &str) -> Option<u64> {
        tracing::debug!(schema, "cache INVALIDATE tenant");
        match &self.inner.backend {
            Backend::None => Some(0),
            Backend::Memory(m) => {
                m.clear_tenant(schema);
                Some(0)
            }
            Backend::Redis(r) => {
                // One O(1) command: the tenant's generation. Its entries are never served
                // again and expire with their TTL.
                let schemas = [schema.to_string()];
                let cleared = if self.has_pending() {
                    None
                } else {
                    self.guarded("clear tenant", r.bump_tenants(&self.inner.keys, &schemas))
                        .await
                };
                if cleared.is_none() {
                    self.remember_failed_clear(schema);
                }
                cleared.map(|()| 0)
            }
        }
    }

    /// Clears every entry at once in O(1) (the whole cache's generation; the entries expire
    /// with their TTL), or has the replay task do it.
    pub(super) async fn forget_all(&self) {
        match &self.inner.backend {
            Backend::None => {}
            Backend::Memory(m) => m.clear_all(),
            Backend::Redis(r) => {
                let done = !self.has_pending()
                    && self
                        .guarded("clear all", r.bump_global(&self.inner.keys))
                        .await
                        .is_some();
                if !done {
                    self.remember_failed_clear_all();
                }
            }
        }
    }

    /// Clears everything under the prefix.
    pub async fn clear_all(&self) -> Option<u64> {
        match &self.inner.backend {
            Backend::None => Some(0),
            Backend::Memory(m) => {
                m.clear_all();
                Some(0)
            }
            Backend::Redis(r) => {
                let removed = self
                    .guarded("clear all", r.clear_all(&self.inner.keys))
                    .await;
                if removed.is_none() {
                    self.remember_failed_clear_all();
                }
                removed
            }
        }
    }

    /// Runs a write in `tenant`'s scope; entries registered in the [`Invalidations`] are
    /// removed after the transaction commits (and not at all if it rolls back).
    pub async fn write<T, F>(&self, db: &Database, tenant: &Tenant, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection, &mut Invalidations) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (out, inv) = db
            .tenant(tenant, move |conn| {
                let mut inv = Invalidations::default();
                let out = f(conn, &mut inv)?;
                bus::publish(conn, &inv.change())?;
                Ok((out, inv))
            })
            .await?;
        self.after_commit(db, &inv).await;
        Ok(out)
    }

    /// As [`Cache::write`] for shared tables (users, organizations, memberships).
    pub async fn write_shared<T, F>(&self, db: &Database, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection, &mut Invalidations) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (out, inv) = db
            .shared(move |conn| {
                let mut inv = Invalidations::default();
                let out = f(conn, &mut inv)?;
                bus::publish(conn, &inv.change())?;
                Ok((out, inv))
            })
            .await?;
        self.after_commit(db, &inv).await;
        Ok(out)
    }
}
