//! `/api/v1/images/`: multipart upload (field `url` = the file, `alt_text`), at most 10 MiB,
//! stored under `MEDIA_ROOT/images/` with a random name; the client's file name is never used
//! and the content must really be a JPEG, PNG, GIF or WebP image. `GET /media/images/{name}`
//! serves the files.

use std::io::Write;
use std::path::PathBuf;

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use crate::api::content::check_may_create;
use crate::api::extract::body::JsonBody;
use crate::api::extract::body::MAX_BODY;
use crate::api::input::Input;
use crate::api::videos::may_use;
use crate::auth::AuthUser;
use crate::cache::Cache;
use crate::config::Settings;
use crate::db::models::content::{self, Image};
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::tenant::Tenant;

/// The image type of some bytes, by their signature: (extension, content type).
pub fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("jpeg", "image/jpeg"))
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(("png", "image/png"))
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(("gif", "image/gif"))
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP".as_slice()) {
        Some(("webp", "image/webp"))
    } else {
        None
    }
}

/// Most parts a multipart upload may have.
const MAX_PARTS: usize = 16;
/// What each part counts against the body limit beyond its content (its headers).
const PART_OVERHEAD: usize = 1024;

fn too_large() -> AppError {
    AppError::new(Code::PayloadTooLarge)
}

struct Upload {
    file: Option<Vec<u8>>,
    alt_text: Option<String>,
}

fn multipart_error(e: actix_multipart::MultipartError) -> AppError {
    match e {
        actix_multipart::MultipartError::Payload(p)
            if crate::api::extract::body::is_body_timeout(&p) =>
        {
            AppError::new(Code::RequestTimeout)
        }
        _ => AppError::with_detail(Code::BadRequest, "The multipart body could not be read."),
    }
}

async fn read_upload(mut form: Multipart) -> Result<Upload, AppError> {
    let mut up = Upload {
        file: None,
        alt_text: None,
    };
    let mut total = 0usize;
    let mut overhead = 0usize;
    let mut parts = 0usize;
    while let Some(field) = form.next().await {
        // Every part costs its headers too: many empty parts must not add up to an endless
        // body. An upload has two fields; a few more are tolerated.
        parts += 1;
        if parts > MAX_PARTS {
            return Err(AppError::with_detail(
                Code::BadRequest,
                "Too many parts in the multipart body.",
            ));
        }
        overhead += PART_OVERHEAD;
        if overhead > crate::api::extract::body::UPLOAD_SLACK {
            return Err(too_large());
        }
        let mut field = field.map_err(multipart_error)?;
        let name = field.name().unwrap_or_default().to_string();
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(multipart_error)?;
            total += chunk.len();
            if total > MAX_BODY {
                return Err(too_large());
            }
            data.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "url" | "file" => up.file = Some(data),
            "alt_text" => {
                up.alt_text = Some(
                    String::from_utf8(data)
                        .map_err(|_| AppError::field("alt_text", "Not valid UTF-8 text."))?,
                )
            }
            _ => {}
        }
    }
    Ok(up)
}

/// Writes the bytes under a fresh random name; returns the public URL path.
fn store(root: PathBuf, bytes: Vec<u8>, ext: &'static str) -> std::io::Result<String> {
    let dir = root.join("images");
    std::fs::create_dir_all(&dir)?;
    loop {
        let name = format!(
            "{}.{ext}",
            crate::secrets::random_string(10, crate::secrets::LOWERCASE)
        );
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(&name))
        {
            Ok(mut f) => {
                f.write_all(&bytes)?;
                f.sync_all()?;
                return Ok(format!("/media/images/{name}"));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `POST /api/v1/images/` (multipart: `url` = the image file, `alt_text`).
#[utoipa::path(
    post,
    path = "/api/v1/images/",
    tag = "images",
    security(("bearer" = [])),
    request_body(content = crate::api::requests::ImageUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Success", body = crate::db::models::content::Image)
    )
)]
pub async fn create_image(
    caller: AuthUser,
    tenant: Tenant,
    req: HttpRequest,
    form: Multipart,
    db: web::Data<Database>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, AppError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY + 64 * 1024) {
        return Err(too_large());
    }
    let up = read_upload(form).await?;
    let mut input = Input::new(serde_json::json!({ "alt_text": up.alt_text }))?;
    let alt_text = input
        .string("alt_text", false, 255)
        .unwrap_or_else(|| "Image".into());
    input.finish()?;
    let Some(bytes) = up.file.filter(|b| !b.is_empty()) else {
        return Err(AppError::field("url", "No file was submitted."));
    };
    let (ext, _) = sniff(&bytes).ok_or_else(|| {
        AppError::field("url", "Upload a valid image. The file you uploaded was either not an image or a corrupted image.")
    })?;
    // Membership is checked before anything touches the disk.
    let t = tenant.clone();
    let c = caller.clone();
    db.tenant(&tenant, move |conn| check_may_create(conn, &t, &c))
        .await?;
    let root = settings.media_root.clone();
    let url = web::block(move || store(root.clone(), bytes, ext))
        .await?
        .map_err(AppError::internal)?;
    let media_root = settings.media_root.clone();
    // Plio's image URLs are absolute (S3) and the web client puts them in `<img src>` as they
    // are, from its own origin: the stored URL is absolute too, on MEDIA_URL when set, else
    // on the origin the upload was addressed to.
    let stored = match &settings.media_url {
        Some(base) => format!("{}{}", base.trim_end_matches('/'), url),
        None => match crate::api::extract::addressed_base(&req) {
            Some(base) => format!("{base}{url}"),
            None => url.clone(),
        },
    };
    let created = db
        .tenant(&tenant, move |conn| {
            Ok(content::insert_image(conn, &stored, &alt_text, caller.id)?)
        })
        .await;
    match created {
        Ok(image) => Ok(HttpResponse::Created().json(image)),
        Err(e) => {
            // Nothing half-written: the file goes if its row could not be stored.
            if let Some(name) = url.strip_prefix("/media/images/") {
                let _ = std::fs::remove_file(media_root.join("images").join(name));
            }
            Err(e)
        }
    }
}

