//! `public.one_time_password`: codes stored as SHA-256 of (mobile, code), single use.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::schema::one_time_password as otp;

/// How long a code is valid (SPEC 4.1).
pub const VALIDITY: Duration = Duration::seconds(300);
/// Requests allowed per mobile per window.
pub const MAX_REQUESTS: i64 = 5;
/// The rate-limit window.
pub const WINDOW: Duration = Duration::minutes(15);
/// Wrong guesses that end a code.
pub const MAX_ATTEMPTS: i32 = 5;

/// A stored code (without the code).
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = otp)]
pub struct Otp {
    pub id: i32,
    pub mobile: String,
    #[serde(skip)]
    pub otp_hash: String,
    pub expires_at: DateTime<Utc>,
    #[serde(skip)]
    pub attempts: i32,
    #[serde(skip)]
    pub consumed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The digest a code is stored and compared as.
pub fn digest(mobile: &str, code: &str) -> String {
    crate::secrets::sha256_hex(&format!("otp:{mobile}:{code}"))
}

/// Serializes requests for one mobile (transaction-scoped advisory lock).
pub fn lock_mobile(conn: &mut PgConnection, mobile: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('otp:' || $1))")
        .bind::<Text, _>(mobile)
        .execute(conn)
        .map(|_| ())
}

/// Requests for this mobile in the rate-limit window.
pub fn recent_requests(conn: &mut PgConnection, mobile: &str) -> QueryResult<i64> {
    otp::table
        .filter(otp::mobile.eq(mobile))
        .filter(otp::created_at.gt(Utc::now() - WINDOW))
        .count()
        .get_result(conn)
}

/// Stores a new code (superseding older ones: only the newest is ever checked) and drops
/// rows older than a day.
pub fn create(conn: &mut PgConnection, mobile: &str, code: &str) -> QueryResult<Otp> {
    diesel::delete(otp::table.filter(otp::created_at.lt(Utc::now() - Duration::days(1))))
        .execute(conn)?;
    diesel::insert_into(otp::table)
        .values((
            otp::mobile.eq(mobile),
            otp::otp_hash.eq(digest(mobile, code)),
            otp::expires_at.eq(Utc::now() + VALIDITY),
        ))
        .returning(Otp::as_returning())
        .get_result(conn)
}

/// The newest code of a mobile, row-locked.
pub fn latest_for_update(conn: &mut PgConnection, mobile: &str) -> QueryResult<Option<Otp>> {
    otp::table
        .filter(otp::mobile.eq(mobile))
        .order(otp::id.desc())
        .select(Otp::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Marks a code used.
pub fn consume(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::update(otp::table.find(id))
        .set((
            otp::consumed_at.eq(Some(Utc::now())),
            otp::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
}

/// Counts a wrong guess.
pub fn count_attempt(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::update(otp::table.find(id))
        .set((
            otp::attempts.eq(otp::attempts + 1),
            otp::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
}

/// Removes a code that could not be delivered (it must not count against the mobile's limit).
pub fn discard(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::delete(otp::table.find(id)).execute(conn)
}
