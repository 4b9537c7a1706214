//! The OpenAPI 3.1 document, generated from the handlers' own `#[utoipa::path]` annotations and
//! request/response types, and the browsable docs page served from assets vendored into the
//! binary (SPEC 5: `GET /api/v1/docs/`, `GET /api/v1/docs/openapi.json`).
//!
//! Responses every route can give (an unknown `Organization` → 404, a body over 10 MiB → 413,
//! a slow body → 408, the database down → 503, ...) are added here once, by [`CommonErrors`],
//! rather than repeated on every handler.

use std::sync::{Arc, OnceLock};

use actix_web::{web, HttpResponse};
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, Ref, RefOr, Required, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

use crate::error::{AppError, Code};

/// The docs pages, served without tenant resolution.
pub const DOCS_PREFIX: &str = "/api/v1/docs";

/// Where the document is served (also what the docs page loads).
pub const SPEC_URL: &str = "/api/v1/docs/openapi.json";

pub use crate::api::responses::ErrorBody;

/// The API document: every route of the route table ([`crate::http::routes::routes`]).
#[derive(OpenApi)]
#[openapi(
    info(title = "plio"),
    paths(
        crate::api::health::healthz,
        crate::api::health::readyz,
        crate::api::health::metrics,
        crate::api::images::serve_media,
        crate::api::auth::create_token,
        crate::api::auth::revoke_token,
        crate::api::google::convert_token,
        crate::api::auth::sso_token,
        crate::api::organizations::list_organizations,
        crate::api::organizations::create_organization,
        crate::api::organizations::get_organization,
        crate::api::organizations::update_organization,
        crate::api::organizations::delete_organization,
        crate::api::organization_settings::update_organization_setting,
        crate::api::organization_settings::rotate_api_key,
        crate::api::otp::request_otp,
        crate::api::otp::verify_otp,
        crate::api::user_config::get_user_by_token,
        crate::api::users::list_users,
        crate::api::users::create_user,
        crate::api::users::get_user,
        crate::api::users::update_user,
        crate::api::users::delete_user,
        crate::api::user_config::update_user_setting,
        crate::api::user_config::get_user_config,
        crate::api::user_config::update_user_config,
        crate::api::roles::list_roles,
        crate::api::roles::get_role,
        crate::api::memberships::list_memberships,
        crate::api::memberships::create_membership,
        crate::api::memberships::get_membership,
        crate::api::memberships::update_membership,
        crate::api::memberships::delete_membership,
        crate::api::plio_list::list_plios,
        crate::api::plios::create_plio,
        crate::api::plios::get_plio,
        crate::api::plios::update_plio,
        crate::api::plios::delete_plio,
        crate::api::plios::play_plio,
        crate::api::plios::update_plio_setting,
        crate::api::plios::duplicate_plio,
        crate::api::plios::copy_plio,
        crate::api::reports::plio_metrics,
        crate::api::reports::download_data,
        crate::api::sessions::list_sessions,
        crate::api::sessions::create_session,
        crate::api::sessions::get_session,
        crate::api::sessions::update_session,
        crate::api::sessions::delete_session,
        crate::api::session_answers::list_answers,
        crate::api::session_answers::create_answer,
        crate::api::session_answers::get_answer,
        crate::api::session_answers::update_answer,
        crate::api::session_answers::delete_answer,
        crate::api::events::list_events,
        crate::api::events::create_event,
        crate::api::events::get_event,
        crate::api::events::update_event,
        crate::api::events::delete_event,
        crate::api::experiments::list_experiments,
        crate::api::experiments::create_experiment,
        crate::api::experiments::get_experiment,
        crate::api::experiments::update_experiment,
        crate::api::experiments::delete_experiment,
        crate::api::experiment_plios::list_experiment_plios,
        crate::api::experiment_plios::create_experiment_plio,
        crate::api::experiment_plios::get_experiment_plio,
        crate::api::experiment_plios::update_experiment_plio,
        crate::api::experiment_plios::delete_experiment_plio,
        crate::api::tags::list_tags,
        crate::api::tags::create_tag,
        crate::api::tags::get_tag,
        crate::api::tags::update_tag,
        crate::api::tags::delete_tag,
        crate::api::items::list_items,
        crate::api::items::create_item,
        crate::api::items::bulk_delete_items,
        crate::api::items::get_item,
        crate::api::items::update_item,
        crate::api::items::delete_item,
        crate::api::questions::list_questions,
        crate::api::questions::create_question,
        crate::api::questions::get_question,
        crate::api::questions::update_question,
        crate::api::questions::delete_question,
        crate::api::videos::list_videos,
        crate::api::videos::create_video,
        crate::api::videos::get_video,
        crate::api::videos::update_video,
        crate::api::videos::delete_video,
        crate::api::images::list_images,
        crate::api::images::create_image,
        crate::api::images::get_image,
        crate::api::images::update_image,
        crate::api::images::delete_image

    ),
    components(schemas(ErrorBody)),
    modifiers(&CommonErrors),
)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn openapi_json() -> &'static str {
    static SPEC: OnceLock<String> = OnceLock::new();
    SPEC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_default())
}

