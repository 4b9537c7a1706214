//! The `AuthUser` / `MaybeUser` extractors: the caller behind `Authorization: Bearer <token>`.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::auth::tokens::TokenCache;
use crate::auth::{AuthUser, MaybeUser};
use crate::db::models::token;
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::secrets;

/// The bearer token of a request: `Ok(None)` if absent, `Err` if malformed.
fn bearer(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AppError::new(Code::InvalidToken))?
        .trim();
    let mut parts = value.splitn(2, ' ');
    match (parts.next(), parts.next()) {
        (Some(scheme), Some(token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_string()))
        }
        _ => Err(AppError::with_detail(
            Code::InvalidToken,
            "Use the header 'Authorization: Bearer <token>'.",
        )),
    }
}

/// The digest of the request's bearer token, if it carries a well-formed one.
pub fn bearer_digest(req: &HttpRequest) -> Option<String> {
    bearer(req).ok().flatten().map(|t| secrets::sha256_hex(&t))
}

async fn authenticate(req: &HttpRequest) -> Result<Option<AuthUser>, AppError> {
    let Some(token) = bearer(req)? else {
        return Ok(None);
    };
    // Malformed tokens never reach the database.
    if token.len() > 256 {
        return Err(AppError::new(Code::InvalidToken));
    }
    let db = req
        .app_data::<web::Data<Database>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("database missing from app data")))?
        .get_ref()
        .clone();
    let hash = secrets::sha256_hex(&token);
    let cache = req
        .app_data::<web::Data<TokenCache>>()
        .map(|c| c.get_ref().clone());
    let owner = match cache.as_ref().and_then(|c| c.get(&hash)) {
        Some(o) => Some(o),
        None => {
            let digest = hash.clone();
            let generation = cache.as_ref().map(TokenCache::generation);
            let found = db
                .shared(move |conn| Ok(token::owner_of_access(conn, &digest)?))
                .await?;
            if let (Some(c), Some(o), Some(g)) = (&cache, &found, generation) {
                c.put(hash, o.clone(), g);
            }
            found
        }
    };
    match owner {
        Some(o) => {
            tracing::Span::current().record("user_id", o.user_id);
            Ok(Some(AuthUser {
                id: o.user_id,
                is_superuser: o.is_superuser,
            }))
        }
        None => Err(AppError::new(Code::InvalidToken)),
    }
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            authenticate(&req)
                .await?
                .ok_or_else(|| AppError::new(Code::NotAuthenticated))
        })
    }
}

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        // As DRF's authentication on an AllowAny view: a token that is not (or no longer)
        // valid makes the caller anonymous rather than refused (`play` stays public).
        Box::pin(async move {
            match authenticate(&req).await {
                Ok(user) => Ok(MaybeUser(user)),
                Err(e) if e.code() == Code::InvalidToken => Ok(MaybeUser(None)),
                Err(e) => Err(e),
            }
        })
    }
}
