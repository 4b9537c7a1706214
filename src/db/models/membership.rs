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
