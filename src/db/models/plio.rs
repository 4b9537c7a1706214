//! Plio rows (tenant table): the list query of `GET /api/v1/plios/`.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Int4, Jsonb, Nullable, Text, Timestamptz};
use serde::Serialize;

/// Page size of the plio list (as Plio's `StandardResultsSetPagination`).
pub const PAGE_SIZE: i64 = 5;

/// One row of the plio list: Plio's raw row dict plus `unique_viewers` and `video_url`.
#[derive(Debug, QueryableByName, Serialize, utoipa::ToSchema)]
pub struct PlioListRow {
    #[diesel(sql_type = Int4)]
    pub id: i32,
    #[diesel(sql_type = Nullable<Int4>)]
    pub video_id: Option<i32>,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub uuid: String,
    #[diesel(sql_type = Int4)]
    pub created_by_id: i32,
    #[diesel(sql_type = Text)]
    pub failsafe_url: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Bool)]
    pub is_public: bool,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub config: Option<serde_json::Value>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub deleted: Option<DateTime<Utc>>,
    #[diesel(sql_type = Bool)]
    pub deleted_by_cascade: bool,
    #[diesel(sql_type = BigInt)]
    pub unique_viewers: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub video_url: Option<String>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Which plios a caller sees in a workspace.
#[derive(Debug, Clone, Copy)]
pub enum Visibility {
    /// Only the caller's own (personal workspace).
    Own(i32),
    /// Public ones and the caller's own (organization member).
    PublicOrOwn(i32),
}

/// A sort key accepted by `?ordering=`.
fn order_column(field: &str) -> Option<&'static str> {
    match field {
        "name" => Some("p.name"),
        "created_at" => Some("p.created_at"),
        "updated_at" => Some("p.updated_at"),
        "unique_viewers" => Some("unique_viewers"),
        _ => None,
    }
}

/// `ORDER BY` from `?ordering=a,-b` (invalid fields ignored; default `-updated_at`).
pub fn order_by(ordering: Option<&str>) -> String {
    let mut parts: Vec<String> = ordering
        .unwrap_or("")
        .split(',')
        .filter_map(|f| {
            let f = f.trim();
            let (desc, name) = f.strip_prefix('-').map_or((false, f), |n| (true, n));
            order_column(name).map(|c| format!("{c} {}", if desc { "DESC" } else { "ASC" }))
        })
        .collect();
    if parts.is_empty() {
        parts.push("p.updated_at DESC".into());
    }
    parts.push("p.id DESC".into());
    parts.join(", ")
}

fn escape_like(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    out.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A page of the list: (rows, count after search, count before search).
pub fn list_page(
    conn: &mut PgConnection,
    visibility: Visibility,
    search: Option<&str>,
    ordering: Option<&str>,
    page: i64,
) -> QueryResult<(Vec<PlioListRow>, i64, i64)> {
    let (visible_sql, user_id) = match visibility {
        Visibility::Own(u) => ("p.created_by_id = $1", u),
        Visibility::PublicOrOwn(u) => ("(p.is_public OR p.created_by_id = $1)", u),
    };
    let base = format!("FROM plio p WHERE p.deleted IS NULL AND {visible_sql}");
    let raw: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n {base}"))
        .bind::<Int4, _>(user_id)
        .get_result(conn)?;

    let terms: Vec<String> = search
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .take(10)
        .map(escape_like)
        .collect();
    let mut filter = String::new();
    for i in 0..terms.len() {
        let n = i + 2;
        filter.push_str(&format!(
            " AND (p.name ILIKE ${n} OR p.status ILIKE ${n} OR p.uuid ILIKE ${n} OR p.updated_at::text ILIKE ${n})"
        ));
    }
    let mut count_q = diesel::sql_query(format!("SELECT COUNT(*) AS n {base}{filter}"))
        .into_boxed()
        .bind::<Int4, _>(user_id);
    for t in &terms {
        count_q = count_q.bind::<Text, _>(t.clone());
    }
    let count: Count = count_q.get_result(conn)?;

    let limit_at = terms.len() + 2;
    let rows_sql = format!(
        "SELECT p.id, p.video_id, p.name::text AS name, p.uuid::text AS uuid, p.created_by_id, \
         p.failsafe_url::text AS failsafe_url, p.status::text AS status, p.is_public, p.config, \
         p.created_at, p.updated_at, p.deleted, p.deleted_by_cascade, \
         (SELECT COUNT(DISTINCT s.user_id) FROM session s WHERE s.plio_id = p.id AND s.deleted IS NULL) AS unique_viewers, \
         v.url::text AS video_url \
         FROM plio p LEFT JOIN video v ON v.id = p.video_id \
         WHERE p.deleted IS NULL AND {visible_sql}{filter} \
         ORDER BY {} LIMIT ${limit_at} OFFSET ${}",
        order_by(ordering),
        limit_at + 1
    );
    let mut rows_q = diesel::sql_query(rows_sql)
        .into_boxed()
        .bind::<Int4, _>(user_id);
    for t in &terms {
        rows_q = rows_q.bind::<Text, _>(t.clone());
    }
    let rows = rows_q
        .bind::<BigInt, _>(PAGE_SIZE)
        .bind::<BigInt, _>((page - 1) * PAGE_SIZE)
        .load(conn)?;
    Ok((rows, count.n, raw.n))
}
