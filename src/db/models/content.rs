//! Plio content (tenant tables): videos, images, plios, items, questions; the cached plio
//! entry and the queries that find which plio entries a write makes stale.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Int4, Text};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::schema::tenant::{image, item, plio, question, video};

// ---- rows ------------------------------------------------------------------------------

/// A video row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize, PartialEq)]
#[diesel(table_name = video)]
pub struct Video {
    pub id: i32,
    pub url: String,
    pub title: Option<String>,
    pub duration: Option<f64>,
    #[serde(skip)]
    pub created_by_id: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An image row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize, PartialEq)]
#[diesel(table_name = image)]
pub struct Image {
    pub id: i32,
    pub url: String,
    pub alt_text: String,
    #[serde(skip)]
    pub created_by_id: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

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

/// An item row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
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

/// A question row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = question)]
pub struct Question {
    pub id: i32,
    pub item_id: i32,
    pub image_id: Option<i32>,
    pub type_: String,
    pub text: String,
    pub options: Option<Value>,
    pub correct_answer: Option<Value>,
    pub survey: bool,
    pub has_char_limit: bool,
    pub max_char_limit: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

// ---- payloads --------------------------------------------------------------------------

/// A question as Plio serializes it (image expanded).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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

/// A live question row.
pub fn find_question(conn: &mut PgConnection, id: i32) -> QueryResult<Question> {
    question::table
        .find(id)
        .filter(question::deleted.is_null())
        .select(Question::as_select())
        .first(conn)
}

/// A question payload by id.
pub fn question_payload(conn: &mut PgConnection, id: i32) -> QueryResult<QuestionPayload> {
    let q = find_question(conn, id)?;
    questions_of_items(conn, &[q.item_id])?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or(diesel::result::Error::NotFound)
}

/// A question's full state (for insert, and for update after merging).
#[derive(Debug, Clone, AsChangeset, Insertable)]
#[diesel(table_name = question)]
#[diesel(treat_none_as_null = true)]
pub struct QuestionState {
    pub item_id: i32,
    pub image_id: Option<i32>,
    pub type_: String,
    pub text: String,
    pub options: Option<Value>,
    pub correct_answer: Option<Value>,
    pub survey: bool,
    pub has_char_limit: bool,
    pub max_char_limit: Option<f64>,
}

impl From<Question> for QuestionState {
    fn from(q: Question) -> Self {
        Self {
            item_id: q.item_id,
            image_id: q.image_id,
            type_: q.type_,
            text: q.text,
            options: q.options,
            correct_answer: q.correct_answer,
            survey: q.survey,
            has_char_limit: q.has_char_limit,
            max_char_limit: q.max_char_limit,
        }
    }
}

/// Inserts a question; returns its id.
pub fn insert_question(conn: &mut PgConnection, q: &QuestionState) -> QueryResult<i32> {
    diesel::insert_into(question::table)
        .values(q)
        .returning(question::id)
        .get_result(conn)
}

/// Replaces a question's state.
pub fn update_question(conn: &mut PgConnection, id: i32, q: &QuestionState) -> QueryResult<usize> {
    diesel::update(question::table.find(id))
        .set((q, question::updated_at.eq(Utc::now())))
        .execute(conn)
}

/// Soft-deletes a question.
pub fn soft_delete_question(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::update(question::table.find(id))
        .set(question::deleted.eq(Some(Utc::now())))
        .execute(conn)
}

/// Whether an image exists (live) in this schema.
pub fn image_exists(conn: &mut PgConnection, id: i32) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        image::table.find(id).filter(image::deleted.is_null()),
    ))
    .get_result(conn)
}

// ---- access ----------------------------------------------------------------------------

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

// ---- what a write makes stale ----------------------------------------------------------

/// Live plios showing this video.
pub fn plios_of_video(conn: &mut PgConnection, video_id: i32) -> QueryResult<Vec<i32>> {
    plio::table
        .filter(plio::video_id.eq(video_id))
        .select(plio::id)
        .load(conn)
}

