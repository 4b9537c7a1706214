//! `GET plios/{uuid}/metrics/` and `GET plios/{uuid}/download_data/` (Plio's definitions,
//! computed in SQL over live rows; the zip is built in memory, nothing touches /tmp).

use std::io::Write;

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::api::content::{accessible_head, PlioRef};
use crate::auth::AuthUser;
use crate::db::models::{membership, reports};
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::tenancy::Tenant;

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `GET /api/v1/plios/{uuid}/metrics/`.
pub async fn plio_metrics(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<String>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let uuid = path.into_inner();
    let t = tenant.clone();
    let body = db
        .tenant(&tenant, move |conn| {
            let head = accessible_head(conn, &t, &caller, PlioRef::Uuid(&uuid))?;
            let q = reports::question_stats(conn, head.id)?;
            let v = reports::viewer_stats(conn, head.id)?;
            if v.unique_viewers == 0 {
                return Ok(json!({"has_survey_question": q.has_survey}));
            }
            let viewers = v.unique_viewers as f64;
            let mut retention = match v.duration {
                Some(d) if d >= 60.0 => Some(if v.valid_retention == 0 {
                    0.0
                } else {
                    round2(100.0 * v.retained_one_minute as f64 / viewers)
                }),
                _ => None,
            };
            let (accuracy, answered, completed) = if q.questions == 0 {
                (None, None, None)
            } else if q.non_survey == 0 {
                // Survey-only plios: no question metrics, and (as Plio) no retention either.
                retention = None;
                (None, None, None)
            } else {
                let a = reports::answer_stats(conn, head.id, q.non_survey)?;
                (
                    a.accuracy.map(|x| round2(x * 100.0)),
                    a.average_answered.map(f64::round),
                    Some(round2(100.0 * a.completed as f64 / viewers)),
                )
            };
            Ok(json!({
                "unique_viewers": v.unique_viewers,
                "average_watch_time": v.average_watch_time,
                "percent_one_minute_retention": retention,
                "accuracy": accuracy,
                "average_num_answered": answered,
                "percent_completed": completed,
                "has_survey_question": q.has_survey,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// One CSV line (RFC 4180 quoting).
fn csv_line(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

fn csv(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut out = csv_line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for r in rows {
        out.push_str(&csv_line(&r));
    }
    out
}

/// Option indexes shown from 1, as Plio's reports do (mcq `1` → `2`, checkbox `[0, 2]` → `[1, 3]`).
fn one_indexed(v: &Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::Number(n)) => n
            .as_i64()
            .map_or_else(|| n.to_string(), |i| (i + 1).to_string()),
        Some(Value::Array(a)) => format!(
            "[{}]",
            a.iter()
                .map(|x| x
                    .as_i64()
                    .map_or_else(|| x.to_string(), |i| (i + 1).to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn py_bool(b: bool) -> String {
    if b { "True" } else { "False" }.to_string()
}

const README: &str = "plio data download\r\n\r\n\
sessions.csv: one row per viewing session.\r\n\
user-level-metrics.csv: per learner, from their latest session (survey questions excluded).\r\n\
responses.csv: every answer; option numbers start at 1; empty = not answered.\r\n\
plio-interaction-details.csv: the plio's items and questions; options numbered from 1.\r\n\
events.csv: player events (play, pause, seek, answer...).\r\n\
plio-meta-details.csv: the plio's id (uuid), name and video.\r\n\r\n\
user_identifier is the learner's email, mobile or SSO id for the organization's admins, and\r\n\
otherwise a pseudonym that cannot be reversed (it differs between downloads).\r\n";

/// `GET /api/v1/plios/{uuid}/download_data/`: a zip of Plio's CSVs.
pub async fn download_data(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<String>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let uuid = path.into_inner();
    let t = tenant.clone();
    let (bytes, uuid) = db
        .tenant(&tenant, move |conn| {
            let head = accessible_head(conn, &t, &caller, PlioRef::Uuid(&uuid))?;
            if head.status != "published" {
                return Err(AppError::with_detail(
                    Code::NotFound,
                    "Data dumps are not available for draft plios",
                ));
            }
            let unmasked = match (t.is_personal_workspace(), t.id()) {
                (false, Some(org)) => membership::is_admin(conn, caller.id, org.0)?,
                _ => false,
            };
            let salt = crate::secrets::new_token();
            let who = |p: &reports::Person| -> (String, String) {
                let id = if unmasked {
                    p.identity.clone().unwrap_or_default()
                } else {
                    crate::secrets::sha256_hex(&format!("{salt}:{}", p.user_id))[..32].to_string()
                };
                (id, p.via_sso.to_string())
            };
            let meta: (String, String, Option<String>) = {
                use crate::db::schema::tenant::{plio, video};
                use diesel::prelude::*;
                plio::table
                    .left_join(video::table)
                    .filter(plio::id.eq(head.id))
                    .select((plio::uuid, plio::name, video::url.nullable()))
                    .first(conn)?
            };
            let questions = reports::questions(conn, head.id)?;
            let sessions = reports::sessions(conn, head.id)?;
            let answers = reports::answers(conn, head.id)?;
            let events = reports::events(conn, head.id)?;
            let non_survey = questions
                .iter()
                .filter(|q| q.question_type.is_some() && !q.survey)
                .count();

            let sessions_csv = csv(
                &[
                    "session_id",
                    "watch_time",
                    "user_identifier",
                    "has_user_logged_in_via_sso",
                    "created_at",
                    "last_updated_at",
                ],
                sessions
                    .iter()
                    .map(|s| {
                        let (id, sso) = who(&s.person);
                        vec![
                            s.session_id.to_string(),
                            s.watch_time.to_string(),
                            id,
                            sso,
                            s.created_at.to_rfc3339(),
                            s.updated_at.to_rfc3339(),
                        ]
                    })
                    .collect(),
            );
            let latest: Vec<&reports::SessionRow> =
                sessions.iter().filter(|s| s.is_latest).collect();
            let user_rows = latest
                .iter()
                .map(|s| {
                    let mine = answers.iter().filter(|a| {
                        a.session_id == s.session_id && !a.survey && a.question_type.is_some()
                    });
                    let attempted = mine.clone().filter(|a| a.answer.is_some()).count();
                    let correct = mine
                        .filter(|a| {
                            a.answer.is_some()
                                && (a.question_type.as_deref() == Some("subjective")
                                    || a.answer == a.correct_answer)
                        })
                        .count();
                    let (id, sso) = who(&s.person);
                    vec![
                        id,
                        sso,
                        attempted.to_string(),
                        correct.to_string(),
                        py_bool(attempted == non_survey),
                    ]
                })
                .collect();
            let users_csv = csv(
                &[
                    "user_identifier",
                    "has_user_logged_in_via_sso",
                    "num_questions_attempted",
                    "num_questions_answered_correctly",
                    "are_all_questions_attempted",
                ],
                user_rows,
            );
            let responses_csv = csv(
                &[
                    "session_id",
                    "user_identifier",
                    "has_user_logged_in_via_sso",
                    "item_id",
                    "question_type",
                    "correct_answer",
                    "is_answer_correct",
                    "answered_at",
                    "answer",
                ],
                answers
                    .iter()
                    .map(|a| {
                        let (id, sso) = who(&a.person);
                        let subjective = a.question_type.as_deref() == Some("subjective");
                        let correct =
                            a.answer.is_some() && (subjective || a.answer == a.correct_answer);
                        vec![
                            a.session_id.to_string(),
                            id,
                            sso,
                            a.item_id.to_string(),
                            a.question_type.clone().unwrap_or_default(),
                            if subjective {
                                String::new()
                            } else {
                                one_indexed(&a.correct_answer)
                            },
                            py_bool(correct),
                            a.answered_at.to_rfc3339(),
                            one_indexed(&a.answer),
                        ]
                    })
                    .collect(),
            );
            let items_csv = csv(
                &[
                    "item_id",
                    "item_type",
                    "item_time",
                    "question_type",
                    "question_text",
                    "question_options",
                    "question_correct_answer",
                ],
                questions
                    .iter()
                    .map(|q| {
                        vec![
                            q.item_id.to_string(),
                            q.item_type.clone(),
                            q.item_time.to_string(),
                            q.question_type.clone().unwrap_or_default(),
                            q.question_text.clone().unwrap_or_default(),
                            q.options.as_ref().map(Value::to_string).unwrap_or_default(),
                            one_indexed(&q.correct_answer),
                        ]
                    })
                    .collect(),
            );
            let events_csv = csv(
                &[
                    "session_id",
                    "user_identifier",
                    "has_user_logged_in_via_sso",
                    "event_type",
                    "event_player_time",
                    "event_details",
                    "event_global_time",
                ],
                events
                    .iter()
                    .map(|e| {
                        let (id, sso) = who(&e.person);
                        vec![
                            e.session_id.to_string(),
                            id,
                            sso,
                            e.event_type.clone(),
                            e.player_time.to_string(),
                            e.details.as_ref().map(Value::to_string).unwrap_or_default(),
                            e.created_at.to_rfc3339(),
                        ]
                    })
                    .collect(),
            );
            let meta_csv = csv(
                &["id", "name", "video"],
                vec![vec![meta.0.clone(), meta.1, meta.2.unwrap_or_default()]],
            );

            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            for (name, body) in [
                ("sessions.csv", sessions_csv),
                ("user-level-metrics.csv", users_csv),
                ("responses.csv", responses_csv),
                ("plio-interaction-details.csv", items_csv),
                ("events.csv", events_csv),
                ("plio-meta-details.csv", meta_csv),
                ("READ-ME-FIRST.txt", README.to_string()),
            ] {
                zip.start_file(name, options).map_err(AppError::internal)?;
                zip.write_all(body.as_bytes()).map_err(AppError::internal)?;
            }
            let bytes = zip.finish().map_err(AppError::internal)?.into_inner();
            Ok((bytes, meta.0))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"plio-data-{uuid}.zip\""),
        ))
        .body(bytes))
}
