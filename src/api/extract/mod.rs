//! Extractors: what handlers take from a request besides its path and query: bodies (JSON,
//! raw), the caller, the tenant, and the origin the client addressed.

pub mod body;
pub mod caller;
pub mod tenant;

use actix_web::HttpRequest;

/// The path segment removed by a `host/segment` domain match (e.g. `/avantifellows`), kept so
/// that absolute links (pagination, image URLs) can be rebuilt as the client addressed them.
#[derive(Clone, Debug)]
pub struct PathPrefix(pub String);

/// The origin and path prefix the client addressed this request to (`https://host/segment`
/// when a `host/segment` domain matched), for absolute links; `None` when the scheme or host
/// the request claims (`Host`, `Forwarded`, `X-Forwarded-*`) is not a plain http(s) origin.
pub fn addressed_base(req: &HttpRequest) -> Option<String> {
    use actix_web::HttpMessage;
    let info = req.connection_info();
    let scheme = info.scheme();
    let host = info.host();
    let host_ok = !host.is_empty()
        && host.len() <= 100
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !matches!(scheme, "http" | "https") || !host_ok {
        return None;
    }
    let prefix = req
        .extensions()
        .get::<PathPrefix>()
        .map(|p| p.0.clone())
        .unwrap_or_default();
    Some(format!("{scheme}://{host}{prefix}"))
}
