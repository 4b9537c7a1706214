//! The cached plio entry (SPEC 6.3) and the payloads inside it, built from content rows.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::schema::tenant::{image, item, plio, question, video};

use crate::db::models::content::image::Image;
use crate::db::models::content::item::{items_in_scope, Item};
use crate::db::models::content::plio::{Plio, Scope};
use crate::db::models::content::question::{find_question, Question};
use crate::db::models::content::video::Video;

/// A question as Plio serializes it (image expanded).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct QuestionPayload {
    pub id: i32,
    pub item: i32,
    pub text: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub options: Option<Value>,
    pub correct_answer: Option<Value>,
    pub survey: bool,
    pub image: Option<Image>,
    pub has_char_limit: bool,
    pub max_char_limit: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl QuestionPayload {
    /// Builds the payload from a row and its image.
    pub fn new(q: Question, image: Option<Image>) -> Self {
        Self {
            id: q.id,
            item: q.item_id,
            text: q.text,
            type_: q.type_,
            options: q.options,
            correct_answer: q.correct_answer,
            survey: q.survey,
            image,
            has_char_limit: q.has_char_limit,
            max_char_limit: q.max_char_limit,
            created_at: q.created_at,
            updated_at: q.updated_at,
        }
    }
}

/// An item with `details` (its question, or `{}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ItemPayload {
    pub id: i32,
    pub plio: i32,
    #[serde(rename = "type")]
    pub type_: String,
    pub time: f64,
    pub meta: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub details: Value,
}

/// The cached plio entry: Plio's plio payload without `created_by` (composed at read time
/// from the creator's user entry, so a user's change shows in every tenant at once).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct PlioEntry {
    pub id: i32,
    pub name: String,
    pub uuid: String,
    pub failsafe_url: String,
    pub status: String,
    pub is_public: bool,
    pub config: Option<Value>,
    pub created_by_id: i32,
    pub video: Value,
    pub items: Vec<ItemPayload>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PlioEntry {
    /// The cache key of a plio's entry in a tenant.
    pub fn key(tenant: &crate::tenant::Tenant, plio_id: i32) -> crate::cache::EntryKey {
        crate::cache::EntryKey::of::<Self>(tenant, i64::from(plio_id))
    }
}

impl crate::cache::Cacheable for PlioEntry {
    const KIND: crate::cache::Kind = crate::cache::Kind::Plio;
    const GLOBAL: bool = false;
}

/// The video part of a payload; Plio answers a plio without video with an empty-ish video.
pub fn video_value(v: Option<Video>) -> Value {
    match v {
        Some(v) => serde_json::to_value(v).unwrap_or(Value::Null),
        None => serde_json::json!({"id": null, "url": "", "title": null, "duration": null}),
    }
}

/// Loads the entry of a live plio: three queries (plio + video, items, questions + images).
pub fn load_entry(conn: &mut PgConnection, plio_id: i32) -> QueryResult<PlioEntry> {
    let (p, v): (Plio, Option<Video>) = plio::table
        .left_join(
            video::table.on(video::id
                .nullable()
                .eq(plio::video_id)
                .and(video::deleted.is_null())),
        )
        .filter(plio::id.eq(plio_id))
        .filter(plio::deleted.is_null())
        .select((Plio::as_select(), Option::<Video>::as_select()))
        .first(conn)?;
    let items: Vec<Item> = item::table
        .filter(item::plio_id.eq(plio_id))
        .filter(item::deleted.is_null())
        .order((item::time, item::id))
        .select(Item::as_select())
        .load(conn)?;
    let items = with_details(conn, items)?;
    Ok(PlioEntry {
        id: p.id,
        name: p.name,
        uuid: p.uuid,
        failsafe_url: p.failsafe_url,
        status: p.status,
        is_public: p.is_public,
        config: p.config,
        created_by_id: p.created_by_id,
        video: video_value(v),
        items,
        created_at: p.created_at,
        updated_at: p.updated_at,
    })
}

/// Items with their `details` (question and image): one query for all questions.
pub fn with_details(conn: &mut PgConnection, items: Vec<Item>) -> QueryResult<Vec<ItemPayload>> {
    let item_ids: Vec<i32> = items.iter().map(|i| i.id).collect();
    let questions = questions_of_items(conn, &item_ids)?;
    Ok(items
        .into_iter()
        .map(|i| {
            let details = questions
                .iter()
                .find(|q| q.item == i.id)
                .map(|q| serde_json::to_value(q).unwrap_or(Value::Null))
                .unwrap_or_else(|| serde_json::json!({}));
            ItemPayload {
                id: i.id,
                plio: i.plio_id,
                type_: i.type_,
                time: i.time,
                meta: i.meta,
                created_at: i.created_at,
                updated_at: i.updated_at,
                details,
            }
        })
        .collect())
}

/// Live questions of these items (with live images), by id.
pub fn questions_of_items(
    conn: &mut PgConnection,
    item_ids: &[i32],
) -> QueryResult<Vec<QuestionPayload>> {
    let rows: Vec<(Question, Option<Image>)> = question::table
        .left_join(
            image::table.on(image::id
                .nullable()
                .eq(question::image_id)
                .and(image::deleted.is_null())),
        )
        .filter(question::item_id.eq_any(item_ids))
        .filter(question::deleted.is_null())
        .order(question::id)
        .select((Question::as_select(), Option::<Image>::as_select()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(q, i)| QuestionPayload::new(q, i))
        .collect())
}

/// A question payload by id.
pub fn question_payload(conn: &mut PgConnection, id: i32) -> QueryResult<QuestionPayload> {
    let q = find_question(conn, id)?;
    questions_of_items(conn, &[q.item_id])?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or(diesel::result::Error::NotFound)
}

/// Live questions of the items of plios in scope, ordered by item time.
pub fn questions_in_scope(
    conn: &mut PgConnection,
    scope: Scope,
) -> QueryResult<Vec<QuestionPayload>> {
    let items = items_in_scope(conn, scope, None)?;
    let mut ordered: Vec<(f64, i32)> = items.iter().map(|i| (i.time, i.id)).collect();
    ordered.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let ids: Vec<i32> = ordered.iter().map(|(_, id)| *id).collect();
    let mut questions = questions_of_items(conn, &ids)?;
    questions.sort_by_key(|q| ids.iter().position(|i| *i == q.item).unwrap_or(usize::MAX));
    Ok(questions)
}
