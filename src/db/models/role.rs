//! `public.role`.

use diesel::prelude::*;

use crate::db::schema::role;

/// Inserts a role or leaves the existing one; returns its id.
pub fn upsert(conn: &mut PgConnection, name: &str) -> QueryResult<i32> {
    diesel::insert_into(role::table)
        .values(role::name.eq(name))
        .on_conflict(role::name)
        .do_update()
        .set(role::deleted.eq(None::<chrono::DateTime<chrono::Utc>>))
        .returning(role::id)
        .get_result(conn)
}

/// Looks a role up by name.
pub fn id_by_name(conn: &mut PgConnection, name: &str) -> QueryResult<i32> {
    role::table
        .filter(role::name.eq(name))
        .select(role::id)
        .first(conn)
}
