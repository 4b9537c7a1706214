//! The HTTP edge, the only layer besides `api` that knows actix: the route table, middleware
//! (request context, error shape, tenant resolution, CORS, body deadlines), extractors (bodies,
//! the caller) and `AppError` → response.

pub mod changes;
pub mod cors;
pub mod deadline;
pub mod error;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod tenant;
