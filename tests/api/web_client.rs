//! Plio's web client against plio with nothing in between (SPEC 5.1): CORS, body-less
//! writes, the editor's drafts, the player's event updates, DRF error keys, Plio's payload
//! keys and the `created_by` projection (SPEC 4.2).

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Caller, TestApp};

const ORIGIN: &str = "http://127.0.0.1:18111";

async fn preflight(app: &TestApp, path: &str, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url(path))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,organization",
        )
        .send()
        .await
        .unwrap()
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[actix_web::test]
async fn a_cors_preflight_is_answered_on_every_route_for_any_origin() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/users/token/",
        "/auth/convert-token/",
        "/api/v1/plios/abcdefghij/",
        "/api/v1/no-such-route/",
        "/api/v1/events/1",
    ] {
        let res = preflight(&app, path, ORIGIN).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(header(&res, "access-control-allow-origin"), "*", "{path}");
        let allowed = header(&res, "access-control-allow-headers").to_ascii_lowercase();
        for h in ["authorization", "content-type", "organization"] {
            assert!(allowed.contains(h), "{path}: {allowed}");
        }
        let methods = header(&res, "access-control-allow-methods");
        for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            assert!(methods.contains(m), "{path}: {methods}");
        }
        assert_eq!(header(&res, "access-control-allow-credentials"), "");
    }
    // A preflight carrying an unknown workspace header is still answered (the header is only
    // named, not sent, in a preflight; and CORS sits outside tenant resolution).
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/plios/"))
        .header("Origin", ORIGIN)
        .header("Organization", "no-such-org")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn error_responses_carry_cors_headers_and_401s_carry_www_authenticate() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/v1/plios/"))
        .header("Origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(header(&res, "access-control-allow-origin"), "*");
    assert!(
        header(&res, "www-authenticate").starts_with("Bearer"),
        "{:?}",
        res.headers()
    );
    let res = app
        .client
        .get(app.url("/api/v1/plios/"))
        .header("Origin", ORIGIN)
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(header(&res, "www-authenticate").starts_with("Bearer"));
    let res = app
        .client
        .get(app.url("/api/v1/plios/"))
        .header("Origin", ORIGIN)
        .header("Organization", "no-such-org")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(header(&res, "access-control-allow-origin"), "*");
}

#[actix_web::test]
async fn cors_allowed_origins_narrows_who_may_call() {
    let app = spawn_app_with(&[(
        "CORS_ALLOWED_ORIGINS",
        "https://app.example.com, https://studio.example.com",
    )])
    .await;
    let res = preflight(&app, "/api/v1/plios/", "https://app.example.com").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "access-control-allow-origin"),
        "https://app.example.com"
    );
    let res = preflight(&app, "/api/v1/plios/", "https://evil.example.net").await;
    assert_eq!(header(&res, "access-control-allow-origin"), "");
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("Origin", "https://evil.example.net")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "access-control-allow-origin"), "");
}

