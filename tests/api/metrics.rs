//! `GET /metrics` (SPEC 5): Prometheus text whose counters move with the traffic, labelled by
//! route template, never by raw path.

use crate::helpers::{spawn_app, Caller, TestApp};

pub(crate) async fn scrape(app: &TestApp) -> String {
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain"), "{ct}");
    res.text().await.unwrap()
}

/// The value of the sample of `name` whose labels include every `k="v"` in `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|kv| l.contains(kv)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[actix_web::test]
async fn metrics_count_requests_by_route_template_with_cache_pool_and_tenant_figures() {
    let app = spawn_app().await;
    let (_, token) = app.create_user("metered@example.com", false);
    let me = Caller::new(&app, Some(&token), None);
    let plio = me.make_plio("metered", true, 1).await;
    let uuid = plio["uuid"].as_str().unwrap();
    let detail = format!("/api/v1/plios/{uuid}/");
    let route = r#"route="/api/v1/plios/{uuid}/""#;
    me.get(&detail).await;

    let before = scrape(&app).await;
    for _ in 0..3 {
        let (status, _) = me.get(&detail).await;
        assert_eq!(status, 200);
    }
    let (status, _) = me.get("/api/v1/plios/no-such-plio/").await;
    assert_eq!(status, 404);
    let after = scrape(&app).await;

    let ok = |t: &str| {
        sample(
            t,
            "plio_http_requests_total",
            &[route, r#"method="GET""#, r#"status="200""#],
        )
        .unwrap_or(0.0)
    };
    assert_eq!(ok(&after) - ok(&before), 3.0, "{after}");
    assert_eq!(
        sample(
            &after,
            "plio_http_requests_total",
            &[route, r#"status="404""#]
        ),
        Some(1.0),
        "{after}"
    );
    assert!(
        !after.contains(uuid) && !after.contains("no-such-plio"),
        "raw paths must never be labels"
    );
    let hits = |t: &str| {
        sample(
            t,
            "plio_cache_events_total",
            &[r#"kind="plio""#, r#"event="hit""#],
        )
        .unwrap_or(0.0)
    };
    assert!(hits(&after) >= hits(&before) + 3.0, "{after}");
    assert!(
        sample(&after, "plio_http_request_duration_seconds_count", &[route]).unwrap_or(0.0) >= 4.0,
        "{after}"
    );
    assert!(sample(&after, "plio_db_pool_connections", &[r#"state="open""#]).unwrap_or(0.0) >= 1.0);
    assert!(sample(&after, "plio_db_pool_connections", &[r#"state="waiting""#]).is_some());
    assert!(
        sample(&after, "plio_tenants", &[r#"state="ready""#]).unwrap_or(0.0) >= 1.0,
        "{after}"
    );
}
