use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

const TENANT_TABLES: [&str; 12] = [
    "event",
    "experiment",
    "experiment_plio",
    "image",
    "item",
    "model_has_tag",
    "plio",
    "question",
    "session",
    "session_answer",
    "tag",
    "video",
];

fn tables_in(app: &crate::helpers::TestApp, schema: &str) -> Vec<String> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let mut conn = app.conn();
    diesel::sql_query(
        "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = $1 \
         AND table_name <> '__diesel_schema_migrations' ORDER BY 1",
    )
    .bind::<diesel::sql_types::Text, _>(schema)
    .load::<T>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|t| t.t)
    .collect()
}

#[actix_web::test]
async fn a_superuser_creates_a_tenant_whose_schema_holds_every_tenant_table() {
    let app = spawn_app().await;
    let body = app.create_tenant("avanti-fellows").await;
    assert_eq!(body["name"], "Org avanti-fellows");
    assert_eq!(body["shortcode"], "avanti-fellows");
    assert_eq!(body["schema_name"], "avanti_fellows");
    assert!(body["api_key"].as_str().unwrap().len() >= 20);
    assert_eq!(body["config"], json!({}));
    assert_eq!(
        body["domains"],
        json!([{"domain": "localhost/avanti-fellows", "is_primary": true}])
    );
    assert!(
        body["id"].is_i64() && body["created_at"].is_string() && body["updated_at"].is_string()
    );
    assert_eq!(tables_in(&app, "avanti_fellows"), TENANT_TABLES);
    // The schema keeps its own migration record.
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM avanti_fellows.__diesel_schema_migrations"),
        3
    );
}

#[actix_web::test]
async fn a_tenant_can_be_given_its_own_domain() {
    let app = spawn_app().await;
    let body = app
        .create_tenant_with("acme", Some("learn.acme.test"))
        .await;
    assert_eq!(
        body["domains"],
        json!([{"domain": "learn.acme.test", "is_primary": true}])
    );
}