#[actix_web::test]
async fn a_body_less_post_creates_a_plio_as_the_home_page_does() {
    let app = spawn_app().await;
    let (_, token) = app.create_user("creator@example.com", false);
    // No body, no content type: what axios sends for `post(url)`.
    let res = app
        .client
        .post(app.url("/api/v1/plios/"))
        .bearer_auth(&token)
        .header("Organization", "")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let plio: Value = res.json().await.unwrap();
    assert_eq!(plio["uuid"].as_str().map(str::len), Some(10));
    assert_eq!(plio["status"], "draft");
    // A body-less PUT is an empty object too: nothing changes, nothing fails.
    let uuid = plio["uuid"].as_str().unwrap();
    let res = app
        .client
        .put(app.url(&format!("/api/v1/plios/{uuid}/")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A non-empty body must still be JSON.
    let res = app
        .client
        .post(app.url("/api/v1/plios/"))
        .bearer_auth(&token)
        .header("Content-Type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
}

#[actix_web::test]
async fn the_editors_subjective_draft_is_accepted_and_leaves_no_empty_item() {
    let app = spawn_app().await;
    let (_, token) = app.create_user("creator@example.com", false);
    let c = Caller::new(&app, Some(&token), None);
    let (s, plio) = c.post("/api/v1/plios/", json!({})).await;
    assert_eq!(s, 201);
    let (s, item) = c
        .post(
            "/api/v1/items/",
            json!({"plio": plio["id"], "type": "question", "time": 3, "meta": {"source": {"name": "default"}}}),
        )
        .await;
    assert_eq!(s, 201, "{item}");
    // Exactly what Editor.vue sends for a new subjective question.
    let (s, q) = c
        .post(
            "/api/v1/questions/",
            json!({"text": "", "type": "subjective", "options": ["", ""], "max_char_limit": 100, "correct_answer": 0, "item": item["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{q}");
    assert_eq!(q["options"], json!(["", ""]));
    assert_eq!(q["correct_answer"], json!(0));
    // A new mcq draft with empty options, then a type change to subjective that keeps the
    // mcq's options and answer (ItemEditor PUTs the whole question).
    let (s, item2) = c
        .post(
            "/api/v1/items/",
            json!({"plio": plio["id"], "type": "question", "time": 9}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, q2) = c
        .post(
            "/api/v1/questions/",
            json!({"text": "", "type": "mcq", "options": ["", ""], "correct_answer": 0, "item": item2["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{q2}");
    let mut changed = q2.clone();
    changed["type"] = json!("subjective");
    changed["image"] = Value::Null;
    let (s, body) = app
        .call(
            "PUT",
            &format!("/api/v1/questions/{}/", q2["id"]),
            Some(&token),
            None,
            Some(changed),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["type"], "subjective");
    // Types are still checked.
    let (s, body) = c
        .post(
            "/api/v1/questions/",
            json!({"text": "", "type": "mcq", "options": "a,b", "correct_answer": "x", "item": item2["id"]}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body["options"].is_array() && body["correct_answer"].is_array(),
        "{body}"
    );
    // Every item has its question: nothing half-made shows up in the plio.
    let (_, detail) = c
        .get(&format!(
            "/api/v1/plios/{}/",
            plio["uuid"].as_str().unwrap()
        ))
        .await;
    let items = detail["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items.iter().all(|i| i["details"]["id"].is_number()),
        "{detail}"
    );
}

/// A learner with a session on a published public plio; returns (caller, session id, item id).
async fn learner_session<'a>(app: &'a TestApp) -> (Caller<'a>, Value, Value) {
    let (_, creator) = app.create_user("creator@example.com", false);
    let plio = Caller::new(app, Some(&creator), None)
        .make_plio("P", true, 1)
        .await;
    let (_, learner) = app.create_user("learner@example.com", false);
    let l = Caller::new(app, Some(&learner), None);
    let (s, session) = l
        .post("/api/v1/sessions/", json!({"plio": plio["id"]}))
        .await;
    assert_eq!(s, 201, "{session}");
    (l, session, plio["items"][0]["id"].clone())
}

#[actix_web::test]
async fn the_player_updates_its_running_event_with_put_and_events_have_every_method() {
    let app = spawn_app().await;
    let (l, session, _) = learner_session(&app).await;
    let (s, event) = l
        .post(
            "/api/v1/events/",
            json!({"type": "watching", "details": {}, "player_time": 0, "session": session["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{event}");
    let path = format!("/api/v1/events/{}/", event["id"]);
    // What pages/Embeds/Plio.vue sends every 20 s.
    let (s, body) = app
        .call(
            "PUT",
            &path,
            l.token.as_deref(),
            None,
            Some(json!({"type": "watching", "details": {"watched": 20}, "player_time": 20.5, "session": session["id"]})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["player_time"], json!(20.5));
    assert_eq!(body["details"], json!({"watched": 20}));
    let (_, read) = l.get(&path).await;
    assert_eq!(read["player_time"], json!(20.5));
    // PUT needs every field, as DRF; PATCH any.
    let (s, body) = app
        .call(
            "PUT",
            &path,
            l.token.as_deref(),
            None,
            Some(json!({"player_time": 1})),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body["session"].is_array() && body["type"].is_array(),
        "{body}"
    );
    let (s, body) = l.patch(&path, json!({"player_time": 30})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["player_time"], json!(30.0));
    // Someone else's event is not there for them.
    let (_, other) = app.create_user("other@example.com", false);
    let o = Caller::new(&app, Some(&other), None);
    assert_eq!(o.patch(&path, json!({"player_time": 1})).await.0, 404);
    assert_eq!(o.delete(&path).await.0, 404);
    assert_eq!(l.delete(&path).await.0, 204);
    assert_eq!(l.get(&path).await.0, 404);
}

#[actix_web::test]
async fn session_answers_can_be_deleted_by_their_owner_only() {
    let app = spawn_app().await;
    let (l, session, item) = learner_session(&app).await;
    let (s, answer) = l
        .post(
            "/api/v1/session-answers/",
            json!({"session": session["id"], "item": item, "answer": 1}),
        )
        .await;
    assert_eq!(s, 201, "{answer}");
    let path = format!("/api/v1/session-answers/{}/", answer["id"]);
    let (_, other) = app.create_user("other@example.com", false);
    assert_eq!(
        Caller::new(&app, Some(&other), None).delete(&path).await.0,
        404
    );
    assert_eq!(l.delete(&path).await.0, 204);
    assert_eq!(l.get(&path).await.0, 404);
}

#[actix_web::test]
async fn validation_errors_carry_drf_keys_and_uniqueness_is_400_with_the_field() {
    let app = spawn_app().await;
    let (_, su) = app.superuser();
    let c = Caller::new(&app, Some(&su), None);
    let user = json!({"email": "dup@example.com", "password": "long-enough-1", "first_name": "A", "last_name": "B", "status": "approved"});
    let (s, first) = c.post("/api/v1/users/", user.clone()).await;
    assert_eq!(s, 201, "{first}");
    // What the add-member dialog reads: `error.response.data.email` on a 400.
    let (s, body) = c.post("/api/v1/users/", user).await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(
        body["email"],
        json!(["user with this email already exists."])
    );
    assert_eq!(body["fields"]["email"], body["email"]);
    assert_eq!(body["code"], "unique");
    assert!(body["detail"].is_string());
    // A plain validation error has the field at the top level too.
    let (s, body) = c.post("/api/v1/videos/", json!({"url": 5})).await;
    assert_eq!(s, 400, "{body}");
    assert!(body["url"].is_array(), "{body}");
    assert_eq!(body["code"], "invalid");
    // A second membership: 400 with DRF's non_field_errors message.
    let org = app.create_tenant("acme").await;
    let role: i32 = {
        use diesel::prelude::*;
        use plio::db::schema::role;
        role::table
            .filter(role::name.eq("org-view"))
            .select(role::id)
            .first(&mut app.conn())
            .unwrap()
    };
    let m = json!({"user": first["id"], "organization": org["id"], "role": role});
    let (s, body) = c.post("/api/v1/organization-users/", m.clone()).await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = c.post("/api/v1/organization-users/", m).await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(
        body["non_field_errors"],
        json!(["organization user with this User and Organization already exists."])
    );
    // Tenant creation keeps 409 (SPEC 2.2).
    let (s, body) = c
        .post(
            "/api/v1/organizations/",
            json!({"name": "Again", "shortcode": "acme"}),
        )
        .await;
    assert_eq!(s, 409, "{body}");
    // A domain another organization has: 400 under `domain`.
    app.create_tenant_with("other", Some("other.example.com"))
        .await;
    let (s, body) = c
        .patch(
            &format!("/api/v1/organizations/{}/", org["id"]),
            json!({"domain": "other.example.com"}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert!(body["domain"].is_array(), "{body}");
}

#[actix_web::test]
async fn an_otp_request_answers_200_as_plio() {
    let app = spawn_app().await;
    let (s, body) = app
        .call(
            "POST",
            "/api/v1/otp/request/",
            None,
            None,
            Some(json!({"mobile": "+919876543210"})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["mobile"], "+919876543210");
}

#[actix_web::test]
async fn organization_users_rows_carry_user_details_and_is_owner() {
    let app = spawn_app().await;
    let org = app.create_tenant("acme").await;
    let org_id = org["id"].as_i64().unwrap() as i32;
    let (admin_id, admin) = app.create_user("admin@example.com", false);
    app.add_member(admin_id, org_id, "org-admin");
    let (member_id, _) = app.create_user("member@example.com", false);
    app.add_member(member_id, org_id, "org-view");
    let c = Caller::new(&app, Some(&admin), Some("acme"));
    let (s, rows) = c
        .get(&format!(
            "/api/v1/organization-users/?organization={org_id}"
        ))
        .await;
    assert_eq!(s, 200, "{rows}");
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let member = rows.iter().find(|r| r["user"] == member_id).unwrap();
    assert_eq!(member["is_owner"], false);
    assert_eq!(member["organization"], org_id);
    let details = &member["user_details"];
    assert_eq!(details["id"], member_id);
    assert_eq!(details["email"], "member@example.com");
    let mut keys: Vec<&String> = details.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "avatar_url",
            "email",
            "first_name",
            "id",
            "last_name",
            "mobile",
            "status"
        ]
    );
    let (s, one) = c
        .get(&format!("/api/v1/organization-users/{}/", member["id"]))
        .await;
    assert_eq!(s, 200);
    assert_eq!(one["user_details"]["email"], "member@example.com");
}

#[actix_web::test]
async fn the_user_payload_lists_organizations_with_plios_keys_and_api_key_for_own_admins_only() {
    let app = spawn_app().await;
    let org = app.create_tenant("acme").await;
    let org_id = org["id"].as_i64().unwrap() as i32;
    let api_key = org["api_key"].as_str().unwrap().to_string();
    let (admin_id, admin) = app.create_user("admin@example.com", false);
    app.add_member(admin_id, org_id, "org-admin");
    let (viewer_id, viewer) = app.create_user("viewer@example.com", false);
    app.add_member(viewer_id, org_id, "org-view");

    // The admin, reading their own payload (as the web client does after login).
    let me = Caller::new(&app, Some(&admin), None);
    let (s, body) = me.get(&format!("/api/v1/users/token/?token={admin}")).await;
    assert_eq!(s, 200, "{body}");
    let o = &body["organizations"][0];
    assert_eq!(o["id"], org_id);
    assert_eq!(o["shortcode"], "acme");
    assert_eq!(o["schema_name"], "acme");
    assert_eq!(o["name"], "Org acme");
    assert_eq!(o["role"], "org-admin");
    assert!(o["config"].is_object() && o["created_at"].is_string() && o["updated_at"].is_string());
    assert_eq!(o["api_key"], api_key.as_str());
    let (_, body) = me.get(&format!("/api/v1/users/{admin_id}/")).await;
    assert_eq!(body["organizations"][0]["api_key"], api_key.as_str());

    // An org-view member never sees it, and nobody sees it in someone else's payload.
    let (_, body) = Caller::new(&app, Some(&viewer), None)
        .get(&format!("/api/v1/users/{viewer_id}/"))
        .await;
    assert!(body["organizations"][0].get("api_key").is_none(), "{body}");
    let (_, su) = app.superuser();
    let (_, body) = Caller::new(&app, Some(&su), None)
        .get(&format!("/api/v1/users/{admin_id}/"))
        .await;
    assert_eq!(body["organizations"][0]["role"], "org-admin");
    assert!(body["organizations"][0].get("api_key").is_none(), "{body}");

    // Workspace settings saved by the admin come back in the members' payloads.
    let (s, _) = me
        .patch(
            &format!("/api/v1/organizations/{org_id}/setting/"),
            json!({"player": {"configuration": {"skipEnabled": false}}}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, body) = Caller::new(&app, Some(&viewer), None)
        .get(&format!("/api/v1/users/{viewer_id}/"))
        .await;
    assert_eq!(
        body["organizations"][0]["config"]["settings"]["player"]["configuration"]["skipEnabled"],
        false,
        "{body}"
    );
}

#[actix_web::test]
async fn created_by_shows_contact_details_only_to_the_creator_superusers_and_org_admins() {
    let app = spawn_app().await;
    let org = app.create_tenant("acme").await;
    let org_id = org["id"].as_i64().unwrap() as i32;
    let (creator_id, creator) = app.create_user("creator@example.com", false);
    app.add_member(creator_id, org_id, "org-admin");
    let (member_id, member) = app.create_user("member@example.com", false);
    app.add_member(member_id, org_id, "org-view");
    let (admin_id, admin) = app.create_user("admin@example.com", false);
    app.add_member(admin_id, org_id, "super-admin");
    let (_, learner) = app.create_user("learner@example.com", false);
    let (_, su) = app.superuser();

    let plio = Caller::new(&app, Some(&creator), Some("acme"))
        .make_plio("P", true, 1)
        .await;
    let uuid = plio["uuid"].as_str().unwrap();
    let full = |v: &Value| {
        let c = &v["created_by"];
        assert_eq!(c["id"], creator_id, "{v}");
        c["email"] == "creator@example.com" && c["organizations"].is_array()
    };
    let public_only = |v: &Value| {
        let c = v["created_by"].as_object().unwrap();
        let mut keys: Vec<&String> = c.keys().collect();
        keys.sort();
        keys == ["avatar_url", "first_name", "id", "last_name"]
    };
    let detail = format!("/api/v1/plios/{uuid}/");
    let play = format!("/api/v1/plios/{uuid}/play/");
    // The creator, an org admin, a superuser: everything (never an api_key).
    for token in [&creator, &admin, &su] {
        for path in [&detail, &play] {
            let (s, v) = Caller::new(&app, Some(token), Some("acme")).get(path).await;
            assert_eq!(s, 200, "{v}");
            assert!(full(&v), "{path}: {v}");
            assert!(!v.to_string().contains(org["api_key"].as_str().unwrap()));
        }
    }
    // A plain member, a learner, an anonymous player: public fields only.
    let (s, v) = Caller::new(&app, Some(&member), Some("acme"))
        .get(&detail)
        .await;
    assert_eq!(s, 200);
    assert!(public_only(&v), "{v}");
    for token in [Some(member.as_str()), Some(learner.as_str()), None] {
        let (s, v) = Caller::new(&app, token, Some("acme")).get(&play).await;
        assert_eq!(s, 200, "{v}");
        assert!(public_only(&v), "{v}");
        assert!(!v.to_string().contains("creator@example.com"));
    }
    // A learner's session embeds the plio with the same projection.
    let l = Caller::new(&app, Some(&learner), Some("acme"));
    let (s, session) = l
        .post("/api/v1/sessions/", json!({"plio": plio["id"]}))
        .await;
    assert_eq!(s, 201, "{session}");
    assert!(public_only(&session["plio"]), "{session}");
}

#[actix_web::test]
async fn play_with_a_stale_token_is_anonymous_and_a_stale_workspace_does_not_stop_a_refresh() {
    let app = spawn_app().await;
    let (_, creator) = app.create_user("creator@example.com", false);
    let plio = Caller::new(&app, Some(&creator), None)
        .make_plio("P", true, 0)
        .await;
    let (s, v) = Caller::new(&app, Some("expired-or-revoked"), None)
        .get(&format!(
            "/api/v1/plios/{}/play/",
            plio["uuid"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    // The client sends its workspace header to /auth/ too; a workspace that is gone must not
    // turn a refresh into a 404.
    let pair: Value = {
        let mut conn = app.conn();
        let (id, _) = app.create_user("refresher@example.com", false);
        serde_json::to_value(plio::auth::tokens::issue(&mut conn, id).unwrap()).unwrap()
    };
    let res = app
        .client
        .post(app.url("/auth/token/"))
        .header("Organization", "gone-workspace")
        .json(&json!({"grant_type": "refresh_token", "refresh_token": pair["refresh_token"], "client_id": "x", "client_secret": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn uploaded_image_urls_are_absolute_so_another_origin_can_show_them() {
    let media = std::env::temp_dir().join(format!("plio-media-web-client-{}", std::process::id()));
    let app = spawn_app_with(&[("MEDIA_ROOT", media.to_str().unwrap())]).await;
    let (_, token) = app.create_user("creator@example.com", false);
    // A 1x1 PNG.
    let png: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0,
        0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0d, 0x49, 0x44,
        0x41, 0x54, 0x78, 0x9c, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0,
        0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    let form = reqwest::multipart::Form::new().part(
        "url",
        reqwest::multipart::Part::bytes(png.to_vec()).file_name("a.png"),
    );
    let res = app
        .client
        .post(app.url("/api/v1/images/"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let image: Value = res.json().await.unwrap();
    let url = image["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/media/images/", app.address)),
        "{url}"
    );
    let res = app.client.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), png);
    let _ = std::fs::remove_dir_all(media);
}
