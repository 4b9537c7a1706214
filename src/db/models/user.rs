//! `public."user"`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::user;

/// The columns authentication needs.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user)]
pub struct UserAuth {
    pub id: i32,
    pub email: Option<String>,
    pub password: Option<String>,
    pub is_superuser: bool,
    pub is_active: bool,
    pub deleted: Option<DateTime<Utc>>,
}

/// A new user.
#[derive(Debug, Default, Insertable)]
#[diesel(table_name = user)]
pub struct NewUser<'a> {
    pub email: Option<&'a str>,
    pub mobile: Option<&'a str>,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub password: Option<&'a str>,
    pub is_superuser: bool,
    pub is_staff: bool,
}

/// Lower-cases the domain part of an email (as Django's `normalize_email`).
pub fn normalize_email(email: &str) -> String {
    match email.trim().rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_ascii_lowercase()),
        None => email.trim().to_string(),
    }
}

/// A live user by email.
pub fn find_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Option<UserAuth>> {
    user::table
        .filter(user::email.eq(normalize_email(email)))
        .filter(user::deleted.is_null())
        .select(UserAuth::as_select())
        .first(conn)
        .optional()
}

/// Inserts a user; returns the id.
pub fn insert(conn: &mut PgConnection, new: &NewUser<'_>) -> QueryResult<i32> {
    diesel::insert_into(user::table)
        .values(new)
        .returning(user::id)
        .get_result(conn)
}

/// Marks a user's last login.
pub fn touch_login(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::update(user::table.find(id))
        .set(user::last_login.eq(Utc::now()))
        .execute(conn)
}
