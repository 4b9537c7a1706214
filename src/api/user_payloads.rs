//! Reading user payloads through the cache (SPEC 6.3: one entry per user, composed into plio
//! payloads and listed by `/users/`).

use crate::cache::payloads::user::{self as user_payload, UserPayload};
use crate::cache::{Cache, EntryKey};
use crate::db::Database;
use crate::error::{AppError, Code};

/// Reads user payloads through the cache (one round trip for all, one DB load for misses).
pub async fn payloads(
    db: &Database,
    cache: &Cache,
    ids: &[i32],
) -> Result<Vec<UserPayload>, AppError> {
    let keys: Vec<EntryKey> = ids.iter().map(|id| UserPayload::key(*id)).collect();
    let found = cache
        .get_or_load_many(&keys, |missing| {
            let wanted: Vec<i32> = missing
                .iter()
                .filter_map(|&i| ids.get(i).copied())
                .collect();
            let db = db.clone();
            async move {
                let loaded = db
                    .shared(move |conn| Ok(user_payload::load_payloads(conn, &wanted)?))
                    .await?;
                // Keep positions: a user deleted meanwhile is reported as not found.
                if loaded.len() != missing.len() {
                    return Err(AppError::new(Code::NotFound));
                }
                Ok(loaded)
            }
        })
        .await?;
    Ok(found)
}

/// One user payload through the cache; 404 if there is no such live user.
pub async fn payload(db: &Database, cache: &Cache, id: i32) -> Result<UserPayload, AppError> {
    payloads(db, cache, &[id])
        .await?
        .pop()
        .ok_or_else(|| AppError::new(Code::NotFound))
}

/// A user payload as served to `viewer`: the user's own payload also carries the api_key of
/// each organization they administer (the web client builds embed and SSO links from it);
/// anyone else's never does (SPEC 4.2).
pub async fn payload_for(
    db: &Database,
    cache: &Cache,
    id: i32,
    viewer: i32,
) -> Result<UserPayload, AppError> {
    let p = payload(db, cache, id).await?;
    if viewer != id || p.organizations.is_empty() {
        return Ok(p);
    }
    db.shared(move |conn| Ok(p.with_own_api_keys(conn)?)).await
}
