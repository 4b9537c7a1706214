//! Google sign-in (SPEC 4.1): ask Google's userinfo endpoint who an access token belongs to.
//! The call is bounded by a total timeout; an unreachable Google is told apart from a token
//! Google refuses.

use std::time::Duration;

use serde::Deserialize;

/// Who a Google access token belongs to.
#[derive(Debug, Clone)]
pub struct GoogleIdentity {
    /// The verified email address.
    pub email: String,
    /// Given name, if Google has one.
    pub given_name: Option<String>,
    /// Family name, if Google has one.
    pub family_name: Option<String>,
    /// Profile picture URL, if any.
    pub picture: Option<String>,
}

/// Why a token could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum GoogleError {
    /// Google refused the token (expired, revoked, not a Google token).
    #[error("Google refused the token")]
    Refused,
    /// The account has no email address, or an unverified one.
    #[error("the Google account's email address is not verified")]
    Unverified,
    /// Google could not be reached in time, or answered with an error of its own.
    #[error("Google is unreachable: {0}")]
    Unavailable(String),
}

/// Google's OpenID Connect userinfo answer (the fields plio uses).
#[derive(Debug, Deserialize)]
struct UserInfo {
    email: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    email_verified: bool,
    given_name: Option<String>,
    family_name: Option<String>,
    picture: Option<String>,
}

/// Google sends `true`; older endpoints sent `"true"`.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    })
}

/// A client for Google's userinfo endpoint.
#[derive(Clone)]
pub struct GoogleClient {
    http: reqwest::Client,
    userinfo_url: String,
}

impl GoogleClient {
    /// A client with a total deadline per call.
    pub fn new(userinfo_url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            userinfo_url: userinfo_url.to_string(),
        })
    }

    /// Who `token` belongs to, if Google vouches for a verified email.
    pub async fn identify(&self, token: &str) -> Result<GoogleIdentity, GoogleError> {
        let res = self
            .http
            .get(&self.userinfo_url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| GoogleError::Unavailable(without_url(&e)))?;
        let status = res.status();
        if status.is_client_error() {
            return Err(GoogleError::Refused);
        }
        if !status.is_success() {
            return Err(GoogleError::Unavailable(format!("status {status}")));
        }
        let body = res
            .bytes()
            .await
            .map_err(|e| GoogleError::Unavailable(without_url(&e)))?;
        let info: UserInfo = serde_json::from_slice(&body)
            .map_err(|_| GoogleError::Unavailable("an unreadable userinfo answer".into()))?;
        let email = match info.email {
            Some(e) if info.email_verified && e.contains('@') && e.len() <= 255 => e,
            _ => return Err(GoogleError::Unverified),
        };
        let clip = |v: Option<String>, max: usize| {
            v.map(|s| s.chars().take(max).collect::<String>())
                .filter(|s| !s.trim().is_empty())
        };
        Ok(GoogleIdentity {
            email,
            given_name: clip(info.given_name, 150),
            family_name: clip(info.family_name, 150),
            picture: clip(info.picture, 255),
        })
    }
}

/// A reqwest error without its URL (the URL is configuration, the error goes to logs).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    kind.to_string()
}
