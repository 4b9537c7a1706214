//! `GET plios/{uuid}/metrics/` and `GET plios/{uuid}/download_data/` (Plio's definitions,
//! computed in SQL over live rows; the zip is built in memory, nothing touches /tmp).

mod csv;
mod files;
mod py;

use std::io::Write;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::api::content::{accessible_head, PlioRef};
use crate::auth::AuthUser;
use crate::db::models::{membership, report_files, reports};
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::tenant::Tenant;

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `GET /api/v1/plios/{uuid}/metrics/`.
#[utoipa::path(
    get,
    path = "/api/v1/plios/{uuid}/metrics/",
    tag = "reports",
    security(("bearer" = [])),
    params(("uuid" = String, Path, description = "The plio's uuid")),
    responses(
        (status = 200, description = "Success", body = crate::api::responses::PlioMetrics)
    )
)]
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

/// The zip's last member, in place of Plio's PDF (AGPL, not vendored): what the files hold.
const README: &str = "plio data download

The files are Plio's: UTF-8, comma-separated, one line per row ending in a line feed,
true/false for yes/no, times in UTC. Deleted sessions, answers, events, items and questions
are left out.

sessions.csv: one row per viewing session.
user-level-metrics.csv: one row per learner, from the learner's latest session that has
  answer rows (Plio's definitions: survey questions count; an answer is correct when it equals
  the stored correct answer, so subjective answers never are; \"all questions attempted\"
  compares with the number of questions of the newest session).
responses.csv: one row per question of every session. answer: option numbers start at 1
  (a checkbox answer is a list; mcq answers read 2.0 rather than 2 when an mcq question of
  the file is unanswered, as in Plio); empty = not answered. correct_answer: as stored,
  option numbers start at 0. is_answer_correct: any subjective answer counts as correct.
  answered_at: when the row was created (the session's start), not when the learner answered.
plio-interaction-details.csv: the plio's questions; question_options as stored (JSON);
  question_correct_answer with option numbers from 1.
events.csv: player events (play, pause, seek, answer...); event_details as stored (JSON).
plio-meta-details.csv: the plio's id (uuid), name and video.

user_identifier: the learner's email, mobile or SSO id for the organization's admins;
otherwise the MD5 hash of the learner's numeric user id, the same in every download of every
plio (so files can be joined). It hides the person, not the account number.

Text that people typed (answers, question texts and options, names, links, identifiers) and
that starts with =, +, -, @, a tab or a carriage return is written with a leading ' so that
spreadsheets do not run it as a formula.
";

/// `GET /api/v1/plios/{uuid}/download_data/`: a zip of Plio's CSVs (SPEC 5.1 "Reports").
#[utoipa::path(
    get,
    path = "/api/v1/plios/{uuid}/download_data/",
    tag = "reports",
    security(("bearer" = [])),
    params(("uuid" = String, Path, description = "The plio's uuid")),
    responses(
        (status = 200, description = "A zip of CSV files", content_type = "application/zip")
    )
)]
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
            // As Plio: identities only for admins of the organization; never in the personal
            // workspace.
            let unmasked = match (t.is_personal_workspace(), t.id()) {
                (false, Some(org)) => membership::is_admin(conn, caller.id, org.0)?,
                _ => false,
            };
            let id = head.id;
            let meta = report_files::meta(conn, id)?;
            let members = [
                (
                    "sessions.csv",
                    files::sessions(&report_files::sessions(conn, id, unmasked)?),
                ),
                (
                    "user-level-metrics.csv",
                    files::user_metrics(&report_files::user_metrics(conn, id, unmasked)?),
                ),
                (
                    "responses.csv",
                    files::responses(&report_files::responses(conn, id, unmasked)?)
                        .map_err(AppError::internal)?,
                ),
                (
                    "plio-interaction-details.csv",
                    files::items(&report_files::items(conn, id)?).map_err(AppError::internal)?,
                ),
                (
                    "events.csv",
                    files::events(&report_files::events(conn, id, unmasked)?),
                ),
                ("plio-meta-details.csv", files::meta(&meta)),
                ("READ-ME-FIRST.txt", README.to_string()),
            ];
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            for (name, body) in members {
                zip.start_file(name, options).map_err(AppError::internal)?;
                zip.write_all(body.as_bytes()).map_err(AppError::internal)?;
            }
            let bytes = zip.finish().map_err(AppError::internal)?.into_inner();
            Ok((bytes, meta.id))
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
