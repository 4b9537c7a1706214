//! Tenancy: the registry of tenants, provisioning (create / drop) and migrating every
//! schema. The tenant value itself (names, validation) is [`crate::tenant`].

pub mod citus;
pub mod migrate;
pub mod provisioning;
pub mod registry;

pub use registry::{TenantRegistry, TenantState};
