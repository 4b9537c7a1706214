//! The rows of the data download: Plio's queries (plio/queries.py) over live rows only (Plio
//! also reports soft-deleted sessions, answers, events, items and questions), in a fixed order
//! where Plio's is left to the query plan. JSON columns are read as PostgreSQL prints them
//! (`::text`), which is what Plio writes.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Int4, Nullable, Text, Timestamptz};

/// Who a row belongs to, as Plio's queries write it: `$2` true shows the email, mobile or SSO
/// id, otherwise the MD5 of the user id; the SSO flag is text (`'true'`/`'false'`).
const WHO: &str = "CASE WHEN $2 THEN COALESCE(u.email, u.mobile, u.unique_id)::text
                   ELSE MD5(s.user_id::varchar(255)) END AS user_identifier,
              CASE WHEN u.unique_id IS NOT NULL AND u.auth_org_id IS NOT NULL THEN 'true'
                   ELSE 'false' END AS has_user_logged_in_via_sso";

/// `sessions.csv`.
#[derive(Debug, QueryableByName)]
pub struct SessionRow {
    #[diesel(sql_type = Int4)]
    pub session_id: i32,
    #[diesel(sql_type = Double)]
    pub watch_time: f64,
    #[diesel(sql_type = Nullable<Text>)]
    pub user_identifier: Option<String>,
    #[diesel(sql_type = Text)]
    pub has_user_logged_in_via_sso: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub last_updated_at: DateTime<Utc>,
}

/// Live sessions of plio `plio_id`, by id.
pub fn sessions(
    conn: &mut PgConnection,
    plio_id: i32,
    unmasked: bool,
) -> QueryResult<Vec<SessionRow>> {
    diesel::sql_query(format!(
        "SELECT s.id AS session_id, s.watch_time, {WHO},
                s.created_at, s.updated_at AS last_updated_at
         FROM session s JOIN public.\"user\" u ON u.id = s.user_id
         WHERE s.plio_id = $1 AND s.deleted IS NULL
         ORDER BY s.id"
    ))
    .bind::<Int4, _>(plio_id)
    .bind::<Bool, _>(unmasked)
    .load(conn)
}

/// `user-level-metrics.csv`.
#[derive(Debug, QueryableByName)]
pub struct UserMetricsRow {
    #[diesel(sql_type = Nullable<Text>)]
    pub user_identifier: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub has_user_logged_in_via_sso: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub num_questions_attempted: i64,
    #[diesel(sql_type = BigInt)]
    pub num_questions_answered_correctly: i64,
    #[diesel(sql_type = Text)]
    pub are_all_questions_attempted: String,
}

/// Plio's `get_user_level_metrics_query`: per identifier, its latest session that has answer
/// rows; attempted = distinct items answered (any question, survey included), correct = jsonb
/// equality with the correct answer (so never a subjective answer), all attempted = attempted
/// equals the distinct items of the newest session of all. Ordered by the identifier in SQL,
/// so the database's collation decides, as in Plio.
pub fn user_metrics(
    conn: &mut PgConnection,
    plio_id: i32,
    unmasked: bool,
) -> QueryResult<Vec<UserMetricsRow>> {
    diesel::sql_query(format!(
        "WITH summary AS (
            SELECT s.id AS session_id, {WHO}, sa.answer, sa.item_id
            FROM session s
            JOIN session_answer sa ON sa.session_id = s.id AND sa.deleted IS NULL
            JOIN public.\"user\" u ON u.id = s.user_id
            JOIN item i ON i.id = sa.item_id AND i.deleted IS NULL
            JOIN question q ON q.item_id = i.id AND q.deleted IS NULL
            WHERE s.plio_id = $1 AND s.deleted IS NULL),
         latest AS (
            SELECT user_identifier, MAX(session_id) AS latest_session_id
            FROM summary GROUP BY user_identifier),
         total AS (
            SELECT COUNT(DISTINCT item_id) AS total_questions FROM summary
            WHERE session_id = (SELECT MAX(session_id) FROM summary))
         SELECT l.user_identifier,
                MAX(m.has_user_logged_in_via_sso) AS has_user_logged_in_via_sso,
                COUNT(DISTINCT CASE WHEN m.answer IS NOT NULL THEN m.item_id END)
                    AS num_questions_attempted,
                COUNT(DISTINCT CASE WHEN m.answer = q.correct_answer THEN m.item_id END)
                    AS num_questions_answered_correctly,
                CASE WHEN COUNT(DISTINCT CASE WHEN m.answer IS NOT NULL THEN m.item_id END)
                          = (SELECT total_questions FROM total)
                     THEN 'true' ELSE 'false' END AS are_all_questions_attempted
         FROM latest l
         JOIN summary m ON m.session_id = l.latest_session_id
                       AND m.user_identifier = l.user_identifier
         JOIN question q ON q.item_id = m.item_id AND q.deleted IS NULL
         GROUP BY l.user_identifier
         ORDER BY l.user_identifier"
    ))
    .bind::<Int4, _>(plio_id)
    .bind::<Bool, _>(unmasked)
    .load(conn)
}

