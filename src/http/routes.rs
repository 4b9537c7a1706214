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
    .service(web::resource("/healthz/").get(health::healthz))
    .service(web::resource("/readyz/").get(health::readyz))
    .service(web::resource("/media/images/{name}/").get(images::serve_media))
    .service(web::resource("/auth/token/").post(auth::create_token))
    .service(web::resource("/auth/revoke-token/").post(auth::revoke_token))
    .service(web::resource("/auth/convert-token/").post(google::convert_token))
    .service(web::resource("/auth/generate-external-auth-access-token/").post(auth::sso_token))
    .service(
        web::scope("/api/v1")
            .service(
                web::resource("/organizations/")
                    .route(web::get().to(organizations::list_organizations))
                    .route(web::post().to(organizations::create_organization)),
            )
            .service(
                web::resource("/organizations/{id}/")
                    .route(web::get().to(organizations::get_organization))
                    .route(web::put().to(organizations::update_organization))
                    .route(web::patch().to(organizations::update_organization))
                    .route(web::delete().to(organizations::delete_organization)),
            )
            .service(
                web::resource("/organizations/{id}/setting/")
                    .route(web::patch().to(organization_settings::update_organization_setting)),
            )
            .service(
                web::resource("/organizations/{id}/rotate-api-key/")
                    .post(organization_settings::rotate_api_key),
            )
            .service(web::resource("/otp/request/").post(otp::request_otp))
            .service(web::resource("/otp/verify/").post(otp::verify_otp))
            // Declared before users/{id}/ so that it is not read as an id (as in Plio).
            .service(web::resource("/users/token/").get(user_config::get_user_by_token))
            .service(
                web::resource("/users/")
                    .get(users::list_users)
                    .post(users::create_user),
            )
            .service(
                web::resource("/users/{id}/")
                    .get(users::get_user)
                    .put(users::update_user)
                    .patch(users::update_user)
                    .delete(users::delete_user),
            )
            .service(web::resource("/users/{id}/setting/").patch(user_config::update_user_setting))
            .service(
                web::resource("/users/{id}/config/")
                    .get(user_config::get_user_config)
                    .patch(user_config::update_user_config),
            )
            .service(web::resource("/roles/").get(roles::list_roles))
            .service(web::resource("/roles/{id}/").get(roles::get_role))
            .service(
                web::resource("/organization-users/")
                    .get(memberships::list_memberships)
                    .post(memberships::create_membership),
            )
            .service(
                web::resource("/organization-users/{id}/")
                    .get(memberships::get_membership)
                    .put(memberships::update_membership)
                    .patch(memberships::update_membership)
                    .delete(memberships::delete_membership),
            )
            .service(
                web::resource("/plios/")
                    .get(plio_list::list_plios)
                    .post(plios::create_plio),
            )
            .service(
                web::resource("/plios/{uuid}/")
                    .get(plios::get_plio)
                    .put(plios::update_plio)
                    .patch(plios::update_plio)
                    .delete(plios::delete_plio),
            )
            .service(web::resource("/plios/{uuid}/play/").get(plios::play_plio))
            .service(web::resource("/plios/{uuid}/setting/").patch(plios::update_plio_setting))
            .service(web::resource("/plios/{uuid}/duplicate/").post(plios::duplicate_plio))
            .service(web::resource("/plios/{uuid}/copy/").post(plios::copy_plio))
            .service(web::resource("/plios/{uuid}/metrics/").get(reports::plio_metrics))
            .service(web::resource("/plios/{uuid}/download_data/").get(reports::download_data))
            .service(
                web::resource("/sessions/")
                    .get(sessions::list_sessions)
                    .post(sessions::create_session),
            )
            .service(
                web::resource("/sessions/{id}/")
                    .get(sessions::get_session)
                    .put(sessions::update_session)
                    .patch(sessions::update_session)
                    .delete(sessions::delete_session),
            )
            .service(
                web::resource("/session-answers/")
                    .get(session_answers::list_answers)
                    .post(session_answers::create_answer),
            )
            .service(
                web::resource("/session-answers/{id}/")
                    .get(session_answers::get_answer)
                    .put(session_answers::update_answer)
                    .patch(session_answers::update_answer)
                    .delete(session_answers::delete_answer),
            )
            .service(
                web::resource("/events/")
                    .get(events::list_events)
                    .post(events::create_event),
            )
            .service(
                web::resource("/events/{id}/")
                    .get(events::get_event)
                    .put(events::update_event)
                    .patch(events::update_event)
                    .delete(events::delete_event),
            )
            .service(
                web::resource("/experiments/")
                    .get(experiments::list_experiments)
                    .post(experiments::create_experiment),
            )
            .service(
                web::resource("/experiments/{id}/")
                    .get(experiments::get_experiment)
                    .put(experiments::update_experiment)
                    .patch(experiments::update_experiment)
                    .delete(experiments::delete_experiment),
            )
            .service(
                web::resource("/experiment-plios/")
                    .get(experiment_plios::list_experiment_plios)
                    .post(experiment_plios::create_experiment_plio),
            )
            .service(
                web::resource("/experiment-plios/{id}/")
                    .get(experiment_plios::get_experiment_plio)
                    .put(experiment_plios::update_experiment_plio)
                    .patch(experiment_plios::update_experiment_plio)
                    .delete(experiment_plios::delete_experiment_plio),
            )
            .service(
                web::resource("/tags/")
                    .get(tags::list_tags)
                    .post(tags::create_tag),
            )
            .service(
                web::resource("/tags/{id}/")
                    .get(tags::get_tag)
                    .put(tags::update_tag)
                    .patch(tags::update_tag)
                    .delete(tags::delete_tag),
            )
            .service(
                web::resource("/items/")
                    .get(items::list_items)
                    .post(items::create_item),
            )
            // Declared before items/{id}/ so that it is not read as an id.
            .service(web::resource("/items/bulk_delete/").delete(items::bulk_delete_items))
            .service(
                web::resource("/items/{id}/")
                    .get(items::get_item)
                    .put(items::update_item)
                    .patch(items::update_item)
                    .delete(items::delete_item),
            )
            .service(
                web::resource("/questions/")
                    .get(questions::list_questions)
                    .post(questions::create_question),
            )
            .service(
                web::resource("/questions/{id}/")
                    .get(questions::get_question)
                    .put(questions::update_question)
                    .patch(questions::update_question)
                    .delete(questions::delete_question),
            )
            .service(
                web::resource("/videos/")
                    .get(videos::list_videos)
                    .post(videos::create_video),
            )
            .service(
                web::resource("/videos/{id}/")
                    .get(videos::get_video)
                    .put(videos::update_video)
                    .patch(videos::update_video)
                    .delete(videos::delete_video),
            )
            .service(
                web::resource("/images/")
                    .get(images::list_images)
                    .post(images::create_image),
            )
            .service(
                web::resource("/images/{id}/")
                    .get(images::get_image)
                    .put(images::update_image)
                    .patch(images::update_image)
                    .delete(images::delete_image),
            )
            .configure(crate::http::openapi::configure),
    )
    .default_service(web::to(not_found));
}

