//! The route table: every path and method, and the extractor configuration whose errors take
//! SPEC 5's shape.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError, UrlencodedError};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::extract::body::MAX_BODY;
use crate::api::*;
use crate::error::{AppError, Code};

/// Registers every route and the extractor configuration.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY)
            .error_handler(json_error),
    )
    .app_data(web::PayloadConfig::new(MAX_BODY))
    .app_data(
        web::FormConfig::default()
            .limit(MAX_BODY)
            .error_handler(form_error),
    )
    .app_data(web::PathConfig::default().error_handler(path_error))
    .app_data(web::QueryConfig::default().error_handler(query_error))
    .configure(register)
    .service(web::scope("/api/v1").configure(crate::http::openapi::configure))
    .default_service(web::to(not_found));
}

/// One table makes both the routes and [`routes`]: what is served and what the API document
/// must list (a test compares it with the document) cannot drift apart. Order matters where a
/// literal segment would otherwise be read as an id.
macro_rules! route_table {
    ($($path:literal => { $($method:ident: $handler:path),+ $(,)? }),* $(,)?) => {
        fn register(cfg: &mut web::ServiceConfig) {
            $(cfg.service(web::resource($path)$(.route(web::$method().to($handler)))+);)*
        }

        /// Every `(method, path)` the server routes, besides the docs themselves.
        pub fn routes() -> Vec<(&'static str, &'static str)> {
            vec![$($((method_name(stringify!($method)), $path)),+),*]
        }
    };
}

fn method_name(m: &str) -> &'static str {
    match m {
        "get" => "GET",
        "post" => "POST",
        "put" => "PUT",
        "patch" => "PATCH",
        "delete" => "DELETE",
        _ => "UNKNOWN",
    }
}

