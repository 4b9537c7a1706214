//! Models and their queries. Query functions take `&mut PgConnection` (already scoped by the
//! caller through the chokepoint) and return `QueryResult`.

pub mod content;
pub mod learner;
pub mod login_failure;
pub mod membership;
pub mod organization;
pub mod otp;
pub mod plio;
pub mod report_files;
pub mod reports;
pub mod role;
pub mod token;
pub mod user;
