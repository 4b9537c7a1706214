//! `public.organization_user`: who belongs to which organization, with which role.

use diesel::prelude::*;

use crate::db::schema::{organization_user, role};

/// Role names that administer an organization.
pub const ADMIN_ROLES: [&str; 2] = ["super-admin", "org-admin"];

/// The caller's role name in an organization, if a member.
pub fn role_in(
    conn: &mut PgConnection,
    user_id: i32,
    organization_id: i32,
) -> QueryResult<Option<String>> {
    organization_user::table
        .inner_join(role::table)
        .filter(organization_user::user_id.eq(user_id))
        .filter(organization_user::organization_id.eq(organization_id))
        .select(role::name)
        .first(conn)
        .optional()
}

/// Whether the user belongs to the organization.
pub fn is_member(conn: &mut PgConnection, user_id: i32, organization_id: i32) -> QueryResult<bool> {
    Ok(role_in(conn, user_id, organization_id)?.is_some())
}

/// Whether the user administers the organization (org-admin or super-admin).
pub fn is_admin(conn: &mut PgConnection, user_id: i32, organization_id: i32) -> QueryResult<bool> {
    Ok(role_in(conn, user_id, organization_id)?.is_some_and(|r| ADMIN_ROLES.contains(&r.as_str())))
}

/// A membership row with names.
#[derive(Debug, Clone, Queryable, serde::Serialize, utoipa::ToSchema)]
pub struct Membership {
    pub id: i32,
    pub user: i32,
    pub organization: i32,
    pub role: i32,
    pub is_owner: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

type MembershipColumns = (
    organization_user::id,
    organization_user::user_id,
    organization_user::organization_id,
    organization_user::role_id,
    organization_user::is_owner,
    organization_user::created_at,
    organization_user::updated_at,
);

const COLUMNS: MembershipColumns = (
    organization_user::id,
    organization_user::user_id,
    organization_user::organization_id,
    organization_user::role_id,
    organization_user::is_owner,
    organization_user::created_at,
    organization_user::updated_at,
);

/// Memberships of the given organizations (all when `None`), by id.
pub fn list(
    conn: &mut PgConnection,
    organizations: Option<&[i32]>,
) -> QueryResult<Vec<Membership>> {
    let mut q = organization_user::table
        .select(COLUMNS)
        .order(organization_user::id)
        .into_boxed();
    if let Some(orgs) = organizations {
        q = q.filter(organization_user::organization_id.eq_any(orgs.to_vec()));
    }
    q.load(conn)
}

/// One membership.
pub fn find(conn: &mut PgConnection, id: i32) -> QueryResult<Membership> {
    organization_user::table
        .find(id)
        .select(COLUMNS)
        .first(conn)
}

/// Organizations a user administers (role org-admin or super-admin).
pub fn administered_by(conn: &mut PgConnection, user_id: i32) -> QueryResult<Vec<i32>> {
    organization_user::table
        .inner_join(role::table)
        .filter(organization_user::user_id.eq(user_id))
        .filter(role::name.eq_any(ADMIN_ROLES))
        .select(organization_user::organization_id)
        .load(conn)
}

/// Adds a membership; returns it.
pub fn insert(
    conn: &mut PgConnection,
    user_id: i32,
    organization_id: i32,
    role_id: i32,
    is_owner: bool,
) -> QueryResult<Membership> {
    diesel::insert_into(organization_user::table)
        .values((
            organization_user::user_id.eq(user_id),
            organization_user::organization_id.eq(organization_id),
            organization_user::role_id.eq(role_id),
            organization_user::is_owner.eq(is_owner),
        ))
        .returning(COLUMNS)
        .get_result(conn)
}

/// Changes a membership's role (and its owner flag when given).
pub fn set_role(
    conn: &mut PgConnection,
    id: i32,
    role_id: i32,
    is_owner: Option<bool>,
) -> QueryResult<Membership> {
    diesel::update(organization_user::table.find(id))
        .set((
            organization_user::role_id.eq(role_id),
            is_owner.map(|o| organization_user::is_owner.eq(o)),
            organization_user::updated_at.eq(chrono::Utc::now()),
        ))
        .returning(COLUMNS)
        .get_result(conn)
}

/// Removes a membership (hard delete, as Plio).
pub fn delete(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::delete(organization_user::table.find(id)).execute(conn)
}

/// The user fields shown inside a membership row (Plio's `LightweightUserSerializer`).
#[derive(Debug, Clone, Queryable, serde::Serialize, utoipa::ToSchema)]
pub struct UserDetails {
    pub id: i32,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub avatar_url: Option<String>,
    pub status: String,
}

/// A membership as the API shows it: Plio's keys, with `user_details`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MembershipWithUser {
    #[serde(flatten)]
    pub membership: Membership,
    pub user_details: Option<UserDetails>,
}

/// Adds each member's `user_details` (one query for all).
pub fn with_users(
    conn: &mut PgConnection,
    rows: Vec<Membership>,
) -> QueryResult<Vec<MembershipWithUser>> {
    use crate::db::schema::user;
    let ids: Vec<i32> = rows.iter().map(|m| m.user).collect();
    let users: Vec<UserDetails> = user::table
        .filter(user::id.eq_any(ids))
        .select((
            user::id,
            user::first_name,
            user::last_name,
            user::email,
            user::mobile,
            user::avatar_url,
            user::status,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|m| MembershipWithUser {
            user_details: users.iter().find(|u| u.id == m.user).cloned(),
            membership: m,
        })
        .collect())
}
