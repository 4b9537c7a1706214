//! plio: a schema-per-tenant backend for interactive videos, API-compatible with Plio.
//!
//! Dependencies point one way (README, "Architecture"): `cli` → `http` → `api` → `auth`,
//! `cache`, `tenancy` → `db` → `config`, `error`, `tenant`.

pub mod api;
pub mod auth;
pub mod bus;
pub mod cache;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod metrics;
pub mod secrets;
pub mod seed;
pub mod telemetry;
pub mod tenancy;
pub mod tenant;

pub use http::server::{Application, ServeOptions};
