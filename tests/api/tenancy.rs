use diesel::prelude::*;
use serde_json::Value;

use crate::helpers::{names, spawn_app, spawn_app_with};

#[actix_web::test]
async fn the_organization_header_selects_the_tenant_and_no_header_means_public() {
    let app = spawn_app().await;
    let (me, token) = app.create_user("member@example.com", false);
    let org = app.create_tenant("org-a").await;
    app.add_member(me, org["id"].as_i64().unwrap() as i32, "org-view");
    app.insert_plio("org_a", "in org a", me, true);
    app.insert_plio("public", "in my workspace", me, true);

    let (status, body) = app.plio_names(&token, Some("org-a")).await;
    assert_eq!(status, 200);
    assert_eq!(names(&body), ["in org a"]);
    let (_, body) = app.plio_names(&token, None).await;
    assert_eq!(names(&body), ["in my workspace"]);
    // An empty header counts as absent.
    let (_, body) = app.plio_names(&token, Some("")).await;
    assert_eq!(names(&body), ["in my workspace"]);
}

#[actix_web::test]
async fn unknown_or_hostile_organization_headers_give_404_tenant_not_found() {
    let app = spawn_app().await;
    let (_, token) = app.create_user("someone@example.com", false);
    let long = "x".repeat(300);
    for header in [
        "nope",
        "public",
        "org_a",
        "x'; DROP SCHEMA public; --",
        long.as_str(),
        "\u{0440}lio",
    ] {
        let (status, body) = app.plio_names(&token, Some(header)).await;
        assert_eq!(status, 404, "{header:?}");
        assert_eq!(body["code"], "tenant_not_found", "{header:?}");
    }
    // Even anonymous requests: the tenant is resolved before authentication.
    let res = app
        .client
        .get(app.url("/api/v1/plios/"))
        .header("Organization", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[actix_web::test]
async fn the_host_selects_the_tenant_ignoring_port_and_case() {
    let app = spawn_app().await;
    let (me, token) = app.create_user("host@example.com", false);
    let org = app
        .create_tenant_with("acme", Some("learn.acme.test"))
        .await;
    app.add_member(me, org["id"].as_i64().unwrap() as i32, "org-view");
    app.insert_plio("acme", "acme plio", me, true);
    for host in ["learn.acme.test", "LEARN.Acme.test:8443"] {
        let body: Value = app
            .client
            .get(app.url("/api/v1/plios/"))
            .header("Host", host)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(names(&body), ["acme plio"], "{host}");
    }
    // Another host falls back to the personal workspace.
    let body: Value = app
        .client
        .get(app.url("/api/v1/plios/"))
        .header("Host", "other.test")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(names(&body), Vec::<String>::new());
}

#[actix_web::test]
async fn host_plus_first_segment_selects_the_tenant_and_is_stripped_before_routing() {
    let app = spawn_app().await;
    let (me, token) = app.create_user("seg@example.com", false);
    // Default domain of a new tenant: DEFAULT_TENANT_DOMAIN/shortcode = localhost/seg-org.
    let org = app.create_tenant("seg-org").await;
    app.add_member(me, org["id"].as_i64().unwrap() as i32, "org-view");
    for i in 0..6 {
        app.insert_plio("seg_org", &format!("seg {i}"), me, true);
    }
    let res = app
        .client
        .get(app.url("/seg-org/api/v1/plios/?search=seg"))
        .header("Host", "localhost")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["count"], 6);
    assert_eq!(body["results"].as_array().unwrap().len(), 5);
    // Links keep the segment, so following them stays in the tenant.
    assert_eq!(
        body["next"],
        "http://localhost/seg-org/api/v1/plios/?search=seg&page=2"
    );
    // Without the segment, the same host is the personal workspace.
    let body: Value = app
        .client
        .get(app.url("/api/v1/plios/"))
        .header("Host", "localhost")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["count"], 0);
}

