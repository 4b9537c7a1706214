//! Session answers (tenant table).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::db::schema::tenant::{item, session, session_answer};

/// A session answer as Plio lists it inside a session.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = session_answer)]
pub struct Answer {
    pub id: i32,
    pub session_id: i32,
    pub item_id: i32,
    pub answer: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted: Option<DateTime<Utc>>,
    pub deleted_by_cascade: bool,
}

/// Live answers of a session ordered by item time.
pub fn session_answers(conn: &mut PgConnection, session_id: i32) -> QueryResult<Vec<Answer>> {
    session_answer::table
        .inner_join(item::table)
        .filter(session_answer::session_id.eq(session_id))
        .filter(session_answer::deleted.is_null())
        .order((item::time, session_answer::id))
        .select(Answer::as_select())
        .load(conn)
}

/// A live answer with its session's owner.
pub fn find_answer(conn: &mut PgConnection, id: i32) -> QueryResult<(Answer, i32)> {
    session_answer::table
        .inner_join(session::table)
        .filter(session_answer::id.eq(id))
        .filter(session_answer::deleted.is_null())
        .filter(session::deleted.is_null())
        .select((Answer::as_select(), session::user_id))
        .first(conn)
}

/// Answers of the user's live sessions.
pub fn own_answers(conn: &mut PgConnection, user: i32) -> QueryResult<Vec<Answer>> {
    session_answer::table
        .inner_join(session::table)
        .filter(session::user_id.eq(user))
        .filter(session::deleted.is_null())
        .filter(session_answer::deleted.is_null())
        .order(session_answer::id)
        .select(Answer::as_select())
        .load(conn)
}

/// Inserts an answer.
pub fn insert_answer(
    conn: &mut PgConnection,
    session_id: i32,
    item_id: i32,
    answer: Option<Value>,
) -> QueryResult<Answer> {
    diesel::insert_into(session_answer::table)
        .values((
            session_answer::session_id.eq(session_id),
            session_answer::item_id.eq(item_id),
            session_answer::answer.eq(answer),
        ))
        .returning(Answer::as_returning())
        .get_result(conn)
}

/// Sets an answer.
pub fn set_answer(conn: &mut PgConnection, id: i32, answer: Option<Value>) -> QueryResult<Answer> {
    diesel::update(session_answer::table.find(id))
        .set((
            session_answer::answer.eq(answer),
            session_answer::updated_at.eq(Utc::now()),
        ))
        .returning(Answer::as_returning())
        .get_result(conn)
}

/// Soft-deletes an answer.
pub fn soft_delete_answer(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::update(session_answer::table.find(id))
        .set(session_answer::deleted.eq(Utc::now()))
        .execute(conn)
}
