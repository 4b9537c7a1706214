//! Cache keys (SPEC 6.2): the only place where keys are built.
//!
//! Entries: `{prefix}:{schema}:{kind}:{id}` (global entities such as users live under
//! `public`). Bookkeeping keys use schema-like segments that no tenant can have (tenant schema
//! names start with a letter): `{prefix}:_v:…` per-entry versions, `{prefix}:_s:…` per-entry
//! stamps (the generations an entry was stored under), `{prefix}:_tg:{schema}` per-tenant
//! generations, `{prefix}:_g` the generation of the whole cache, `{prefix}:_idx:{schema}`
//! per-tenant key indexes.
//!
//! On a Redis Cluster ([`KeySpace::cluster`]) the schema is wrapped in a hash tag, so that
//! every key of one tenant hashes to one slot: `plio:{acme}:plio:17`, `plio:_v:{acme}:plio:17`,
//! `plio:_s:{acme}:plio:17`, `plio:_tg:{acme}`, `plio:_idx:{acme}`. The whole cache's
//! generation joins the `public` slot (`plio:_g:{public}`), where the global entities (users)
//! and the personal workspace live, so a read of a plio and its creator touches two slots
//! (docs/decisions.md, "Redis Cluster: one hash tag per tenant"). A single Redis keeps the
//! untagged keys byte for byte, so an older release can share it.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::tenant::{SchemaName, Tenant};

macro_rules! kinds {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// The kinds of cached entries. Adding a kind = one line here.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Kind { $($variant),* }

        impl Kind {
            /// Every kind, in index order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),*];
            /// The name used in keys and metrics.
            pub fn as_str(self) -> &'static str {
                match self { $(Kind::$variant => $name),* }
            }
            /// Parses a kind name (CLI filters).
            pub fn parse(s: &str) -> Option<Kind> {
                match s { $($name => Some(Kind::$variant),)* _ => None }
            }
            /// Dense index for counters.
            pub(crate) fn index(self) -> usize {
                self as usize
            }
        }
    };
}

kinds! {
    Plio => "plio",
    User => "user",
    PlioList => "plio_list",
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payload that can be cached: its kind, and whether it is per tenant or global.
///
/// A model "declares itself cacheable" by implementing this; its key is then built with
/// [`EntryKey::of`], never by hand.
pub trait Cacheable: Serialize + DeserializeOwned + Send + 'static {
    /// The entry kind.
    const KIND: Kind;
    /// Global entities (users) live under `public` whatever the request's tenant.
    const GLOBAL: bool;
}

/// The identity of one cache entry: schema, kind, id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EntryKey {
    schema: SchemaName,
    kind: Kind,
    id: i64,
}

impl EntryKey {
    /// The key of `T` number `id` as seen from `tenant` (global kinds ignore the tenant).
    pub fn of<T: Cacheable>(tenant: &Tenant, id: i64) -> Self {
        let schema = if T::GLOBAL {
            SchemaName::public()
        } else {
            tenant.schema().clone()
        };
        Self {
            schema,
            kind: T::KIND,
            id,
        }
    }

    /// The key of a global `T` (e.g. a user payload).
    pub fn global<T: Cacheable>(id: i64) -> Self {
        Self {
            schema: SchemaName::public(),
            kind: T::KIND,
            id,
        }
    }

    /// A key by parts (tests and tools).
    pub fn new(schema: SchemaName, kind: Kind, id: i64) -> Self {
        Self { schema, kind, id }
    }

    /// The entry kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The entry id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The schema part.
    pub fn schema(&self) -> &SchemaName {
        &self.schema
    }

    /// The name the change bus carries: `schema:kind:id`, the key without its prefix (every
    /// instance renders it under its own).
    pub fn bus_name(&self) -> String {
        format!("{}:{}:{}", self.schema, self.kind, self.id)
    }

    /// Reads a [`EntryKey::bus_name`]; `None` unless every part is valid.
    pub fn from_bus_name(name: &str) -> Option<Self> {
        let mut parts = name.splitn(3, ':');
        let (schema, kind, id) = (parts.next()?, parts.next()?, parts.next()?);
        Some(Self {
            schema: SchemaName::from_stored(schema)?,
            kind: Kind::parse(kind)?,
            id: id.parse().ok()?,
        })
    }
}

/// Renders keys under one prefix, for a single Redis or (hash-tagged) for a Redis Cluster.
#[derive(Clone, Debug)]
pub struct KeySpace {
    prefix: String,
    cluster: bool,
}