#[actix_web::test]
async fn a_pooled_connection_never_carries_the_previous_requests_tenant() {
    // One connection in the pool: every request reuses it.
    let app = spawn_app_with(&[("DB_POOL_SIZE", "1")]).await;
    let (me, token) = app.create_user("pool@example.com", false);
    for code in ["tenant-a", "tenant-b"] {
        let org = app.create_tenant(code).await;
        app.add_member(me, org["id"].as_i64().unwrap() as i32, "org-view");
        app.insert_plio(
            &code.replace('-', "_"),
            &format!("only in {code}"),
            me,
            true,
        );
    }
    app.insert_plio("public", "only in public", me, true);
    for _ in 0..5 {
        for (header, expected) in [
            (Some("tenant-a"), "only in tenant-a"),
            (None, "only in public"),
            (Some("tenant-b"), "only in tenant-b"),
            (Some("tenant-a"), "only in tenant-a"),
        ] {
            let (status, body) = app.plio_names(&token, header).await;
            assert_eq!(status, 200);
            assert_eq!(names(&body), [expected], "{header:?}");
        }
    }
}

#[actix_web::test]
async fn the_same_ids_in_two_tenants_never_cross() {
    let app = spawn_app().await;
    let (me, token) = app.create_user("ids@example.com", false);
    let mut ids = Vec::new();
    for code in ["left", "right"] {
        let org = app.create_tenant(code).await;
        app.add_member(me, org["id"].as_i64().unwrap() as i32, "org-view");
        ids.push(app.insert_plio(code, &format!("{code} plio"), me, true));
    }
    assert_eq!(ids[0], ids[1], "both schemas start their sequences at 1");
    let (_, left) = app.plio_names(&token, Some("left")).await;
    let (_, right) = app.plio_names(&token, Some("right")).await;
    assert_eq!(names(&left), ["left plio"]);
    assert_eq!(names(&right), ["right plio"]);
}

#[actix_web::test]
async fn a_tenant_whose_schema_is_missing_gets_503_never_public_rows() {
    let app = spawn_app().await;
    let (me, token) = app.create_user("gone@example.com", false);
    let org = app.create_tenant("vanishing").await;
    app.add_member(me, org["id"].as_i64().unwrap() as i32, "org-view");
    app.insert_plio("public", "public row", me, true);
    diesel::sql_query("DROP SCHEMA vanishing CASCADE")
        .execute(&mut app.conn())
        .unwrap();
    // Before the registry notices: the chokepoint's own check answers.
    let (status, body) = app.plio_names(&token, Some("vanishing")).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "tenant_unavailable");
    // After the periodic refresh (200 ms in tests) the resolver refuses it up front.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(600)).await;
    let (status, body) = app.plio_names(&token, Some("vanishing")).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "tenant_unavailable");
    assert!(body.get("results").is_none());
}

#[actix_web::test]
async fn a_tenant_with_pending_migrations_is_not_served() {
    let app = spawn_app().await;
    let (me, token) = app.create_user("behind@example.com", false);
    let org = app.create_tenant("behind").await;
    app.add_member(me, org["id"].as_i64().unwrap() as i32, "org-view");
    diesel::sql_query("UPDATE public.organization SET schema_version = '20000101000000' WHERE shortcode = 'behind'")
        .execute(&mut app.conn())
        .unwrap();
    actix_web::rt::time::sleep(std::time::Duration::from_millis(600)).await;
    let (status, body) = app.plio_names(&token, Some("behind")).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "tenant_unavailable");
}

/// A rolling deploy (SPEC 2.2): a newer release migrates a tenant (an additive change, with its
/// migration record and a newer schema version) while this binary still serves it.
#[actix_web::test]
async fn a_tenant_migrated_ahead_of_the_binary_is_still_served() {
    let app = spawn_app().await;
    let (me, token) = app.create_user("ahead@example.com", false);
    let org = app.create_tenant("ahead").await;
    app.add_member(me, org["id"].as_i64().unwrap() as i32, "org-admin");
    let caller = crate::helpers::Caller::new(&app, Some(&token), Some("ahead"));
    let before = caller.make_plio("made before", true, 1).await;

    use diesel::connection::SimpleConnection;
    app.conn()
        .batch_execute(
            "ALTER TABLE ahead.plio ADD COLUMN subtitle text NOT NULL DEFAULT ''; \
             ALTER TABLE ahead.item ADD COLUMN weight integer; \
             INSERT INTO ahead.__diesel_schema_migrations (version) VALUES ('29990101000000'); \
             UPDATE public.organization SET schema_version = '29990101000000' WHERE shortcode = 'ahead'",
        )
        .unwrap();
    // Past the registry's refresh.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(600)).await;

    let (status, body) = app.plio_names(&token, Some("ahead")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body), ["made before"]);
    let uuid = before["uuid"].as_str().unwrap();
    let (status, detail) = caller.get(&format!("/api/v1/plios/{uuid}/")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["items"].as_array().unwrap().len(), 1);
    let after = caller.make_plio("made after", false, 1).await;
    let (status, _) = caller
        .get(&format!(
            "/api/v1/plios/{}/",
            after["uuid"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);

    // This (older) release's `plio migrate` leaves the newer schema recorded as it is.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plio"))
        .arg("migrate")
        .env("DATABASE_URL", &app.db.url)
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM public.organization WHERE shortcode = 'ahead' AND schema_version = '29990101000000'"),
        1
    );
    actix_web::rt::time::sleep(std::time::Duration::from_millis(600)).await;
    let (status, body) = app.plio_names(&token, Some("ahead")).await;
    assert_eq!(status, 200, "{body}");
}