route_table! {
    "/healthz/" => { get: health::healthz },
    "/readyz/" => { get: health::readyz },
    "/metrics/" => { get: health::metrics },
    "/media/images/{name}/" => { get: images::serve_media },
    "/auth/token/" => { post: auth::create_token },
    "/auth/revoke-token/" => { post: auth::revoke_token },
    "/auth/convert-token/" => { post: google::convert_token },
    "/auth/generate-external-auth-access-token/" => { post: auth::sso_token },
    "/api/v1/organizations/" => { get: organizations::list_organizations, post: organizations::create_organization },
    "/api/v1/organizations/{id}/" => { get: organizations::get_organization, put: organizations::update_organization, patch: organizations::update_organization, delete: organizations::delete_organization },
    "/api/v1/organizations/{id}/setting/" => { patch: organization_settings::update_organization_setting },
    "/api/v1/organizations/{id}/rotate-api-key/" => { post: organization_settings::rotate_api_key },
    "/api/v1/otp/request/" => { post: otp::request_otp },
    "/api/v1/otp/verify/" => { post: otp::verify_otp },
    // Declared before users/{id}/ so that it is not read as an id (as in Plio).
    "/api/v1/users/token/" => { get: user_config::get_user_by_token },
    "/api/v1/users/" => { get: users::list_users, post: users::create_user },
    "/api/v1/users/{id}/" => { get: users::get_user, put: users::update_user, patch: users::update_user, delete: users::delete_user },
    "/api/v1/users/{id}/setting/" => { patch: user_config::update_user_setting },
    "/api/v1/users/{id}/config/" => { get: user_config::get_user_config, patch: user_config::update_user_config },
    "/api/v1/roles/" => { get: roles::list_roles },
    "/api/v1/roles/{id}/" => { get: roles::get_role },
    "/api/v1/organization-users/" => { get: memberships::list_memberships, post: memberships::create_membership },
    "/api/v1/organization-users/{id}/" => { get: memberships::get_membership, put: memberships::update_membership, patch: memberships::update_membership, delete: memberships::delete_membership },
    "/api/v1/plios/" => { get: plio_list::list_plios, post: plios::create_plio },
    "/api/v1/plios/{uuid}/" => { get: plios::get_plio, put: plios::update_plio, patch: plios::update_plio, delete: plios::delete_plio },
    "/api/v1/plios/{uuid}/play/" => { get: plios::play_plio },
    "/api/v1/plios/{uuid}/setting/" => { patch: plios::update_plio_setting },
    "/api/v1/plios/{uuid}/duplicate/" => { post: plios::duplicate_plio },
    "/api/v1/plios/{uuid}/copy/" => { post: plios::copy_plio },
    "/api/v1/plios/{uuid}/metrics/" => { get: reports::plio_metrics },
    "/api/v1/plios/{uuid}/download_data/" => { get: reports::download_data },
    "/api/v1/sessions/" => { get: sessions::list_sessions, post: sessions::create_session },
    "/api/v1/sessions/{id}/" => { get: sessions::get_session, put: sessions::update_session, patch: sessions::update_session, delete: sessions::delete_session },
    "/api/v1/session-answers/" => { get: session_answers::list_answers, post: session_answers::create_answer },
    "/api/v1/session-answers/{id}/" => { get: session_answers::get_answer, put: session_answers::update_answer, patch: session_answers::update_answer, delete: session_answers::delete_answer },
    "/api/v1/events/" => { get: events::list_events, post: events::create_event },
    "/api/v1/events/{id}/" => { get: events::get_event, put: events::update_event, patch: events::update_event, delete: events::delete_event },
    "/api/v1/experiments/" => { get: experiments::list_experiments, post: experiments::create_experiment },
    "/api/v1/experiments/{id}/" => { get: experiments::get_experiment, put: experiments::update_experiment, patch: experiments::update_experiment, delete: experiments::delete_experiment },
    "/api/v1/experiment-plios/" => { get: experiment_plios::list_experiment_plios, post: experiment_plios::create_experiment_plio },
    "/api/v1/experiment-plios/{id}/" => { get: experiment_plios::get_experiment_plio, put: experiment_plios::update_experiment_plio, patch: experiment_plios::update_experiment_plio, delete: experiment_plios::delete_experiment_plio },
    "/api/v1/tags/" => { get: tags::list_tags, post: tags::create_tag },
    "/api/v1/tags/{id}/" => { get: tags::get_tag, put: tags::update_tag, patch: tags::update_tag, delete: tags::delete_tag },
    "/api/v1/items/" => { get: items::list_items, post: items::create_item },
    // Declared before items/{id}/ so that it is not read as an id.
    "/api/v1/items/bulk_delete/" => { delete: items::bulk_delete_items },
    "/api/v1/items/{id}/" => { get: items::get_item, put: items::update_item, patch: items::update_item, delete: items::delete_item },
    "/api/v1/questions/" => { get: questions::list_questions, post: questions::create_question },
    "/api/v1/questions/{id}/" => { get: questions::get_question, put: questions::update_question, patch: questions::update_question, delete: questions::delete_question },
    "/api/v1/videos/" => { get: videos::list_videos, post: videos::create_video },
    "/api/v1/videos/{id}/" => { get: videos::get_video, put: videos::update_video, patch: videos::update_video, delete: videos::delete_video },
    "/api/v1/images/" => { get: images::list_images, post: images::create_image },
    "/api/v1/images/{id}/" => { get: images::get_image, put: images::update_image, patch: images::update_image, delete: images::delete_image },
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::new(Code::NotFound))
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            AppError::new(Code::PayloadTooLarge)
        }
        JsonPayloadError::ContentType => AppError::with_detail(
            Code::UnsupportedMediaType,
            "Send the body as application/json.",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            AppError::with_detail(Code::Invalid, "A field has the wrong type.")
        }
        JsonPayloadError::Deserialize(_) => AppError::new(Code::InvalidJson),
        _ => AppError::with_detail(Code::BadRequest, "The request body could not be read."),
    };
    e.into()
}

fn form_error(err: UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    let e = match err {
        UrlencodedError::Overflow { .. } => AppError::new(Code::PayloadTooLarge),
        UrlencodedError::ContentType => AppError::new(Code::UnsupportedMediaType),
        _ => AppError::with_detail(Code::BadRequest, "The form body could not be parsed."),
    };
    e.into()
}

fn path_error(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    AppError::new(Code::NotFound).into()
}

fn query_error(_err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    AppError::with_detail(Code::BadRequest, "The query string could not be parsed.").into()
}
