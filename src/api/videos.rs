//! `/api/v1/videos/`: scoped to their creator and to the plios that show them (Plio leaves
//! them open to every authenticated user). A change invalidates every plio showing the video.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::content::{check_may_create, head_in, PlioRef};
use crate::api::extract::body::JsonBody;
use crate::api::input::Input;
use crate::auth::permissions::may_access_plio;
use crate::auth::AuthUser;
use crate::cache::Cache;
use crate::db::models::content::{self, Video, VideoChanges};
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::tenant::Tenant;

/// Whether the caller may use something created by `owner` and shown by `plios`: superusers,
/// its creator, and whoever may edit one of those plios.
pub fn may_use(
    conn: &mut diesel::PgConnection,
    tenant: &Tenant,
    caller: &AuthUser,
    owner: Option<i32>,
    plios: &[i32],
) -> Result<bool, AppError> {
    if caller.is_superuser || owner == Some(caller.id) {
        return Ok(true);
    }
    for p in plios {
        if let Some(head) = head_in(conn, tenant, Some(caller), PlioRef::Id(*p))? {
            if may_access_plio(Some(caller), tenant.is_personal_workspace(), &head) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn video_with_access(
    conn: &mut diesel::PgConnection,
    tenant: &Tenant,
    caller: &AuthUser,
    id: i32,
) -> Result<(Video, Vec<i32>), AppError> {
    let video = content::find_video(conn, id)?;
    let plios = content::plios_of_video(conn, id)?;
    if may_use(conn, tenant, caller, video.created_by_id, &plios)? {
        Ok((video, plios))
    } else {
        Err(AppError::new(Code::PermissionDenied))
    }
}

fn read_video(input: &mut Input, partial: bool) -> VideoChanges {
    let mut ch = VideoChanges {
        url: input.string("url", !partial, 255),
        ..Default::default()
    };
    if input.has("title") {
        ch.title = Some(input.string("title", false, 255));
    }
    if input.has("duration") {
        let d = input.number("duration", false);
        if d.is_some_and(|d| d < 0.0) {
            input.reject(
                "duration",
                "Ensure this value is greater than or equal to 0.",
            );
        }
        ch.duration = Some(d);
    }
    ch
}

/// `GET /api/v1/videos/`: the caller's videos (superusers: all).
#[utoipa::path(
    get,
    path = "/api/v1/videos/",
    tag = "videos",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Success", body = Vec<crate::db::models::content::Video>)
    )
)]
pub async fn list_videos(
    caller: AuthUser,
    tenant: Tenant,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let owner = (!caller.is_superuser).then_some(caller.id);
    let list = db
        .tenant(&tenant, move |conn| Ok(content::list_videos(conn, owner)?))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// `POST /api/v1/videos/` `{url, title, duration}`.
#[utoipa::path(
    post,
    path = "/api/v1/videos/",
    tag = "videos",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::VideoRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Success", body = crate::db::models::content::Video)
    )
)]
pub async fn create_video(
    caller: AuthUser,
    tenant: Tenant,
    body: JsonBody,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let mut input = Input::new(body.into_inner())?;
    let ch = read_video(&mut input, false);
    input.finish()?;
    let t = tenant.clone();
    let video = db
        .tenant(&tenant, move |conn| {
            check_may_create(conn, &t, &caller)?;
            Ok(content::insert_video(conn, &ch, caller.id)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(video))
}

/// `GET /api/v1/videos/{id}/`.
#[utoipa::path(
    get,
    path = "/api/v1/videos/{id}/",
    tag = "videos",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = crate::db::models::content::Video)
    )
)]
pub async fn get_video(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let t = tenant.clone();
    let (video, _) = db
        .tenant(&tenant, move |conn| {
            video_with_access(conn, &t, &caller, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(video))
}

/// `PUT|PATCH /api/v1/videos/{id}/`: invalidates every plio showing it.
#[utoipa::path(
    method(put, patch),
    path = "/api/v1/videos/{id}/",
    tag = "videos",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = crate::api::requests::VideoRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = crate::db::models::content::Video)
    )
)]
pub async fn update_video(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    req: HttpRequest,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let partial = req.method() == actix_web::http::Method::PATCH;
    let mut input = Input::new(body.into_inner())?;
    let mut ch = read_video(&mut input, partial);
    input.finish()?;
    ch.updated_at = Some(chrono::Utc::now());
    let t = tenant.clone();
    let video = cache
        .write(&db, &tenant, move |conn, inv| {
            video_with_access(conn, &t, &caller, id)?;
            let video = content::update_video(conn, id, &ch)?;
            inv.video(conn, &t, id)?;
            Ok(video)
        })
        .await?;
    Ok(HttpResponse::Ok().json(video))
}

/// `DELETE /api/v1/videos/{id}/`: soft delete; plios showing it show no video.
#[utoipa::path(
    delete,
    path = "/api/v1/videos/{id}/",
    tag = "videos",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
pub async fn delete_video(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let t = tenant.clone();
    cache
        .write(&db, &tenant, move |conn, inv| {
            video_with_access(conn, &t, &caller, id)?;
            content::soft_delete_video(conn, id)?;
            inv.video(conn, &t, id)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
