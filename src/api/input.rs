//! Field-by-field validation of JSON bodies into typed values, collecting every field's
//! messages into one 400 `invalid` error (the shape DRF clients expect under `fields`).

use serde_json::{Map, Value};

use crate::error::{AppError, Code, FieldErrors};

/// Largest `config`/`settings` object (SPEC 5.2): they are embedded in other people's
/// payloads, so no caller may make them huge.
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;

/// 413 unless the serialized value fits in [`MAX_CONFIG_BYTES`].
pub fn check_config_size(value: &Value) -> Result<(), AppError> {
    let mut counter = ByteCounter(0);
    // Writing into a counter cannot fail; a failure would only mean "not measured".
    let _ = serde_json::to_writer(&mut counter, value);
    if counter.0 > MAX_CONFIG_BYTES {
        Err(config_too_large())
    } else {
        Ok(())
    }
}

fn config_too_large() -> AppError {
    AppError::with_detail(
        Code::PayloadTooLarge,
        "A config or settings object is at most 64 KiB.",
    )
}

struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A JSON object being validated.
pub struct Input {
    map: Map<String, Value>,
    errors: FieldErrors,
    too_large: bool,
}

impl Input {
    /// Accepts only a JSON object.
    pub fn new(value: Value) -> Result<Self, AppError> {
        match value {
            Value::Object(map) => Ok(Self {
                map,
                errors: FieldErrors::new(),
                too_large: false,
            }),
            _ => Err(AppError::with_detail(
                Code::Invalid,
                "Expected a JSON object.",
            )),
        }
    }

    /// Whether the key is present (even as null).
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn error(&mut self, key: &str, message: impl Into<String>) {
        self.errors
            .entry(key.to_string())
            .or_default()
            .push(message.into());
    }

    /// Whether the key is present with a JSON null.
    pub fn is_null(&self, key: &str) -> bool {
        matches!(self.map.get(key), Some(Value::Null))
    }

    /// Records a custom error for a field.
    pub fn reject(&mut self, key: &str, message: impl Into<String>) {
        self.error(key, message);
    }

    /// A string of at most `max` characters; `required` also refuses blank.
    pub fn string(&mut self, key: &str, required: bool, max: usize) -> Option<String> {
        match self.map.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.error(key, "This field is required.");
                }
                None
            }
            Some(Value::String(s)) => {
                if required && s.trim().is_empty() {
                    self.error(key, "This field may not be blank.");
                    None
                } else if s.chars().count() > max {
                    self.error(
                        key,
                        format!("Ensure this field has no more than {max} characters."),
                    );
                    None
                } else if s.contains('\u{0}') {
                    self.error(key, "Null characters are not allowed.");
                    None
                } else {
                    Some(s.clone())
                }
            }
            Some(_) => {
                self.error(key, "Not a valid string.");
                None
            }
        }
    }

    /// A JSON object value.
    pub fn object(&mut self, key: &str, required: bool) -> Option<Value> {
        match self.map.get(key) {
            None => {
                if required {
                    self.error(key, "This field is required.");
                }
                None
            }
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => {
                self.error(key, "Expected a JSON object.");
                None
            }
        }
    }

    /// A `config` object: as [`Input::object`], at most [`MAX_CONFIG_BYTES`] (413 otherwise).
    pub fn config(&mut self, key: &str, required: bool) -> Option<Value> {
        let v = self.object(key, required)?;
        if check_config_size(&v).is_err() {
            self.too_large = true;
            return None;
        }
        Some(v)
    }

    /// A boolean.
    pub fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.error(key, "Must be a valid boolean.");
                None
            }
        }
    }

    /// A finite number.
    pub fn number(&mut self, key: &str, required: bool) -> Option<f64> {
        match self.map.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.error(key, "This field is required.");
                }
                None
            }
            Some(v) => match v.as_f64().filter(|f| f.is_finite()) {
                Some(f) => Some(f),
                None => {
                    self.error(key, "A valid number is required.");
                    None
                }
            },
        }
    }

    /// The raw value of a key.
    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    /// A positive integer id (a primary key reference).
    pub fn id(&mut self, key: &str, required: bool) -> Option<i32> {
        match self.map.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.error(key, "This field is required.");
                }
                None
            }
            Some(v) => match v
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .filter(|n| *n > 0)
            {
                Some(n) => Some(n),
                None => {
                    self.error(key, "Incorrect type. Expected pk value.");
                    None
                }
            },
        }
    }

    /// Ends validation: the collected errors, if any, as one 400.
    pub fn finish(self) -> Result<(), AppError> {
        if self.too_large {
            return Err(config_too_large());
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::validation(self.errors))
        }
    }
}
