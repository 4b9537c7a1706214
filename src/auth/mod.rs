//! Authentication: password hashing, opaque bearer tokens and the request extractors.

pub mod extractor;
pub mod password;
pub mod tokens;

pub use extractor::{AuthUser, MaybeUser};
