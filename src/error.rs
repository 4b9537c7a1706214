//! `AppError`, the one error type of handlers, and the table of error codes.
//!
//! Every 4xx/5xx body is `{"detail": "...", "code": "..."}` plus `"fields"` for validation
//! errors (SPEC 5). The internal cause is logged, never sent.

use std::collections::BTreeMap;
use std::fmt;

macro_rules! error_codes {
    ($($variant:ident => ($status:literal, $code:literal, $detail:literal)),* $(,)?) => {
        /// Stable error codes and their HTTP statuses: the one table of the API's errors.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Code { $($variant),* }

        impl Code {
            /// The HTTP status of this code.
            pub fn status(self) -> u16 {
                match self { $(Code::$variant => $status),* }
            }
            /// The snake_case code sent to clients.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code),* }
            }
            /// The default human sentence.
            pub fn default_detail(self) -> &'static str {
                match self { $(Code::$variant => $detail),* }
            }
        }
    };
}

error_codes! {
    InvalidJson => (400, "invalid_json", "The request body is not valid JSON."),
    Invalid => (400, "invalid", "The request is invalid."),
    BadRequest => (400, "bad_request", "The request could not be understood."),
    InvalidGrant => (400, "invalid_grant", "Invalid credentials given."),
    UnsupportedGrantType => (400, "unsupported_grant_type", "The grant type is not supported."),
    NotAuthenticated => (401, "not_authenticated", "Authentication credentials were not provided."),
    InvalidToken => (401, "invalid_token", "The access token is invalid or expired."),
    InvalidOtp => (401, "invalid_otp", "unauthorized"),
    PermissionDenied => (403, "permission_denied", "You do not have permission to perform this action."),
    NotFound => (404, "not_found", "Not found."),
    TenantNotFound => (404, "tenant_not_found", "No organization matches this request."),
    MethodNotAllowed => (405, "method_not_allowed", "Method not allowed."),
    NotAcceptable => (406, "not_acceptable", "Not acceptable."),
    RequestTimeout => (408, "request_timeout", "The request body did not arrive in time."),
    Conflict => (409, "conflict", "The resource already exists."),
    Unique => (400, "unique", "A resource with this value already exists."),
    PayloadTooLarge => (413, "payload_too_large", "The request body is larger than 10 MiB."),
    UnsupportedMediaType => (415, "unsupported_media_type", "Unsupported media type."),
    Throttled => (429, "throttled", "Too many requests."),
    Internal => (500, "internal_error", "An internal error occurred."),
    DatabaseUnavailable => (503, "database_unavailable", "The database is unavailable; try again shortly."),
    SmsUnavailable => (503, "sms_unavailable", "The code could not be sent; try again shortly."),
    GoogleUnavailable => (503, "google_unavailable", "Google could not be reached; try again shortly."),
    TenantUnavailable => (503, "tenant_unavailable", "This organization is temporarily unavailable."),
}

/// Validation messages per field.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// The error of every handler.
pub struct AppError {
    code: Code,
    detail: String,
    fields: Option<FieldErrors>,
    cause: Option<anyhow::Error>,
    retry_after: Option<i64>,
}

/// The key DRF uses for errors that belong to no single field.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

/// The error body: `detail`, `code`, `fields`, and (SPEC 5.1) DRF's own keys beside them:
/// each field's messages under the field's name, so clients reading
/// `error.response.data.email` or `non_field_errors` keep working.
fn body(detail: &str, code: &str, fields: Option<&FieldErrors>) -> serde_json::Value {
    use serde_json::Value;
    let mut map = serde_json::Map::new();
    map.insert("detail".into(), Value::from(detail));
    map.insert("code".into(), Value::from(code));
    if let Some(fields) = fields {
        for (field, messages) in fields {
            if !matches!(field.as_str(), "detail" | "code" | "fields") {
                map.insert(field.clone(), Value::from(messages.clone()));
            }
        }
        map.insert(
            "fields".into(),
            serde_json::to_value(fields).unwrap_or_default(),
        );
    }
    Value::Object(map)
}