/// Plios whose questions show this image.
pub fn plios_of_image(conn: &mut PgConnection, image_id: i32) -> QueryResult<Vec<i32>> {
    question::table
        .inner_join(item::table)
        .filter(question::image_id.eq(image_id))
        .select(item::plio_id)
        .distinct()
        .load(conn)
}

/// The plio of an item.
pub fn plio_of_item(conn: &mut PgConnection, item_id: i32) -> QueryResult<i32> {
    item::table.find(item_id).select(item::plio_id).first(conn)
}

// ---- soft delete -----------------------------------------------------------------------

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

// ---- cloning (duplicate / copy) --------------------------------------------------------

/// An item with its question (and that question's image), as read for cloning.
pub type ItemGraph = (Item, Option<(Question, Option<Image>)>);

/// A plio with everything it shows, detached from ids (to be re-inserted anywhere).
#[derive(Debug, Clone)]
pub struct PlioGraph {
    pub plio: Plio,
    pub video: Option<Video>,
    pub items: Vec<ItemGraph>,
}

/// Reads a live plio's graph.
pub fn read_graph(conn: &mut PgConnection, plio_id: i32) -> QueryResult<PlioGraph> {
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
    let ids: Vec<i32> = items.iter().map(|i| i.id).collect();
    let questions: Vec<(Question, Option<Image>)> = question::table
        .left_join(
            image::table.on(image::id
                .nullable()
                .eq(question::image_id)
                .and(image::deleted.is_null())),
        )
        .filter(question::item_id.eq_any(&ids))
        .filter(question::deleted.is_null())
        .order(question::id)
        .select((Question::as_select(), Option::<Image>::as_select()))
        .load(conn)?;
    let items = items
        .into_iter()
        .map(|i| {
            let q = questions.iter().find(|(q, _)| q.item_id == i.id).cloned();
            (i, q)
        })
        .collect();
    Ok(PlioGraph {
        plio: p,
        video: v,
        items,
    })
}