/// Adds the bearer scheme, the `Organization` header of tenant-resolved routes and the error
/// responses that every route can give.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                add_common(path, op);
            }
        }
    }
}

fn add_common(path: &str, op: &mut Operation) {
    // Every route but health checks, media files and the docs resolves a tenant (SPEC 2.3).
    let tenant_scoped = !["/healthz/", "/readyz/", "/metrics/", "/media/", DOCS_PREFIX]
        .iter()
        .any(|p| path.starts_with(p));
    if tenant_scoped {
        let header: Parameter = ParameterBuilder::new()
            .name("Organization")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Shortcode of the organization (tenant); absent or empty: the personal workspace.",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build();
        op.parameters.get_or_insert_with(Vec::new).push(header);
    }
    // A body-less POST or PUT is an empty object, as DRF parses it (SPEC 5.1): JSON and form
    // bodies may be left out; only uploads need one.
    if let Some(body) = op.request_body.as_mut() {
        if !body.content.contains_key("multipart/form-data") {
            body.required = Some(Required::False);
        }
    }
    let secured = op.security.as_ref().is_some_and(|s| {
        serde_json::to_value(s)
            .map(|v| v.to_string().contains("bearer"))
            .unwrap_or(false)
    });
    let mut codes = vec![
        Code::RequestTimeout,
        Code::PayloadTooLarge,
        Code::DatabaseUnavailable,
    ];
    if path != "/healthz/" && path != "/readyz/" && path != "/metrics/" {
        codes.extend([Code::BadRequest, Code::NotFound]);
    }
    if op.request_body.is_some() {
        codes.push(Code::UnsupportedMediaType);
    }
    if secured {
        codes.extend([Code::NotAuthenticated, Code::PermissionDenied]);
    }
    if path.starts_with("/auth/") || path.starts_with("/api/v1/otp/") {
        codes.push(Code::Throttled);
    }
    for code in codes {
        let status = code.status().to_string();
        op.responses.responses.entry(status).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(code.default_detail())
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        });
    }
}

/// `GET /api/v1/docs/openapi.json`.
async fn get_openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi_json())
}

fn swagger_config() -> Arc<utoipa_swagger_ui::Config<'static>> {
    static CONFIG: OnceLock<Arc<utoipa_swagger_ui::Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| Arc::new(utoipa_swagger_ui::Config::new([SPEC_URL])))
        .clone()
}

/// `GET /api/v1/docs/{file}`: the Swagger UI page and its assets, vendored into the binary.
/// The app's path normalization appends a slash to every path (`swagger-ui.css/`), so the file
/// name is read without it, and the page pins its base so that relative asset links resolve
/// under `/api/v1/docs/` however it was addressed.
async fn get_docs_file(tail: web::Path<String>) -> Result<HttpResponse, AppError> {
    let tail = tail.into_inner();
    let file = tail.trim_end_matches('/');
    match utoipa_swagger_ui::serve(file, swagger_config()) {
        Ok(Some(f)) => {
            let mut body = f.bytes.into_owned();
            if file.is_empty() || file == "index.html" {
                body = String::from_utf8_lossy(&body)
                    .replacen("<head>", "<head><base href=\"/api/v1/docs/\">", 1)
                    .into_bytes();
            }
            Ok(HttpResponse::Ok().content_type(f.content_type).body(body))
        }
        Ok(None) => Err(AppError::new(Code::NotFound)),
        Err(e) => Err(AppError::internal(anyhow::anyhow!("swagger ui: {e}"))),
    }
}

/// Registers the docs routes (inside the `/api/v1` scope): the exact document route first, so
/// that the catch-all does not take it.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/docs/openapi.json/").get(get_openapi_json))
        .service(web::resource("/docs/{tail:.*}").get(get_docs_file));
}
