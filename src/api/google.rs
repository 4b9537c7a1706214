//! `POST /auth/convert-token/`: Google sign-in as Plio's drf-social-oauth2 endpoint answers
//! it (SPEC 4.1). The web client sends `{grant_type: "convert_token", backend:
//! "google-oauth2", token, client_id, client_secret}` (JSON or form; the client fields are
//! accepted and ignored). plio asks Google who the token belongs to, adopts or creates the
//! user with that verified email, and answers a token pair plus the user payload.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::api::auth::parse_body;
use crate::api::extract::body::RawBody;
use crate::auth::google::{GoogleClient, GoogleError};
use crate::auth::tokens;
use crate::cache::Cache;
use crate::config::Settings;
use crate::db::models::user::{self, ProviderProfile};
use crate::db::Database;
use crate::error::{AppError, Code};

/// The fields of a convert-token request.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct ConvertRequest {
    grant_type: Option<String>,
    backend: Option<String>,
    token: Option<String>,
}

/// The only backend plio converts tokens of.
const GOOGLE_BACKEND: &str = "google-oauth2";

/// `POST /auth/convert-token/`.
#[utoipa::path(
    post,
    path = "/auth/convert-token/",
    tag = "google",
    security(()),
    request_body(content(
        (ConvertRequest = "application/json"),
        (ConvertRequest = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "Success", body = serde_json::Value)
    )
)]
pub async fn convert_token(
    req: HttpRequest,
    body: RawBody,
    settings: web::Data<Settings>,
    google: web::Data<GoogleClient>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    if !settings.google_sign_in {
        return Err(AppError::new(Code::NotFound));
    }
    let form: ConvertRequest = parse_body(&req, &body)?;
    let field = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    match field(&form.grant_type).as_deref() {
        Some("convert_token") => {}
        None => return Err(AppError::field("grant_type", "This field is required.")),
        Some(_) => return Err(AppError::new(Code::UnsupportedGrantType)),
    }
    match field(&form.backend).as_deref() {
        Some(GOOGLE_BACKEND) => {}
        None => return Err(AppError::field("backend", "This field is required.")),
        Some(_) => {
            return Err(AppError::with_detail(
                Code::Invalid,
                "Invalid backend parameter.",
            ))
        }
    }
    let token =
        field(&form.token).ok_or_else(|| AppError::field("token", "This field is required."))?;
    // A bearer token is visible ASCII (RFC 6750); anything else is not a Google token.
    if token.len() > 4096 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::with_detail(
            Code::InvalidGrant,
            "Google did not accept this access token.",
        ));
    }
    let identity = google.identify(&token).await.map_err(|e| match e {
        GoogleError::Refused => AppError::with_detail(
            Code::InvalidGrant,
            "Google did not accept this access token.",
        ),
        GoogleError::Unverified => AppError::with_detail(
            Code::InvalidGrant,
            "The Google account has no verified email address.",
        ),
        GoogleError::Unavailable(why) => {
            AppError::new(Code::GoogleUnavailable).caused_by(anyhow::anyhow!("Google: {why}"))
        }
    })?;
    let (pair, user_id) = cache
        .write_shared(&db, move |conn, inv| {
            let profile = ProviderProfile {
                first_name: identity.given_name.as_deref(),
                last_name: identity.family_name.as_deref(),
                avatar_url: identity.picture.as_deref(),
            };
            let found = user::get_or_create_by_email(conn, &identity.email, &profile)?;
            if !found.is_active || found.deleted.is_some() {
                return Err(AppError::with_detail(
                    Code::InvalidGrant,
                    "This account is disabled.",
                ));
            }
            // Names or picture may have been filled in.
            inv.user(found.id);
            user::touch_login(conn, found.id)?;
            Ok((tokens::issue(conn, found.id)?, found.id))
        })
        .await?;
    let payload = crate::api::user_payloads::payload_for(&db, &cache, user_id, user_id).await?;
    let mut body = serde_json::to_value(pair).map_err(AppError::internal)?;
    if let serde_json::Value::Object(map) = &mut body {
        map.insert(
            "user".into(),
            serde_json::to_value(payload).map_err(AppError::internal)?,
        );
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body))
}
