//! `POST /api/v1/otp/request/` and `POST /api/v1/otp/verify/` (SPEC 4.1): 6-digit codes,
//! valid 300 s, single use, the newest code supersedes older ones, 5 requests per mobile per
//! 15 minutes (then 429), 5 wrong guesses end a code; the user is created on first login.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;

use crate::api::auth::parse_body;
use crate::api::extract::body::RawBody;
use crate::auth::{otp as codes, tokens};
use crate::db::models::{otp, user};
use crate::db::Database;
use crate::error::{AppError, Code};

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct OtpRequest {
    mobile: Option<String>,
    otp: Option<String>,
}

fn mobile_of(body: &OtpRequest) -> Result<String, AppError> {
    let mobile = body
        .mobile
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| AppError::with_detail(Code::Invalid, "mobile not provided"))?;
    if !codes::valid_mobile(mobile) {
        return Err(AppError::field(
            "mobile",
            "Enter a mobile number: an optional '+' and 6-15 digits.",
        ));
    }
    Ok(mobile.to_string())
}

/// `POST /api/v1/otp/request/` `{mobile}` → 200 `{id, mobile, expires_at, created_at, updated_at}`.
#[utoipa::path(
    post,
    path = "/api/v1/otp/request/",
    tag = "otp",
    security(()),
    request_body(content(
        (OtpRequest = "application/json"),
        (OtpRequest = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "Success", body = serde_json::Value)
    )
)]
pub async fn request_otp(
    req: HttpRequest,
    body: RawBody,
    db: web::Data<Database>,
    sms: web::Data<codes::SmsSender>,
) -> Result<HttpResponse, AppError> {
    let body: OtpRequest = parse_body(&req, &body)?;
    let mobile = mobile_of(&body)?;
    let code = codes::new_code();
    let (m, c) = (mobile.clone(), code.clone());
    let created = db
        .shared(move |conn| {
            otp::lock_mobile(conn, &m)?;
            if otp::recent_requests(conn, &m)? >= otp::MAX_REQUESTS {
                return Err(AppError::with_detail(
                    Code::Throttled,
                    "Too many codes requested for this mobile number; try again in 15 minutes.",
                ));
            }
            Ok(otp::create(conn, &m, &c)?)
        })
        .await?;
    if let Err(e) = sms.deliver(&mobile, &code).await {
        let id = created.id;
        db.shared(move |conn| Ok(otp::discard(conn, id)?)).await?;
        return Err(AppError::new(Code::SmsUnavailable).caused_by(e));
    }
    // 200, as Plio answers (SPEC 5.1).
    Ok(HttpResponse::Ok().json(created))
}

enum Verdict {
    Valid(tokens::TokenPair),
    Refused,
}

/// `POST /api/v1/otp/verify/` `{mobile, otp}` → a token pair; wrong or expired → 401.
#[utoipa::path(
    post,
    path = "/api/v1/otp/verify/",
    tag = "otp",
    security(()),
    request_body(content(
        (OtpRequest = "application/json"),
        (OtpRequest = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "Success", body = crate::auth::tokens::TokenPair),
        (status = 401, description = "The code is wrong, expired or used up (`invalid_otp`)", body = crate::api::responses::ErrorBody)
    )
)]
pub async fn verify_otp(
    req: HttpRequest,
    body: RawBody,
    db: web::Data<Database>,
    cache: web::Data<crate::cache::Cache>,
) -> Result<HttpResponse, AppError> {
    let body: OtpRequest = parse_body(&req, &body)?;
    let mobile = match body.mobile.as_deref().map(str::trim) {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => return Err(AppError::with_detail(Code::Invalid, "mobile not provided")),
    };
    let code = match body.otp.as_deref().map(str::trim) {
        Some(c) if !c.is_empty() => c.to_string(),
        _ => return Err(AppError::with_detail(Code::Invalid, "otp not provided")),
    };
    if code.len() > 32 || mobile.len() > 32 {
        return Err(AppError::new(Code::InvalidOtp));
    }
    let verdict = cache
        .write_shared(&db, move |conn, inv| {
            let Some(latest) = otp::latest_for_update(conn, &mobile)? else {
                return Ok(Verdict::Refused);
            };
            let usable = latest.consumed_at.is_none()
                && latest.expires_at >= Utc::now()
                && latest.attempts < otp::MAX_ATTEMPTS;
            if !usable {
                return Ok(Verdict::Refused);
            }
            let given = otp::digest(&mobile, &code);
            if !constant_time_eq(given.as_bytes(), latest.otp_hash.as_bytes()) {
                // Counted (and committed) so guessing is bounded.
                otp::count_attempt(conn, latest.id)?;
                return Ok(Verdict::Refused);
            }
            otp::consume(conn, latest.id)?;
            let user_id = user::get_or_create_by_mobile(conn, &mobile)?;
            user::touch_login(conn, user_id)?;
            inv.user(user_id);
            Ok(Verdict::Valid(tokens::issue(conn, user_id)?))
        })
        .await?;
    match verdict {
        Verdict::Valid(pair) => Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(pair)),
        Verdict::Refused => Err(AppError::new(Code::InvalidOtp)),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
