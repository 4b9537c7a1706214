//! `GET /api/v1/plios/`: the plio list of a workspace (SPEC 5). Personal workspace: the caller's
//! own plios; organization: members see public plios and their own, non-members nothing.
//! Pages are cached under the tenant's list epoch (see [`crate::cache::payloads::plio_list`]);
//! membership comes from the caller's cached user entry, as for a plio read.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::api::content::user_text_filled;
use crate::auth::AuthUser;
use crate::cache::payloads::plio_list::{self as list_cache, CachedPage};
use crate::cache::payloads::user::UserPayload;
use crate::cache::payloads::wire;
use crate::cache::Cache;
use crate::db::models::plio::{self, Visibility, PAGE_SIZE};
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::tenant::Tenant;

/// Query parameters of the list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    page: Option<String>,
    search: Option<String>,
    ordering: Option<String>,
}

/// A page of the plio list (keys in the order Plio's client has always received them).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PlioPage {
    /// Plios matching the search.
    count: i64,
    /// The next page's URL.
    next: Option<String>,
    /// Always 5.
    page_size: i64,
    /// The previous page's URL.
    previous: Option<String>,
    /// Plios visible before the search.
    raw_count: i64,
    #[schema(value_type = Vec<plio::PlioListRow>)]
    results: Box<serde_json::value::RawValue>,
}

fn invalid_page() -> AppError {
    AppError::with_detail(Code::NotFound, "Invalid page.")
}

/// `GET /api/v1/plios/`: `{count, page_size, next, previous, results, raw_count}`.
#[utoipa::path(
    get,
    path = "/api/v1/plios/",
    tag = "plios",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "Success", body = PlioPage)
    )
)]
pub async fn list_plios(
    user: AuthUser,
    tenant: Tenant,
    query: web::Query<ListQuery>,
    req: HttpRequest,
    db: web::Data<Database>,
    cache: web::Data<Cache>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page: i64 = match query.page.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(invalid_page)?,
    };
    let search = query.search.filter(|s| s.len() <= 200);
    let ordering = query.ordering;
    let org = if tenant.is_personal_workspace() {
        None
    } else {
        Some(tenant.id())
    };
    let mut keys = vec![list_cache::epoch_key(&tenant)];
    if org.is_some() {
        keys.push(UserPayload::key(user.id));
    }
    let fetched = cache.fetch(&keys).await;
    let visibility = match org {
        None => Some(Visibility::Own(user.id)),
        Some(None) => None,
        Some(Some(org)) => {
            let text = match fetched.raw(1) {
                Some(t) => Some(t),
                None => user_text_filled(&db, &cache, &fetched, 1, user.id).await?,
            };
            let member = text
                .as_deref()
                .and_then(wire::memberships)
                .is_some_and(|m| m.iter().any(|o| o.id == org.0));
            member.then_some(Visibility::PublicOrOwn(user.id))
        }
    };
    let page_data = match visibility {
        None => CachedPage {
            count: 0,
            raw_count: 0,
            rows_json: "[]".into(),
        },
        Some(v) => {
            let epoch = match fetched.raw(0).and_then(|t| t.parse::<u64>().ok()) {
                Some(e) => e,
                None => {
                    let e = list_cache::new_epoch();
                    cache.fill_raw(&fetched, &[(0, &e.to_string())]).await;
                    e
                }
            };
            let (kind, who) = match v {
                Visibility::Own(u) => ("own", u),
                Visibility::PublicOrOwn(u) => ("public_or_own", u),
            };
            let descriptor = serde_json::to_string(&(epoch, kind, who, &search, &ordering, page))
                .map_err(AppError::internal)?;
            let key = list_cache::page_key(&tenant, &descriptor);
            let cached = cache.fetch(std::slice::from_ref(&key)).await;
            match cached
                .raw(0)
                .and_then(|t| CachedPage::decode(&t, &descriptor))
            {
                Some(p) => p,
                None => {
                    let (rows, count, raw_count) = db
                        .tenant(&tenant, move |conn| {
                            Ok(plio::list_page(
                                conn,
                                v,
                                search.as_deref(),
                                ordering.as_deref(),
                                page,
                            )?)
                        })
                        .await?;
                    let loaded = CachedPage {
                        count,
                        raw_count,
                        rows_json: serde_json::to_string(&rows).map_err(AppError::internal)?,
                    };
                    cache
                        .fill_raw(&cached, &[(0, &loaded.encode(&descriptor))])
                        .await;
                    loaded
                }
            }
        }
    };
    let count = page_data.count;
    let last_page = ((count + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    if page > last_page {
        return Err(invalid_page());
    }
    let next = (page < last_page).then(|| page_url(&req, page + 1));
    let previous = (page > 1).then(|| page_url(&req, page - 1));
    let results = serde_json::value::RawValue::from_string(page_data.rows_json)
        .map_err(AppError::internal)?;
    Ok(HttpResponse::Ok().json(PlioPage {
        count,
        next,
        page_size: PAGE_SIZE,
        previous,
        raw_count: page_data.raw_count,
        results,
    }))
}

/// The absolute URL of another page, as the client addressed this one.
fn page_url(req: &HttpRequest, page: i64) -> String {
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    pairs.retain(|(k, _)| k != "page");
    if page > 1 {
        pairs.push(("page".into(), page.to_string()));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let sep = if query.is_empty() { "" } else { "?" };
    format!(
        "{}{}{sep}{query}",
        crate::api::extract::addressed_base(req).unwrap_or_default(),
        req.path()
    )
}
