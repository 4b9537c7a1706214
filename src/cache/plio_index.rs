//! A process-local index of facts about plios that never change: (schema, uuid) → (id,
//! creator). It lets a cached detail or play request skip the database entirely; an entry
//! found under an id whose uuid differs (a tenant dropped and re-created) is discarded by the
//! reader.

use crate::tenant::SchemaName;

/// The key: a plio's uuid within a schema.
pub type IndexKey = (SchemaName, String);

/// (schema, uuid) → (plio id, creator id), bounded.
#[derive(Clone)]
pub struct PlioIndex {
    inner: moka::sync::Cache<IndexKey, (i32, i32)>,
}

impl Default for PlioIndex {
    fn default() -> Self {
        Self {
            inner: moka::sync::Cache::builder().max_capacity(200_000).build(),
        }
    }
}

impl PlioIndex {
    /// The (id, creator) known for this key.
    pub fn get(&self, key: &IndexKey) -> Option<(i32, i32)> {
        self.inner.get(key)
    }

    /// Remembers (id, creator) for this key.
    pub fn insert(&self, key: IndexKey, value: (i32, i32)) {
        self.inner.insert(key, value);
    }

    /// Forgets this key (the plio is gone, or the entry outlived its tenant).
    pub fn forget(&self, key: &IndexKey) {
        self.inner.invalidate(key);
    }
}
