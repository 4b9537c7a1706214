//! A plio with its items, questions, video and images, read and written as one (duplicate, copy).

use diesel::pg::PgConnection;
use diesel::prelude::*;

use crate::db::schema::tenant::{image, item, plio, question, video};

use super::image::Image;
use super::item::Item;
use super::plio::{new_uuid, Plio};
use super::question::Question;
use super::video::Video;

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
