//! The hostile sweep: every route × every method × hostile bodies, ids and headers. Nothing may
//! answer 5xx, every error has the `{detail, code}` shape, and a refused request changes
//! nothing (no committed row changes in the test's database).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Caller, TestApp};

const ROUTES: &[&str] = &[
    "/auth/token/",
    "/auth/revoke-token/",
    "/auth/convert-token/",
    "/auth/generate-external-auth-access-token/",
    "/api/v1/organizations/",
    "/api/v1/organizations/{id}/",
    "/api/v1/organizations/{id}/setting/",
    "/api/v1/organizations/{id}/rotate-api-key/",
    "/api/v1/otp/request/",
    "/api/v1/otp/verify/",
    "/api/v1/users/",
    "/api/v1/users/token/",
    "/api/v1/users/{id}/",
    "/api/v1/users/{id}/setting/",
    "/api/v1/users/{id}/config/",
    "/api/v1/roles/",
    "/api/v1/roles/{id}/",
    "/api/v1/organization-users/",
    "/api/v1/organization-users/{id}/",
    "/api/v1/plios/",
    "/api/v1/plios/{uuid}/",
    "/api/v1/plios/{uuid}/play/",
    "/api/v1/plios/{uuid}/setting/",
    "/api/v1/plios/{uuid}/duplicate/",
    "/api/v1/plios/{uuid}/copy/",
    "/api/v1/plios/{uuid}/metrics/",
    "/api/v1/plios/{uuid}/download_data/",
    "/api/v1/items/",
    "/api/v1/items/bulk_delete/",
    "/api/v1/items/{id}/",
    "/api/v1/questions/",
    "/api/v1/questions/{id}/",
    "/api/v1/videos/",
    "/api/v1/videos/{id}/",
    "/api/v1/images/",
    "/api/v1/images/{id}/",
    "/api/v1/sessions/",
    "/api/v1/sessions/{id}/",
    "/api/v1/session-answers/",
    "/api/v1/session-answers/{id}/",
    "/api/v1/events/",
    "/api/v1/events/{id}/",
    "/api/v1/experiments/",
    "/api/v1/experiments/{id}/",
    "/api/v1/experiment-plios/",
    "/api/v1/experiment-plios/{id}/",
    "/api/v1/tags/",
    "/api/v1/tags/{id}/",
];

/// Hostile bodies: (label, content type, bytes).
fn bodies() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let huge = "x".repeat(100_000);
    let wrong_types = json!({
        "name": 5, "email": [1], "password": {"a": 1}, "shortcode": true, "domain": 7,
        "plio": "x", "item": [], "video": {"id": 1}, "image": -1, "session": 1.5,
        "type": 3, "time": "soon", "options": "a", "correct_answer": {"x": 1}, "answer": {"deep": [1]},
        "details": "not an object", "player_time": "late", "config": [1], "workspace": 5,
        "role": "admin", "user": "me", "organization": -5, "is_public": "yes", "status": 1,
        "id": "all", "token": 5, "grant_type": 1, "mobile": 919, "otp": 1, "unique_id": [],
        "api_key": {}, "experiment": "x", "split_percentage": "half", "retention": 5,
        "watch_time": "long", "url": 1, "duration": "x", "alt_text": 9, "backend": 1
    });
    let huge_strings = json!({
        "name": huge, "email": huge, "password": huge, "shortcode": huge, "domain": huge,
        "text": huge, "url": huge, "mobile": huge, "otp": huge, "token": huge,
        "unique_id": huge, "api_key": huge, "retention": huge, "title": huge,
        "first_name": huge, "workspace": huge, "grant_type": "password", "username": huge
    });
    let big_numbers = json!({
        "plio": 9_223_372_036_854_775_807i64, "item": -1, "video": 0, "image": 9_223_372_036_854_775_807i64,
        "session": -9_223_372_036_854_775_807i64, "time": 1e308, "player_time": -1e308,
        "duration": f64::MAX, "role": 2_147_483_648i64, "user": -2_147_483_649i64,
        "organization": 0, "id": [9_223_372_036_854_775_807i64, -1], "max_char_limit": 1e300,
        "split_percentage": -1
    });
    let nul = json!({"name": "a\u{0}b", "email": "a\u{0}@x.y", "text": "\u{0}", "details": {"\u{0}": 1},
        "mobile": "\u{0}", "config": {"k": "\u{0}"}, "workspace": "\u{0}", "token": "\u{0}"});
    let mut deep = String::new();
    for _ in 0..2_000 {
        deep.push('[');
    }
    vec![
        ("malformed", "application/json", b"{\"name\": ".to_vec()),
        (
            "wrong-types",
            "application/json",
            wrong_types.to_string().into_bytes(),
        ),
        (
            "huge-strings",
            "application/json",
            huge_strings.to_string().into_bytes(),
        ),
        (
            "big-numbers",
            "application/json",
            big_numbers.to_string().into_bytes(),
        ),
        ("nul", "application/json", nul.to_string().into_bytes()),
        ("deep", "application/json", deep.into_bytes()),
        (
            "invalid-utf8",
            "application/json",
            b"{\"name\": \"\xff\xfe\xfd\"}".to_vec(),
        ),
        (
            "form-invalid-utf8",
            "application/x-www-form-urlencoded",
            b"grant_type=password&username=%ff%fe&password=\xff".to_vec(),
        ),
        ("not-json", "text/plain", b"hello".to_vec()),
        ("array", "application/json", b"[1, 2, 3]".to_vec()),
    ]
}

