//! The in-process backend: a bounded, TTL'd moka cache, with the same guarantees as Redis.
//!
//! No stale fill: every invalidation takes a new value of a global `epoch` and records it
//! against the key; a reader notes the epoch before loading, and its fill is stored only if
//! the key was not invalidated after that (check and store under the key's lock stripe, the
//! same lock the invalidation takes). Records that moka evicts raise a `floor`, so a
//! forgotten record can only refuse fills, never admit a stale one.
//! Whole-tenant clear: entries are stored under (key, tenant generation); clearing bumps the
//! generation, O(1), and the old entries age out.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use moka::notification::RemovalCause;

const STRIPES: usize = 64;

/// A reader's snapshot: the epoch and tenant generation it started at.
#[derive(Clone, Copy, Debug)]
pub struct MemoryToken {
    epoch: u64,
    tenant_gen: u64,
}

/// The memory backend.
pub struct MemoryBackend {
    store: moka::sync::Cache<(String, u64), Arc<str>>,
    invalidated_at: moka::sync::Cache<String, u64>,
    floor: Arc<AtomicU64>,
    epoch: AtomicU64,
    tenant_gens: RwLock<HashMap<String, u64>>,
    stripes: Vec<Mutex<()>>,
}

impl MemoryBackend {
    /// A cache of at most `capacity` entries living `ttl`.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        let floor = Arc::new(AtomicU64::new(0));
        let listener_floor = floor.clone();
        let invalidated_at = moka::sync::Cache::builder()
            .max_capacity(capacity.saturating_mul(4).max(1024))
            // Longer than any load can take; after that, the floor stands in for the record.
            .time_to_live(Duration::from_secs(3600))
            .eviction_listener(move |_k, v: u64, cause| {
                if cause != RemovalCause::Replaced && cause != RemovalCause::Explicit {
                    listener_floor.fetch_max(v, Ordering::SeqCst);
                }
            })
            .build();
        Self {
            store: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            invalidated_at,
            floor,
            epoch: AtomicU64::new(0),
            tenant_gens: RwLock::new(HashMap::new()),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    fn stripe(&self, key: &str) -> std::sync::MutexGuard<'_, ()> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        let i = (h.finish() as usize) % STRIPES;
        #[expect(clippy::indexing_slicing, reason = "i < STRIPES, the array's length")]
        let stripe = &self.stripes[i];
        stripe.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tenant_gen(&self, schema: &str) -> u64 {
        self.tenant_gens
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(schema)
            .copied()
            .unwrap_or(0)
    }

    /// Looks entries up; each result carries the token its fill must present.
    pub fn get_many(&self, keys: &[(String, String)]) -> Vec<(Option<Arc<str>>, MemoryToken)> {
        // The epoch is read before the lookups: a fill is judged against invalidations made
        // after this point.
        let epoch = self.epoch.load(Ordering::SeqCst);
        keys.iter()
            .map(|(key, schema)| {
                let tenant_gen = self.tenant_gen(schema);
                let value = self.store.get(&(key.clone(), tenant_gen));
                (value, MemoryToken { epoch, tenant_gen })
            })
            .collect()
    }

    /// Stores `value` unless `key` was invalidated (or its tenant cleared) since `token`.
    pub fn set_if_unchanged(
        &self,
        key: &str,
        schema: &str,
        value: Arc<str>,
        token: MemoryToken,
    ) -> bool {
        let _guard = self.stripe(key);
        let last = self
            .invalidated_at
            .get(key)
            .unwrap_or_else(|| self.floor.load(Ordering::SeqCst));
        if last > token.epoch || self.tenant_gen(schema) != token.tenant_gen {
            return false;
        }
        self.store
            .insert((key.to_string(), token.tenant_gen), value);
        true
    }

    /// Removes entries and refuses in-flight fills of them.
    pub fn invalidate(&self, keys: &[(String, String)]) {
        for (key, schema) in keys {
            let _guard = self.stripe(key);
            let e = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
            self.invalidated_at.insert(key.clone(), e);
            self.store
                .invalidate(&(key.clone(), self.tenant_gen(schema)));
        }
    }

    /// Drops every entry of a tenant at once (bumps its generation).
    pub fn clear_tenant(&self, schema: &str) {
        let mut gens = self.tenant_gens.write().unwrap_or_else(|p| p.into_inner());
        *gens.entry(schema.to_string()).or_insert(0) += 1;
    }

    /// Drops everything.
    pub fn clear_all(&self) {
        let mut gens = self.tenant_gens.write().unwrap_or_else(|p| p.into_inner());
        // Refuse fills that started before now, for every key.
        let e = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        self.floor.fetch_max(e, Ordering::SeqCst);
        self.invalidated_at.invalidate_all();
        for g in gens.values_mut() {
            *g += 1;
        }
        self.store.invalidate_all();
    }

    /// Entries currently held (approximate until moka runs its maintenance).
    pub fn entry_count(&self) -> u64 {
        self.store.run_pending_tasks();
        self.store.entry_count()
    }
}