/// Every `(method, path)` that [`configure`] registers, besides the docs themselves: the API
/// document must list exactly these (a test compares them, and probes that each is routed).
pub fn routes() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GET", "/healthz/"),
        ("GET", "/readyz/"),
        ("GET", "/media/images/{name}/"),
        ("POST", "/auth/token/"),
        ("POST", "/auth/revoke-token/"),
        ("POST", "/auth/convert-token/"),
        ("POST", "/auth/generate-external-auth-access-token/"),
        ("GET", "/api/v1/organizations/"),
        ("POST", "/api/v1/organizations/"),
        ("GET", "/api/v1/organizations/{id}/"),
        ("PUT", "/api/v1/organizations/{id}/"),
        ("PATCH", "/api/v1/organizations/{id}/"),
        ("DELETE", "/api/v1/organizations/{id}/"),
        ("PATCH", "/api/v1/organizations/{id}/setting/"),
        ("POST", "/api/v1/organizations/{id}/rotate-api-key/"),
        ("POST", "/api/v1/otp/request/"),
        ("POST", "/api/v1/otp/verify/"),
        ("GET", "/api/v1/users/token/"),
        ("GET", "/api/v1/users/"),
        ("POST", "/api/v1/users/"),
        ("GET", "/api/v1/users/{id}/"),
        ("PUT", "/api/v1/users/{id}/"),
        ("PATCH", "/api/v1/users/{id}/"),
        ("DELETE", "/api/v1/users/{id}/"),
        ("PATCH", "/api/v1/users/{id}/setting/"),
        ("GET", "/api/v1/users/{id}/config/"),
        ("PATCH", "/api/v1/users/{id}/config/"),
        ("GET", "/api/v1/roles/"),
        ("GET", "/api/v1/roles/{id}/"),
        ("GET", "/api/v1/organization-users/"),
        ("POST", "/api/v1/organization-users/"),
        ("GET", "/api/v1/organization-users/{id}/"),
        ("PUT", "/api/v1/organization-users/{id}/"),
        ("PATCH", "/api/v1/organization-users/{id}/"),
        ("DELETE", "/api/v1/organization-users/{id}/"),
        ("GET", "/api/v1/plios/"),
        ("POST", "/api/v1/plios/"),
        ("GET", "/api/v1/plios/{uuid}/"),
        ("PUT", "/api/v1/plios/{uuid}/"),
        ("PATCH", "/api/v1/plios/{uuid}/"),
        ("DELETE", "/api/v1/plios/{uuid}/"),
        ("GET", "/api/v1/plios/{uuid}/play/"),
        ("PATCH", "/api/v1/plios/{uuid}/setting/"),
        ("POST", "/api/v1/plios/{uuid}/duplicate/"),
        ("POST", "/api/v1/plios/{uuid}/copy/"),
        ("GET", "/api/v1/plios/{uuid}/metrics/"),
        ("GET", "/api/v1/plios/{uuid}/download_data/"),
        ("GET", "/api/v1/sessions/"),
        ("POST", "/api/v1/sessions/"),
        ("GET", "/api/v1/sessions/{id}/"),
        ("PUT", "/api/v1/sessions/{id}/"),
        ("PATCH", "/api/v1/sessions/{id}/"),
        ("DELETE", "/api/v1/sessions/{id}/"),
        ("GET", "/api/v1/session-answers/"),
        ("POST", "/api/v1/session-answers/"),
        ("GET", "/api/v1/session-answers/{id}/"),
        ("PUT", "/api/v1/session-answers/{id}/"),
        ("PATCH", "/api/v1/session-answers/{id}/"),
        ("DELETE", "/api/v1/session-answers/{id}/"),
        ("GET", "/api/v1/events/"),
        ("POST", "/api/v1/events/"),
        ("GET", "/api/v1/events/{id}/"),
        ("PUT", "/api/v1/events/{id}/"),
        ("PATCH", "/api/v1/events/{id}/"),
        ("DELETE", "/api/v1/events/{id}/"),
        ("GET", "/api/v1/experiments/"),
        ("POST", "/api/v1/experiments/"),
        ("GET", "/api/v1/experiments/{id}/"),
        ("PUT", "/api/v1/experiments/{id}/"),
        ("PATCH", "/api/v1/experiments/{id}/"),
        ("DELETE", "/api/v1/experiments/{id}/"),
        ("GET", "/api/v1/experiment-plios/"),
        ("POST", "/api/v1/experiment-plios/"),
        ("GET", "/api/v1/experiment-plios/{id}/"),
        ("PUT", "/api/v1/experiment-plios/{id}/"),
        ("PATCH", "/api/v1/experiment-plios/{id}/"),
        ("DELETE", "/api/v1/experiment-plios/{id}/"),
        ("GET", "/api/v1/tags/"),
        ("POST", "/api/v1/tags/"),
        ("GET", "/api/v1/tags/{id}/"),
        ("PUT", "/api/v1/tags/{id}/"),
        ("PATCH", "/api/v1/tags/{id}/"),
        ("DELETE", "/api/v1/tags/{id}/"),
        ("GET", "/api/v1/items/"),
        ("POST", "/api/v1/items/"),
        ("DELETE", "/api/v1/items/bulk_delete/"),
        ("GET", "/api/v1/items/{id}/"),
        ("PUT", "/api/v1/items/{id}/"),
        ("PATCH", "/api/v1/items/{id}/"),
        ("DELETE", "/api/v1/items/{id}/"),
        ("GET", "/api/v1/questions/"),
        ("POST", "/api/v1/questions/"),
        ("GET", "/api/v1/questions/{id}/"),
        ("PUT", "/api/v1/questions/{id}/"),
        ("PATCH", "/api/v1/questions/{id}/"),
        ("DELETE", "/api/v1/questions/{id}/"),
        ("GET", "/api/v1/videos/"),
        ("POST", "/api/v1/videos/"),
        ("GET", "/api/v1/videos/{id}/"),
        ("PUT", "/api/v1/videos/{id}/"),
        ("PATCH", "/api/v1/videos/{id}/"),
        ("DELETE", "/api/v1/videos/{id}/"),
        ("GET", "/api/v1/images/"),
        ("POST", "/api/v1/images/"),
        ("GET", "/api/v1/images/{id}/"),
        ("PUT", "/api/v1/images/{id}/"),
        ("PATCH", "/api/v1/images/{id}/"),
        ("DELETE", "/api/v1/images/{id}/"),
    ]
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
