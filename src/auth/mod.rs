//! Authentication: password hashing, opaque bearer tokens and the request extractors.

pub mod caller;
pub mod google;
pub mod otp;
pub mod password;
pub mod permissions;
pub mod tokens;

pub use caller::{AuthUser, MaybeUser};