/// An image and the plios showing it, if the caller may use it (403 otherwise).
pub(crate) fn image_with_access(
    conn: &mut diesel::PgConnection,
    tenant: &Tenant,
    caller: &AuthUser,
    id: i32,
) -> Result<(Image, Vec<i32>), AppError> {
    let image = content::find_image(conn, id)?;
    let plios = content::plios_of_image(conn, id)?;
    if may_use(conn, tenant, caller, image.created_by_id, &plios)? {
        Ok((image, plios))
    } else {
        Err(AppError::new(Code::PermissionDenied))
    }
}

/// `GET /api/v1/images/`: the caller's images (superusers: all).
#[utoipa::path(
    get,
    path = "/api/v1/images/",
    tag = "images",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Success", body = Vec<crate::db::models::content::Image>)
    )
)]
pub async fn list_images(
    caller: AuthUser,
    tenant: Tenant,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let owner = (!caller.is_superuser).then_some(caller.id);
    let list = db
        .tenant(&tenant, move |conn| Ok(content::list_images(conn, owner)?))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// `GET /api/v1/images/{id}/`.
#[utoipa::path(
    get,
    path = "/api/v1/images/{id}/",
    tag = "images",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = crate::db::models::content::Image)
    )
)]
pub async fn get_image(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let t = tenant.clone();
    let (image, _) = db
        .tenant(&tenant, move |conn| {
            image_with_access(conn, &t, &caller, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(image))
}

/// `PATCH|PUT /api/v1/images/{id}/` `{alt_text}`: invalidates the plios showing it.
#[utoipa::path(
    method(put, patch),
    path = "/api/v1/images/{id}/",
    tag = "images",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = crate::api::requests::ImageRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = crate::db::models::content::Image)
    )
)]
pub async fn update_image(
    caller: AuthUser,
    tenant: Tenant,
    path: web::Path<i32>,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let mut input = Input::new(body.into_inner())?;
    let alt = input.string("alt_text", true, 255);
    input.finish()?;
    let alt = alt.unwrap_or_default();
    let t = tenant.clone();
    let image = cache
        .write(&db, &tenant, move |conn, inv| {
            image_with_access(conn, &t, &caller, id)?;
            let image = content::update_image_alt(conn, id, &alt)?;
            inv.image(conn, &t, id)?;
            Ok(image)
        })
        .await?;
    Ok(HttpResponse::Ok().json(image))
}

/// `DELETE /api/v1/images/{id}/`: soft delete (the file stays: duplicates share it).
#[utoipa::path(
    delete,
    path = "/api/v1/images/{id}/",
    tag = "images",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 204, description = "Deleted")
    )
)]
pub async fn delete_image(
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
            image_with_access(conn, &t, &caller, id)?;
            content::soft_delete_image(conn, id)?;
            inv.image(conn, &t, id)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /media/images/{name}`: only names this server generates are served.
#[utoipa::path(
    get,
    path = "/media/images/{name}/",
    tag = "images",
    security(()),
    params(("name" = String, Path, description = "The stored file name")),
    responses(
        (status = 200, description = "The image file", content_type = "application/octet-stream")
    )
)]
pub async fn serve_media(
    path: web::Path<String>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, AppError> {
    let name = path.into_inner();
    let valid = name.split_once('.').is_some_and(|(stem, ext)| {
        stem.len() == 10
            && stem.bytes().all(|b| b.is_ascii_lowercase())
            && matches!(ext, "jpeg" | "png" | "gif" | "webp")
    });
    if !valid {
        return Err(AppError::new(Code::NotFound));
    }
    let file = settings.media_root.join("images").join(&name);
    let bytes = web::block(move || std::fs::read(file))
        .await?
        .map_err(|_| AppError::new(Code::NotFound))?;
    let content_type = sniff(&bytes).map_or("application/octet-stream", |(_, ct)| ct);
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn images_are_recognised_by_content_only() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).map(|t| t.0), Some("jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....").map(|t| t.0), Some("png"));
        assert_eq!(sniff(b"GIF89a...").map(|t| t.0), Some("gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").map(|t| t.0), Some("webp"));
        assert_eq!(sniff(b"<?php echo 1; ?>"), None);
        assert_eq!(sniff(b""), None);
    }
}