/// `responses.csv` (before the answers are decoded).
#[derive(Debug, QueryableByName)]
pub struct ResponseRow {
    #[diesel(sql_type = Int4)]
    pub session_id: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub user_identifier: Option<String>,
    #[diesel(sql_type = Text)]
    pub has_user_logged_in_via_sso: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub answer: Option<String>,
    #[diesel(sql_type = Int4)]
    pub item_id: i32,
    #[diesel(sql_type = Text)]
    pub question_type: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub correct_answer: Option<String>,
    #[diesel(sql_type = Text)]
    pub is_answer_correct: String,
    #[diesel(sql_type = Timestamptz)]
    pub answered_at: DateTime<Utc>,
}

/// Every answer row of every live session, for items with a question; `answered_at` is the
/// row's creation (the session's start, as in Plio). By session, then item time.
pub fn responses(
    conn: &mut PgConnection,
    plio_id: i32,
    unmasked: bool,
) -> QueryResult<Vec<ResponseRow>> {
    diesel::sql_query(format!(
        "SELECT s.id AS session_id, {WHO}, sa.answer::text AS answer, sa.item_id,
                q.type::text AS question_type, q.correct_answer::text AS correct_answer,
                CASE WHEN sa.answer IS NOT NULL
                          AND (q.type = 'subjective' OR sa.answer = q.correct_answer)
                     THEN 'true' ELSE 'false' END AS is_answer_correct,
                sa.created_at AS answered_at
         FROM session s
         JOIN session_answer sa ON sa.session_id = s.id AND sa.deleted IS NULL
         JOIN public.\"user\" u ON u.id = s.user_id
         JOIN item i ON i.id = sa.item_id AND i.deleted IS NULL
         JOIN question q ON q.item_id = i.id AND q.deleted IS NULL
         WHERE s.plio_id = $1 AND s.deleted IS NULL
         ORDER BY s.id, i.time, i.id, sa.id, q.id"
    ))
    .bind::<Int4, _>(plio_id)
    .bind::<Bool, _>(unmasked)
    .load(conn)
}

/// `plio-interaction-details.csv` (before the correct answers are decoded).
#[derive(Debug, QueryableByName)]
pub struct ItemRow {
    #[diesel(sql_type = Int4)]
    pub item_id: i32,
    #[diesel(sql_type = Text)]
    pub item_type: String,
    #[diesel(sql_type = Double)]
    pub item_time: f64,
    #[diesel(sql_type = Text)]
    pub question_type: String,
    #[diesel(sql_type = Text)]
    pub question_text: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub question_options: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub question_correct_answer: Option<String>,
}

/// Live items with their live questions (items without one are left out, as Plio's inner
/// join), by item time.
pub fn items(conn: &mut PgConnection, plio_id: i32) -> QueryResult<Vec<ItemRow>> {
    diesel::sql_query(
        "SELECT i.id AS item_id, i.type::text AS item_type, i.time AS item_time,
                q.type::text AS question_type, q.text AS question_text,
                q.options::text AS question_options,
                q.correct_answer::text AS question_correct_answer
         FROM item i JOIN question q ON q.item_id = i.id AND q.deleted IS NULL
         WHERE i.plio_id = $1 AND i.deleted IS NULL
         ORDER BY i.time, i.id, q.id",
    )
    .bind::<Int4, _>(plio_id)
    .load(conn)
}

/// `events.csv`.
#[derive(Debug, QueryableByName)]
pub struct EventRow {
    #[diesel(sql_type = Int4)]
    pub session_id: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub user_identifier: Option<String>,
    #[diesel(sql_type = Text)]
    pub has_user_logged_in_via_sso: String,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Double)]
    pub event_player_time: f64,
    #[diesel(sql_type = Nullable<Text>)]
    pub event_details: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub event_global_time: DateTime<Utc>,
}

/// Live events of live sessions, by time.
pub fn events(conn: &mut PgConnection, plio_id: i32, unmasked: bool) -> QueryResult<Vec<EventRow>> {
    diesel::sql_query(format!(
        "SELECT s.id AS session_id, {WHO}, e.type::text AS event_type,
                e.player_time AS event_player_time, e.details::text AS event_details,
                e.created_at AS event_global_time
         FROM session s
         JOIN event e ON e.session_id = s.id AND e.deleted IS NULL
         JOIN public.\"user\" u ON u.id = s.user_id
         WHERE s.plio_id = $1 AND s.deleted IS NULL
         ORDER BY e.created_at, e.id"
    ))
    .bind::<Int4, _>(plio_id)
    .bind::<Bool, _>(unmasked)
    .load(conn)
}

/// `plio-meta-details.csv`: the plio's uuid, name and video URL (NULL without a video, where
/// Plio answers 500).
#[derive(Debug, QueryableByName)]
pub struct MetaRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub video: Option<String>,
}

pub fn meta(conn: &mut PgConnection, plio_id: i32) -> QueryResult<MetaRow> {
    diesel::sql_query(
        "SELECT p.uuid::text AS id, p.name::text AS name, v.url::text AS video
         FROM plio p LEFT JOIN video v ON v.id = p.video_id WHERE p.id = $1",
    )
    .bind::<Int4, _>(plio_id)
    .get_result(conn)
}