/// Inserts a graph as a new draft plio (new uuid, new video/image/item/question rows) created
/// by `creator`, in the current scope's schema; returns the new plio id.
pub fn insert_graph(conn: &mut PgConnection, g: &PlioGraph, creator: i32) -> QueryResult<i32> {
    let video_id: Option<i32> = match &g.video {
        Some(v) => Some(
            diesel::insert_into(video::table)
                .values((
                    video::url.eq(&v.url),
                    video::title.eq(&v.title),
                    video::duration.eq(v.duration),
                    video::created_by_id.eq(Some(creator)),
                ))
                .returning(video::id)
                .get_result(conn)?,
        ),
        None => None,
    };
    let uuid = new_uuid(conn)?;
    let plio_id: i32 = diesel::insert_into(plio::table)
        .values((
            plio::video_id.eq(video_id),
            plio::name.eq(&g.plio.name),
            plio::uuid.eq(&uuid),
            plio::created_by_id.eq(creator),
            plio::failsafe_url.eq(&g.plio.failsafe_url),
            plio::status.eq("draft"),
            plio::is_public.eq(g.plio.is_public),
            plio::config.eq(&g.plio.config),
        ))
        .returning(plio::id)
        .get_result(conn)?;
    for (it, q) in &g.items {
        let item_id: i32 = diesel::insert_into(item::table)
            .values((
                item::plio_id.eq(plio_id),
                item::type_.eq(&it.type_),
                item::time.eq(it.time),
                item::meta.eq(&it.meta),
            ))
            .returning(item::id)
            .get_result(conn)?;
        if let Some((q, img)) = q {
            let image_id: Option<i32> = match img {
                Some(img) => Some(
                    diesel::insert_into(image::table)
                        .values((
                            image::url.eq(&img.url),
                            image::alt_text.eq(&img.alt_text),
                            image::created_by_id.eq(Some(creator)),
                        ))
                        .returning(image::id)
                        .get_result(conn)?,
                ),
                None => None,
            };
            diesel::insert_into(question::table)
                .values((
                    question::item_id.eq(item_id),
                    question::image_id.eq(image_id),
                    question::type_.eq(&q.type_),
                    question::text.eq(&q.text),
                    question::options.eq(&q.options),
                    question::correct_answer.eq(&q.correct_answer),
                    question::survey.eq(q.survey),
                    question::has_char_limit.eq(q.has_char_limit),
                    question::max_char_limit.eq(q.max_char_limit),
                ))
                .execute(conn)?;
        }
    }
    Ok(plio_id)
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

// ---- videos and images -----------------------------------------------------------------

/// A live video.
pub fn find_video(conn: &mut PgConnection, id: i32) -> QueryResult<Video> {
    video::table
        .find(id)
        .filter(video::deleted.is_null())
        .select(Video::as_select())
        .first(conn)
}

/// Live videos created by `owner` (all when `None`), by id.
pub fn list_videos(conn: &mut PgConnection, owner: Option<i32>) -> QueryResult<Vec<Video>> {
    let mut q = video::table
        .filter(video::deleted.is_null())
        .select(Video::as_select())
        .order(video::id)
        .into_boxed();
    if let Some(o) = owner {
        q = q.filter(video::created_by_id.eq(o));
    }
    q.load(conn)
}

/// Changes to a video.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = video)]
pub struct VideoChanges {
    pub url: Option<String>,
    pub title: Option<Option<String>>,
    pub duration: Option<Option<f64>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Inserts a video.
pub fn insert_video(
    conn: &mut PgConnection,
    ch: &VideoChanges,
    creator: i32,
) -> QueryResult<Video> {
    diesel::insert_into(video::table)
        .values((
            video::url.eq(ch.url.clone().unwrap_or_default()),
            video::title.eq(ch.title.clone().flatten()),
            video::duration.eq(ch.duration.flatten()),
            video::created_by_id.eq(Some(creator)),
        ))
        .returning(Video::as_returning())
        .get_result(conn)
}

/// Applies changes to a video.
pub fn update_video(conn: &mut PgConnection, id: i32, ch: &VideoChanges) -> QueryResult<Video> {
    diesel::update(video::table.find(id))
        .set(ch)
        .returning(Video::as_returning())
        .get_result(conn)
}

/// Soft-deletes a video.
pub fn soft_delete_video(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::update(video::table.find(id))
        .set(video::deleted.eq(Some(Utc::now())))
        .execute(conn)
}

/// A live image.
pub fn find_image(conn: &mut PgConnection, id: i32) -> QueryResult<Image> {
    image::table
        .find(id)
        .filter(image::deleted.is_null())
        .select(Image::as_select())
        .first(conn)
}

/// Live images created by `owner` (all when `None`), by id.
pub fn list_images(conn: &mut PgConnection, owner: Option<i32>) -> QueryResult<Vec<Image>> {
    let mut q = image::table
        .filter(image::deleted.is_null())
        .select(Image::as_select())
        .order(image::id)
        .into_boxed();
    if let Some(o) = owner {
        q = q.filter(image::created_by_id.eq(o));
    }
    q.load(conn)
}

/// Inserts an image row.
pub fn insert_image(
    conn: &mut PgConnection,
    url: &str,
    alt_text: &str,
    creator: i32,
) -> QueryResult<Image> {
    diesel::insert_into(image::table)
        .values((
            image::url.eq(url),
            image::alt_text.eq(alt_text),
            image::created_by_id.eq(Some(creator)),
        ))
        .returning(Image::as_returning())
        .get_result(conn)
}

/// Changes an image's alt text.
pub fn update_image_alt(conn: &mut PgConnection, id: i32, alt_text: &str) -> QueryResult<Image> {
    diesel::update(image::table.find(id))
        .set((
            image::alt_text.eq(alt_text),
            image::updated_at.eq(Utc::now()),
        ))
        .returning(Image::as_returning())
        .get_result(conn)
}

/// Soft-deletes an image.
pub fn soft_delete_image(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::update(image::table.find(id))
        .set(image::deleted.eq(Some(Utc::now())))
        .execute(conn)
}
