//! The cached user payload (SPEC 6.3): the user, their memberships, roles and organizations.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::user;

/// An organization of a user, with Plio's keys (`OrganizationSerializer` plus `role`) inside
/// the user payload. `api_key` is never cached: it is added only to an admin's own payload
/// when it is served to that admin (SPEC 4.2, 5.1).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
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

/// The user payload (Plio's `UserSerializer` fields plus organizations with roles). Never
/// carries the password hash or any organization's api_key. Cached as kind `user`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
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

impl UserPayload {
    /// The cache key of a user's entry (global: one per user, shared by every tenant).
    pub fn key(user_id: i32) -> crate::cache::EntryKey {
        crate::cache::EntryKey::global::<Self>(i64::from(user_id))
    }
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