#[actix_web::test]
async fn organization_members_see_public_and_own_plios_non_members_nothing() {
    let app = spawn_app().await;
    let (owner, _) = app.create_user("owner@example.com", false);
    let (member, member_token) = app.create_user("member2@example.com", false);
    let (_, outsider_token) = app.create_user("outsider@example.com", false);
    let (_, super_token) = app.superuser();
    let org = app.create_tenant("visibility").await;
    let org_id = org["id"].as_i64().unwrap() as i32;
    app.add_member(owner, org_id, "org-admin");
    app.add_member(member, org_id, "org-view");
    app.insert_plio("visibility", "public one", owner, true);
    app.insert_plio("visibility", "private one", owner, false);
    app.insert_plio("visibility", "member's private", member, false);

    let (_, body) = app.plio_names(&member_token, Some("visibility")).await;
    let mut seen = names(&body);
    seen.sort();
    assert_eq!(seen, ["member's private", "public one"]);
    assert_eq!(body["raw_count"], 2);
    let (_, body) = app.plio_names(&outsider_token, Some("visibility")).await;
    assert_eq!(body["count"], 0);
    let (_, body) = app.plio_names(&super_token, Some("visibility")).await;
    assert_eq!(
        body["count"], 0,
        "superusers who are not members list nothing (SPEC 4.2)"
    );
}

/// The chokepoint itself: `search_path` is transaction-local, and the shared scope cannot
/// reach tenant tables at all.
#[test]
fn search_path_is_transaction_local_and_shared_work_cannot_see_tenant_tables() {
    use plio::db::Database;
    use plio::tenant::{SchemaName, Tenant};
    let db_guard = crate::helpers::TestDb::new();
    let db = Database::connect(&db_guard.url, 1).unwrap();

    #[derive(QueryableByName)]
    struct Path {
        #[diesel(sql_type = diesel::sql_types::Text)]
        search_path: String,
    }
    let inside: String = db
        .tenant_blocking::<_, anyhow::Error, _>(
            &Tenant::new(None, String::new(), SchemaName::public()),
            |conn| {
                Ok(diesel::sql_query("SHOW search_path")
                    .get_result::<Path>(conn)?
                    .search_path)
            },
        )
        .unwrap();
    assert_eq!(
        inside, "\"public\"",
        "exactly the tenant schema, quoted, and nothing else"
    );
    // That the pooled connection is back to an empty search_path afterwards is checked on the
    // raw connection by `db::tests` (raw connections are not public).

    let shared = db.shared_blocking::<_, anyhow::Error, _>(|conn| {
        Ok(diesel::sql_query("SELECT id FROM plio").execute(conn)?)
    });
    let err = shared.expect_err("tenant tables are unreachable without a tenant");
    assert!(format!("{err:#}").contains("does not exist"), "{err:#}");

    let missing = db.tenant_blocking::<_, anyhow::Error, _>(
        &Tenant::new(
            None,
            "no-such-tenant".into(),
            SchemaName::for_new_tenant("no-such-tenant").unwrap(),
        ),
        |_| Ok(()),
    );
    assert!(format!("{:#}", missing.unwrap_err()).contains("missing"));
}
