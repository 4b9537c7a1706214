//! Player events (tenant table).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::db::schema::tenant::{event, session};

/// An event row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = event)]
pub struct Event {
    pub id: i32,
    #[serde(rename = "session")]
    pub session_id: i32,
    #[serde(rename = "type")]
    pub type_: String,
    pub player_time: f64,
    pub details: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Event types Plio records.
pub const EVENT_TYPES: &[&str] = &[
    "ready",
    "played",
    "paused",
    "enter_fullscreen",
    "exit_fullscreen",
    "option_selected",
    "item_opened",
    "question_skipped",
    "question_answered",
    "question_revised",
    "question_proceed",
    "video_seeking",
    "video_seeked",
    "watching",
];

/// Events of the user's live sessions (optionally one session), newest first.
pub fn own_events(
    conn: &mut PgConnection,
    user: i32,
    session_id: Option<i32>,
) -> QueryResult<Vec<Event>> {
    let mut q = event::table
        .inner_join(session::table)
        .filter(session::user_id.eq(user))
        .filter(session::deleted.is_null())
        .filter(event::deleted.is_null())
        .order((event::updated_at.desc(), event::id.desc()))
        .select(Event::as_select())
        .into_boxed();
    if let Some(s) = session_id {
        q = q.filter(event::session_id.eq(s));
    }
    q.load(conn)
}

/// A live event with its session's owner.
pub fn find_event(conn: &mut PgConnection, id: i32) -> QueryResult<(Event, i32)> {
    event::table
        .inner_join(session::table)
        .filter(event::id.eq(id))
        .filter(event::deleted.is_null())
        .filter(session::deleted.is_null())
        .select((Event::as_select(), session::user_id))
        .first(conn)
}

/// Inserts an event.
pub fn insert_event(
    conn: &mut PgConnection,
    session_id: i32,
    type_: &str,
    player_time: f64,
    details: Option<Value>,
) -> QueryResult<Event> {
    diesel::insert_into(event::table)
        .values((
            event::session_id.eq(session_id),
            event::type_.eq(type_),
            event::player_time.eq(player_time),
            event::details.eq(details),
        ))
        .returning(Event::as_returning())
        .get_result(conn)
}

/// Changes to an event (`None` leaves a field as it is; `details: Some(None)` clears it).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = event)]
pub struct EventChanges {
    #[diesel(column_name = type_)]
    pub type_: Option<String>,
    pub player_time: Option<f64>,
    pub details: Option<Option<Value>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Applies changes to an event.
pub fn update_event(conn: &mut PgConnection, id: i32, mut ch: EventChanges) -> QueryResult<Event> {
    ch.updated_at = Some(Utc::now());
    diesel::update(event::table.find(id))
        .set(&ch)
        .returning(Event::as_returning())
        .get_result(conn)
}

/// Soft-deletes an event.
pub fn soft_delete_event(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::update(event::table.find(id))
        .set(event::deleted.eq(Utc::now()))
        .execute(conn)
}
