//! The `Tenant` extractor: the tenant the resolver middleware put on the request.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use crate::error::AppError;
use crate::tenant::Tenant;

impl FromRequest for Tenant {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<Tenant>().cloned().ok_or_else(|| {
            AppError::internal(anyhow::anyhow!(
                "handler needs a tenant but none was resolved"
            ))
        }))
    }
}
