//! `/auth/token/` (password and refresh grants) and `/auth/revoke-token/` (SPEC 4.1).
//! Both accept form-encoded or JSON bodies, as OAuth2 clients and Plio's SPA send either.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;

use crate::api::extract::body::RawBody;
use crate::auth::password::HashingGate;
use crate::auth::tokens::TokenCache;
use crate::auth::{password, tokens};
use crate::cache::Cache;
use crate::config::Settings;
use crate::db::models::login_failure;
use crate::db::models::user;
use crate::db::Database;
use crate::error::{AppError, Code};

/// The fields of a token request.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    grant_type: Option<String>,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct SsoRequest {
    unique_id: Option<String>,
    api_key: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct RevokeRequest {
    token: Option<String>,
}

/// Parses a JSON or form body into `T`.
pub fn parse_body<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, AppError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| AppError::new(Code::InvalidJson))?;
        crate::api::extract::body::refuse_nul(&value)?;
        serde_json::from_value(value)
            .map_err(|_| AppError::with_detail(Code::Invalid, "Every field must be a string."))
    } else if content_type.starts_with("application/x-www-form-urlencoded") || body.is_empty() {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
            AppError::with_detail(Code::BadRequest, "The form body could not be parsed.")
        })?;
        if pairs
            .iter()
            .any(|(k, v)| k.contains('\u{0}') || v.contains('\u{0}'))
        {
            return Err(AppError::with_detail(
                Code::Invalid,
                "Null characters are not allowed.",
            ));
        }
        serde_urlencoded::from_bytes(body).map_err(|_| {
            AppError::with_detail(Code::BadRequest, "The form body could not be parsed.")
        })
    } else {
        Err(AppError::with_detail(
            Code::UnsupportedMediaType,
            "Send application/x-www-form-urlencoded or application/json.",
        ))
    }
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, AppError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(AppError::field(name, "This field is required.")),
    }
}

/// `POST /auth/token/`.
#[utoipa::path(
    post,
    path = "/auth/token/",
    tag = "auth",
    security(()),
    request_body(content(
        (TokenRequest = "application/json"),
        (TokenRequest = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "A new token pair", body = crate::auth::tokens::TokenPair)
    )
)]
pub async fn create_token(
    req: HttpRequest,
    body: RawBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
    token_cache: web::Data<TokenCache>,
    settings: web::Data<Settings>,
    gate: web::Data<HashingGate>,
) -> Result<HttpResponse, AppError> {
    let form: TokenRequest = parse_body(&req, &body)?;
    let grant = required(&form.grant_type, "grant_type")?.to_string();
    let pair = match grant.as_str() {
        "password" => {
            let username = required(&form.username, "username")?.to_string();
            let secret = required(&form.password, "password")?.to_string();
            if username.len() > 255 || secret.len() > 1024 {
                return Err(AppError::new(Code::InvalidGrant));
            }
            password_grant(&req, &db, &cache, &settings, &gate, username, secret).await?
        }
        "refresh_token" => {
            let refresh = required(&form.refresh_token, "refresh_token")?.to_string();
            if refresh.len() > 256 {
                return Err(AppError::new(Code::InvalidGrant));
            }
            let (pair, ended) = db
                .shared(move |conn| {
                    tokens::refresh(conn, &refresh)?.ok_or_else(|| {
                        AppError::with_detail(
                            Code::InvalidGrant,
                            "The refresh token is invalid, expired or already used.",
                        )
                    })
                })
                .await?;
            token_cache.forget(&ended.into_iter().collect::<Vec<_>>());
            pair
        }
        _ => return Err(AppError::new(Code::UnsupportedGrantType)),
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(pair))
}

/// The client address that failed logins are counted against: the TCP peer. Forwarding
/// headers are not trusted here (any client can send them, and proxies append to them): behind
/// a balancer every client shares its address, so raise `LOGIN_FAILURES_PER_ADDRESS` there.
fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string())
}

/// 429 with `Retry-After`: seconds until the oldest counted failure leaves the window.
fn throttled(oldest: Option<chrono::DateTime<Utc>>) -> AppError {
    let retry = oldest
        .map(|o| {
            (o + login_failure::WINDOW - Utc::now())
                .num_seconds()
                .max(1)
        })
        .unwrap_or(login_failure::WINDOW.num_seconds());
    AppError::with_detail(
        Code::Throttled,
        "Too many failed sign-ins; try again later.",
    )
    .retry_after(retry)
}

