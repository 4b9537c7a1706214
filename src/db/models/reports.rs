//! Plio metrics and the data download, computed in SQL over live rows only (Plio counts
//! soft-deleted sessions, answers and events too).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Int4, Jsonb, Nullable, Text, Timestamptz};
use serde_json::Value;

/// The latest live session of each viewer of plio `$1`.
const LATEST: &str = "latest AS (
    SELECT DISTINCT ON (s.user_id) s.id, s.user_id, s.watch_time,
           string_to_array(NULLIF(s.retention, ''), ',') AS r
    FROM session s WHERE s.plio_id = $1 AND s.deleted IS NULL
    ORDER BY s.user_id, s.id DESC)";

/// Viewer-level aggregates.
#[derive(Debug, QueryableByName)]
pub struct ViewerStats {
    #[diesel(sql_type = BigInt)]
    pub unique_viewers: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub average_watch_time: Option<f64>,
    #[diesel(sql_type = BigInt)]
    pub valid_retention: i64,
    #[diesel(sql_type = BigInt)]
    pub retained_one_minute: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub duration: Option<f64>,
}

/// Question counts of the plio.
#[derive(Debug, QueryableByName)]
pub struct QuestionStats {
    #[diesel(sql_type = BigInt)]
    pub questions: i64,
    #[diesel(sql_type = BigInt)]
    pub non_survey: i64,
    #[diesel(sql_type = Bool)]
    pub has_survey: bool,
}

/// Answer aggregates over the viewers' latest sessions (non-survey questions).
#[derive(Debug, QueryableByName)]
pub struct AnswerStats {
    #[diesel(sql_type = Nullable<Double>)]
    pub average_answered: Option<f64>,
    #[diesel(sql_type = BigInt)]
    pub completed: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub accuracy: Option<f64>,
}

/// Viewer statistics of a plio.
pub fn viewer_stats(conn: &mut PgConnection, plio_id: i32) -> QueryResult<ViewerStats> {
    diesel::sql_query(format!(
        "WITH {LATEST},
         d AS (SELECT v.duration FROM plio p JOIN video v ON v.id = p.video_id AND v.deleted IS NULL WHERE p.id = $1),
         judged AS (
            SELECT l.*, (l.r IS NOT NULL AND cardinality(l.r) = (SELECT floor(duration)::int FROM d)
                         AND NOT ('NaN' = ANY (l.r))) AS valid
            FROM latest l)
         SELECT COUNT(*) AS unique_viewers,
                AVG(watch_time) AS average_watch_time,
                COUNT(*) FILTER (WHERE valid) AS valid_retention,
                COUNT(*) FILTER (WHERE valid AND EXISTS (SELECT 1 FROM unnest(r[60:]) x WHERE x::float8 <> 0)) AS retained_one_minute,
                (SELECT duration FROM d) AS duration
         FROM judged"
    ))
    .bind::<Int4, _>(plio_id)
    .get_result(conn)
}

/// Question counts of a plio (live items and questions).
pub fn question_stats(conn: &mut PgConnection, plio_id: i32) -> QueryResult<QuestionStats> {
    diesel::sql_query(
        "SELECT COUNT(q.id) AS questions,
                COUNT(q.id) FILTER (WHERE NOT q.survey) AS non_survey,
                COALESCE(bool_or(q.survey), false) AS has_survey
         FROM item i JOIN question q ON q.item_id = i.id AND q.deleted IS NULL
         WHERE i.plio_id = $1 AND i.deleted IS NULL",
    )
    .bind::<Int4, _>(plio_id)
    .get_result(conn)
}

/// Answer statistics: mean answered, how many answered everything (`$2` questions), mean
/// per-viewer accuracy among viewers who answered something.
pub fn answer_stats(
    conn: &mut PgConnection,
    plio_id: i32,
    non_survey: i64,
) -> QueryResult<AnswerStats> {
    diesel::sql_query(format!(
        "WITH {LATEST},
         per_user AS (
            SELECT l.user_id,
                   COUNT(a.id) FILTER (WHERE a.answer IS NOT NULL) AS answered,
                   COUNT(a.id) FILTER (WHERE a.answer IS NOT NULL
                                        AND (a.qtype = 'subjective' OR a.answer = a.correct_answer)) AS correct
            FROM latest l
            LEFT JOIN (
                SELECT sa.id, sa.session_id, sa.answer, q.type AS qtype, q.correct_answer
                FROM session_answer sa
                JOIN item i ON i.id = sa.item_id AND i.deleted IS NULL
                JOIN question q ON q.item_id = i.id AND q.deleted IS NULL AND NOT q.survey
                WHERE sa.deleted IS NULL) a ON a.session_id = l.id
            GROUP BY l.user_id)
         SELECT AVG(answered)::float8 AS average_answered,
                COUNT(*) FILTER (WHERE answered = $2) AS completed,
                AVG(correct::float8 / answered) FILTER (WHERE answered > 0) AS accuracy
         FROM per_user"
    ))
    .bind::<Int4, _>(plio_id)
    .bind::<BigInt, _>(non_survey)
    .get_result(conn)
}

// ---- the download ----------------------------------------------------------------------

