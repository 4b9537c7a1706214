//! Tags (tenant table).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::tenant::tag;

/// A tag row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = tag)]
pub struct Tag {
    pub id: i32,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `slugify` as Django: lower-case ASCII letters, digits and '-', at most 40 characters.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if (c.is_whitespace() || c == '-') && !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out: String = out.trim_end_matches('-').chars().take(40).collect();
    if out.is_empty() {
        out.push_str("tag");
    }
    out
}

/// Inserts a tag with a slug unique in this workspace (`slug`, `slug-1`, `slug-2`…).
pub fn insert_tag(conn: &mut PgConnection, name: &str) -> QueryResult<Tag> {
    let base = slugify(name);
    let taken: Vec<String> = tag::table
        .filter(tag::slug.like(format!("{base}%")))
        .select(tag::slug)
        .load(conn)?;
    let mut slug = base.clone();
    let mut n = 0;
    while taken.contains(&slug) {
        n += 1;
        slug = format!("{base}-{n}");
    }
    diesel::insert_into(tag::table)
        .values((tag::name.eq(name), tag::slug.eq(&slug)))
        .returning(Tag::as_returning())
        .get_result(conn)
}

/// Live tags by id.
pub fn list_tags(conn: &mut PgConnection) -> QueryResult<Vec<Tag>> {
    tag::table
        .filter(tag::deleted.is_null())
        .order(tag::id)
        .select(Tag::as_select())
        .load(conn)
}

/// A live tag.
pub fn find_tag(conn: &mut PgConnection, id: i32) -> QueryResult<Tag> {
    tag::table
        .find(id)
        .filter(tag::deleted.is_null())
        .select(Tag::as_select())
        .first(conn)
}

/// Renames a tag (the slug stays: links keep working).
pub fn rename_tag(conn: &mut PgConnection, id: i32, name: &str) -> QueryResult<Tag> {
    diesel::update(tag::table.find(id))
        .set((tag::name.eq(name), tag::updated_at.eq(Utc::now())))
        .returning(Tag::as_returning())
        .get_result(conn)
}

/// Soft-deletes a tag.
pub fn soft_delete_tag(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::update(tag::table.find(id))
        .set(tag::deleted.eq(Some(Utc::now())))
        .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(slugify("Class 9 Science"), "class-9-science");
        assert_eq!(slugify("  Hindi -- grammar!! "), "hindi-grammar");
        assert_eq!(slugify("!!!"), "tag");
    }
}