/// A digest of every row of this database's plio tables: their counts and the newest row
/// version (`xmin`) of each. A committed insert, update or delete changes it; a rolled-back
/// one does not (its tuples are dead), and nothing outside this test's database can.
fn fingerprint_query(app: &TestApp) -> String {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        s: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let tables: Vec<T> = diesel::sql_query(
        "SELECT table_schema::text AS s, table_name::text AS t FROM information_schema.tables \
         WHERE table_type = 'BASE TABLE' AND table_schema IN ('public', 'acme')",
    )
    .load(&mut app.conn())
    .unwrap();
    let parts: Vec<String> = tables
        .iter()
        .map(|t| {
            format!(
                "(SELECT count(*) * 1000003 + coalesce(max(xmin::text::bigint), 0) FROM \"{}\".\"{}\")",
                t.s, t.t
            )
        })
        .collect();
    format!("SELECT ({})::bigint AS n", parts.join(" + "))
}

fn fingerprint(app: &TestApp, query: &str) -> i64 {
    app.count(query)
}

#[actix_web::test]
async fn the_hostile_sweep_finds_no_5xx_no_shapeless_error_and_no_write_on_refusal() {
    let app = spawn_app().await;
    let org = app.create_tenant("acme").await;
    let (_, su) = app.superuser();
    let (_, user) = app.create_user("someone@example.com", false);
    let plio = Caller::new(&app, Some(&su), Some("acme"))
        .make_plio("P", true, 1)
        .await;
    let uuid = plio["uuid"].as_str().unwrap().to_string();
    let ids = ["1", "9223372036854775808", "-1"];
    let uuids = [uuid.as_str(), "../../etc", &"z".repeat(300)];
    // Half the requests reach a real workspace, half carry a hostile header.
    let long_org = "a".repeat(300);
    let workspaces = [
        "",
        "acme",
        "acme'; DROP SCHEMA acme; --",
        "acme",
        "pg_catalog",
        "",
        "ａｃｍｅ",
        long_org.as_str(),
    ];
    let query = fingerprint_query(&app);
    // The state after the last request that was allowed to change something.
    let mut known = fingerprint(&app, &query);
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    let bodies = bodies();
    let mut n = 0usize;
    for route in ROUTES {
        let paths: Vec<String> = if route.contains("{id}") {
            ids.iter().map(|i| route.replace("{id}", i)).collect()
        } else if route.contains("{uuid}") {
            uuids.iter().map(|u| route.replace("{uuid}", u)).collect()
        } else {
            vec![route.to_string()]
        };
        for path in &paths {
            for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                // Reads and deletes with a body or two; writes with every hostile body.
                let tried = if matches!(method, "GET" | "DELETE") {
                    2
                } else {
                    bodies.len()
                };
                for (i, (label, ctype, body)) in bodies.iter().take(tried).enumerate() {
                    // Rotate callers and workspaces so every pair is met somewhere.
                    let token = [Some(&su), Some(&user), None][(n + i) % 3];
                    let workspace = workspaces[(n + i) % workspaces.len()];
                    n += 1;
                    let mut req = app
                        .client
                        .request(
                            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                            app.url(path),
                        )
                        .header("Content-Type", *ctype)
                        .header("Organization", workspace)
                        .body(body.clone());
                    if let Some(t) = token {
                        req = req.bearer_auth(t);
                    }
                    let res = req.send().await.unwrap();
                    let status = res.status().as_u16();
                    let ct = res
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    let bytes = res.bytes().await.unwrap();
                    *counts.entry(status).or_default() += 1;
                    let what = format!(
                        "{method} {path} [{label}] as {:?} in {workspace:?}",
                        token.map(|_| "someone")
                    );
                    if status >= 500 {
                        problems.push(format!(
                            "{status} {what}: {}",
                            String::from_utf8_lossy(&bytes)
                        ));
                    }
                    if status >= 400 {
                        let shaped = ct.starts_with("application/json")
                            && serde_json::from_slice::<Value>(&bytes)
                                .is_ok_and(|v| v["code"].is_string() && v["detail"].is_string());
                        if !shaped {
                            problems.push(format!("shapeless {status} {what}"));
                        }
                        // A failed password grant is recorded on purpose (login throttling).
                        let recorded_failure = path == "/auth/token/"
                            && serde_json::from_slice::<Value>(&bytes)
                                .is_ok_and(|v| v["code"] == "invalid_grant");
                        let now = fingerprint(&app, &query);
                        if now != known && !recorded_failure {
                            problems.push(format!("refused but wrote: {status} {what}"));
                        }
                        known = now;
                    } else {
                        known = fingerprint(&app, &query);
                    }
                }
            }
        }
    }
    // 11 MiB on every route: 413 before anything is read.
    let eleven = vec![b'x'; 11 * 1024 * 1024];
    for route in ROUTES {
        let path = route.replace("{id}", "1").replace("{uuid}", &uuid);
        let res = app
            .client
            .post(app.url(&path))
            .bearer_auth(&su)
            .header("Content-Type", "application/json")
            .body(eleven.clone())
            .send()
            .await
            .unwrap();
        *counts.entry(res.status().as_u16()).or_default() += 1;
        if res.status() != 413 {
            problems.push(format!("11 MiB to {path}: {}", res.status()));
        }
    }
    println!(
        "hostile sweep: {n} requests + {} oversized; by status: {counts:?}",
        ROUTES.len()
    );
    let _ = org;
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
