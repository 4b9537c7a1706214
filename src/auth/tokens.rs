//! Issuing, rotating and revoking token pairs (SPEC 4.1).

use chrono::Utc;
use diesel::pg::PgConnection;
use diesel::QueryResult;
use serde::Serialize;

use crate::db::models::token::{self, ACCESS_TTL};
use crate::secrets;

/// The token response of every grant.
#[derive(Debug, Serialize)]
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

/// Rotates a refresh token: the old pair stops working, a new pair is returned.
pub fn refresh(conn: &mut PgConnection, refresh_token: &str) -> QueryResult<Option<TokenPair>> {
    match token::consume_refresh(conn, &secrets::sha256_hex(refresh_token))? {
        Some(user_id) => issue(conn, user_id).map(Some),
        None => Ok(None),
    }
}

/// Revokes an access or refresh token (and its pair).
pub fn revoke(conn: &mut PgConnection, any_token: &str) -> QueryResult<bool> {
    token::revoke(conn, &secrets::sha256_hex(any_token))
}
