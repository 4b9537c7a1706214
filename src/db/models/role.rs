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

/// A role row.
#[derive(Debug, Clone, Queryable, serde::Serialize, utoipa::ToSchema)]
pub struct Role {
    pub id: i32,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Live roles with these names, by id.
pub fn by_names(conn: &mut PgConnection, names: &[&str]) -> QueryResult<Vec<Role>> {
    role::table
        .filter(role::name.eq_any(names))
        .filter(role::deleted.is_null())
        .order(role::id)
        .select((role::id, role::name, role::created_at, role::updated_at))
        .load(conn)
}

/// A role's name by id.
pub fn name_of(conn: &mut PgConnection, id: i32) -> QueryResult<Option<String>> {
    role::table
        .find(id)
        .filter(role::deleted.is_null())
        .select(role::name)
        .first(conn)
        .optional()
}
