//! `AppError` → HTTP response: the status from the code table, the JSON body of SPEC 5, and
//! the headers some statuses carry (`Retry-After`, `WWW-Authenticate`).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

use crate::error::{body_for_code, code_for_status, AppError};

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            // Logged once, here, inside the request's span (which carries the request id).
            match self.cause() {
                Some(cause) => {
                    tracing::error!(code = self.code().as_str(), error = %format!("{cause:#}"), "request failed")
                }
                None => tracing::warn!(code = self.code().as_str(), "request failed"),
            }
        }
        let mut res = HttpResponse::build(status);
        if let Some(seconds) = self.retry_after_seconds() {
            res.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"api\""));
        }
        res.json(self.body())
    }
}

/// The JSON body for a bare status (used by the catch-all error shaper).
pub fn body_for_status(status: StatusCode) -> serde_json::Value {
    body_for_code(code_for_status(status.as_u16()))
}

/// The blocking bridge: `web::block(...).await?` in a handler fails as a 500 when the
/// blocking pool cannot run the task (it panicked, or the runtime is shutting down).
impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::internal(anyhow::anyhow!("blocking pool: {e}"))
    }
}
