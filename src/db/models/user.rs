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

/// An organization of a user, with Plio's keys (`OrganizationSerializer` plus `role`) inside
/// the user payload. `api_key` is never cached: it is added only to an admin's own payload
/// when it is served to that admin (SPEC 4.2, 5.1).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UserOrganization {
    pub id: i32,
    pub name: String,
    pub shortcode: String,
    pub schema_name: String,
    pub config: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

impl UserPayload {
    /// Adds the api_key of every organization this user administers: only for the payload
    /// served to the user themselves.
    pub fn with_own_api_keys(mut self, conn: &mut PgConnection) -> QueryResult<Self> {
        use crate::db::models::membership::ADMIN_ROLES;
        use crate::db::schema::{organization, organization_user, role};
        // Roles read afresh, not from the (cached) payload.
        let keys: Vec<(i32, String)> = organization::table
            .inner_join(organization_user::table.inner_join(role::table))
            .filter(organization_user::user_id.eq(self.id))
            .filter(role::name.eq_any(ADMIN_ROLES))
            .filter(organization::deleted.is_null())
            .select((organization::id, organization::api_key))
            .load(conn)?;
        for org in &mut self.organizations {
            org.api_key = keys.iter().find(|k| k.0 == org.id).map(|k| k.1.clone());
        }
        Ok(self)
    }

    /// The creator as shown to people who may not see their contact details or memberships
    /// (learners, anonymous `play`): `{id, first_name, last_name, avatar_url}` (SPEC 4.2).
    pub fn public_view(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "avatar_url": self.avatar_url,
        })
    }
}

/// The user payload (Plio's `UserSerializer` fields plus organizations with roles). Never
/// carries the password hash or any organization's api_key. Cached as kind `user`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UserPayload {
    pub id: i32,
    pub last_login: Option<DateTime<Utc>>,
    pub is_superuser: bool,
    pub first_name: String,
    pub last_name: String,
    pub is_staff: bool,
    pub is_active: bool,
    pub date_joined: DateTime<Utc>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub avatar_url: Option<String>,
    pub config: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub organizations: Vec<UserOrganization>,
    pub status: String,
    pub unique_id: Option<String>,
    pub auth_org: Option<i32>,
}

impl crate::cache::Cacheable for UserPayload {
    const KIND: crate::cache::Kind = crate::cache::Kind::User;
    const GLOBAL: bool = true;
}

#[derive(Queryable)]
struct UserRow {
    id: i32,
    last_login: Option<DateTime<Utc>>,
    is_superuser: bool,
    first_name: String,
    last_name: String,
    is_staff: bool,
    is_active: bool,
    date_joined: DateTime<Utc>,
    email: Option<String>,
    mobile: Option<String>,
    avatar_url: Option<String>,
    config: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    status: String,
    unique_id: Option<String>,
    auth_org_id: Option<i32>,
}

/// Builds the payloads of live users, in the order of `ids` (missing ids are skipped).
/// Two queries whatever the number of users (no N+1).
pub fn load_payloads(conn: &mut PgConnection, ids: &[i32]) -> QueryResult<Vec<UserPayload>> {
    use crate::db::schema::{organization, organization_user, role};
    let rows: Vec<UserRow> = user::table
        .filter(user::id.eq_any(ids))
        .filter(user::deleted.is_null())
        .select((
            user::id,
            user::last_login,
            user::is_superuser,
            user::first_name,
            user::last_name,
            user::is_staff,
            user::is_active,
            user::date_joined,
            user::email,
            user::mobile,
            user::avatar_url,
            user::config,
            user::created_at,
            user::updated_at,
            user::status,
            user::unique_id,
            user::auth_org_id,
        ))
        .load(conn)?;
    type MembershipRow = (
        i32,
        i32,
        String,
        String,
        String,
        serde_json::Value,
        DateTime<Utc>,
        DateTime<Utc>,
        String,
    );
    let memberships: Vec<MembershipRow> = organization_user::table
        .inner_join(organization::table)
        .inner_join(role::table)
        .filter(organization_user::user_id.eq_any(ids))
        .filter(organization::deleted.is_null())
        .order((organization_user::user_id, organization::id))
        .select((
            organization_user::user_id,
            organization::id,
            organization::name,
            organization::shortcode,
            organization::schema_name,
            organization::config,
            organization::created_at,
            organization::updated_at,
            role::name,
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(r) = rows.iter().find(|r| r.id == *id) else {
            continue;
        };
        let organizations = memberships
            .iter()
            .filter(|m| m.0 == r.id)
            .map(|m| UserOrganization {
                id: m.1,
                name: m.2.clone(),
                shortcode: m.3.clone(),
                schema_name: m.4.clone(),
                config: (!m.5.is_null()).then(|| m.5.clone()),
                created_at: m.6,
                updated_at: m.7,
                role: m.8.clone(),
                api_key: None,
            })
            .collect();
        out.push(UserPayload {
            id: r.id,
            last_login: r.last_login,
            is_superuser: r.is_superuser,
            first_name: r.first_name.clone(),
            last_name: r.last_name.clone(),
            is_staff: r.is_staff,
            is_active: r.is_active,
            date_joined: r.date_joined,
            email: r.email.clone(),
            mobile: r.mobile.clone(),
            avatar_url: r.avatar_url.clone(),
            config: r.config.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
            organizations,
            status: r.status.clone(),
            unique_id: r.unique_id.clone(),
            auth_org: r.auth_org_id,
        });
    }
    Ok(out)
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
