//! `public.access_token` and `public.refresh_token`: only SHA-256 digests are stored.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::db::schema::{access_token, refresh_token, user};

/// Lifetime of access tokens (SPEC 4.1).
pub const ACCESS_TTL: Duration = Duration::days(1);
/// Lifetime of refresh tokens (SPEC 4.1).
pub const REFRESH_TTL: Duration = Duration::days(7);

/// The user behind a valid access token.
#[derive(Debug, Clone, Queryable)]
pub struct TokenOwner {
    pub user_id: i32,
    pub is_superuser: bool,
    pub expires_at: DateTime<Utc>,
}

/// Stores a new access/refresh pair (digests only); returns the access token id.
pub fn insert_pair(
    conn: &mut PgConnection,
    user_id: i32,
    access_hash: &str,
    refresh_hash: &str,
    now: DateTime<Utc>,
) -> QueryResult<i32> {
    let access_id: i32 = diesel::insert_into(access_token::table)
        .values((
            access_token::user_id.eq(user_id),
            access_token::token_hash.eq(access_hash),
            access_token::expires_at.eq(now + ACCESS_TTL),
        ))
        .returning(access_token::id)
        .get_result(conn)?;
    diesel::insert_into(refresh_token::table)
        .values((
            refresh_token::user_id.eq(user_id),
            refresh_token::token_hash.eq(refresh_hash),
            refresh_token::access_token_id.eq(access_id),
            refresh_token::expires_at.eq(now + REFRESH_TTL),
        ))
        .execute(conn)?;
    Ok(access_id)
}

/// One indexed lookup: the live, active owner of an unexpired access token.
pub fn owner_of_access(conn: &mut PgConnection, hash: &str) -> QueryResult<Option<TokenOwner>> {
    access_token::table
        .inner_join(user::table)
        .filter(access_token::token_hash.eq(hash))
        .filter(access_token::expires_at.gt(Utc::now()))
        .filter(user::is_active.eq(true))
        .filter(user::deleted.is_null())
        .select((user::id, user::is_superuser, access_token::expires_at))
        .first(conn)
        .optional()
}

/// Digest of an access token by id (to forget it from caches when it is deleted).
fn access_hash(conn: &mut PgConnection, id: i32) -> QueryResult<Option<String>> {
    access_token::table
        .find(id)
        .select(access_token::token_hash)
        .first(conn)
        .optional()
}

/// Consumes an unexpired refresh token (rotation): deletes it and its access token; returns
/// the owner's id and the deleted access token's digest. Row-locked so two concurrent
/// refreshes cannot both succeed.
pub fn consume_refresh(
    conn: &mut PgConnection,
    hash: &str,
) -> QueryResult<Option<(i32, Option<String>)>> {
    // The owner's row first (shared lock): a password change holds it while it ends the
    // user's tokens, so a refresh waits for that to commit and then finds its token gone,
    // instead of minting a pair the change cannot see. Locking the user before the token
    // keeps the order of both paths the same (no deadlock).
    let owner: Option<i32> = refresh_token::table
        .filter(refresh_token::token_hash.eq(hash))
        .select(refresh_token::user_id)
        .first(conn)
        .optional()?;
    let Some(owner) = owner else {
        return Ok(None);
    };
    crate::db::schema::user::table
        .find(owner)
        .select(crate::db::schema::user::id)
        .for_share()
        .first::<i32>(conn)
        .optional()?;
    let found: Option<(i32, i32, Option<i32>)> = refresh_token::table
        .filter(refresh_token::token_hash.eq(hash))
        .filter(refresh_token::expires_at.gt(Utc::now()))
        .select((
            refresh_token::id,
            refresh_token::user_id,
            refresh_token::access_token_id,
        ))
        .for_update()
        .first(conn)
        .optional()?;
    let Some((id, user_id, access_id)) = found else {
        return Ok(None);
    };
    diesel::delete(refresh_token::table.find(id)).execute(conn)?;
    let mut old_access = None;
    if let Some(access_id) = access_id {
        old_access = access_hash(conn, access_id)?;
        diesel::delete(access_token::table.find(access_id)).execute(conn)?;
    }
    Ok(Some((user_id, old_access)))
}

/// Revokes a token given as either an access or a refresh token, together with its pair.
/// Returns the digests of the access tokens that ended.
pub fn revoke(conn: &mut PgConnection, hash: &str) -> QueryResult<Vec<String>> {
    // An access token: delete its refresh token(s) and itself.
    let access_id: Option<i32> = access_token::table
        .filter(access_token::token_hash.eq(hash))
        .select(access_token::id)
        .first(conn)
        .optional()?;
    if let Some(access_id) = access_id {
        diesel::delete(refresh_token::table.filter(refresh_token::access_token_id.eq(access_id)))
            .execute(conn)?;
        diesel::delete(access_token::table.find(access_id)).execute(conn)?;
        return Ok(vec![hash.to_string()]);
    }
    // A refresh token: delete it and its access token.
    let refresh: Option<(i32, Option<i32>)> = refresh_token::table
        .filter(refresh_token::token_hash.eq(hash))
        .select((refresh_token::id, refresh_token::access_token_id))
        .first(conn)
        .optional()?;
    if let Some((id, access_id)) = refresh {
        diesel::delete(refresh_token::table.find(id)).execute(conn)?;
        let mut ended = Vec::new();
        if let Some(access_id) = access_id {
            ended.extend(access_hash(conn, access_id)?);
            diesel::delete(access_token::table.find(access_id)).execute(conn)?;
        }
        return Ok(ended);
    }
    Ok(Vec::new())
}

/// The digests of a user's access tokens (to forget their cached checks everywhere).
pub fn access_digests_of(conn: &mut PgConnection, user_id: i32) -> QueryResult<Vec<String>> {
    access_token::table
        .filter(access_token::user_id.eq(user_id))
        .select(access_token::token_hash)
        .load(conn)
}

/// Ends every token of a user except one access token (and its refresh token): what a
/// password change does to the user's other sessions. Returns the digests of the access
/// tokens that ended.
pub fn revoke_all_but(
    conn: &mut PgConnection,
    user_id: i32,
    keep_access_hash: Option<&str>,
) -> QueryResult<Vec<String>> {
    let keep: Option<i32> = match keep_access_hash {
        Some(h) => access_token::table
            .filter(access_token::token_hash.eq(h))
            .filter(access_token::user_id.eq(user_id))
            .select(access_token::id)
            .first(conn)
            .optional()?,
        None => None,
    };
    let keep = keep.unwrap_or(-1);
    diesel::delete(
        refresh_token::table
            .filter(refresh_token::user_id.eq(user_id))
            .filter(
                refresh_token::access_token_id
                    .ne(keep)
                    .or(refresh_token::access_token_id.is_null()),
            ),
    )
    .execute(conn)?;
    diesel::delete(
        access_token::table
            .filter(access_token::user_id.eq(user_id))
            .filter(access_token::id.ne(keep)),
    )
    .returning(access_token::token_hash)
    .get_results(conn)
}
