//! The tenant as a value: ids, shortcodes, schema names, domains (pure: no I/O).
//!
//! Schema names only ever come from [`SchemaName`], which is built from a validated shortcode
//! (or is `public`) and is always double-quoted when it reaches SQL.

use std::fmt;

/// Database id of an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct TenantId(pub i32);

/// Schema names that no tenant may take, beyond `pg_*` (SPEC 2.1). Route prefixes are
/// reserved too ([`ROUTE_PREFIXES`]): a default domain `host/<shortcode>` named like a route
/// would capture it.
const RESERVED: &[&str] = &["public", "information_schema"];

/// First path segments of plio's own routes: never a domain's path part.
const ROUTE_PREFIXES: &[&str] = &[
    "api", "auth", "admin", "healthz", "readyz", "metrics", "media", "static", "docs",
];

/// Why a shortcode was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShortcodeError {
    /// Does not match `^[a-z][a-z0-9-]{1,48}[a-z0-9]$`.
    #[error("must be 3-50 characters: lower-case ASCII letters, digits and '-', starting with a letter and not ending with '-'")]
    Format,
    /// A reserved or system name.
    #[error("is reserved")]
    Reserved,
}

/// Validates a shortcode against SPEC 2.1's pattern (not the reserved list).
pub fn validate_shortcode(s: &str) -> Result<(), ShortcodeError> {
    let bytes = s.as_bytes();
    let ok_len = (3..=50).contains(&bytes.len());
    let ok_first = bytes.first().is_some_and(u8::is_ascii_lowercase);
    let ok_last = bytes
        .last()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let ok_all = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if ok_len && ok_first && ok_last && ok_all {
        Ok(())
    } else {
        Err(ShortcodeError::Format)
    }
}

/// A validated PostgreSQL schema name. The only way schema names reach SQL.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SchemaName(String);

impl SchemaName {
    /// The public schema (the personal workspace).
    pub fn public() -> Self {
        Self("public".into())
    }

    /// The schema of a new tenant: the shortcode with `-` replaced by `_`; refuses reserved names.
    pub fn for_new_tenant(shortcode: &str) -> Result<Self, ShortcodeError> {
        validate_shortcode(shortcode)?;
        let schema = shortcode.replace('-', "_");
        let reserved = |name: &str| RESERVED.contains(&name) || ROUTE_PREFIXES.contains(&name);
        if reserved(&schema) || reserved(shortcode) || schema.starts_with("pg_") {
            return Err(ShortcodeError::Reserved);
        }
        Ok(Self(schema))
    }

    /// Re-validates a schema name read back from the database.
    pub fn from_stored(name: &str) -> Option<Self> {
        if name == "public" {
            return Some(Self::public());
        }
        let shortcode_form = name.replace('_', "-");
        let candidate = Self::for_new_tenant(&shortcode_form).ok()?;
        (candidate.0 == name).then_some(candidate)
    }

    /// The bare name (safe: validated characters only).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The double-quoted identifier for SQL.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0.replace('"', "\"\""))
    }

    /// Whether this is the public schema.
    pub fn is_public(&self) -> bool {
        self.0 == "public"
    }
}

impl fmt::Debug for SchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SchemaName({})", self.0)
    }
}

impl fmt::Display for SchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The resolved tenant of a request: handlers receive this typed value, never a schema string.
#[derive(Clone, Debug)]
pub struct Tenant {
    id: Option<TenantId>,
    shortcode: String,
    schema: SchemaName,
}

impl Tenant {
    /// Builds a tenant. Requests get theirs from the resolver; tools and tests build them.
    pub fn new(id: Option<TenantId>, shortcode: String, schema: SchemaName) -> Self {
        Self {
            id,
            shortcode,
            schema,
        }
    }
    /// The organization id (`None` only for a public workspace not seeded yet).
    pub fn id(&self) -> Option<TenantId> {
        self.id
    }
    /// The organization's shortcode.
    pub fn shortcode(&self) -> &str {
        &self.shortcode
    }
    /// Whether this is the personal workspace (the public schema).
    pub fn is_personal_workspace(&self) -> bool {
        self.schema.is_public()
    }
    /// The schema; only the database layer needs it.
    pub(crate) fn schema(&self) -> &SchemaName {
        &self.schema
    }
}

