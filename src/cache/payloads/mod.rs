//! Cached payload types (SPEC 6.3) and how they are built from rows: they live with the cache,
//! not with the rows (`db` knows nothing of caches).

pub mod plio;
pub mod plio_list;
pub mod user;
pub mod wire;
