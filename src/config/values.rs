//! The typed values of settings: backends, formats, drivers, secrets, and parse errors that
//! name the variable.

use std::fmt;

/// Which cache backend serves cached payloads (SPEC 6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheBackend {
    /// Bounded in-process cache (default without `REDIS_URL`).
    Memory,
    /// Redis through deadpool-redis (default with `REDIS_URL`).
    Redis,
    /// No caching at all.
    None,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// How one-time passwords are delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmsDriver {
    /// Write the code to the server log (development default).
    Log,
    /// POST `{mobile, message}` as JSON to `SMS_WEBHOOK_URL` (wire a real SMS provider there).
    Webhook,
}

/// A secret value that never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret string.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A configuration error naming the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {var}: {message}")]
pub struct ConfigError {
    /// The environment variable.
    pub var: &'static str,
    /// What is wrong with its value.
    pub message: String,
}

pub(super) fn err(var: &'static str, message: &str) -> ConfigError {
    ConfigError {
        var,
        message: message.to_string(),
    }
}

pub(super) fn parse_num<T>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(raw) = get(var) else {
        return Ok(default);
    };
    match raw.trim().parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(err(
            var,
            &format!("must be a whole number from {min} to {max}, got {raw:?}"),
        )),
    }
}
