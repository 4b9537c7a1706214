//! Question images (tenant table): rows, changes, queries, and the plios that show an image.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::tenant::{image, item, question};

/// An image row.
#[derive(
    Debug, Clone, Queryable, Selectable, Serialize, Deserialize, PartialEq, utoipa::ToSchema,
)]
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

/// Whether an image exists (live) in this schema.
pub fn image_exists(conn: &mut PgConnection, id: i32) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        image::table.find(id).filter(image::deleted.is_null()),
    ))
    .get_result(conn)
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
