//! Videos (tenant table): rows, changes, queries, and the plios that show a video.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::tenant::{plio, video};

/// A video row.
#[derive(
    Debug, Clone, Queryable, Selectable, Serialize, Deserialize, PartialEq, utoipa::ToSchema,
)]
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

/// Live plios showing this video.
pub fn plios_of_video(conn: &mut PgConnection, video_id: i32) -> QueryResult<Vec<i32>> {
    plio::table
        .filter(plio::video_id.eq(video_id))
        .select(plio::id)
        .load(conn)
}
