use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_on, TestDb};

#[actix_web::test]
async fn healthz_answers_ok_with_a_request_id() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": "ok"}));
}

#[actix_web::test]
async fn the_callers_request_id_is_echoed_and_hostile_ones_replaced() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/healthz/"))
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = app
        .client
        .get(app.url("/healthz/"))
        .header("X-Request-Id", "a b\"<script>")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "a b\"<script>");
}

#[actix_web::test]
async fn readyz_reports_the_database_and_the_cache() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["cache"]["backend"], "memory");
    assert_eq!(body["cache"]["state"], "ok");
}

#[actix_web::test]
async fn an_unreachable_database_gives_503_database_unavailable() {
    let db = TestDb::new();
    // Port 1 on loopback: nothing listens there.
    let app = spawn_on(
        db,
        &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nothing")],
    );
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "database_unavailable");
    let res = app
        .client
        .get(app.url("/api/v1/plios/"))
        .bearer_auth("some-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "database_unavailable"
    );
}

#[actix_web::test]
async fn unknown_routes_and_wrong_methods_get_the_error_shape() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/v1/nothing-here/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"detail": "Not found.", "code": "not_found"})
    );
    let res = app.client.put(app.url("/healthz/")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"detail": "Method not allowed.", "code": "method_not_allowed"})
    );
}

#[actix_web::test]
async fn a_path_without_trailing_slash_is_served_as_with_one() {
    let app = spawn_app().await;
    let (_, token) = app.superuser();
    let with = app
        .client
        .get(app.url("/api/v1/organizations/"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let without = app
        .client
        .get(app.url("/api/v1/organizations"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);
    assert_eq!(without.status(), 200);
    assert_eq!(
        with.json::<Value>().await.unwrap(),
        without.json::<Value>().await.unwrap()
    );
}

#[actix_web::test]
async fn repeated_slashes_are_merged_and_the_query_is_kept() {
    let app = spawn_app().await;
    let (_, token) = app.superuser();
    for path in [
        "/api/v1//organizations/?page=1",
        "//api/v1/organizations//?page=1",
        "/api/v1/organizations?page=1",
    ] {
        let res = app
            .client
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.json::<Value>().await.unwrap().is_array(), "{path}");
    }
    // The query survives the rewrite: an invalid page is still refused.
    let res = app
        .client
        .get(app.url("/api/v1//plios?page=x"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[actix_web::test]
async fn malformed_json_gives_400_invalid_json() {
    let app = spawn_app().await;
    let (_, token) = app.superuser();
    let res = app
        .client
        .post(app.url("/api/v1/organizations/"))
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"detail": "The request body is not valid JSON.", "code": "invalid_json"})
    );
}

#[actix_web::test]
async fn wrong_types_give_400_with_fields() {
    let app = spawn_app().await;
    let (_, token) = app.superuser();
    for body in [
        json!({"name": 5, "shortcode": ["x"]}),
        json!([1, 2]),
        json!("text"),
    ] {
        let res = app
            .client
            .post(app.url("/api/v1/organizations/"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{body}");
        let out: Value = res.json().await.unwrap();
        assert_eq!(out["code"], "invalid");
        assert!(out["detail"].is_string());
        if body.is_object() {
            assert_eq!(out["fields"]["name"][0], "Not a valid string.");
            assert_eq!(out["fields"]["shortcode"][0], "Not a valid string.");
        }
    }
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.organization"),
        1
    );
}

#[actix_web::test]
async fn a_body_over_10_mib_gives_413() {
    let app = spawn_app().await;
    let (_, token) = app.superuser();
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(10 * 1024 * 1024));
    let res = app
        .client
        .post(app.url("/api/v1/organizations/"))
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "payload_too_large"
    );
}

#[actix_web::test]
async fn missing_or_invalid_tokens_give_401() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/v1/organizations/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "not_authenticated"
    );
    for header in [
        "Bearer nope",
        "Basic abc",
        "Bearer ",
        "Bearer x'; DROP TABLE user;--",
    ] {
        let res = app
            .client
            .get(app.url("/api/v1/organizations/"))
            .header("Authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{header}");
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_token");
    }
}
