//! Items of a plio (tenant table): rows, changes, queries.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::db::schema::tenant::{item, plio, question};

use super::plio::Scope;

/// An item row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = item)]
pub struct Item {
    pub id: i32,
    #[serde(rename = "plio")]
    pub plio_id: i32,
    #[serde(rename = "type")]
    pub type_: String,
    pub time: f64,
    pub meta: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Live items of the plios in scope (optionally one plio), ordered by plio and time.
pub fn items_in_scope(
    conn: &mut PgConnection,
    scope: Scope,
    only_plio: Option<i32>,
) -> QueryResult<Vec<Item>> {
    let mut q = item::table
        .inner_join(plio::table)
        .filter(item::deleted.is_null())
        .filter(plio::deleted.is_null())
        .select(Item::as_select())
        .order((item::plio_id, item::time, item::id))
        .into_boxed();
    q = match scope {
        Scope::All => q,
        Scope::Own(u) => q.filter(plio::created_by_id.eq(u)),
        Scope::PublicOrOwn(u) => q.filter(plio::is_public.or(plio::created_by_id.eq(u))),
    };
    if let Some(p) = only_plio {
        q = q.filter(item::plio_id.eq(p));
    }
    q.load(conn)
}

/// A live item.
pub fn find_item(conn: &mut PgConnection, id: i32) -> QueryResult<Item> {
    item::table
        .find(id)
        .filter(item::deleted.is_null())
        .select(Item::as_select())
        .first(conn)
}

/// Changes to an item.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = item)]
pub struct ItemChanges {
    pub plio_id: Option<i32>,
    pub type_: Option<String>,
    pub time: Option<f64>,
    pub meta: Option<Option<Value>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Inserts an item; returns it.
pub fn insert_item(conn: &mut PgConnection, plio_id: i32, ch: &ItemChanges) -> QueryResult<Item> {
    diesel::insert_into(item::table)
        .values((
            item::plio_id.eq(plio_id),
            item::type_.eq(ch.type_.clone().unwrap_or_else(|| "question".into())),
            item::time.eq(ch.time.unwrap_or(0.0)),
            item::meta.eq(ch.meta.clone().flatten()),
        ))
        .returning(Item::as_returning())
        .get_result(conn)
}

/// Applies changes to an item.
pub fn update_item(conn: &mut PgConnection, id: i32, ch: &ItemChanges) -> QueryResult<Item> {
    diesel::update(item::table.find(id))
        .set(ch)
        .returning(Item::as_returning())
        .get_result(conn)
}

/// Live items among `ids`: (item id, plio id).
pub fn live_items(conn: &mut PgConnection, ids: &[i32]) -> QueryResult<Vec<(i32, i32)>> {
    item::table
        .filter(item::id.eq_any(ids))
        .filter(item::deleted.is_null())
        .select((item::id, item::plio_id))
        .load(conn)
}

/// The plio of an item.
pub fn plio_of_item(conn: &mut PgConnection, item_id: i32) -> QueryResult<i32> {
    item::table.find(item_id).select(item::plio_id).first(conn)
}

/// Soft-deletes items and their questions.
pub fn soft_delete_items(
    conn: &mut PgConnection,
    item_ids: &[i32],
    by_cascade: bool,
) -> QueryResult<()> {
    diesel::update(
        item::table
            .filter(item::id.eq_any(item_ids))
            .filter(item::deleted.is_null()),
    )
    .set((
        item::deleted.eq(Some(Utc::now())),
        item::deleted_by_cascade.eq(by_cascade),
    ))
    .execute(conn)?;
    diesel::update(
        question::table
            .filter(question::item_id.eq_any(item_ids))
            .filter(question::deleted.is_null()),
    )
    .set((
        question::deleted.eq(Some(Utc::now())),
        question::deleted_by_cascade.eq(true),
    ))
    .execute(conn)?;
    Ok(())
}
