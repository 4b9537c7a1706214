//! Plios (tenant table): rows, the access head, changes, soft delete.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Int4, Text};
use serde_json::Value;

use crate::db::schema::tenant::{item, plio, video};

use super::item::soft_delete_items;

/// A plio row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = plio)]
pub struct Plio {
    pub id: i32,
    pub video_id: Option<i32>,
    pub name: String,
    pub uuid: String,
    pub created_by_id: i32,
    pub failsafe_url: String,
    pub status: String,
    pub is_public: bool,
    pub config: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which plios a list shows: all (superusers), the caller's own, or public-or-own.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// Everything in the schema.
    All,
    /// Plios created by this user.
    Own(i32),
    /// Public plios and this user's.
    PublicOrOwn(i32),
}

/// What access decisions need about a plio, plus whether the caller belongs to the
/// workspace's organization: one indexed query.
#[derive(Debug, Clone, QueryableByName)]
pub struct PlioHead {
    #[diesel(sql_type = Int4)]
    pub id: i32,
    #[diesel(sql_type = Int4)]
    pub created_by_id: i32,
    #[diesel(sql_type = Bool)]
    pub is_public: bool,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Bool)]
    pub caller_is_member: bool,
}

/// Finds a live plio by uuid (`by_id` false) or id, with the caller's membership of `org`.
pub fn head(
    conn: &mut PgConnection,
    uuid: Option<&str>,
    id: Option<i32>,
    caller: i32,
    org: i32,
) -> QueryResult<Option<PlioHead>> {
    diesel::sql_query(
        "SELECT p.id, p.created_by_id, p.is_public, p.status::text AS status, \
         EXISTS (SELECT 1 FROM public.organization_user ou WHERE ou.user_id = $3 AND ou.organization_id = $4) AS caller_is_member \
         FROM plio p WHERE p.deleted IS NULL AND (p.uuid = $1 OR p.id = $2)",
    )
    .bind::<Text, _>(uuid.unwrap_or(""))
    .bind::<Int4, _>(id.unwrap_or(-1))
    .bind::<Int4, _>(caller)
    .bind::<Int4, _>(org)
    .get_result(conn)
    .optional()
}

/// A new plio uuid: 10 random lower-case letters not used in this schema.
pub fn new_uuid(conn: &mut PgConnection) -> QueryResult<String> {
    loop {
        let candidate = crate::secrets::random_string(10, crate::secrets::LOWERCASE);
        let taken: bool = diesel::select(diesel::dsl::exists(
            plio::table.filter(plio::uuid.eq(&candidate)),
        ))
        .get_result(conn)?;
        if !taken {
            return Ok(candidate);
        }
    }
}

/// Changes to a plio (absent = untouched; `Some(None)` clears a nullable column).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = plio)]
pub struct PlioChanges {
    pub name: Option<String>,
    pub video_id: Option<Option<i32>>,
    pub status: Option<String>,
    pub is_public: Option<bool>,
    pub failsafe_url: Option<String>,
    pub config: Option<Option<Value>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Whether `caller` may attach this video: it exists (live) and is theirs, unowned, or the
/// caller is a superuser.
pub fn video_usable(
    conn: &mut PgConnection,
    video_id: i32,
    caller: i32,
    superuser: bool,
) -> QueryResult<bool> {
    let owner: Option<Option<i32>> = video::table
        .find(video_id)
        .filter(video::deleted.is_null())
        .select(video::created_by_id)
        .first(conn)
        .optional()?;
    Ok(match owner {
        None => false,
        Some(_) if superuser => true,
        Some(o) => o.is_none() || o == Some(caller),
    })
}

/// Inserts a plio; returns its id.
pub fn insert_plio(conn: &mut PgConnection, ch: &PlioChanges, creator: i32) -> QueryResult<i32> {
    let uuid = new_uuid(conn)?;
    diesel::insert_into(plio::table)
        .values((
            plio::uuid.eq(uuid),
            plio::created_by_id.eq(creator),
            plio::name.eq(ch.name.clone().unwrap_or_default()),
            plio::video_id.eq(ch.video_id.flatten()),
            plio::status.eq(ch.status.clone().unwrap_or_else(|| "draft".into())),
            plio::is_public.eq(ch.is_public.unwrap_or(true)),
            plio::failsafe_url.eq(ch.failsafe_url.clone().unwrap_or_default()),
            plio::config.eq(ch.config.clone().flatten()),
        ))
        .returning(plio::id)
        .get_result(conn)
}

/// Replaces `config.settings` of a plio; returns the new config.
pub fn set_plio_settings(
    conn: &mut PgConnection,
    plio_id: i32,
    settings: Value,
) -> QueryResult<Value> {
    let current: Option<Value> = plio::table.find(plio_id).select(plio::config).first(conn)?;
    let mut map = match current {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    map.insert("settings".into(), settings);
    let config = Value::Object(map);
    diesel::update(plio::table.find(plio_id))
        .set((
            plio::config.eq(Some(&config)),
            plio::updated_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    Ok(config)
}

/// Applies changes to a plio.
pub fn update_plio(conn: &mut PgConnection, plio_id: i32, ch: &PlioChanges) -> QueryResult<usize> {
    diesel::update(plio::table.find(plio_id))
        .set(ch)
        .execute(conn)
}

/// Soft-deletes a plio with its items and their questions (`deleted_by_cascade` on those).
pub fn soft_delete_plio(conn: &mut PgConnection, plio_id: i32) -> QueryResult<()> {
    diesel::update(plio::table.find(plio_id))
        .set((
            plio::deleted.eq(Some(Utc::now())),
            plio::updated_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    let items: Vec<i32> = item::table
        .filter(item::plio_id.eq(plio_id))
        .filter(item::deleted.is_null())
        .select(item::id)
        .load(conn)?;
    soft_delete_items(conn, &items, true)
}