/// A question of the plio, by item time.
#[derive(Debug, QueryableByName)]
pub struct QuestionRow {
    #[diesel(sql_type = Int4)]
    pub item_id: i32,
    #[diesel(sql_type = Text)]
    pub item_type: String,
    #[diesel(sql_type = Double)]
    pub item_time: f64,
    #[diesel(sql_type = Nullable<Text>)]
    pub question_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub question_text: Option<String>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub options: Option<Value>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub correct_answer: Option<Value>,
    #[diesel(sql_type = Bool)]
    pub survey: bool,
}

/// Live items with their questions.
pub fn questions(conn: &mut PgConnection, plio_id: i32) -> QueryResult<Vec<QuestionRow>> {
    diesel::sql_query(
        "SELECT i.id AS item_id, i.type::text AS item_type, i.time AS item_time,
                q.type::text AS question_type, q.text AS question_text, q.options, q.correct_answer,
                COALESCE(q.survey, false) AS survey
         FROM item i LEFT JOIN question q ON q.item_id = i.id AND q.deleted IS NULL
         WHERE i.plio_id = $1 AND i.deleted IS NULL ORDER BY i.time, i.id",
    )
    .bind::<Int4, _>(plio_id)
    .load(conn)
}

/// Who a row belongs to.
#[derive(Debug, Clone, QueryableByName)]
pub struct Person {
    #[diesel(sql_type = Int4)]
    pub user_id: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub identity: Option<String>,
    #[diesel(sql_type = Bool)]
    pub via_sso: bool,
}

/// A live session with its learner.
#[derive(Debug, QueryableByName)]
pub struct SessionRow {
    #[diesel(sql_type = Int4)]
    pub session_id: i32,
    #[diesel(sql_type = Double)]
    pub watch_time: f64,
    #[diesel(embed)]
    pub person: Person,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = Bool)]
    pub is_latest: bool,
}

const PERSON: &str = "u.id AS user_id, COALESCE(u.email, u.mobile, u.unique_id)::text AS identity,
                      (u.unique_id IS NOT NULL AND u.auth_org_id IS NOT NULL) AS via_sso";

/// Live sessions of the plio, by id.
pub fn sessions(conn: &mut PgConnection, plio_id: i32) -> QueryResult<Vec<SessionRow>> {
    diesel::sql_query(format!(
        "SELECT s.id AS session_id, s.watch_time, {PERSON}, s.created_at, s.updated_at,
                s.id = (SELECT MAX(s2.id) FROM session s2 WHERE s2.plio_id = s.plio_id
                        AND s2.user_id = s.user_id AND s2.deleted IS NULL) AS is_latest
         FROM session s JOIN public.\"user\" u ON u.id = s.user_id
         WHERE s.plio_id = $1 AND s.deleted IS NULL ORDER BY s.id"
    ))
    .bind::<Int4, _>(plio_id)
    .load(conn)
}

/// A live answer of a live session.
#[derive(Debug, QueryableByName)]
pub struct AnswerRow {
    #[diesel(sql_type = Int4)]
    pub session_id: i32,
    #[diesel(embed)]
    pub person: Person,
    #[diesel(sql_type = Int4)]
    pub item_id: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub question_type: Option<String>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub correct_answer: Option<Value>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub answer: Option<Value>,
    #[diesel(sql_type = Timestamptz)]
    pub answered_at: DateTime<Utc>,
    #[diesel(sql_type = Bool)]
    pub survey: bool,
}

/// Live answers of live sessions for live items.
pub fn answers(conn: &mut PgConnection, plio_id: i32) -> QueryResult<Vec<AnswerRow>> {
    diesel::sql_query(format!(
        "SELECT s.id AS session_id, {PERSON}, i.id AS item_id, q.type::text AS question_type,
                q.correct_answer, sa.answer, sa.updated_at AS answered_at, COALESCE(q.survey, false) AS survey
         FROM session_answer sa
         JOIN session s ON s.id = sa.session_id AND s.deleted IS NULL
         JOIN item i ON i.id = sa.item_id AND i.deleted IS NULL
         LEFT JOIN question q ON q.item_id = i.id AND q.deleted IS NULL
         JOIN public.\"user\" u ON u.id = s.user_id
         WHERE s.plio_id = $1 AND sa.deleted IS NULL ORDER BY s.id, i.time, i.id"
    ))
    .bind::<Int4, _>(plio_id)
    .load(conn)
}

/// A live event of a live session.
#[derive(Debug, QueryableByName)]
pub struct EventRow {
    #[diesel(sql_type = Int4)]
    pub session_id: i32,
    #[diesel(embed)]
    pub person: Person,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Double)]
    pub player_time: f64,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub details: Option<Value>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// Live events of live sessions, in order.
pub fn events(conn: &mut PgConnection, plio_id: i32) -> QueryResult<Vec<EventRow>> {
    diesel::sql_query(format!(
        "SELECT s.id AS session_id, {PERSON}, e.type::text AS event_type, e.player_time, e.details, e.created_at
         FROM event e
         JOIN session s ON s.id = e.session_id AND s.deleted IS NULL
         JOIN public.\"user\" u ON u.id = s.user_id
         WHERE s.plio_id = $1 AND e.deleted IS NULL ORDER BY e.created_at, e.id"
    ))
    .bind::<Int4, _>(plio_id)
    .load(conn)
}