impl AppError {
    /// An error with the code's default sentence.
    pub fn new(code: Code) -> Self {
        Self {
            code,
            detail: code.default_detail().to_string(),
            fields: None,
            cause: None,
            retry_after: None,
        }
    }
    /// Adds a `Retry-After` header (seconds) to the response.
    pub fn retry_after(mut self, seconds: i64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
    /// An error with a specific sentence.
    pub fn with_detail(code: Code, detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
            ..Self::new(code)
        }
    }
    /// 400 with per-field messages.
    pub fn validation(fields: FieldErrors) -> Self {
        let detail = match fields.iter().next() {
            Some((field, msgs)) if fields.len() == 1 => {
                format!(
                    "{field}: {}",
                    msgs.first().map_or("invalid", String::as_str)
                )
            }
            _ => "Some fields are invalid.".to_string(),
        };
        Self {
            code: Code::Invalid,
            detail,
            fields: Some(fields),
            cause: None,
            retry_after: None,
        }
    }
    /// 400 for a single field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.insert(field.to_string(), vec![message.into()]);
        Self::validation(fields)
    }
    /// An error whose message belongs to one key of `fields` (and is its `detail`).
    fn keyed(code: Code, field: &str, message: String) -> Self {
        let mut fields = FieldErrors::new();
        fields.insert(field.to_string(), vec![message.clone()]);
        Self {
            code,
            detail: message,
            fields: Some(fields),
            cause: None,
            retry_after: None,
        }
    }
    /// 400 for an error that belongs to no single field (DRF's `non_field_errors`).
    pub fn non_field(message: impl Into<String>) -> Self {
        Self::keyed(Code::Invalid, NON_FIELD_ERRORS, message.into())
    }
    /// 400 for a value that must be unique and is taken (DRF answers uniqueness with 400 under
    /// the field's key; only tenant creation keeps 409, SPEC 5.1).
    pub fn unique(field: &str, message: impl Into<String>) -> Self {
        Self::keyed(Code::Unique, field, message.into())
    }
    /// 409 for a single field (tenant creation only, SPEC 2.2).
    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        Self::keyed(Code::Conflict, field, message.into())
    }
    /// 500 carrying the internal cause for the log.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(Code::Internal)
        }
    }
    /// Attaches an internal cause (logged, never sent).
    pub fn caused_by(mut self, cause: impl Into<anyhow::Error>) -> Self {
        self.cause = Some(cause.into());
        self
    }
    /// The stable code.
    pub fn code(&self) -> Code {
        self.code
    }
    /// The internal cause (for the log).
    pub fn cause(&self) -> Option<&anyhow::Error> {
        self.cause.as_ref()
    }

    /// Seconds for `Retry-After`, if the client should wait.
    pub fn retry_after_seconds(&self) -> Option<i64> {
        self.retry_after
    }

    /// The JSON body sent to the client (SPEC 5's error shape).
    pub fn body(&self) -> serde_json::Value {
        body(&self.detail, self.code.as_str(), self.fields.as_ref())
    }

    /// The human sentence.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppError")
            .field("code", &self.code.as_str())
            .field("detail", &self.detail)
            .field("cause", &self.cause.as_ref().map(|c| format!("{c:#}")))
            .finish()
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)
    }
}

/// The error code for a bare HTTP status (actix's own 404/405, …).
pub fn code_for_status(status: u16) -> Code {
    match status {
        400 => Code::BadRequest,
        401 => Code::NotAuthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        405 => Code::MethodNotAllowed,
        406 => Code::NotAcceptable,
        408 => Code::RequestTimeout,
        409 => Code::Conflict,
        413 => Code::PayloadTooLarge,
        415 => Code::UnsupportedMediaType,
        429 => Code::Throttled,
        503 => Code::DatabaseUnavailable,
        s if s >= 500 => Code::Internal,
        _ => Code::BadRequest,
    }
}

/// The JSON body for a bare code (its default sentence).
pub fn body_for_code(code: Code) -> serde_json::Value {
    body(code.default_detail(), code.as_str(), None)
}

/// `true` for errors meaning the database cannot be reached right now. diesel classifies
/// them from SQLSTATE class 08 and from libpq's connection state (a server that terminated the
/// session, 57P01, leaves the connection bad); the message text, whose language follows
/// `lc_messages`, is never read.
pub fn is_connection_error(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        e,
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | Error::BrokenTransactionManager
    )
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::NotFound => Self::new(Code::NotFound),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                match unique_field(info.constraint_name()) {
                    Some(field) => Self::unique(
                        field,
                        format!("A resource with this {field} already exists."),
                    ),
                    None => Self::non_field("A resource with these values already exists."),
                }
                .caused_by(e)
            }
            _ if is_connection_error(&e) => Self::new(Code::DatabaseUnavailable).caused_by(e),
            _ => Self::internal(e),
        }
    }
}

/// The API field behind a unique constraint (PostgreSQL's `{table}_{column}_key` names).
fn unique_field(constraint: Option<&str>) -> Option<&'static str> {
    match constraint? {
        "user_email_key" => Some("email"),
        "tag_slug_key" => Some("slug"),
        "plio_uuid_key" => Some("uuid"),
        "organization_shortcode_key" => Some("shortcode"),
        "organization_schema_name_key" => Some("shortcode"),
        "organizations_domain_domain_key" => Some("domain"),
        _ => None,
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::new(Code::DatabaseUnavailable).caused_by(anyhow::anyhow!("connection pool: {e}"))
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::internal(anyhow::anyhow!("blocking task: {e}"))
    }
}

impl From<crate::tenant::TenantUnavailable> for AppError {
    fn from(e: crate::tenant::TenantUnavailable) -> Self {
        Self::new(Code::TenantUnavailable).caused_by(anyhow::anyhow!("{e}"))
    }
}