#[actix_web::test]
async fn only_superusers_list_and_create_organizations() {
    let app = spawn_app().await;
    let (_, token) = app.create_user("plain@example.com", false);
    let res = app
        .client
        .get(app.url("/api/v1/organizations/"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "permission_denied"
    );
    let res = app
        .client
        .post(app.url("/api/v1/organizations/"))
        .bearer_auth(&token)
        .json(&json!({"name": "X", "shortcode": "xyz"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .client
        .post(app.url("/api/v1/organizations/"))
        .json(&json!({"name": "X", "shortcode": "xyz"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.organization"),
        1
    );
}

#[actix_web::test]
async fn a_duplicate_shortcode_or_domain_gives_409_and_changes_nothing() {
    let app = spawn_app().await;
    let (_, token) = app.superuser();
    app.create_tenant_with("dup", Some("dup.test")).await;
    for body in [
        json!({"name": "Again", "shortcode": "dup"}),
        json!({"name": "Other", "shortcode": "other", "domain": "dup.test"}),
    ] {
        let res = app
            .client
            .post(app.url("/api/v1/organizations/"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 409, "{body}");
        let out: Value = res.json().await.unwrap();
        assert_eq!(out["code"], "conflict");
        assert!(out["fields"].is_object());
    }
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.organization"),
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM pg_namespace WHERE nspname = 'other'"),
        0
    );
}

#[actix_web::test]
async fn concurrent_creates_of_one_shortcode_give_one_201_and_409s() {
    let app = spawn_app_with_pool().await;
    let (_, token) = app.superuser();
    let requests = (0..4).map(|i| {
        app.client
            .post(app.url("/api/v1/organizations/"))
            .bearer_auth(&token)
            .json(&json!({"name": format!("Race {i}"), "shortcode": "race"}))
            .send()
    });
    let mut statuses: Vec<u16> = join_all(requests)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409]);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.organization WHERE shortcode = 'race'"),
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM pg_namespace WHERE nspname = 'race'"),
        1
    );
}

async fn spawn_app_with_pool() -> crate::helpers::TestApp {
    crate::helpers::spawn_app_with(&[("WORKERS", "2"), ("DB_POOL_SIZE", "6")]).await
}

#[actix_web::test]
async fn hostile_shortcodes_are_refused_with_400_and_nothing_is_created() {
    let app = spawn_app().await;
    let (_, token) = app.superuser();
    let schemas_before = app.count("SELECT COUNT(*) AS n FROM pg_namespace");
    let long = "a".repeat(64);
    let hostile = [
        "x\"; DROP SCHEMA public CASCADE; --",
        "a'b",
        "semi;colon",
        "pg-toast",
        "pg_catalog",
        "public",
        "information-schema",
        "api",
        "UPPER",
        "\u{0430}vanti",
        "avant\u{0456}",
        "ab",
        long.as_str(),
        "../etc",
        "",
        "   ",
    ];
    for code in hostile {
        let res = app
            .client
            .post(app.url("/api/v1/organizations/"))
            .bearer_auth(&token)
            .json(&json!({"name": "Evil", "shortcode": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{code:?}");
        let out: Value = res.json().await.unwrap();
        assert_eq!(out["code"], "invalid", "{code:?}");
        assert!(out["fields"]["shortcode"].is_array(), "{code:?}: {out}");
    }
    for domain in ["Evil.test", "a b.test", "x.test/a/b", "x.test:80", "'; --"] {
        let res = app
            .client
            .post(app.url("/api/v1/organizations/"))
            .bearer_auth(&token)
            .json(&json!({"name": "Evil", "shortcode": "evil", "domain": domain}))
            .send()
            .await
            .unwrap();
        // Upper case is folded; the rest is refused.
        if domain == "Evil.test" {
            assert_eq!(res.status(), 201);
            continue;
        }
        assert_eq!(res.status(), 400, "{domain:?}");
        assert!(res.json::<Value>().await.unwrap()["fields"]["domain"].is_array());
    }
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.organization"),
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM pg_namespace"),
        schemas_before + 1
    );
}

#[actix_web::test]
async fn a_failure_half_way_leaves_no_organization_row_behind() {
    let app = spawn_app().await;
    let (_, token) = app.superuser();
    // A stray schema with the tenant's name makes CREATE SCHEMA fail after the row insert.
    {
        use diesel::prelude::*;
        diesel::sql_query("CREATE SCHEMA taken_name")
            .execute(&mut app.conn())
            .unwrap();
    }
    let res = app
        .client
        .post(app.url("/api/v1/organizations/"))
        .bearer_auth(&token)
        .json(&json!({"name": "Taken", "shortcode": "taken-name"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.organization WHERE shortcode = 'taken-name'"),
        0
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM public.organizations_domain WHERE domain LIKE '%taken-name'"
        ),
        0
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'taken_name'"
        ),
        0
    );
}

#[actix_web::test]
async fn organizations_are_listed_retrieved_updated_and_soft_deleted() {
    let app = spawn_app().await;
    let (_, token) = app.superuser();
    let created = app.create_tenant("lifecycle").await;
    let id = created["id"].as_i64().unwrap();

    let list: Value = app
        .client
        .get(app.url("/api/v1/organizations/"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shortcodes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["shortcode"].as_str().unwrap())
        .collect();
    assert_eq!(shortcodes, ["plio", "lifecycle"]);

    let res = app
        .client
        .get(app.url(&format!("/api/v1/organizations/{id}/")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["schema_name"],
        "lifecycle"
    );

    let res = app
        .client
        .patch(app.url(&format!("/api/v1/organizations/{id}/")))
        .bearer_auth(&token)
        .json(&json!({"name": "Renamed", "config": {"theme": "dark"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["name"], "Renamed");
    assert_eq!(body["config"], json!({"theme": "dark"}));

    let res = app
        .client
        .patch(app.url(&format!("/api/v1/organizations/{id}/")))
        .bearer_auth(&token)
        .json(&json!({"shortcode": "changed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["fields"]["shortcode"][0],
        "The shortcode cannot be changed."
    );

    let res = app
        .client
        .put(app.url(&format!("/api/v1/organizations/{id}/")))
        .bearer_auth(&token)
        .json(&json!({"config": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "PUT needs the name");

    let res = app
        .client
        .get(app.url("/api/v1/plios/"))
        .bearer_auth(&token)
        .header("Organization", "lifecycle")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let res = app
        .client
        .delete(app.url(&format!("/api/v1/organizations/{id}/")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // Its requests get 404 at once; the row stays (soft delete).
    let res = app
        .client
        .get(app.url("/api/v1/plios/"))
        .bearer_auth(&token)
        .header("Organization", "lifecycle")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "tenant_not_found"
    );
    let res = app
        .client
        .get(app.url(&format!("/api/v1/organizations/{id}/")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.organization WHERE deleted IS NOT NULL"),
        1
    );
}

#[actix_web::test]
async fn the_personal_workspace_cannot_be_deleted() {
    let app = spawn_app().await;
    let (_, token) = app.superuser();
    let id =
        app.count("SELECT id::bigint AS n FROM public.organization WHERE schema_name = 'public'");
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/organizations/{id}/")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.organization WHERE deleted IS NULL"),
        1
    );
}

#[actix_web::test]
async fn settings_are_replaced_by_superusers_and_org_admins_only() {
    let app = spawn_app().await;
    let org = app.create_tenant("settings-org").await;
    let org_id = org["id"].as_i64().unwrap() as i32;
    let (admin_id, admin_token) = app.create_user("admin@org.test", false);
    let (viewer_id, viewer_token) = app.create_user("viewer@org.test", false);
    app.add_member(admin_id, org_id, "org-admin");
    app.add_member(viewer_id, org_id, "org-view");
    let url = app.url(&format!("/api/v1/organizations/{org_id}/setting/"));

    let res = app
        .client
        .patch(&url)
        .bearer_auth(&admin_token)
        .json(&json!({"player": {"skipEnabled": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"settings": {"player": {"skipEnabled": true}}})
    );

    let (_, super_token) = app.superuser();
    let res = app
        .client
        .patch(&url)
        .bearer_auth(&super_token)
        .json(&json!({"player": {"skipEnabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let res = app
        .client
        .patch(&url)
        .bearer_auth(&viewer_token)
        .json(&json!({"x": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .client
        .get(&url)
        .bearer_auth(&super_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let stored = app.count(
        "SELECT COUNT(*) AS n FROM public.organization WHERE config = '{\"settings\": {\"player\": {\"skipEnabled\": false}}}'::jsonb",
    );
    assert_eq!(stored, 1);
}

#[actix_web::test]
async fn a_failure_in_the_middle_of_the_tenant_migrations_leaves_nothing_behind() {
    let app = spawn_app().await;
    let (_, token) = app.superuser();
    // An event trigger (this test's own database) refuses the creation of one table deep
    // inside the tenant migrations, after the row, the domain, the schema and several tables
    // were already made in the same transaction.
    {
        use diesel::prelude::*;
        diesel::sql_query(
            "CREATE FUNCTION refuse_half_way() RETURNS event_trigger LANGUAGE plpgsql AS $$
             DECLARE r record;
             BEGIN
               FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
                 IF r.object_identity = 'half_way.session' THEN
                   RAISE EXCEPTION 'refused half way';
                 END IF;
               END LOOP;
             END $$",
        )
        .execute(&mut app.conn())
        .unwrap();
        diesel::sql_query(
            "CREATE EVENT TRIGGER refuse_half_way ON ddl_command_end EXECUTE FUNCTION refuse_half_way()",
        )
        .execute(&mut app.conn())
        .unwrap();
    }
    let schemas_before = app.count("SELECT COUNT(*) AS n FROM pg_namespace");
    let res = app
        .client
        .post(app.url("/api/v1/organizations/"))
        .bearer_auth(&token)
        .json(&json!({"name": "Half", "shortcode": "half-way"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_server_error(), "{}", res.status());
    let body: Value = res.json().await.unwrap();
    assert!(
        !body.to_string().contains("refused half way"),
        "internal message leaked: {body}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.organization WHERE shortcode = 'half-way'"),
        0
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM public.organizations_domain WHERE domain LIKE '%half-way'"
        ),
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM pg_namespace WHERE nspname = 'half_way'"),
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM pg_namespace"),
        schemas_before
    );
    // The trigger really fired mid-way: without it the same tenant is created.
    {
        use diesel::prelude::*;
        diesel::sql_query("DROP EVENT TRIGGER refuse_half_way")
            .execute(&mut app.conn())
            .unwrap();
    }
    app.create_tenant("half-way").await;
}
