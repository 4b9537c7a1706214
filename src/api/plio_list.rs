//! `GET /api/v1/plios/`: the plio list of a workspace (SPEC 5). Personal workspace: the caller's
//! own plios; organization: members see public plios and their own, non-members nothing.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::db::models::membership;
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
    results: Vec<plio::PlioListRow>,
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
    let personal = tenant.is_personal_workspace();
    let tenant_id = tenant.id();
    let (rows, count, raw_count) = db
        .tenant(&tenant, move |conn| {
            let visibility = if personal {
                Some(Visibility::Own(user.id))
            } else {
                match tenant_id {
                    Some(org) if membership::is_member(conn, user.id, org.0)? => {
                        Some(Visibility::PublicOrOwn(user.id))
                    }
                    _ => None,
                }
            };
            match visibility {
                Some(v) => Ok(plio::list_page(
                    conn,
                    v,
                    search.as_deref(),
                    ordering.as_deref(),
                    page,
                )?),
                None => Ok((Vec::new(), 0, 0)),
            }
        })
        .await?;
    let last_page = ((count + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    if page > last_page {
        return Err(invalid_page());
    }
    let next = (page < last_page).then(|| page_url(&req, page + 1));
    let previous = (page > 1).then(|| page_url(&req, page - 1));
    Ok(HttpResponse::Ok().json(PlioPage {
        count,
        next,
        page_size: PAGE_SIZE,
        previous,
        raw_count,
        results: rows,
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
