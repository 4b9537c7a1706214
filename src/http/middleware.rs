//! Middleware: request context (id, span, access log), early refusals, error shaping.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use tracing::Instrument;

use crate::api::extract::body::{MAX_BODY, UPLOAD_SLACK};
use crate::error::{AppError, Code};
use crate::http::error::body_for_status;
use crate::metrics::Metrics;

/// Whether a raw path or query carries `%00` (a NUL once decoded) or a NUL byte.
fn has_nul_escape(raw: &str) -> bool {
    raw.contains('\u{0}')
        || raw
            .as_bytes()
            .windows(3)
            .any(|w| matches!(w, [b'%', b'0', b'0']))
}

/// The response header carrying the request id.
pub const REQUEST_ID: &str = "x-request-id";

fn valid_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
    .then(|| s.to_string())
}

/// Outermost middleware: request id (the caller's if sane, else a new UUID), a tracing span
/// with `request_id`, `tenant` and `user_id`, the request's Redis budget, one log line per
/// request (path without query string: queries may carry tokens), and the `X-Request-Id`
/// response header.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(valid_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.path(),
        tenant = tracing::field::Empty,
        user_id = tracing::field::Empty,
    );
    // No clone of the request may be held across `next.call`: inner middleware (path
    // rewriting) needs unique access to it. Inner layers turn errors into responses, so an
    // `Err` here is only passed on.
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    // Every Redis wait of the request comes out of one CACHE_TIMEOUT_MS (SPEC 6.5).
    let mut res = crate::cache::budget::scope(next.call(req))
        .instrument(span.clone())
        .await?;
    if let Some(m) = metrics {
        let route = res.request().match_pattern();
        m.observe_request(
            res.request().method().as_str(),
            route.as_deref().unwrap_or("unmatched"),
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    let _entered = span.enter();
    tracing::info!(
        status = res.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request finished"
    );
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), value);
    }
    Ok(res)
}

/// Refuses before routing (inside CORS, so browsers can read the answer): a body declared over
/// the limit (SPEC 5: 413 whether or not the route reads a body; multipart gets room for its
/// part headers), and a NUL anywhere in the path or query (PostgreSQL refuses the byte; plio
/// refuses it first).
pub async fn refuse_early(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let early = if declared.is_some_and(|n| n > (MAX_BODY + UPLOAD_SLACK) as u64) {
        Some(AppError::new(Code::PayloadTooLarge))
    } else if has_nul_escape(req.path()) || has_nul_escape(req.query_string()) {
        Some(AppError::with_detail(
            Code::BadRequest,
            "Null characters are not allowed in a URL.",
        ))
    } else {
        None
    };
    if let Some(e) = early {
        let res = actix_web::ResponseError::error_response(&e);
        return Ok(req.into_response(res).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Every path ends with a slash and repeated slashes are merged (as actix's
/// `NormalizePath(TrailingSlash::Always)` does), without a regex pass over paths that are
/// already normal: the common case costs two scans of the path.
pub async fn normalize_path(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path();
    if !path.is_empty() && (!path.ends_with('/') || path.contains("//")) {
        let mut normal = String::with_capacity(path.len() + 1);
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            normal.push('/');
            normal.push_str(segment);
        }
        normal.push('/');
        if let Some(q) = req.uri().query() {
            normal.push('?');
            normal.push_str(q);
        }
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = actix_web::http::uri::PathAndQuery::try_from(normal) {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = actix_web::http::Uri::from_parts(parts) {
                req.match_info_mut().get_mut().update(&uri);
                req.head_mut().uri = uri;
            }
        }
    }
    next.call(req).await
}

/// Gives every 4xx/5xx without a JSON body (actix's own 404/405, …) the error shape of SPEC 5.
pub async fn shape_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let res = next.call(req).await?;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return Ok(res.map_into_left_body());
    }
    let (req, old) = res.into_parts();
    let mut shaped = HttpResponse::build(status).json(body_for_status(status));
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, shaped).map_into_right_body())
}
