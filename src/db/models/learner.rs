//! Learner data (tenant tables): sessions, answers, events; experiments; tags.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::db::schema::tenant::{
    event, experiment, experiment_plio, item, plio, session, session_answer, tag, video,
};

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

/// An experiment row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = experiment)]
pub struct Experiment {
    pub id: i32,
    pub name: String,
    pub description: String,
    #[serde(skip)]
    pub created_by_id: i32,
    pub is_test: bool,
    #[serde(rename = "type")]
    pub type_: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An experiment-plio row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = experiment_plio)]
pub struct ExperimentPlio {
    pub id: i32,
    #[serde(rename = "experiment")]
    pub experiment_id: i32,
    #[serde(rename = "plio")]
    pub plio_id: i32,
    pub split_percentage: f64,
}

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

// ---- sessions --------------------------------------------------------------------------

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

// ---- answers and events ----------------------------------------------------------------

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

/// Whether a live experiment runs on the plio (a live experiment-plio links them).
pub fn experiment_runs_on(
    conn: &mut PgConnection,
    experiment_id: i32,
    plio_id: i32,
) -> QueryResult<bool> {
    use diesel::dsl::exists;
    diesel::select(exists(
        experiment_plio::table
            .inner_join(experiment::table)
            .filter(experiment_plio::experiment_id.eq(experiment_id))
            .filter(experiment_plio::plio_id.eq(plio_id))
            .filter(experiment_plio::deleted.is_null())
            .filter(experiment::deleted.is_null()),
    ))
    .get_result(conn)
}

/// Soft-deletes an answer.
pub fn soft_delete_answer(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::update(session_answer::table.find(id))
        .set(session_answer::deleted.eq(Utc::now()))
        .execute(conn)
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

// ---- experiments and tags --------------------------------------------------------------

/// The user's live experiments.
pub fn own_experiments(conn: &mut PgConnection, user: i32) -> QueryResult<Vec<Experiment>> {
    experiment::table
        .filter(experiment::created_by_id.eq(user))
        .filter(experiment::deleted.is_null())
        .order(experiment::id)
        .select(Experiment::as_select())
        .load(conn)
}

/// A live experiment of the user.
pub fn find_own_experiment(conn: &mut PgConnection, id: i32, user: i32) -> QueryResult<Experiment> {
    experiment::table
        .find(id)
        .filter(experiment::created_by_id.eq(user))
        .filter(experiment::deleted.is_null())
        .select(Experiment::as_select())
        .first(conn)
}

/// A live experiment by id (any owner).
pub fn find_experiment(conn: &mut PgConnection, id: i32) -> QueryResult<Experiment> {
    experiment::table
        .find(id)
        .filter(experiment::deleted.is_null())
        .select(Experiment::as_select())
        .first(conn)
}

/// Experiment fields.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = experiment)]
pub struct ExperimentChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_test: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Inserts an experiment.
pub fn insert_experiment(
    conn: &mut PgConnection,
    ch: &ExperimentChanges,
    user: i32,
) -> QueryResult<Experiment> {
    diesel::insert_into(experiment::table)
        .values((
            experiment::name.eq(ch.name.clone().unwrap_or_default()),
            experiment::description.eq(ch.description.clone().unwrap_or_default()),
            experiment::is_test.eq(ch.is_test.unwrap_or(false)),
            experiment::created_by_id.eq(user),
        ))
        .returning(Experiment::as_returning())
        .get_result(conn)
}

/// Updates an experiment.
pub fn update_experiment(
    conn: &mut PgConnection,
    id: i32,
    ch: &ExperimentChanges,
) -> QueryResult<Experiment> {
    diesel::update(experiment::table.find(id))
        .set(ch)
        .returning(Experiment::as_returning())
        .get_result(conn)
}

/// Soft-deletes an experiment.
pub fn soft_delete_experiment(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::update(experiment::table.find(id))
        .set(experiment::deleted.eq(Some(Utc::now())))
        .execute(conn)
}

/// Live experiment-plios of the user's experiments.
pub fn own_experiment_plios(
    conn: &mut PgConnection,
    user: i32,
) -> QueryResult<Vec<ExperimentPlio>> {
    experiment_plio::table
        .inner_join(experiment::table)
        .filter(experiment::created_by_id.eq(user))
        .filter(experiment_plio::deleted.is_null())
        .order(experiment_plio::id)
        .select(ExperimentPlio::as_select())
        .load(conn)
}

/// A live experiment-plio of the user's experiments.
pub fn find_own_experiment_plio(
    conn: &mut PgConnection,
    id: i32,
    user: i32,
) -> QueryResult<ExperimentPlio> {
    experiment_plio::table
        .inner_join(experiment::table)
        .filter(experiment_plio::id.eq(id))
        .filter(experiment::created_by_id.eq(user))
        .filter(experiment_plio::deleted.is_null())
        .select(ExperimentPlio::as_select())
        .first(conn)
}

/// Inserts an experiment-plio.
pub fn insert_experiment_plio(
    conn: &mut PgConnection,
    experiment_id: i32,
    plio_id: i32,
    split: f64,
) -> QueryResult<ExperimentPlio> {
    diesel::insert_into(experiment_plio::table)
        .values((
            experiment_plio::experiment_id.eq(experiment_id),
            experiment_plio::plio_id.eq(plio_id),
            experiment_plio::split_percentage.eq(split),
        ))
        .returning(ExperimentPlio::as_returning())
        .get_result(conn)
}

/// Changes a split.
pub fn set_split(conn: &mut PgConnection, id: i32, split: f64) -> QueryResult<ExperimentPlio> {
    diesel::update(experiment_plio::table.find(id))
        .set((
            experiment_plio::split_percentage.eq(split),
            experiment_plio::updated_at.eq(Utc::now()),
        ))
        .returning(ExperimentPlio::as_returning())
        .get_result(conn)
}

/// Soft-deletes an experiment-plio.
pub fn soft_delete_experiment_plio(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::update(experiment_plio::table.find(id))
        .set(experiment_plio::deleted.eq(Some(Utc::now())))
        .execute(conn)
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
