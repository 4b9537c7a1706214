//! Plio metrics, computed in SQL over live rows only (Plio counts soft-deleted sessions,
//! answers and events too). The download's rows are in `report_files`.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Int4, Nullable};

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
