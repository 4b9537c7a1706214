//! What the web-client compatibility work opened up, closed: every new or widened input path
//! refuses hostile bytes with a 4xx, embedded configs stay small, addresses cannot be
//! claimed, and the error shape holds for CORS refusals too.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Caller};

#[actix_web::test]
async fn nul_characters_anywhere_in_a_json_body_get_400_not_500() {
    let app = spawn_app().await;
    let (_, creator) = app.create_user("creator@example.com", false);
    let c = Caller::new(&app, Some(&creator), None);
    let plio = c.make_plio("P", true, 1).await;
    let uuid = plio["uuid"].as_str().unwrap();
    let question = plio["items"][0]["details"]["id"].clone();
    let (learner_id, learner) = app.create_user("learner@example.com", false);
    let l = Caller::new(&app, Some(&learner), None);
    let (_, session) = l
        .post("/api/v1/sessions/", json!({"plio": plio["id"]}))
        .await;
    let (_, event) = l
        .post(
            "/api/v1/events/",
            json!({"type": "watching", "details": {}, "player_time": 0, "session": session["id"]}),
        )
        .await;
    let nul = "a\u{0}b";
    let cases: Vec<(&str, String, Value)> = vec![
        (
            "PUT",
            format!("/api/v1/events/{}/", event["id"]),
            json!({"type": "watching", "details": {"k": nul}, "player_time": 1, "session": session["id"]}),
        ),
        (
            "POST",
            "/api/v1/events/".into(),
            json!({"type": "watching", "details": {nul: 1}, "player_time": 1, "session": session["id"]}),
        ),
        (
            "PATCH",
            format!("/api/v1/questions/{question}/"),
            json!({"type": "subjective", "correct_answer": nul}),
        ),
        (
            "PATCH",
            format!("/api/v1/questions/{question}/"),
            json!({"options": [nul]}),
        ),
        (
            "PATCH",
            format!("/api/v1/plios/{uuid}/setting/"),
            json!({"player": nul}),
        ),
        (
            "PATCH",
            format!("/api/v1/users/{learner_id}/setting/"),
            json!({"locale": nul}),
        ),
        (
            "PATCH",
            format!("/api/v1/users/{learner_id}/config/"),
            json!({"config": {"locale": nul}}),
        ),
    ];
    for (method, path, body) in cases {
        let token = if path.contains("/users/") || path.contains("/events/") {
            &learner
        } else {
            &creator
        };
        let (s, out) = app
            .call(method, &path, Some(token), None, Some(body.clone()))
            .await;
        assert_eq!(s, 400, "{method} {path} {body}: {out}");
        assert_eq!(out["code"], "invalid", "{out}");
    }
    // The OAuth routes take forms and JSON: the same refusal.
    for body in [
        json!({"grant_type": "password", "username": nul, "password": "x"}),
        json!({"unique_id": nul, "api_key": "k"}),
    ] {
        for path in ["/auth/token/", "/auth/generate-external-auth-access-token/"] {
            let (s, out) = app.call("POST", path, None, None, Some(body.clone())).await;
            assert!(s == 400, "{path} {body}: {s} {out}");
        }
    }
    let res = app
        .client
        .post(app.url("/auth/token/"))
        .form(&[
            ("grant_type", "password"),
            ("username", nul),
            ("password", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[actix_web::test]
async fn config_and_settings_objects_are_capped_at_64_kib() {
    let app = spawn_app().await;
    let org = app.create_tenant("acme").await;
    let org_id = org["id"].as_i64().unwrap() as i32;
    let (admin_id, admin) = app.create_user("admin@example.com", false);
    app.add_member(admin_id, org_id, "org-admin");
    let c = Caller::new(&app, Some(&admin), Some("acme"));
    let plio = c.make_plio("P", true, 0).await;
    let uuid = plio["uuid"].as_str().unwrap();
    let big = json!({"blob": "x".repeat(70 * 1024)});
    let small = json!({"blob": "x".repeat(60 * 1024)});
    for (path, wrap) in [
        (format!("/api/v1/organizations/{org_id}/setting/"), false),
        (format!("/api/v1/users/{admin_id}/setting/"), false),
        (format!("/api/v1/users/{admin_id}/config/"), true),
        (format!("/api/v1/plios/{uuid}/setting/"), false),
        (format!("/api/v1/plios/{uuid}/"), true),
        (format!("/api/v1/users/{admin_id}/"), true),
    ] {
        let body = |v: &Value| {
            if wrap {
                json!({"config": v})
            } else {
                v.clone()
            }
        };
        let (s, out) = c.patch(&path, body(&big)).await;
        assert_eq!(s, 413, "{path}: {out}");
        assert_eq!(out["code"], "payload_too_large");
        let (s, out) = c.patch(&path, body(&small)).await;
        assert_eq!(s, 200, "{path}: {out}");
    }
    // The cap holds for the whole config, not only the part one request sends: the user's
    // config holds 60 KiB from the last PATCH; 60 KiB of settings beside it is too much.
    let (s, out) = c
        .patch(&format!("/api/v1/users/{admin_id}/setting/"), small.clone())
        .await;
    assert_eq!(s, 413, "{out}");
    let (s, out) = c
        .patch(&format!("/api/v1/plios/{uuid}/setting/"), small.clone())
        .await;
    assert_eq!(s, 413, "{out}");
    // Nothing large reached the payloads others read.
    let (_, me) = c.get(&format!("/api/v1/users/{admin_id}/")).await;
    assert!(me.to_string().len() < 200 * 1024);
}

#[actix_web::test]
async fn only_a_superuser_can_set_an_email_address() {
    let app = spawn_app().await;
    let (id, token) = app.create_user("me@example.com", false);
    let me = Caller::new(&app, Some(&token), None);
    let path = format!("/api/v1/users/{id}/");
    // Claiming someone else's address (which Google sign-in would then hand over): refused.
    let (s, body) = me.patch(&path, json!({"email": "victim@gmail.com"})).await;
    assert_eq!(s, 400, "{body}");
    assert!(body["email"].is_array(), "{body}");
    // Sending one's own address back (a full PUT-like body) is fine.
    let (s, body) = me
        .patch(
            &path,
            json!({"email": "me@example.com", "first_name": "Me"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (_, su) = app.superuser();
    let (s, body) = Caller::new(&app, Some(&su), None)
        .patch(&path, json!({"email": "new@example.com"}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["email"], "new@example.com");
}

#[actix_web::test]
async fn a_forged_forwarded_host_cannot_shape_a_stored_image_url() {
    let media = std::env::temp_dir().join(format!("plio-media-hardening-{}", std::process::id()));
    let app = spawn_app_with(&[("MEDIA_ROOT", media.to_str().unwrap())]).await;
    let (_, token) = app.create_user("creator@example.com", false);
    let png: Vec<u8> = {
        let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        v.extend_from_slice(&[
            0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77,
            0x53, 0xDE,
        ]);
        v
    };
    let long_host = format!("{}.example.com", "a".repeat(240));
    for (proto, host) in [
        ("javascript", "evil.example"),
        ("https", long_host.as_str()),
    ] {
        let form = reqwest::multipart::Form::new().part(
            "url",
            reqwest::multipart::Part::bytes(png.clone()).file_name("a.png"),
        );
        let res = app
            .client
            .post(app.url("/api/v1/images/"))
            .bearer_auth(&token)
            .header("X-Forwarded-Proto", proto)
            .header("X-Forwarded-Host", host)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{proto}://{host}");
        let image: Value = res.json().await.unwrap();
        let url = image["url"].as_str().unwrap();
        assert!(url.starts_with("/media/images/"), "{url}");
    }
    // With MEDIA_URL the public base is the operator's, whatever the request says.
    let app = spawn_app_with(&[
        ("MEDIA_ROOT", media.to_str().unwrap()),
        ("MEDIA_URL", "https://cdn.example.org/"),
    ])
    .await;
    let (_, token) = app.create_user("creator@example.com", false);
    let form = reqwest::multipart::Form::new().part(
        "url",
        reqwest::multipart::Part::bytes(png).file_name("a.png"),
    );
    let res = app
        .client
        .post(app.url("/api/v1/images/"))
        .bearer_auth(&token)
        .header("X-Forwarded-Host", "evil.example")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let image: Value = res.json().await.unwrap();
    assert!(
        image["url"]
            .as_str()
            .unwrap()
            .starts_with("https://cdn.example.org/media/images/"),
        "{image}"
    );
    let _ = std::fs::remove_dir_all(media);
}

#[actix_web::test]
async fn membership_patch_may_change_is_owner_alone_and_put_needs_the_role() {
    let app = spawn_app().await;
    let org = app.create_tenant("acme").await;
    let org_id = org["id"].as_i64().unwrap() as i32;
    let (member_id, _) = app.create_user("member@example.com", false);
    app.add_member(member_id, org_id, "org-view");
    let (_, su) = app.superuser();
    let c = Caller::new(&app, Some(&su), None);
    let (_, rows) = c
        .get(&format!(
            "/api/v1/organization-users/?organization={org_id}"
        ))
        .await;
    let path = format!("/api/v1/organization-users/{}/", rows[0]["id"]);
    let (s, body) = c.patch(&path, json!({"is_owner": true})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["is_owner"], true);
    assert_eq!(body["role"], rows[0]["role"]);
    let (s, body) = app
        .call(
            "PUT",
            &path,
            Some(&su),
            None,
            Some(json!({"is_owner": false})),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert!(body["role"].is_array(), "{body}");
}

#[actix_web::test]
async fn a_refused_cors_preflight_still_has_the_error_shape() {
    let app = spawn_app_with(&[("CORS_ALLOWED_ORIGINS", "https://app.example.com")]).await;
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/plios/"))
        .header("Origin", "https://evil.example.net")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: Value = res.json().await.unwrap();
    assert!(
        body["code"].is_string() && body["detail"].is_string(),
        "{body}"
    );
}

#[actix_web::test]
async fn a_stale_workspace_header_does_not_stop_auth_behind_a_domain_segment() {
    let app = spawn_app().await;
    app.create_tenant_with("acme", Some("127.0.0.1/acme")).await;
    let (id, _) = app.create_user("refresher@example.com", false);
    let pair = {
        let mut conn = app.conn();
        serde_json::to_value(plio::auth::tokens::issue(&mut conn, id).unwrap()).unwrap()
    };
    let res = app
        .client
        .post(app.url("/acme/auth/token/"))
        .header("Organization", "gone-workspace")
        .json(&json!({"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn a_google_token_with_control_characters_is_refused_without_asking_google() {
    // Nothing listens here: asking would be a 503.
    let app = spawn_app_with(&[("GOOGLE_USERINFO_URL", "http://127.0.0.1:9/userinfo")]).await;
    let (s, body) = app
        .call(
            "POST",
            "/auth/convert-token/",
            None,
            None,
            Some(json!({"grant_type": "convert_token", "backend": "google-oauth2", "token": "ab\ncd"})),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["code"], "invalid_grant");
}
