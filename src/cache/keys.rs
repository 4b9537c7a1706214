//! Cache keys (SPEC 6.2): the only place where keys are built.
//!
//! Entries: `{prefix}:{schema}:{kind}:{id}` (global entities such as users live under
//! `public`). Bookkeeping keys use schema-like segments that no tenant can have (tenant schema
//! names start with a letter): `{prefix}:_v:…` per-entry versions, `{prefix}:_s:…` per-entry
//! stamps (the generations an entry was stored under), `{prefix}:_tg:{schema}` per-tenant
//! generations, `{prefix}:_g` the generation of the whole cache, `{prefix}:_idx:{schema}`
//! per-tenant key indexes.

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

/// Renders keys under one prefix.
#[derive(Clone, Debug)]
pub struct KeySpace {
    prefix: String,
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
    /// Keys under `prefix` (CACHE_KEY_PREFIX).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
        }
    }

    /// `{prefix}:{schema}:{kind}:{id}`.
    pub fn entry(&self, key: &EntryKey) -> String {
        format!("{}:{}:{}:{}", self.prefix, key.schema, key.kind, key.id)
    }

    /// All keys of one entry.
    pub fn render(&self, key: &EntryKey) -> Rendered {
        Rendered {
            entry: self.entry(key),
            version: format!("{}:_v:{}:{}:{}", self.prefix, key.schema, key.kind, key.id),
            tenant_gen: self.tenant_gen(key.schema.as_str()),
            tenant_index: self.tenant_index(key.schema.as_str()),
            stamp: format!("{}:_s:{}:{}:{}", self.prefix, key.schema, key.kind, key.id),
        }
    }

    /// The generation of the whole cache (bumped to clear everything at once).
    pub fn global_gen(&self) -> String {
        format!("{}:_g", self.prefix)
    }

    /// The common prefix of version keys.
    pub fn version_prefix(&self) -> String {
        format!("{}:_v:", self.prefix)
    }

    /// The generation counter of a tenant.
    pub fn tenant_gen(&self, schema: &str) -> String {
        format!("{}:_tg:{schema}", self.prefix)
    }

    /// The key index of a tenant.
    pub fn tenant_index(&self, schema: &str) -> String {
        format!("{}:_idx:{schema}", self.prefix)
    }

    /// A SCAN pattern for entries, optionally of one schema and/or kind.
    pub fn pattern(&self, schema: Option<&str>, kind: Option<Kind>) -> String {
        format!(
            "{}:{}:{}:*",
            self.prefix,
            schema.unwrap_or("[a-z]*"),
            kind.map_or("*", Kind::as_str)
        )
    }

    /// Everything under the prefix (entries and bookkeeping).
    pub fn everything(&self) -> String {
        format!("{}:*", self.prefix)
    }

    /// Splits an entry key into (schema, kind, id); `None` for bookkeeping or foreign keys.
    pub fn parse<'a>(&self, key: &'a str) -> Option<(&'a str, &'a str, &'a str)> {
        let rest = key.strip_prefix(&self.prefix)?.strip_prefix(':')?;
        let mut parts = rest.splitn(3, ':');
        let (schema, kind, id) = (parts.next()?, parts.next()?, parts.next()?);
        if schema.starts_with('_') || id.contains(':') {
            return None;
        }
        Some((schema, kind, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_spec_format() {
        let ks = KeySpace::new("plio");
        let schema = SchemaName::for_new_tenant("avantifellows").expect("valid");
        let key = EntryKey::new(schema, Kind::Plio, 17);
        assert_eq!(ks.entry(&key), "plio:avantifellows:plio:17");
        let user = EntryKey::new(SchemaName::public(), Kind::User, 42);
        assert_eq!(ks.entry(&user), "plio:public:user:42");
        assert_eq!(
            ks.parse("plio:public:user:42"),
            Some(("public", "user", "42"))
        );
        assert_eq!(ks.parse("plio:_v:public:user:42"), None);
        assert_eq!(ks.render(&user).version, "plio:_v:public:user:42");
        assert_eq!(Kind::parse("plio"), Some(Kind::Plio));
        assert_eq!(key.bus_name(), "avantifellows:plio:17");
        assert_eq!(EntryKey::from_bus_name(&key.bus_name()), Some(key));
        for bad in [
            "x",
            "avantifellows:plio",
            "avantifellows:nope:1",
            "a b:plio:1",
            "public:user:x",
        ] {
            assert_eq!(EntryKey::from_bus_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn stamps_and_the_global_generation_are_bookkeeping_keys() {
        let ks = KeySpace::new("plio");
        let user = EntryKey::new(SchemaName::public(), Kind::User, 42);
        assert_eq!(ks.render(&user).stamp, "plio:_s:public:user:42");
        assert_eq!(ks.global_gen(), "plio:_g");
        assert_eq!(ks.parse("plio:_s:public:user:42"), None);
        assert_eq!(ks.parse("plio:_g"), None);
    }
}
