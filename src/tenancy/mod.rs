//! Tenancy: the registry of tenants and provisioning (create / migrate / drop). The tenant
//! value itself (names, validation) is [`crate::tenant`].

pub mod provisioning;
pub mod registry;

pub use registry::{TenantRegistry, TenantState};
