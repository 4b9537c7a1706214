//! Questions of an item (tenant table): rows, changes, queries.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde_json::Value;

use crate::db::schema::tenant::question;

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

/// A live question row.
pub fn find_question(conn: &mut PgConnection, id: i32) -> QueryResult<Question> {
    question::table
        .find(id)
        .filter(question::deleted.is_null())
        .select(Question::as_select())
        .first(conn)
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
