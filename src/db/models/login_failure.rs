//! `public.login_failure`: failed password grants, counted per account and per client address
//! over a sliding window (SPEC 4.1). Shared by every instance through the database.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::db::schema::login_failure;

/// How far back failures count.
pub const WINDOW: Duration = Duration::minutes(15);

/// Failures inside the window: per account and per address, with the oldest of each.
#[derive(Debug, Default, Clone, Copy)]
pub struct Recent {
    /// Failures for this account.
    pub account: i64,
    /// Oldest of them.
    pub account_oldest: Option<DateTime<Utc>>,
    /// Failures from this address.
    pub address: i64,
    /// Oldest of them.
    pub address_oldest: Option<DateTime<Utc>>,
}

/// Counts recent failures for an account and an address.
pub fn recent(conn: &mut PgConnection, username: &str, address: &str) -> QueryResult<Recent> {
    let since = Utc::now() - WINDOW;
    let (account, account_oldest): (i64, Option<DateTime<Utc>>) = login_failure::table
        .filter(login_failure::username.eq(username))
        .filter(login_failure::created_at.gt(since))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(login_failure::created_at),
        ))
        .first(conn)?;
    let (address, address_oldest): (i64, Option<DateTime<Utc>>) = login_failure::table
        .filter(login_failure::address.eq(address))
        .filter(login_failure::created_at.gt(since))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(login_failure::created_at),
        ))
        .first(conn)?;
    Ok(Recent {
        account,
        account_oldest,
        address,
        address_oldest,
    })
}

/// Serializes attempts on one account until the end of the transaction.
pub fn lock_account(conn: &mut PgConnection, username: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('login:' || $1))")
        .bind::<diesel::sql_types::Text, _>(username)
        .execute(conn)
        .map(|_| ())
}

/// Records a failure, and forgets a bounded batch of failures that aged out (of anyone), so
/// the table stays as small as the last window's attempts.
pub fn record(conn: &mut PgConnection, username: &str, address: &str) -> QueryResult<()> {
    let since = Utc::now() - WINDOW;
    diesel::sql_query(
        "DELETE FROM public.login_failure WHERE id IN \
         (SELECT id FROM public.login_failure WHERE created_at <= $1 LIMIT 100)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(since)
    .execute(conn)?;
    diesel::insert_into(login_failure::table)
        .values((
            login_failure::username.eq(username),
            login_failure::address.eq(address),
        ))
        .execute(conn)?;
    Ok(())
}

/// A successful sign-in resets the account's count (not the address's).
pub fn clear_account(conn: &mut PgConnection, username: &str) -> QueryResult<usize> {
    diesel::delete(login_failure::table.filter(login_failure::username.eq(username))).execute(conn)
}
