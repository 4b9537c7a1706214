//! The resolver middleware (SPEC 2.3): picks the tenant of every request.
//!
//! Order: the `Organization` header (shortcode; empty = absent; unknown → 404); the host plus
//! first path segment (the segment is stripped before routing), then the host alone; otherwise
//! the public schema. A tenant that is not [`TenantState::Ready`] answers 503.

use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Uri};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use crate::api::extract::PathPrefix;
use crate::error::{AppError, Code};
use crate::tenancy::registry::Entry;
use crate::tenancy::{TenantRegistry, TenantState};

/// The request header naming the tenant by shortcode (sent by Plio's web client).
pub const ORGANIZATION_HEADER: &str = "organization";

/// Paths served without tenant resolution.
const EXEMPT: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// The outcome of resolution.
#[derive(Debug)]
pub struct Resolution {
    /// The tenant entry.
    pub entry: Arc<Entry>,
    /// The path to route when a `host/segment` domain matched (segment removed).
    pub rewritten_path: Option<String>,
}

/// Resolves a tenant from the header value, host and path (pure; no I/O).
pub fn resolve(
    registry: &TenantRegistry,
    header: Option<&[u8]>,
    host: Option<&str>,
    path: &str,
) -> Result<Resolution, AppError> {
    if let Some(raw) = header {
        let value = std::str::from_utf8(raw).map(str::trim).unwrap_or("\u{0}");
        if !value.is_empty() {
            return registry
                .by_shortcode(value)
                .map(|entry| Resolution {
                    entry,
                    rewritten_path: None,
                })
                .ok_or_else(|| {
                    AppError::with_detail(
                        Code::TenantNotFound,
                        "No organization matches the Organization header.",
                    )
                });
        }
    }
    if let Some(host) = host.map(normalize_host).filter(|h| !h.is_empty()) {
        let trimmed = path.trim_start_matches('/');
        let (segment, rest) = match trimmed.split_once('/') {
            Some((seg, rest)) => (seg, Some(rest)),
            None => (trimmed, None),
        };
        if !segment.is_empty() {
            let candidate = format!("{host}/{}", segment.to_ascii_lowercase());
            if let Some(entry) = registry.by_domain(&candidate) {
                let rewritten = format!("/{}", rest.unwrap_or(""));
                return Ok(Resolution {
                    entry,
                    rewritten_path: Some(rewritten),
                });
            }
        }
        if let Some(entry) = registry.by_domain(&host) {
            return Ok(Resolution {
                entry,
                rewritten_path: None,
            });
        }
    }
    Ok(Resolution {
        entry: registry.public(),
        rewritten_path: None,
    })
}

/// Lower-cases a host and drops the port (`Plio.IN:8001` → `plio.in`, `[::1]:80` → `[::1]`).
fn normalize_host(host: &str) -> String {
    let host = host.trim();
    let without_port = if host.starts_with('[') {
        host.split_once(']').map_or(host, |(h, _)| h).to_string() + "]"
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h)
            .to_string()
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

/// The middleware: resolves, rewrites the path if needed, stores the [`Tenant`] in the request.
pub async fn resolve_tenant(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if EXEMPT.contains(&req.path().trim_end_matches('/'))
        || req.path().starts_with("/media/")
        || req.path().starts_with(crate::http::openapi::DOCS_PREFIX)
    {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let Some(registry) = req.app_data::<web::Data<TenantRegistry>>().cloned() else {
        let e = AppError::internal(anyhow::anyhow!("tenant registry missing from app data"));
        return Ok(req.error_response(e).map_into_right_body());
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_string()));
    // The OAuth routes under /auth/ are not scoped to a tenant: the web client sends its
    // workspace header there too, and a stale one must not stop a token refresh.
    let header = req
        .headers()
        .get(ORGANIZATION_HEADER)
        .filter(|_| !is_auth_path(req.path()))
        .map(|h| h.as_bytes().to_vec());
    let resolution = match resolve(&registry, header.as_deref(), host.as_deref(), req.path()) {
        Ok(r) => r,
        Err(e) => return Ok(req.error_response(e).map_into_right_body()),
    };
    if resolution.entry.state != TenantState::Ready {
        tracing::warn!(tenant = %resolution.entry.tenant.shortcode(), state = ?resolution.entry.state, "tenant unavailable");
        let e = AppError::new(Code::TenantUnavailable);
        return Ok(req.error_response(e).map_into_right_body());
    }
    if let Some(path) = resolution.rewritten_path {
        let original = req.path().to_string();
        if let Err(e) = rewrite_path(&mut req, &path) {
            return Ok(req.error_response(e).map_into_right_body());
        }
        let prefix_len = original.len().saturating_sub(path.len());
        let prefix = original.get(..prefix_len).unwrap_or("").to_string();
        req.extensions_mut().insert(PathPrefix(prefix));
    }
    tracing::Span::current().record("tenant", resolution.entry.tenant.shortcode());
    req.extensions_mut().insert(resolution.entry.tenant.clone());
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// `/auth/...`, or `/<segment>/auth/...` behind a `host/segment` domain (`auth` is a
/// reserved route name, never a shortcode).
fn is_auth_path(path: &str) -> bool {
    let mut segments = path.trim_start_matches('/').split('/');
    let first = segments.next();
    first == Some("auth") || segments.next() == Some("auth")
}

fn rewrite_path(req: &mut ServiceRequest, path: &str) -> Result<(), AppError> {
    let pq = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = req.head().uri.clone().into_parts();
    parts.path_and_query = Some(
        pq.parse()
            .map_err(|_| AppError::with_detail(Code::BadRequest, "Invalid request path."))?,
    );
    let uri = Uri::from_parts(parts)
        .map_err(|_| AppError::with_detail(Code::BadRequest, "Invalid request path."))?;
    req.match_info_mut().get_mut().update(&uri);
    req.head_mut().uri = uri;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{is_auth_path, normalize_host};

    #[test]
    fn auth_paths_are_recognised_with_or_without_a_domain_segment() {
        assert!(is_auth_path("/auth/token/"));
        assert!(is_auth_path("/acme/auth/token/"));
        assert!(!is_auth_path("/api/v1/plios/"));
        assert!(!is_auth_path("/acme/api/v1/auth/"));
    }

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(normalize_host("Plio.IN:8001"), "plio.in");
        assert_eq!(normalize_host("localhost"), "localhost");
        assert_eq!(normalize_host("[::1]:8080"), "[::1]");
        assert_eq!(normalize_host("plio.in."), "plio.in");
    }
}
