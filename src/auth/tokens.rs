//! Issuing, rotating and revoking token pairs (SPEC 4.1).

use chrono::Utc;
use diesel::pg::PgConnection;
use diesel::QueryResult;
use serde::Serialize;

use crate::bus::{self, Change};
use crate::db::models::token::{self, ACCESS_TTL};
use crate::secrets;

/// The token response of every grant.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// Opaque bearer token (shown once, stored hashed).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque refresh token (shown once, stored hashed).
    pub refresh_token: String,
    /// Always `read write`.
    pub scope: &'static str,
}

/// Issues a new pair for a user (caller provides the transaction).
pub fn issue(conn: &mut PgConnection, user_id: i32) -> QueryResult<TokenPair> {
    let access = secrets::new_token();
    let refresh = secrets::new_token();
    token::insert_pair(
        conn,
        user_id,
        &secrets::sha256_hex(&access),
        &secrets::sha256_hex(&refresh),
        Utc::now(),
    )?;
    Ok(TokenPair {
        access_token: access,
        token_type: "Bearer",
        expires_in: ACCESS_TTL.num_seconds(),
        refresh_token: refresh,
        scope: "read write",
    })
}

/// Rotates a refresh token: the old pair stops working, a new pair is returned with the
/// digest of the access token that ended (to forget it from the token cache).
pub fn refresh(
    conn: &mut PgConnection,
    refresh_token: &str,
) -> QueryResult<Option<(TokenPair, Option<String>)>> {
    match token::consume_refresh(conn, &secrets::sha256_hex(refresh_token))? {
        Some((user_id, old)) => {
            bus::publish(conn, &Change::tokens(old.as_slice()))?;
            Ok(Some((issue(conn, user_id)?, old)))
        }
        None => Ok(None),
    }
}

/// Revokes an access or refresh token (and its pair); returns the ended access digests,
/// which every instance forgets (the change bus) when the caller's transaction commits.
pub fn revoke(conn: &mut PgConnection, any_token: &str) -> QueryResult<Vec<String>> {
    let ended = token::revoke(conn, &secrets::sha256_hex(any_token))?;
    bus::publish(conn, &Change::tokens(&ended))?;
    Ok(ended)
}

/// A short-lived, bounded, in-process cache of access-token checks (digest → owner), so a
/// request costs no database lookup for its token. Revocation, rotation and user changes
/// are sent on the change bus, so every instance forgets the entries at once (TTL
/// `TOKEN_CACHE_SECONDS`, default 30, is the bound if the bus is lost; 0 disables the cache).
///
/// No stale fill: a reader notes [`TokenCache::generation`] before it asks the database, and
/// [`TokenCache::put`] stores its answer only if nothing was forgotten since (a revocation
/// heard while the lookup was in flight would otherwise be undone for the TTL).
#[derive(Clone)]
pub struct TokenCache {
    inner: Option<moka::sync::Cache<String, token::TokenOwner>>,
    /// Bumped by every forget; puts and forgets take it in turn.
    generation: std::sync::Arc<std::sync::Mutex<u64>>,
}

impl TokenCache {
    /// A cache whose entries live `ttl_secs` (0 = no caching).
    pub fn new(ttl_secs: u64) -> Self {
        Self {
            inner: (ttl_secs > 0).then(|| {
                moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(std::time::Duration::from_secs(ttl_secs))
                    .build()
            }),
            generation: Default::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, u64> {
        self.generation.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// To note before a database lookup whose answer will be [`TokenCache::put`].
    pub fn generation(&self) -> u64 {
        *self.lock()
    }
    /// A cached, unexpired owner.
    pub fn get(&self, digest: &str) -> Option<token::TokenOwner> {
        let owner = self.inner.as_ref()?.get(digest)?;
        (owner.expires_at > chrono::Utc::now()).then_some(owner)
    }
    /// Remembers an owner looked up at `generation`, unless something was forgotten since.
    pub fn put(&self, digest: String, owner: token::TokenOwner, generation: u64) {
        if let Some(c) = &self.inner {
            let current = self.lock();
            if *current == generation {
                c.insert(digest, owner);
            }
        }
    }
    /// Forgets ended tokens.
    pub fn forget(&self, digests: &[String]) {
        if digests.is_empty() {
            return;
        }
        if let Some(c) = &self.inner {
            let mut current = self.lock();
            *current += 1;
            for d in digests {
                c.invalidate(d);
            }
        }
    }
    /// Forgets everything (the change bus was lost).
    pub fn forget_all(&self) {
        if let Some(c) = &self.inner {
            let mut current = self.lock();
            *current += 1;
            c.invalidate_all();
        }
    }
}
