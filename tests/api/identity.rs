//! Users, roles, memberships, SSO and api_key rules through HTTP.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    send(app, reqwest::Method::GET, path, token, None).await
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::POST, path, token, Some(body)).await
}

async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::PATCH, path, token, Some(body)).await
}

async fn delete(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    send(app, reqwest::Method::DELETE, path, token, None).await
}

fn role_id(app: &TestApp, name: &str) -> i64 {
    app.count(&format!(
        "SELECT id::bigint AS n FROM public.role WHERE name = '{name}'"
    ))
}

#[actix_web::test]
async fn superusers_create_users_whose_payload_never_shows_secrets() {
    let app = spawn_app().await;
    let (_, root) = app.superuser();
    let (status, body) = post(
        &app,
        "/api/v1/users/",
        &root,
        json!({"email": "new@Example.COM", "password": "new-user-pw", "first_name": "New", "last_name": "User", "mobile": "+911234567890"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "auth_org",
            "avatar_url",
            "config",
            "created_at",
            "date_joined",
            "email",
            "first_name",
            "id",
            "is_active",
            "is_staff",
            "is_superuser",
            "last_login",
            "last_name",
            "mobile",
            "organizations",
            "status",
            "unique_id",
            "updated_at"
        ]
    );
    assert_eq!(
        body["email"], "new@example.com",
        "the domain part is lower-cased"
    );
    assert_eq!(body["organizations"], json!([]));
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.\"user\" WHERE email = 'new@example.com' AND password LIKE '$argon2id$%'"),
        1
    );
    // The new user logs in with that password.
    let res = app
        .client
        .post(app.url("/auth/token/"))
        .form(&[
            ("grant_type", "password"),
            ("username", "new@example.com"),
            ("password", "new-user-pw"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let (status, body) = post(
        &app,
        "/api/v1/users/",
        &root,
        json!({"email": "new@example.com"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["email"],
        json!(["user with this email already exists."])
    );
    let (status, body) = post(
        &app,
        "/api/v1/users/",
        &root,
        json!({"email": 12, "password": "short"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["fields"]["email"].is_array() && body["fields"]["password"].is_array(),
        "{body}"
    );

    let (_, plain) = app.create_user("plain@example.com", false);
    assert_eq!(get(&app, "/api/v1/users/", &plain).await.0, 403);
    assert_eq!(
        post(&app, "/api/v1/users/", &plain, json!({"email": "x@y.z"}))
            .await
            .0,
        403
    );
}

#[actix_web::test]
async fn the_user_list_filters_like_plio() {
    let app = spawn_app().await;
    let (root_id, root) = app.superuser();
    let (a, _) = app.create_user("a@example.com", false);
    let (b, _) = app.create_user("b@example.com", false);
    let org = app.create_tenant("filters").await;
    app.add_member(b, org["id"].as_i64().unwrap() as i32, "org-view");
    let ids = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_i64().unwrap())
            .collect()
    };

    let (_, all) = get(&app, "/api/v1/users/", &root).await;
    assert_eq!(ids(&all), [root_id as i64, a as i64, b as i64]);
    let (_, some) = get(&app, &format!("/api/v1/users/?ids={a},{b}"), &root).await;
    assert_eq!(ids(&some), [a as i64, b as i64]);
    let (_, junk) = get(&app, "/api/v1/users/?ids=x,y", &root).await;
    assert_eq!(
        ids(&junk).len(),
        3,
        "no valid id: the filter is ignored, as in Plio"
    );
    let (_, members) = get(
        &app,
        &format!("/api/v1/users/?organization={}", org["id"]),
        &root,
    )
    .await;
    assert_eq!(ids(&members), [b as i64]);
    let (_, none) = get(&app, "/api/v1/users/?organization=abc", &root).await;
    assert_eq!(ids(&none), Vec::<i64>::new());
    let (_, by_email) = get(&app, "/api/v1/users/?email=a@example.com", &root).await;
    assert_eq!(ids(&by_email), [a as i64]);
    let (_, empty) = get(&app, "/api/v1/users/?email=", &root).await;
    assert_eq!(ids(&empty).len(), 3, "an empty filter is absent");
}

#[actix_web::test]
async fn users_read_and_change_only_themselves() {
    let app = spawn_app().await;
    let (me, token) = app.create_user("me@example.com", false);
    let (other, _) = app.create_user("other@example.com", false);
    assert_eq!(
        get(&app, &format!("/api/v1/users/{me}/"), &token).await.0,
        200
    );
    assert_eq!(
        get(&app, &format!("/api/v1/users/{other}/"), &token)
            .await
            .0,
        403
    );
    assert_eq!(
        patch(
            &app,
            &format!("/api/v1/users/{other}/"),
            &token,
            json!({"first_name": "X"})
        )
        .await
        .0,
        403
    );

    let (status, body) = patch(
        &app,
        &format!("/api/v1/users/{me}/"),
        &token,
        json!({"first_name": "Ada", "is_superuser": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["first_name"], "Ada");
    assert_eq!(body["is_superuser"], false, "is_superuser is read-only");
    let (status, body) = patch(
        &app,
        &format!("/api/v1/users/{me}/"),
        &token,
        json!({"status": "waitlist"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = patch(
        &app,
        &format!("/api/v1/users/{me}/"),
        &token,
        json!({"first_name": "a".repeat(151)}),
    )
    .await;
    assert_eq!(status, 400);

    // Settings and config, with Plio's messages.
    let (status, body) = patch(
        &app,
        &format!("/api/v1/users/{me}/setting/"),
        &token,
        json!({"locale": "hi"}),
    )
    .await;
    assert_eq!(
        (status, body.clone()),
        (200, json!({"settings": {"locale": "hi"}})),
        "{body}"
    );
    let cases = [
        (json!({}), "config not provided"),
        (
            json!({"config": {}, "x": 1}),
            "extra keys apart from config are not allowed",
        ),
        (json!({"config": [1]}), "config provided should be a dict"),
    ];
    for (body, message) in cases {
        let (status, out) = patch(&app, &format!("/api/v1/users/{me}/config/"), &token, body).await;
        assert_eq!(status, 400);
        assert_eq!(out["detail"], message);
    }
    let (status, out) = patch(
        &app,
        &format!("/api/v1/users/{me}/config/"),
        &token,
        json!({"config": {"a": 1}}),
    )
    .await;
    assert_eq!((status, out), (200, json!({"status": "config set"})));
    let (_, config) = get(&app, &format!("/api/v1/users/{me}/config/"), &token).await;
    assert_eq!(config, json!({"a": 1}));

    // Who owns this token?
    let (status, body) = get(&app, &format!("/api/v1/users/token/?token={token}"), &token).await;
    assert_eq!((status, body["id"].as_i64()), (200, Some(me as i64)));
    let (status, body) = get(&app, "/api/v1/users/token/", &token).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (400, Some("token not provided"))
    );
    let (status, body) = get(&app, "/api/v1/users/token/?token=nope", &token).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (404, Some("User not found."))
    );

    // Deleting oneself ends one's tokens.
    assert_eq!(
        delete(&app, &format!("/api/v1/users/{me}/"), &token)
            .await
            .0,
        204
    );
    assert_eq!(
        get(&app, &format!("/api/v1/users/{me}/"), &token).await.0,
        401
    );
}

async fn user_payload_follows_memberships_and_organizations(app: TestApp) {
    let (_, root) = app.superuser();
    let (me, token) = app.create_user("cached@example.com", false);
    let org = app.create_tenant("cache-org").await;
    let org_id = org["id"].as_i64().unwrap();
    let url = format!("/api/v1/users/{me}/");
    assert_eq!(get(&app, &url, &token).await.1["organizations"], json!([]));
    assert_eq!(
        get(&app, &url, &token).await.1["organizations"],
        json!([]),
        "served from the cache"
    );

    let (status, m) = post(
        &app,
        "/api/v1/organization-users/",
        &root,
        json!({"user": me, "organization": org_id, "role": role_id(&app, "org-view")}),
    )
    .await;
    assert_eq!(status, 201, "{m}");
    let orgs = get(&app, &url, &token).await.1["organizations"].clone();
    assert_eq!(orgs.as_array().map(Vec::len), Some(1), "{orgs}");
    for (key, value) in [
        ("id", json!(org_id)),
        ("name", json!("Org cache-org")),
        ("shortcode", json!("cache-org")),
        ("schema_name", json!("cache_org")),
        ("role", json!("org-view")),
    ] {
        assert_eq!(orgs[0][key], value, "{orgs}");
    }

    let (status, _) = patch(
        &app,
        &format!("/api/v1/organizations/{org_id}/"),
        &root,
        json!({"name": "Renamed"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        get(&app, &url, &token).await.1["organizations"][0]["name"],
        "Renamed"
    );

    let (status, _) = patch(
        &app,
        &format!("/api/v1/organization-users/{}/", m["id"]),
        &root,
        json!({"role": role_id(&app, "org-admin")}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        get(&app, &url, &token).await.1["organizations"][0]["role"],
        "org-admin"
    );

    let (status, _) = patch(&app, &url, &token, json!({"last_name": "Lovelace"})).await;
    assert_eq!(status, 200);
    assert_eq!(get(&app, &url, &root).await.1["last_name"], "Lovelace");

    assert_eq!(
        delete(
            &app,
            &format!("/api/v1/organization-users/{}/", m["id"]),
            &root
        )
        .await
        .0,
        204
    );
    assert_eq!(get(&app, &url, &token).await.1["organizations"], json!([]));
    // No organization's api_key ever appears in a user payload.
    assert!(!get(&app, &url, &token)
        .await
        .1
        .to_string()
        .contains("api_key"));
}

#[actix_web::test]
async fn the_cached_user_payload_follows_memberships_and_organizations_in_memory() {
    user_payload_follows_memberships_and_organizations(spawn_app().await).await;
}

#[actix_web::test]
async fn the_cached_user_payload_follows_memberships_and_organizations_in_redis() {
    let prefix = format!("idp{}", std::process::id());
    let app = spawn_app_with(&[
        ("REDIS_URL", crate::cache::redis_url().as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
    ])
    .await;
    user_payload_follows_memberships_and_organizations(app).await;
}

#[actix_web::test]
async fn roles_are_read_only_and_filtered_by_the_callers_role() {
    let app = spawn_app().await;
    let (_, root) = app.superuser();
    let org = app.create_tenant("roles-org").await;
    let org_id = org["id"].as_i64().unwrap() as i32;
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, all) = get(&app, "/api/v1/roles/", &root).await;
    assert_eq!(names(&all), ["super-admin", "org-admin", "org-view"]);
    for (role, expected) in [
        ("super-admin", vec!["org-admin", "org-view"]),
        ("org-admin", vec!["org-view"]),
        ("org-view", vec![]),
    ] {
        let (id, token) = app.create_user(&format!("{role}@roles.test"), false);
        app.add_member(id, org_id, role);
        let res = app
            .client
            .get(app.url("/api/v1/roles/"))
            .bearer_auth(&token)
            .header("Organization", "roles-org")
            .send()
            .await
            .unwrap();
        assert_eq!(names(&res.json().await.unwrap()), expected, "{role}");
        let (_, no_header) = get(&app, "/api/v1/roles/", &token).await;
        assert_eq!(
            names(&no_header),
            Vec::<String>::new(),
            "{role} without header"
        );
    }
    let (status, _) = post(&app, "/api/v1/roles/", &root, json!({"name": "god"})).await;
    assert_eq!(status, 405, "roles cannot be created");
}

#[actix_web::test]
async fn membership_grants_follow_each_roles_rules() {
    let app = spawn_app().await;
    let org = app.create_tenant("grants").await;
    let other = app.create_tenant("elsewhere").await;
    let org_id = org["id"].as_i64().unwrap();
    let (sa, sa_token) = app.create_user("sa@grants.test", false);
    let (oa, oa_token) = app.create_user("oa@grants.test", false);
    let (ov, ov_token) = app.create_user("ov@grants.test", false);
    let (foreign, foreign_token) = app.create_user("foreign@grants.test", false);
    app.add_member(sa, org_id as i32, "super-admin");
    app.add_member(oa, org_id as i32, "org-admin");
    app.add_member(ov, org_id as i32, "org-view");
    app.add_member(foreign, other["id"].as_i64().unwrap() as i32, "super-admin");
    let grant = |token: &str, user: i32, role: &str| {
        let body = json!({"user": user, "organization": org_id, "role": role_id(&app, role)});
        let token = token.to_string();
        let app = &app;
        async move { post(app, "/api/v1/organization-users/", &token, body).await }
    };
    let mut targets = Vec::new();
    for i in 0..6 {
        targets.push(app.create_user(&format!("t{i}@grants.test"), false).0);
    }
    // super-admin: org-admin and org-view, not super-admin.
    assert_eq!(grant(&sa_token, targets[0], "org-admin").await.0, 201);
    assert_eq!(grant(&sa_token, targets[1], "org-view").await.0, 201);
    assert_eq!(grant(&sa_token, targets[2], "super-admin").await.0, 403);
    // org-admin: org-view only.
    assert_eq!(grant(&oa_token, targets[2], "org-view").await.0, 201);
    assert_eq!(grant(&oa_token, targets[3], "org-admin").await.0, 403);
    // org-view and admins of another organization: nothing.
    assert_eq!(grant(&ov_token, targets[3], "org-view").await.0, 403);
    assert_eq!(grant(&foreign_token, targets[3], "org-view").await.0, 403);
    // Unique per (user, organization).
    let (status, body) = grant(&sa_token, targets[0], "org-view").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["non_field_errors"],
        json!(["organization user with this User and Organization already exists."])
    );
    // Missing or wrong fields: 400, never 500.
    let (status, body) = post(
        &app,
        "/api/v1/organization-users/",
        &sa_token,
        json!({"user": targets[4]}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["fields"]["organization"].is_array() && body["fields"]["role"].is_array(),
        "{body}"
    );
    let (status, _) = post(
        &app,
        "/api/v1/organization-users/",
        &sa_token,
        json!({"user": "x", "organization": org_id, "role": 1}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post(
        &app,
        "/api/v1/organization-users/",
        &sa_token,
        json!({"user": targets[4], "organization": org_id, "role": 999}),
    )
    .await;
    assert_eq!(status, 400);

    // Listing: admins see their organization's memberships, plain members nothing.
    let (_, listed) = get(&app, "/api/v1/organization-users/", &oa_token).await;
    assert_eq!(listed.as_array().unwrap().len(), 6);
    let (_, listed) = get(&app, "/api/v1/organization-users/", &ov_token).await;
    assert_eq!(listed, json!([]));

    // Acting on existing members: org-admin may not demote or remove an org-admin.
    let admin_membership = app.count(&format!(
        "SELECT id::bigint AS n FROM public.organization_user WHERE user_id = {}",
        targets[0]
    ));
    let viewer_membership = app.count(&format!(
        "SELECT id::bigint AS n FROM public.organization_user WHERE user_id = {}",
        targets[1]
    ));
    let path = |id: i64| format!("/api/v1/organization-users/{id}/");
    assert_eq!(
        patch(
            &app,
            &path(admin_membership),
            &oa_token,
            json!({"role": role_id(&app, "org-view")})
        )
        .await
        .0,
        403
    );
    assert_eq!(
        delete(&app, &path(admin_membership), &oa_token).await.0,
        403
    );
    assert_eq!(
        patch(
            &app,
            &path(viewer_membership),
            &oa_token,
            json!({"role": role_id(&app, "org-admin")})
        )
        .await
        .0,
        403
    );
    assert_eq!(
        patch(
            &app,
            &path(viewer_membership),
            &sa_token,
            json!({"role": role_id(&app, "org-admin")})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        delete(&app, &path(admin_membership), &sa_token).await.0,
        204
    );
    assert_eq!(
        delete(&app, &path(viewer_membership), &ov_token).await.0,
        403
    );
}

#[actix_web::test]
async fn a_member_removed_from_an_organization_loses_access_at_once() {
    let app = spawn_app().await;
    let (_, root) = app.superuser();
    let org = app.create_tenant("access").await;
    let (owner, _) = app.create_user("owner@access.test", false);
    let (member, token) = app.create_user("member@access.test", false);
    app.add_member(owner, org["id"].as_i64().unwrap() as i32, "org-admin");
    app.insert_plio("access", "shared plio", owner, true);
    let (_, m) = post(
        &app,
        "/api/v1/organization-users/",
        &root,
        json!({"user": member, "organization": org["id"], "role": role_id(&app, "org-view")}),
    )
    .await;
    let (_, body) = app.plio_names(&token, Some("access")).await;
    assert_eq!(body["count"], 1);
    assert_eq!(
        delete(
            &app,
            &format!("/api/v1/organization-users/{}/", m["id"]),
            &root
        )
        .await
        .0,
        204
    );
    let (_, body) = app.plio_names(&token, Some("access")).await;
    assert_eq!(body["count"], 0);
}

#[actix_web::test]
async fn sso_identities_are_scoped_per_organization() {
    let app = spawn_app().await;
    let a = app.create_tenant("sso-a").await;
    let b = app.create_tenant("sso-b").await;
    let sso = |body: Value| {
        let app = &app;
        async move {
            let res = app
                .client
                .post(app.url("/auth/generate-external-auth-access-token/"))
                .json(&body)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, first) = sso(json!({"unique_id": "learner-1", "api_key": a["api_key"]})).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["token_type"], "Bearer");
    let (_, again) = sso(json!({"unique_id": "learner-1", "api_key": a["api_key"]})).await;
    let (_, other_org) = sso(json!({"unique_id": "learner-1", "api_key": b["api_key"]})).await;
    let owner = |pair: &Value| {
        let token = pair["access_token"].as_str().unwrap().to_string();
        let app = &app;
        async move {
            get(app, &format!("/api/v1/users/token/?token={token}"), &token)
                .await
                .1
        }
    };
    let (u1, u2, u3) = (
        owner(&first).await,
        owner(&again).await,
        owner(&other_org).await,
    );
    assert_eq!(u1["id"], u2["id"], "the same identity is not duplicated");
    assert_ne!(
        u1["id"], u3["id"],
        "the same unique_id under another organization is another user"
    );
    assert_eq!(u1["auth_org"], a["id"]);
    assert_eq!(u3["auth_org"], b["id"]);

    let users_before = app.count("SELECT COUNT(*) AS n FROM public.\"user\"");
    for (body, message) in [
        (json!({"api_key": a["api_key"]}), "unique_id not provided."),
        (json!({"unique_id": "x"}), "api_key not provided."),
        (
            json!({"unique_id": "x", "api_key": "wrong"}),
            "Invalid api_key provided.",
        ),
    ] {
        let (status, out) = sso(body).await;
        assert_eq!((status, out["detail"].as_str()), (400, Some(message)));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.\"user\""),
        users_before
    );
}

#[actix_web::test]
async fn api_keys_are_shown_to_superusers_and_org_admins_only_and_can_be_rotated() {
    let app = spawn_app().await;
    let org = app.create_tenant("keys").await;
    let org_id = org["id"].as_i64().unwrap();
    let (admin, admin_token) = app.create_user("admin@keys.test", false);
    let (viewer, viewer_token) = app.create_user("viewer@keys.test", false);
    app.add_member(admin, org_id as i32, "org-admin");
    app.add_member(viewer, org_id as i32, "org-view");
    let (status, body) = get(
        &app,
        &format!("/api/v1/organizations/{org_id}/"),
        &admin_token,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["api_key"], org["api_key"]);
    assert_eq!(
        get(
            &app,
            &format!("/api/v1/organizations/{org_id}/"),
            &viewer_token
        )
        .await
        .0,
        403
    );
    assert_eq!(
        post(
            &app,
            &format!("/api/v1/organizations/{org_id}/rotate-api-key/"),
            &viewer_token,
            json!({})
        )
        .await
        .0,
        403
    );

    let (status, rotated) = post(
        &app,
        &format!("/api/v1/organizations/{org_id}/rotate-api-key/"),
        &admin_token,
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let new_key = rotated["api_key"].as_str().unwrap();
    assert!(new_key.len() >= 20);
    assert_ne!(new_key, org["api_key"].as_str().unwrap());
    let res = app
        .client
        .post(app.url("/auth/generate-external-auth-access-token/"))
        .json(&json!({"unique_id": "u", "api_key": org["api_key"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "the old key stopped working");
    let res = app
        .client
        .post(app.url("/auth/generate-external-auth-access-token/"))
        .json(&json!({"unique_id": "u", "api_key": new_key}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
