//! Sessions (tenant table): a learner viewing a plio; a new session carries over the previous one.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::db::schema::tenant::{event, item, plio, session, session_answer, video};

use super::event::Event;

/// A session row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = session)]
pub struct Session {
    pub id: i32,
    #[serde(skip)]
    pub user_id: i32,
    #[serde(skip)]
    pub plio_id: i32,
    #[serde(skip)]
    pub experiment_id: Option<i32>,
    pub retention: String,
    pub watch_time: f64,
    pub has_video_played: bool,
    pub is_first: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A live session of `user`.
pub fn find_own_session(conn: &mut PgConnection, id: i32, user: i32) -> QueryResult<Session> {
    session::table
        .find(id)
        .filter(session::user_id.eq(user))
        .filter(session::deleted.is_null())
        .select(Session::as_select())
        .first(conn)
}

/// The user's live sessions (optionally of one plio), newest first.
pub fn own_sessions(
    conn: &mut PgConnection,
    user: i32,
    plio_id: Option<i32>,
) -> QueryResult<Vec<Session>> {
    let mut q = session::table
        .filter(session::user_id.eq(user))
        .filter(session::deleted.is_null())
        .select(Session::as_select())
        .order(session::id.desc())
        .into_boxed();
    if let Some(p) = plio_id {
        q = q.filter(session::plio_id.eq(p));
    }
    q.load(conn)
}

/// The newest live session of (user, plio) before `before` (all when `None`).
pub fn previous_session(
    conn: &mut PgConnection,
    user: i32,
    plio_id: i32,
    before: Option<i32>,
) -> QueryResult<Option<Session>> {
    let mut q = session::table
        .filter(session::user_id.eq(user))
        .filter(session::plio_id.eq(plio_id))
        .filter(session::deleted.is_null())
        .select(Session::as_select())
        .order(session::id.desc())
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(session::id.lt(b));
    }
    q.first(conn).optional()
}

/// What a new session may bring; absent values are carried over or defaulted.
#[derive(Debug, Default, Clone)]
pub struct NewSession {
    pub retention: Option<String>,
    pub watch_time: Option<f64>,
    pub has_video_played: Option<bool>,
    pub experiment_id: Option<Option<i32>>,
}

/// Creates a session: `is_first` is computed; a previous live session's retention, watch
/// time, video-played flag, experiment and answers carry over (Plio fails with a 500 when
/// the previous session had an experiment: bug 391); a first session gets one empty answer
/// per live item and a zeroed retention string with one entry per second of video, both
/// persisted (Plio forgets the retention: bug 392).
pub fn create_session(
    conn: &mut PgConnection,
    user: i32,
    plio_id: i32,
    new: &NewSession,
) -> QueryResult<Session> {
    let previous = previous_session(conn, user, plio_id, None)?;
    let (retention, watch_time, played, experiment) = match &previous {
        Some(p) => (
            new.retention.clone().unwrap_or_else(|| p.retention.clone()),
            new.watch_time.unwrap_or(p.watch_time),
            new.has_video_played.unwrap_or(p.has_video_played),
            new.experiment_id.unwrap_or(p.experiment_id),
        ),
        None => {
            let duration: Option<f64> = plio::table
                .inner_join(video::table)
                .filter(plio::id.eq(plio_id))
                .filter(video::deleted.is_null())
                .select(video::duration)
                .first::<Option<f64>>(conn)
                .optional()?
                .flatten();
            let seconds = duration.map_or(0, |d| d.clamp(0.0, 86_400.0) as usize);
            let zeros = vec!["0"; seconds].join(",");
            (
                new.retention.clone().unwrap_or(zeros),
                new.watch_time.unwrap_or(0.0),
                new.has_video_played.unwrap_or(false),
                new.experiment_id.flatten(),
            )
        }
    };
    let created: Session = diesel::insert_into(session::table)
        .values((
            session::user_id.eq(user),
            session::plio_id.eq(plio_id),
            session::experiment_id.eq(experiment),
            session::retention.eq(&retention),
            session::watch_time.eq(watch_time),
            session::has_video_played.eq(played),
            session::is_first.eq(previous.is_none()),
        ))
        .returning(Session::as_returning())
        .get_result(conn)?;
    match &previous {
        Some(p) => {
            let carried: Vec<(i32, Option<Value>)> = session_answer::table
                .filter(session_answer::session_id.eq(p.id))
                .filter(session_answer::deleted.is_null())
                .select((session_answer::item_id, session_answer::answer))
                .load(conn)?;
            let rows: Vec<_> = carried
                .into_iter()
                .map(|(i, a)| {
                    (
                        session_answer::session_id.eq(created.id),
                        session_answer::item_id.eq(i),
                        session_answer::answer.eq(a),
                    )
                })
                .collect();
            diesel::insert_into(session_answer::table)
                .values(&rows)
                .execute(conn)?;
        }
        None => {
            let items: Vec<i32> = item::table
                .filter(item::plio_id.eq(plio_id))
                .filter(item::deleted.is_null())
                .select(item::id)
                .load(conn)?;
            let rows: Vec<_> = items
                .into_iter()
                .map(|i| {
                    (
                        session_answer::session_id.eq(created.id),
                        session_answer::item_id.eq(i),
                    )
                })
                .collect();
            diesel::insert_into(session_answer::table)
                .values(&rows)
                .execute(conn)?;
        }
    }
    Ok(created)
}

/// Changes to a session.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = session)]
pub struct SessionChanges {
    pub retention: Option<String>,
    pub watch_time: Option<f64>,
    pub has_video_played: Option<bool>,
    pub experiment_id: Option<Option<i32>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Applies changes to a session.
pub fn update_session(
    conn: &mut PgConnection,
    id: i32,
    ch: &SessionChanges,
) -> QueryResult<Session> {
    diesel::update(session::table.find(id))
        .set(ch)
        .returning(Session::as_returning())
        .get_result(conn)
}

/// Soft-deletes a session with its answers and events.
pub fn soft_delete_session(conn: &mut PgConnection, id: i32) -> QueryResult<()> {
    let now = Some(Utc::now());
    diesel::update(session::table.find(id))
        .set(session::deleted.eq(now))
        .execute(conn)?;
    diesel::update(
        session_answer::table
            .filter(session_answer::session_id.eq(id))
            .filter(session_answer::deleted.is_null()),
    )
    .set((
        session_answer::deleted.eq(now),
        session_answer::deleted_by_cascade.eq(true),
    ))
    .execute(conn)?;
    diesel::update(
        event::table
            .filter(event::session_id.eq(id))
            .filter(event::deleted.is_null()),
    )
    .set((event::deleted.eq(now), event::deleted_by_cascade.eq(true)))
    .execute(conn)?;
    Ok(())
}

/// The resume point: the session's own latest live event, else that of the nearest earlier
/// live session (of the same learner and plio) that has one.
pub fn last_event(conn: &mut PgConnection, s: &Session) -> QueryResult<Option<Event>> {
    event::table
        .inner_join(session::table)
        .filter(session::user_id.eq(s.user_id))
        .filter(session::plio_id.eq(s.plio_id))
        .filter(session::id.le(s.id))
        .filter(session::deleted.is_null())
        .filter(event::deleted.is_null())
        .order((
            session::id.desc(),
            event::updated_at.desc(),
            event::id.desc(),
        ))
        .select(Event::as_select())
        .first(conn)
        .optional()
}