/// A tenant's schema is missing or its migrations are not current (503 `tenant_unavailable`).
#[derive(Debug, thiserror::Error)]
#[error("schema {0} is missing or not migrated")]
pub struct TenantUnavailable(pub String);

/// Validates a domain: a lower-case host (letters, digits, `-`, `.`), optionally followed by
/// `/` and one path segment of the same characters.
pub fn validate_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() || domain.len() > 253 {
        return Err("must be 1-253 characters".into());
    }
    let (host, segment) = match domain.split_once('/') {
        Some((h, s)) => (h, Some(s)),
        None => (domain, None),
    };
    let host_ok = !host.is_empty()
        && host
            .split('.')
            .all(|label| !label.is_empty() && label.len() <= 63 && label_chars_ok(label));
    if !host_ok {
        return Err("must be a lower-case host name such as plio.in".into());
    }
    if let Some(seg) = segment {
        if seg.is_empty() || !label_chars_ok(seg) || seg.len() > 63 {
            return Err(
                "the path part must be a single segment of lower-case letters, digits or '-'"
                    .into(),
            );
        }
        // `host/api` would capture every API route of that host.
        if ROUTE_PREFIXES.contains(&seg) {
            return Err(format!(
                "the path part may not be {seg:?}, which names one of plio's own routes"
            ));
        }
    }
    Ok(())
}

fn label_chars_ok(label: &str) -> bool {
    label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_path_part_may_not_name_a_route() {
        for d in [
            "localhost/api",
            "plio.in/auth",
            "x.org/media",
            "x.org/healthz",
        ] {
            assert!(validate_domain(d).is_err(), "{d}");
        }
        assert!(validate_domain("plio.in/avantifellows").is_ok());
        assert!(validate_domain("plio.in/apis").is_ok());
    }

    #[test]
    fn valid_shortcodes_map_to_schema_names() {
        let s = SchemaName::for_new_tenant("avanti-fellows").expect("valid");
        assert_eq!(s.as_str(), "avanti_fellows");
        assert_eq!(s.quoted(), "\"avanti_fellows\"");
        assert_eq!(SchemaName::from_stored("avanti_fellows"), Some(s));
    }

    #[test]
    fn hostile_shortcodes_are_refused() {
        let long = "a".repeat(51);
        for bad in [
            "",
            "ab",
            "Abc",
            "a\"b",
            "a;drop",
            "a b",
            "abc-",
            "1abc",
            "a_b_c",
            "\u{0430}bc",
            "ab\u{0441}",
            "\u{ff50}lio",
            long.as_str(),
        ] {
            assert_eq!(
                SchemaName::for_new_tenant(bad),
                Err(ShortcodeError::Format),
                "{bad:?}"
            );
        }
        for reserved in [
            "public",
            "pg-toast",
            "pg-catalog",
            "api",
            "information-schema",
        ] {
            assert_eq!(
                SchemaName::for_new_tenant(reserved),
                Err(ShortcodeError::Reserved),
                "{reserved}"
            );
        }
    }

    #[test]
    fn stored_schema_names_are_revalidated() {
        assert!(SchemaName::from_stored("public").is_some());
        assert!(SchemaName::from_stored("pg_catalog").is_none());
        assert!(SchemaName::from_stored("x\"; drop").is_none());
        assert!(SchemaName::from_stored("has-dash").is_none());
    }

    #[test]
    fn domains_are_validated() {
        assert!(validate_domain("plio.in").is_ok());
        assert!(validate_domain("plio.in/avantifellows").is_ok());
        assert!(validate_domain("localhost").is_ok());
        for bad in [
            "",
            "Plio.in",
            "plio.in/a/b",
            "plio..in",
            "plio.in/",
            "a'b.in",
            "x.in:80",
        ] {
            assert!(validate_domain(bad).is_err(), "{bad}");
        }
    }
}
