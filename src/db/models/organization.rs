//! `public.organization` and `public.organizations_domain`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{organization, organizations_domain};

/// An organization (tenant) row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = organization)]
pub struct Organization {
    pub id: i32,
    pub name: String,
    pub shortcode: String,
    pub schema_name: String,
    pub api_key: String,
    pub config: serde_json::Value,
    pub schema_version: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted: Option<DateTime<Utc>>,
}

/// A new organization row.
#[derive(Debug, Insertable)]
#[diesel(table_name = organization)]
pub struct NewOrganization<'a> {
    pub name: &'a str,
    pub shortcode: &'a str,
    pub schema_name: &'a str,
    pub api_key: &'a str,
    pub config: serde_json::Value,
}

/// Changes to an organization.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = organization)]
pub struct OrganizationChanges {
    pub name: Option<String>,
    pub config: Option<serde_json::Value>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A domain row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = organizations_domain)]
pub struct Domain {
    #[serde(skip)]
    pub tenant_id: i32,
    pub domain: String,
    pub is_primary: bool,
}

/// Live (not soft-deleted) organizations, by id.
pub fn list_live(conn: &mut PgConnection) -> QueryResult<Vec<Organization>> {
    organization::table
        .filter(organization::deleted.is_null())
        .order(organization::id)
        .select(Organization::as_select())
        .load(conn)
}

/// All organizations including soft-deleted ones.
pub fn list_all(conn: &mut PgConnection) -> QueryResult<Vec<Organization>> {
    organization::table
        .order(organization::id)
        .select(Organization::as_select())
        .load(conn)
}

/// One live organization.
pub fn find_live(conn: &mut PgConnection, id: i32) -> QueryResult<Organization> {
    organization::table
        .filter(organization::id.eq(id))
        .filter(organization::deleted.is_null())
        .select(Organization::as_select())
        .first(conn)
}

/// One organization by shortcode, deleted or not.
pub fn find_by_shortcode(conn: &mut PgConnection, shortcode: &str) -> QueryResult<Organization> {
    organization::table
        .filter(organization::shortcode.eq(shortcode))
        .select(Organization::as_select())
        .first(conn)
}

/// Domains of the given organizations.
pub fn domains_of(conn: &mut PgConnection, ids: &[i32]) -> QueryResult<Vec<Domain>> {
    organizations_domain::table
        .filter(organizations_domain::tenant_id.eq_any(ids))
        .order((
            organizations_domain::is_primary.desc(),
            organizations_domain::id,
        ))
        .select(Domain::as_select())
        .load(conn)
}

/// As [`set_schema_version`], unless the record is ahead of `latest` (this binary's newest
/// tenant migration): a newer release migrated the schema during a rolling deploy, and an older
/// `plio migrate` must not roll its record back.
pub fn record_schema_version(
    conn: &mut PgConnection,
    id: i32,
    version: Option<&str>,
    latest: &str,
) -> QueryResult<usize> {
    diesel::update(
        organization::table.find(id).filter(
            organization::schema_version
                .is_null()
                .or(organization::schema_version.le(latest)),
        ),
    )
    .set(organization::schema_version.eq(version))
    .execute(conn)
}

/// Records `latest` for organizations whose schemas hold every tenant migration of this
/// binary, in one statement. As in [`record_schema_version`], a record ahead of `latest` is
/// kept; a record already at `latest` is not rewritten.
pub fn record_current(conn: &mut PgConnection, ids: &[i32], latest: &str) -> QueryResult<usize> {
    diesel::update(
        organization::table
            .filter(organization::id.eq_any(ids))
            .filter(
                organization::schema_version
                    .is_null()
                    .or(organization::schema_version.lt(latest)),
            ),
    )
    .set(organization::schema_version.eq(latest))
    .execute(conn)
}

/// Records the newest tenant migration applied to an organization's schema.
pub fn set_schema_version(
    conn: &mut PgConnection,
    id: i32,
    version: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(organization::table.find(id))
        .set(organization::schema_version.eq(version))
        .execute(conn)
}
