//! The change bus (SPEC 2.2, 6.4): what every instance must forget after a write.
//!
//! A write sends a [`Change`] with PostgreSQL `NOTIFY` on [`CHANNEL`] *inside* its
//! transaction, so the message exists exactly when the write commits (PostgreSQL delivers
//! notifications of committed transactions only, in commit order). Every instance listens
//! on a connection of its own ([`listener`]) and applies what it hears to its process-local
//! state: the memory cache, the token cache, the tenant registry. Each message is stamped
//! with the sending pool's instance id; a server skips its own (it applied them after
//! COMMIT), so its fresh cache entries are not dropped a second time.
//!
//! This module knows nothing of caches or tokens: a [`Change`] carries names (entry keys
//! without the prefix, schemas, token digests) and the layers above give them meaning.

pub mod listener;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};

/// The `LISTEN`/`NOTIFY` channel.
pub const CHANNEL: &str = "plio_changes";

/// PostgreSQL refuses payloads of 8000 bytes or more; a change larger than this is sent in
/// several notifications (all in the same transaction).
const MAX_PAYLOAD: usize = 7_000;
/// Items per notification when a change is split.
const CHUNK: usize = 48;

fn is_false(b: &bool) -> bool {
    !*b
}

/// What other instances must forget. Field names are short: the payload is bounded.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Cache entries made stale, as `schema:kind:id` (the key without its prefix).
    #[serde(rename = "e", default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<String>,
    /// Schemas whose cache entries are all stale (a tenant cleared, dropped, re-created).
    #[serde(rename = "t", default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    /// Every cache entry is stale (`plio cache clear --all`).
    #[serde(rename = "ea", default, skip_serializing_if = "is_false")]
    pub all_entries: bool,
    /// Access-token digests that ended (revoked, rotated, a password change).
    #[serde(rename = "k", default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<String>,
    /// Every cached token check is stale (a user deleted, deactivated or changed rank).
    #[serde(rename = "ka", default, skip_serializing_if = "is_false")]
    pub all_tokens: bool,
    /// The tenant registry changed (created, renamed, deleted, dropped, migrated).
    #[serde(rename = "r", default, skip_serializing_if = "is_false")]
    pub registry: bool,
    /// The sender could not apply `entries`/`tenants` to the shared cache (Redis): every
    /// instance that can reach it applies them there too.
    #[serde(rename = "s", default, skip_serializing_if = "is_false")]
    pub shared_cache: bool,
    /// When it was sent (Unix milliseconds), for the lag metric.
    #[serde(rename = "at", default)]
    pub sent_at_ms: i64,
}

impl Change {
    /// Nothing to forget.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
            && self.tenants.is_empty()
            && self.tokens.is_empty()
            && !self.all_entries
            && !self.all_tokens
            && !self.registry
    }

    /// A change that only ends tokens.
    pub fn tokens(digests: &[String]) -> Self {
        Self {
            tokens: digests.to_vec(),
            ..Self::default()
        }
    }

    /// A change of the tenant registry.
    pub fn registry() -> Self {
        Self {
            registry: true,
            ..Self::default()
        }
    }

    /// Adds another change to this one.
    pub fn merge(&mut self, other: Change) {
        self.entries.extend(other.entries);
        self.tenants.extend(other.tenants);
        self.tokens.extend(other.tokens);
        self.all_entries |= other.all_entries;
        self.all_tokens |= other.all_tokens;
        self.registry |= other.registry;
        self.shared_cache |= other.shared_cache;
    }

    /// The notification payloads carrying this change (one unless it is large).
    pub fn payloads(&self) -> Vec<String> {
        let whole = serde_json::to_string(self).unwrap_or_default();
        if whole.len() <= MAX_PAYLOAD {
            return vec![whole];
        }
        let mut parts = vec![Change {
            all_entries: self.all_entries,
            all_tokens: self.all_tokens,
            registry: self.registry,
            shared_cache: self.shared_cache,
            sent_at_ms: self.sent_at_ms,
            ..Change::default()
        }];
        let piece = |f: &dyn Fn(&mut Change)| {
            let mut c = Change {
                shared_cache: self.shared_cache,
                sent_at_ms: self.sent_at_ms,
                ..Change::default()
            };
            f(&mut c);
            c
        };
        for chunk in self.entries.chunks(CHUNK) {
            parts.push(piece(&|c| c.entries = chunk.to_vec()));
        }
        for chunk in self.tenants.chunks(CHUNK) {
            parts.push(piece(&|c| c.tenants = chunk.to_vec()));
        }
        for chunk in self.tokens.chunks(CHUNK) {
            parts.push(piece(&|c| c.tokens = chunk.to_vec()));
        }
        parts
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| serde_json::to_string(c).unwrap_or_default())
            .collect()
    }

    /// Reads a payload; `None` if it is not a change (never fails the listener).
    pub fn parse(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok()
    }

    /// Reads a notification as sent by [`publish`]: (the sender's instance id, the change).
    pub fn parse_stamped(payload: &str) -> Option<(&str, Self)> {
        let (instance, json) = payload.split_once(' ')?;
        Some((instance, Self::parse(json)?))
    }
}

/// Sends `change` on the bus within the caller's transaction: delivered to every listener
/// if and when that transaction commits.
pub fn publish(conn: &mut PgConnection, change: &Change) -> QueryResult<()> {
    if change.is_empty() {
        return Ok(());
    }
    let mut change = change.clone();
    change.sent_at_ms = chrono::Utc::now().timestamp_millis();
    for payload in change.payloads() {
        // Stamped with the sending pool's instance id (`plio.instance`, set on every pooled
        // connection; empty elsewhere): `<instance> <json>`.
        diesel::sql_query(
            "SELECT pg_notify($1, coalesce(current_setting('plio.instance', true), '') || ' ' || $2)",
        )
            .bind::<Text, _>(CHANNEL)
            .bind::<Text, _>(payload)
            .execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_change_is_split_into_payloads_under_the_limit_and_nothing_is_lost() {
        let change = Change {
            entries: (0..500).map(|i| format!("tenant_{i}:plio:{i}")).collect(),
            tenants: vec!["a".into()],
            tokens: (0..200).map(|i| format!("{i:064}")).collect(),
            registry: true,
            ..Change::default()
        };
        let payloads = change.payloads();
        assert!(payloads.len() > 1);
        let mut back = Change::default();
        for p in &payloads {
            assert!(p.len() < 8000, "payload of {} bytes", p.len());
            back.merge(Change::parse(p).expect("a change"));
        }
        assert_eq!(back.entries, change.entries);
        assert_eq!(back.tenants, change.tenants);
        assert_eq!(back.tokens, change.tokens);
        assert!(back.registry);
    }

    #[test]
    fn a_small_change_is_one_payload_and_garbage_is_ignored() {
        let change = Change::tokens(&["ab".into()]);
        assert_eq!(change.payloads().len(), 1);
        assert_eq!(
            Change::parse(&change.payloads().concat()),
            Some(change.clone())
        );
        assert_eq!(Change::parse("not json"), None);
        let stamped = format!("ab12 {}", change.payloads().concat());
        assert_eq!(
            Change::parse_stamped(&stamped),
            Some(("ab12", change.clone()))
        );
        let unstamped = format!(" {}", change.payloads().concat());
        assert_eq!(Change::parse_stamped(&unstamped), Some(("", change)));
        assert!(Change::default().is_empty());
        assert!(!Change::registry().is_empty());
    }
}
