//! Integration tests: one binary, one module per area. Every test talks to the real server
//! over HTTP (or runs the real `plio` binary) against real PostgreSQL.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a test fails loudly"
)]

mod architecture;
mod auth;
mod cache;
mod citus;
mod cli;
mod errors_and_health;
mod google;
mod helpers;
mod identity;
mod instances;
mod learner;
mod list_cache;
mod metrics;
mod openapi;
mod organizations;
mod otp_and_logs;
mod plios;
mod pool;
mod private_pg;
mod redis_budget;
mod redis_cluster;
mod reports_csv;
mod schema_drift;
mod sweep;
mod tenancy;
mod tenant_script;
mod trust;
mod web_client;
mod web_client_hardening;
