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

/// Ids of users who belong to an organization.
pub fn member_ids(conn: &mut PgConnection, organization_id: i32) -> QueryResult<Vec<i32>> {
    use crate::db::schema::organization_user;
    organization_user::table
        .filter(organization_user::organization_id.eq(organization_id))
        .select(organization_user::user_id)
        .load(conn)
}

/// Changes to a user.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = user)]
pub struct UserChanges {
    pub email: Option<Option<String>>,
    pub mobile: Option<Option<String>>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub avatar_url: Option<Option<String>>,
    pub config: Option<serde_json::Value>,
    pub status: Option<String>,
    pub is_active: Option<bool>,
    pub password: Option<Option<String>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Gets or creates the user of an SSO identity: (unique_id, organization of the api_key).
pub fn get_or_create_sso(
    conn: &mut PgConnection,
    unique_id: &str,
    org_id: i32,
) -> QueryResult<i32> {
    diesel::insert_into(user::table)
        .values((user::unique_id.eq(unique_id), user::auth_org_id.eq(org_id)))
        .on_conflict((user::unique_id, user::auth_org_id))
        .do_nothing()
        .execute(conn)?;
    user::table
        .filter(user::unique_id.eq(unique_id))
        .filter(user::auth_org_id.eq(org_id))
        .select(user::id)
        .first(conn)
}

/// The names and picture a sign-in provider knows for a user.
#[derive(Debug, Default, Clone)]
pub struct ProviderProfile<'a> {
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub avatar_url: Option<&'a str>,
}

/// Gets or creates the user with this email (Google sign-in): an account created earlier
/// with the same address, in any letter case, is adopted, never duplicated. Empty names and
/// picture are filled from the provider; nothing the user set is overwritten. Returns the
/// user (possibly inactive or deleted: the caller decides).
pub fn get_or_create_by_email(
    conn: &mut PgConnection,
    email: &str,
    profile: &ProviderProfile<'_>,
) -> QueryResult<UserAuth> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    let email = normalize_email(email);
    let find = |conn: &mut PgConnection| {
        user::table
            .filter(
                sql::<Bool>("lower(email) = lower(")
                    .bind::<Text, _>(email.clone())
                    .sql(")"),
            )
            .order(user::deleted.is_not_null())
            .then_order_by(user::id)
            .select(UserAuth::as_select())
            .first(conn)
            .optional()
    };
    let found = match find(conn)? {
        Some(u) => u,
        None => {
            diesel::insert_into(user::table)
                .values(&NewUser {
                    email: Some(&email),
                    first_name: profile.first_name.unwrap_or(""),
                    last_name: profile.last_name.unwrap_or(""),
                    ..Default::default()
                })
                .on_conflict_do_nothing()
                .execute(conn)?;
            find(conn)?.ok_or(diesel::result::Error::NotFound)?
        }
    };
    if let Some(first) = profile.first_name {
        diesel::update(user::table.find(found.id).filter(user::first_name.eq("")))
            .set(user::first_name.eq(first))
            .execute(conn)?;
    }
    if let Some(last) = profile.last_name {
        diesel::update(user::table.find(found.id).filter(user::last_name.eq("")))
            .set(user::last_name.eq(last))
            .execute(conn)?;
    }
    if let Some(picture) = profile.avatar_url {
        diesel::update(
            user::table
                .find(found.id)
                .filter(user::avatar_url.is_null().or(user::avatar_url.eq(""))),
        )
        .set(user::avatar_url.eq(picture))
        .execute(conn)?;
    }
    Ok(found)
}

/// Gets or creates the user of a mobile number (OTP login; SSO users excluded).
pub fn get_or_create_by_mobile(conn: &mut PgConnection, mobile: &str) -> QueryResult<i32> {
    let existing: Option<i32> = user::table
        .filter(user::mobile.eq(mobile))
        .filter(user::auth_org_id.is_null())
        .filter(user::deleted.is_null())
        .order(user::id)
        .select(user::id)
        .first(conn)
        .optional()?;
    match existing {
        Some(id) => Ok(id),
        None => insert(
            conn,
            &NewUser {
                mobile: Some(mobile),
                ..Default::default()
            },
        ),
    }
}
