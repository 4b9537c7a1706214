//! `JsonBody`: the JSON body of a write, parsed as DRF parses it. A request with no body (and
//! whatever content type, usually none) is an empty object: Plio's editor creates a plio with
//! a body-less POST (SPEC 5.1). A non-empty body must be JSON.

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde_json::{Map, Value};

/// Largest accepted request body (SPEC 5): 10 MiB.
pub const MAX_BODY: usize = 10 * 1024 * 1024;

/// Room above [`MAX_BODY`] for a multipart upload's part headers.
pub const UPLOAD_SLACK: usize = 64 * 1024;

use crate::error::{AppError, Code};

/// A parsed JSON request body (`{}` when the request had none).
#[derive(Debug, Clone)]
pub struct JsonBody(pub Value);

impl JsonBody {
    /// The parsed value.
    pub fn into_inner(self) -> Value {
        self.0
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| m == "application/json" || m.ends_with("+json"))
}

/// Parses a body that has already been read.
pub fn parse(req: &HttpRequest, bytes: &[u8]) -> Result<Value, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    if !is_json(req) {
        return Err(AppError::with_detail(
            Code::UnsupportedMediaType,
            "Send the body as application/json.",
        ));
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|_| AppError::new(Code::InvalidJson))?;
    refuse_nul(&value)?;
    refuse_deep(&value)?;
    Ok(value)
}

/// Deepest nesting of a JSON body. Stored values are embedded a few levels down in other
/// payloads (a `settings` body under its organization's `config`, a `config` under each member's
/// user payload), and serde_json reads at most 128 levels: a body near that limit would be
/// stored and then fail every later read of the row (found by Schemathesis).
pub const MAX_JSON_DEPTH: usize = 64;

/// 400 for a body nesting deeper than [`MAX_JSON_DEPTH`].
pub fn refuse_deep(value: &Value) -> Result<(), AppError> {
    fn deeper_than(v: &Value, limit: usize) -> bool {
        match v {
            _ if limit == 0 => matches!(v, Value::Array(_) | Value::Object(_)),
            Value::Array(a) => a.iter().any(|v| deeper_than(v, limit - 1)),
            Value::Object(m) => m.values().any(|v| deeper_than(v, limit - 1)),
            _ => false,
        }
    }
    if deeper_than(value, MAX_JSON_DEPTH) {
        Err(AppError::with_detail(
            Code::Invalid,
            format!("JSON values may nest at most {MAX_JSON_DEPTH} levels deep."),
        ))
    } else {
        Ok(())
    }
}

/// PostgreSQL refuses U+0000 in text and jsonb: a body carrying it anywhere (a value or a
/// key, at any depth) is a 400 here rather than a failed statement.
pub fn refuse_nul(value: &Value) -> Result<(), AppError> {
    fn has_nul(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\u{0}'),
            Value::Array(a) => a.iter().any(has_nul),
            Value::Object(m) => m.iter().any(|(k, v)| k.contains('\u{0}') || has_nul(v)),
            _ => false,
        }
    }
    if has_nul(value) {
        Err(AppError::with_detail(
            Code::Invalid,
            "Null characters are not allowed.",
        ))
    } else {
        Ok(())
    }
}

impl FromRequest for JsonBody {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let bytes = RawBody::from_request(&req, payload);
        Box::pin(async move { parse(&req, &bytes.await?.0).map(JsonBody) })
    }
}

/// The raw bytes of a request body, with plio's errors: 413 over the limit, 408 when it did
/// not arrive before the body deadline, 400 otherwise.
#[derive(Debug, Clone)]
pub struct RawBody(pub web::Bytes);

impl std::ops::Deref for RawBody {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// Whether an error of the body stream is the body deadline.
pub fn is_body_timeout(e: &actix_web::error::PayloadError) -> bool {
    matches!(e, actix_web::error::PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

impl FromRequest for RawBody {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            bytes.await.map(RawBody).map_err(|e| {
                let timed_out = e
                    .as_error::<actix_web::error::PayloadError>()
                    .is_some_and(is_body_timeout);
                if timed_out {
                    AppError::new(Code::RequestTimeout)
                } else if e.as_response_error().status_code().as_u16() == 413 {
                    AppError::new(Code::PayloadTooLarge)
                } else {
                    AppError::with_detail(Code::BadRequest, "The request body could not be read.")
                }
            })
        })
    }
}

impl std::ops::Deref for JsonBody {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.0
    }
}
