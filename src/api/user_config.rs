//! A user's settings and config (`/users/{id}/setting/`, `/users/{id}/config/`) and `/users/token/`.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use crate::api::extract::body::JsonBody;
use crate::auth::AuthUser;
use crate::cache::{Cache, Invalidations};
use crate::db::schema::user as user_table;
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::secrets;

use crate::api::user_payloads::{payload, payload_for};
use crate::api::users::self_or_superuser;

async fn replace_config(
    db: &Database,
    cache: &Cache,
    id: i32,
    f: impl FnOnce(Value) -> Value + Send + 'static,
) -> Result<Value, AppError> {
    cache
        .write_shared(db, move |conn, inv: &mut Invalidations| {
            let current: Value = user_table::table
                .find(id)
                .filter(user_table::deleted.is_null())
                .select(user_table::config)
                .first(conn)?;
            let config = f(current);
            // The whole config, not only the part this request sent, stays within the cap.
            crate::api::input::check_config_size(&config)?;
            diesel::update(user_table::table.find(id))
                .set((
                    user_table::config.eq(&config),
                    user_table::updated_at.eq(Utc::now()),
                ))
                .execute(conn)?;
            inv.user(id);
            Ok(config)
        })
        .await
}

/// `PATCH /api/v1/users/{id}/setting/`: replaces `config.settings`; returns `config`.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}/setting/",
    tag = "user_config",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = serde_json::Value)
    )
)]
pub async fn update_user_setting(
    caller: AuthUser,
    path: web::Path<i32>,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    self_or_superuser(&caller, id)?;
    let settings = body.into_inner();
    crate::api::input::check_config_size(&settings)?;
    if !settings.is_object() {
        return Err(AppError::with_detail(
            Code::Invalid,
            "Expected a JSON object.",
        ));
    }
    let config = replace_config(&db, &cache, id, move |current| {
        let mut map = match current {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        map.insert("settings".into(), settings);
        Value::Object(map)
    })
    .await?;
    Ok(HttpResponse::Ok().json(config))
}

/// `GET /api/v1/users/{id}/config/`.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/config/",
    tag = "user_config",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    responses(
        (status = 200, description = "Success", body = serde_json::Value)
    )
)]
pub async fn get_user_config(
    caller: AuthUser,
    path: web::Path<i32>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    self_or_superuser(&caller, id)?;
    Ok(HttpResponse::Ok().json(payload(&db, &cache, id).await?.config))
}

/// `PATCH /api/v1/users/{id}/config/` `{"config": {...}}` with Plio's messages.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}/config/",
    tag = "user_config",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Integer id")),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = crate::api::health::Status)
    )
)]
pub async fn update_user_config(
    caller: AuthUser,
    path: web::Path<i32>,
    body: JsonBody,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    self_or_superuser(&caller, id)?;
    let Value::Object(mut map) = body.into_inner() else {
        return Err(AppError::with_detail(Code::Invalid, "config not provided"));
    };
    let Some(config) = map.remove("config") else {
        return Err(AppError::with_detail(Code::Invalid, "config not provided"));
    };
    crate::api::input::check_config_size(&config)?;
    if !map.is_empty() {
        return Err(AppError::with_detail(
            Code::Invalid,
            "extra keys apart from config are not allowed",
        ));
    }
    if !config.is_object() {
        return Err(AppError::with_detail(
            Code::Invalid,
            "config provided should be a dict",
        ));
    }
    replace_config(&db, &cache, id, move |_| config).await?;
    Ok(HttpResponse::Ok().json(crate::api::health::Status {
        status: "config set",
    }))
}

/// Query of `users/token/`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    token: Option<String>,
}

/// `GET /api/v1/users/token/?token=`: the user an access token belongs to.
#[utoipa::path(
    get,
    path = "/api/v1/users/token/",
    tag = "user_config",
    security(("bearer" = [])),
    params(TokenQuery),
    responses(
        (status = 200, description = "Success", body = crate::cache::payloads::user::UserPayload)
    )
)]
pub async fn get_user_by_token(
    caller: AuthUser,
    query: web::Query<TokenQuery>,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token.filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(AppError::with_detail(Code::Invalid, "token not provided"));
    };
    let not_found = || AppError::with_detail(Code::NotFound, "User not found.");
    if token.len() > 256 {
        return Err(not_found());
    }
    let hash = secrets::sha256_hex(&token);
    let owner = db
        .shared(move |conn| Ok(crate::db::models::token::owner_of_access(conn, &hash)?))
        .await?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(payload_for(&db, &cache, owner.user_id, caller.id).await?))
}