/// Every Redis key one entry involves.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The entry itself.
    pub entry: String,
    /// Its version counter (bumped by every invalidation).
    pub version: String,
    /// Its tenant's generation (bumped by a whole-tenant clear).
    pub tenant_gen: String,
    /// Its tenant's key index (a set, for clearing the tenant).
    pub tenant_index: String,
    /// The generations (whole cache, tenant) it was stored under: an entry whose stamp
    /// differs from the current generations is a miss.
    pub stamp: String,
}

impl KeySpace {
    /// Keys under `prefix` (CACHE_KEY_PREFIX) on a single Redis: SPEC 6.2's format as it is.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
            cluster: false,
        }
    }

    /// Keys under `prefix` on a Redis Cluster: the schema becomes a hash tag (`{schema}`).
    pub fn cluster(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
            cluster: true,
        }
    }

    /// Whether keys carry hash tags (Redis Cluster).
    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// The schema segment: `acme`, or `{acme}` on a cluster.
    fn schema_part(&self, schema: &str) -> String {
        if self.cluster {
            format!("{{{schema}}}")
        } else {
            schema.to_string()
        }
    }

    /// `{prefix}:{schema}:{kind}:{id}` (`{prefix}:{{schema}}:{kind}:{id}` on a cluster).
    pub fn entry(&self, key: &EntryKey) -> String {
        let schema = self.schema_part(key.schema.as_str());
        format!("{}:{schema}:{}:{}", self.prefix, key.kind, key.id)
    }

    /// All keys of one entry (on a cluster, all in its tenant's slot).
    pub fn render(&self, key: &EntryKey) -> Rendered {
        let schema = self.schema_part(key.schema.as_str());
        Rendered {
            entry: self.entry(key),
            version: format!("{}:_v:{schema}:{}:{}", self.prefix, key.kind, key.id),
            tenant_gen: self.tenant_gen(key.schema.as_str()),
            tenant_index: self.tenant_index(key.schema.as_str()),
            stamp: format!("{}:_s:{schema}:{}:{}", self.prefix, key.kind, key.id),
        }
    }

    /// The generation of the whole cache (bumped to clear everything at once); on a cluster
    /// in the `public` slot.
    pub fn global_gen(&self) -> String {
        if self.cluster {
            format!("{}:_g:{{{}}}", self.prefix, SchemaName::public())
        } else {
            format!("{}:_g", self.prefix)
        }
    }

    /// The common prefix of version keys.
    pub fn version_prefix(&self) -> String {
        format!("{}:_v:", self.prefix)
    }

    /// The generation counter of a tenant.
    pub fn tenant_gen(&self, schema: &str) -> String {
        format!("{}:_tg:{}", self.prefix, self.schema_part(schema))
    }

    /// The common prefix of tenant generation keys.
    pub fn tenant_gen_prefix(&self) -> String {
        format!("{}:_tg:", self.prefix)
    }

    /// The key index of a tenant.
    pub fn tenant_index(&self, schema: &str) -> String {
        format!("{}:_idx:{}", self.prefix, self.schema_part(schema))
    }

    /// A SCAN pattern for entries, optionally of one schema and/or kind. (Braces are plain
    /// characters in a Redis glob; a pattern naming one tag is scanned in that slot only.)
    pub fn pattern(&self, schema: Option<&str>, kind: Option<Kind>) -> String {
        format!(
            "{}:{}:{}:*",
            self.prefix,
            self.schema_part(schema.unwrap_or("[a-z]*")),
            kind.map_or("*", Kind::as_str)
        )
    }

    /// Everything under the prefix (entries and bookkeeping).
    pub fn everything(&self) -> String {
        format!("{}:*", self.prefix)
    }

    /// Splits an entry key into (schema, kind, id), the schema without its hash tag's
    /// braces; `None` for bookkeeping or foreign keys.
    pub fn parse<'a>(&self, key: &'a str) -> Option<(&'a str, &'a str, &'a str)> {
        let rest = key.strip_prefix(&self.prefix)?.strip_prefix(':')?;
        let (schema, rest) = if self.cluster {
            let rest = rest.strip_prefix('{')?;
            let end = rest.find('}')?;
            (rest.get(..end)?, rest.get(end + 1..)?.strip_prefix(':')?)
        } else {
            rest.split_once(':')?
        };
        let (kind, id) = rest.split_once(':')?;
        if schema.is_empty() || schema.starts_with('_') || id.contains(':') {
            return None;
        }
        Some((schema, kind, id))
    }
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