/// The password grant: refused while the account or the address has too many recent failures;
/// the Argon2 check runs behind the hashing gate and holds no database connection.
async fn password_grant(
    req: &HttpRequest,
    db: &Database,
    cache: &Cache,
    settings: &Settings,
    gate: &HashingGate,
    username: String,
    secret: String,
) -> Result<tokens::TokenPair, AppError> {
    let account = user::normalize_email(&username).to_lowercase();
    let address = client_address(req);
    let (per_account, per_address) = (
        settings.login_failures_per_account,
        settings.login_failures_per_address,
    );
    let (a, ad) = (account.clone(), address.clone());
    // Each attempt counts as a failure until it is proven right: the count and the record
    // happen under a per-account lock in one transaction, so parallel guesses cannot all slip
    // under the limit before any of them is recorded.
    let found = db
        .shared(move |conn| {
            login_failure::lock_account(conn, &a)?;
            let recent = login_failure::recent(conn, &a, &ad)?;
            if recent.account >= per_account {
                return Err(throttled(recent.account_oldest));
            }
            if recent.address >= per_address {
                return Err(throttled(recent.address_oldest));
            }
            login_failure::record(conn, &a, &ad)?;
            Ok(user::find_by_email(conn, &username)?)
        })
        .await?;
    let usable = found.filter(|u| u.is_active && u.deleted.is_none());
    let stored = usable.as_ref().and_then(|u| u.password.clone());
    // Verify even for unknown users so timing does not reveal which emails exist.
    let _turn = gate.turn().await;
    let ok = web::block(move || password::verify(&secret, stored.as_deref())).await?;
    match usable {
        Some(u) if ok => {
            cache
                .write_shared(db, move |conn, inv| {
                    login_failure::clear_account(conn, &account)?;
                    // last_login is part of the cached user payload.
                    user::touch_login(conn, u.id)?;
                    inv.user(u.id);
                    Ok(tokens::issue(conn, u.id)?)
                })
                .await
        }
        // The attempt was recorded as a failure already.
        _ => Err(AppError::new(Code::InvalidGrant)),
    }
}

/// `POST /auth/revoke-token/`: revokes an access or refresh token and its pair. Answers 200
/// whether or not the token existed (RFC 7009), so it cannot be used to probe tokens.
#[utoipa::path(
    post,
    path = "/auth/revoke-token/",
    tag = "auth",
    security(()),
    request_body(content(
        (RevokeRequest = "application/json"),
        (RevokeRequest = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "Success", body = Object)
    )
)]
pub async fn revoke_token(
    req: HttpRequest,
    body: RawBody,
    db: web::Data<Database>,
    token_cache: web::Data<TokenCache>,
) -> Result<HttpResponse, AppError> {
    let form: RevokeRequest = parse_body(&req, &body)?;
    let token = required(&form.token, "token")?.to_string();
    if token.len() <= 256 {
        let ended = db
            .shared(move |conn| Ok(tokens::revoke(conn, &token)?))
            .await?;
        token_cache.forget(&ended);
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({})))
}

/// `POST /auth/generate-external-auth-access-token/` `{unique_id, api_key}`: SSO. The user
/// is scoped by (unique_id, organization of the api_key): the same unique_id under another
/// organization is another user. Plio's messages for missing keys and a bad api_key.
#[utoipa::path(
    post,
    path = "/auth/generate-external-auth-access-token/",
    tag = "auth",
    security(()),
    request_body(content(
        (SsoRequest = "application/json"),
        (SsoRequest = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "Success", body = crate::auth::tokens::TokenPair)
    )
)]
pub async fn sso_token(
    req: HttpRequest,
    body: RawBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let form: SsoRequest = parse_body(&req, &body)?;
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let unique_id = present(&form.unique_id)
        .ok_or_else(|| AppError::with_detail(Code::Invalid, "unique_id not provided."))?;
    let api_key = present(&form.api_key)
        .ok_or_else(|| AppError::with_detail(Code::Invalid, "api_key not provided."))?;
    let invalid = || AppError::with_detail(Code::Invalid, "Invalid api_key provided.");
    if api_key.len() > 64 {
        return Err(invalid());
    }
    if unique_id.chars().count() > 255 {
        return Err(AppError::field(
            "unique_id",
            "Ensure this field has no more than 255 characters.",
        ));
    }
    let pair = cache
        .write_shared(&db, move |conn, inv| {
            use crate::db::schema::organization;
            use diesel::prelude::*;
            let org: Option<i32> = organization::table
                .filter(organization::api_key.eq(&api_key))
                .filter(organization::deleted.is_null())
                .select(organization::id)
                .first(conn)
                .optional()?;
            let org = org.ok_or_else(invalid)?;
            let user_id = user::get_or_create_sso(conn, &unique_id, org)?;
            user::touch_login(conn, user_id)?;
            inv.user(user_id);
            Ok(tokens::issue(conn, user_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(pair))
}
