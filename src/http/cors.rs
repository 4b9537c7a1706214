//! CORS as Plio's django-cors-headers setup answers it (SPEC 5.1): any origin unless
//! `CORS_ALLOWED_ORIGINS` narrows it, the `Authorization`, `Content-Type` and `Organization`
//! request headers, a preflight answered on every route, and no credentials (tokens travel in
//! bearer headers, not cookies).

use actix_cors::Cors;
use actix_web::http::header::{self, HeaderName};

use crate::config::Settings;

/// How long a browser may reuse a preflight answer (django-cors-headers' default).
const PREFLIGHT_MAX_AGE_SECONDS: usize = 86_400;

/// The CORS middleware for these settings.
pub fn cors(settings: &Settings) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"])
        .allowed_headers([
            header::ACCEPT,
            header::ACCEPT_ENCODING,
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ORIGIN,
            header::USER_AGENT,
            HeaderName::from_static("dnt"),
            HeaderName::from_static("organization"),
            HeaderName::from_static("x-csrftoken"),
            HeaderName::from_static("x-requested-with"),
            HeaderName::from_static(crate::http::middleware::REQUEST_ID),
        ])
        .expose_headers([
            header::CONTENT_DISPOSITION,
            header::RETRY_AFTER,
            HeaderName::from_static(crate::http::middleware::REQUEST_ID),
        ])
        .max_age(PREFLIGHT_MAX_AGE_SECONDS);
    match &settings.cors_allowed_origins {
        None => cors = cors.allow_any_origin().send_wildcard(),
        Some(origins) => {
            for origin in origins {
                cors = cors.allowed_origin(origin);
            }
        }
    }
    cors
}
