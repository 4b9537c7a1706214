//! Holes a hostile user could open (issue "trust under attack"): other people's images,
//! an organization's tags, a domain that captures the API, free password guessing and
//! sessions that outlive a password change.

use serde_json::{json, Value};

use crate::auth::password_grant_form;
use crate::helpers::{spawn_app, spawn_app_with, Caller, SUPERUSER_EMAIL};
use crate::plios::{rand_suffix, tiny_png, upload};

#[actix_web::test]
async fn a_question_cannot_take_over_someone_elses_image() {
    let media = std::env::temp_dir().join(format!(
        "plio-trust-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let app = spawn_app_with(&[("MEDIA_ROOT", media.to_str().unwrap())]).await;
    let (_, victim) = app.create_user("victim@example.com", false);
    let (s, image) = upload(&app, &victim, None, "v.png", tiny_png()).await;
    assert_eq!(s, 201, "{image}");
    let (_, attacker) = app.create_user("attacker@example.com", false);
    let a = Caller::new(&app, Some(&attacker), None);
    let plio = a.make_plio("Mine", true, 1).await;
    let item = plio["items"][0]["id"].clone();
    let question = plio["items"][0]["details"]["id"].clone();
    // Attaching it to a new question or to an existing one: the image "does not exist".
    let (s, body) = a
        .post(
            "/api/v1/questions/",
            json!({"item": item, "type": "mcq", "options": ["a"], "correct_answer": 0, "image": image["id"]}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert!(body["image"].is_array(), "{body}");
    let (s, body) = a
        .patch(
            &format!("/api/v1/questions/{question}/"),
            json!({"image": image["id"]}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    // So the attacker still cannot read, change or delete it.
    let path = format!("/api/v1/images/{}/", image["id"]);
    assert_eq!(a.get(&path).await.0, 403);
    assert_eq!(a.patch(&path, json!({"alt_text": "mine"})).await.0, 403);
    assert_eq!(a.delete(&path).await.0, 403);
    // The owner may attach their own image, and the editor's whole-question PUT keeps it.
    let v = Caller::new(&app, Some(&victim), None);
    let vplio = v.make_plio("Theirs", true, 1).await;
    let vq = vplio["items"][0]["details"].clone();
    let (s, body) = v
        .patch(
            &format!("/api/v1/questions/{}/", vq["id"]),
            json!({"image": image["id"]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    // As the editor sends it: the whole question, its image replaced by the image's id.
    let mut whole = body.clone();
    whole["text"] = json!("edited");
    whole["image"] = image["id"].clone();
    let (s, body) = app
        .call(
            "PUT",
            &format!("/api/v1/questions/{}/", vq["id"]),
            Some(&victim),
            None,
            Some(whole),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let _ = std::fs::remove_dir_all(media);
}

#[actix_web::test]
async fn a_non_member_cannot_read_an_organizations_tags() {
    let app = spawn_app().await;
    let org = app.create_tenant("acme").await;
    let org_id = org["id"].as_i64().unwrap() as i32;
    let (member_id, member) = app.create_user("member@example.com", false);
    app.add_member(member_id, org_id, "org-view");
    let m = Caller::new(&app, Some(&member), Some("acme"));
    let (s, tag) = m
        .post("/api/v1/tags/", json!({"name": "Secret roadmap"}))
        .await;
    assert_eq!(s, 201, "{tag}");
    let (_, outsider) = app.create_user("outsider@example.com", false);
    let o = Caller::new(&app, Some(&outsider), Some("acme"));
    assert_eq!(o.get("/api/v1/tags/").await.0, 403);
    assert_eq!(o.get(&format!("/api/v1/tags/{}/", tag["id"])).await.0, 403);
    // Members still read them.
    let (s, list) = m.get("/api/v1/tags/").await;
    assert_eq!(s, 200);
    assert_eq!(list[0]["name"], "Secret roadmap");
}

#[actix_web::test]
async fn a_domain_cannot_name_one_of_plios_routes_as_its_path() {
    let app = spawn_app().await;
    let (_, su) = app.superuser();
    let c = Caller::new(&app, Some(&su), None);
    for domain in ["localhost/api", "127.0.0.1/auth", "localhost/media"] {
        let (s, body) = c
            .post(
                "/api/v1/organizations/",
                json!({"name": "Capture", "shortcode": "capture", "domain": domain}),
            )
            .await;
        assert_eq!(s, 400, "{domain}: {body}");
    }
    let org = app.create_tenant("acme").await;
    let (s, body) = c
        .patch(
            &format!("/api/v1/organizations/{}/", org["id"]),
            json!({"domain": "localhost/api"}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    // The API is still the API.
    assert_eq!(c.get("/api/v1/organizations/").await.0, 200);
}

#[actix_web::test]
async fn password_guessing_is_throttled_per_account_and_per_address() {
    let app = spawn_app_with(&[
        ("LOGIN_FAILURES_PER_ACCOUNT", "3"),
        ("LOGIN_FAILURES_PER_ADDRESS", "5"),
    ])
    .await;
    for _ in 0..3 {
        assert_eq!(
            password_grant_form(&app, SUPERUSER_EMAIL, "wrong-guess")
                .await
                .status(),
            400
        );
    }
    // Locked for this account, even with the right password.
    let res = password_grant_form(&app, SUPERUSER_EMAIL, crate::helpers::SUPERUSER_PASSWORD).await;
    assert_eq!(res.status(), 429);
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "throttled");
    // Two more failures on other accounts from this address reach the address limit.
    assert_eq!(
        password_grant_form(&app, "a@example.com", "x")
            .await
            .status(),
        400
    );
    assert_eq!(
        password_grant_form(&app, "b@example.com", "x")
            .await
            .status(),
        400
    );
    assert_eq!(
        password_grant_form(&app, "c@example.com", "x")
            .await
            .status(),
        429
    );
}

#[actix_web::test]
async fn parallel_guesses_cannot_slip_under_the_account_limit() {
    let app = spawn_app_with(&[("LOGIN_FAILURES_PER_ACCOUNT", "3")]).await;
    let guesses = (0..30).map(|i| {
        let app = &app;
        async move {
            password_grant_form(app, SUPERUSER_EMAIL, &format!("wrong-{i}"))
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 400).count();
    assert!(checked <= 3, "{checked} guesses were checked: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 30 - checked);
}

#[actix_web::test]
async fn a_success_resets_the_accounts_failures() {
    let app = spawn_app_with(&[("LOGIN_FAILURES_PER_ACCOUNT", "3")]).await;
    for _ in 0..2 {
        assert_eq!(
            password_grant_form(&app, SUPERUSER_EMAIL, "wrong")
                .await
                .status(),
            400
        );
    }
    assert_eq!(
        password_grant_form(&app, SUPERUSER_EMAIL, crate::helpers::SUPERUSER_PASSWORD)
            .await
            .status(),
        200
    );
    for _ in 0..2 {
        assert_eq!(
            password_grant_form(&app, SUPERUSER_EMAIL, "wrong")
                .await
                .status(),
            400
        );
    }
    assert_eq!(
        password_grant_form(&app, SUPERUSER_EMAIL, crate::helpers::SUPERUSER_PASSWORD)
            .await
            .status(),
        200
    );
}

#[actix_web::test]
async fn a_password_change_ends_every_other_session() {
    let app = spawn_app().await;
    let (id, current) = app.create_user("me@example.com", false);
    let other_pair = {
        let mut conn = app.conn();
        plio::auth::tokens::issue(&mut conn, id).unwrap()
    };
    let other = other_pair.access_token.clone();
    let me = Caller::new(&app, Some(&current), None);
    let path = format!("/api/v1/users/{id}/");
    // The other token works until the change.
    assert_eq!(
        Caller::new(&app, Some(&other), None).get(&path).await.0,
        200
    );
    let (s, body) = me
        .patch(&path, json!({"password": "a-new-password-1"}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        Caller::new(&app, Some(&other), None).get(&path).await.0,
        401
    );
    // Nor can the other session mint a new pair with its refresh token.
    let res = app
        .client
        .post(app.url("/auth/token/"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", other_pair.refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        me.get(&path).await.0,
        200,
        "the caller's own token survives"
    );
    // A superuser's change ends all of them.
    let (_, su) = app.superuser();
    let (s, _) = Caller::new(&app, Some(&su), None)
        .patch(&path, json!({"password": "another-password-2"}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(me.get(&path).await.0, 401);
}

/// A stand-in SMS provider: records what it is asked to send; answers `status`.
fn sms_stand_in(status: u16) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let seen = got.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let seen = seen.clone();
        App::new().route(
            "/sms",
            web::post().to(move |body: web::Json<Value>| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push(body.into_inner());
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .finish()
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);
    (format!("http://127.0.0.1:{port}/sms"), got)
}

#[actix_web::test]
async fn the_webhook_sms_driver_posts_the_code_and_a_failed_delivery_costs_nothing() {
    let (url, got) = sms_stand_in(200);
    let app = spawn_app_with(&[("SMS_DRIVER", "webhook"), ("SMS_WEBHOOK_URL", url.as_str())]).await;
    let mobile = "+919812345678";
    let (s, body) = app
        .call(
            "POST",
            "/api/v1/otp/request/",
            None,
            None,
            Some(json!({"mobile": mobile})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let sent = got.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["mobile"], mobile);
    let message = sent[0]["message"].as_str().unwrap();
    let code: String = message.chars().take_while(|c| c.is_ascii_digit()).collect();
    assert_eq!(code.len(), 6, "{message}");
    let (s, pair) = app
        .call(
            "POST",
            "/api/v1/otp/verify/",
            None,
            None,
            Some(json!({"mobile": mobile, "otp": code})),
        )
        .await;
    assert_eq!(s, 200, "{pair}");
    assert!(pair["access_token"].is_string());

    // A provider that refuses: 503, and the code that was never sent is not left behind.
    let (url, _) = sms_stand_in(500);
    let app = spawn_app_with(&[("SMS_DRIVER", "webhook"), ("SMS_WEBHOOK_URL", url.as_str())]).await;
    for _ in 0..6 {
        let (s, body) = app
            .call(
                "POST",
                "/api/v1/otp/request/",
                None,
                None,
                Some(json!({"mobile": mobile})),
            )
            .await;
        assert_eq!(s, 503, "{body}");
        assert_eq!(body["code"], "sms_unavailable");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.one_time_password"),
        0
    );
}

#[actix_web::test]
async fn bodies_over_the_limit_get_413_even_where_no_body_is_read() {
    let app = spawn_app().await;
    let (_, token) = app.create_user("creator@example.com", false);
    let plio = Caller::new(&app, Some(&token), None)
        .make_plio("P", true, 0)
        .await;
    let before = app.count("SELECT COUNT(*) AS n FROM public.plio");
    let res = app
        .client
        .post(app.url(&format!(
            "/api/v1/plios/{}/duplicate/",
            plio["uuid"].as_str().unwrap()
        )))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(vec![b' '; 11 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM public.plio"), before);
    // A multipart body of many empty parts is cut too.
    let mut form = reqwest::multipart::Form::new();
    for i in 0..200 {
        form = form.text(format!("f{i}"), "");
    }
    let res = app
        .client
        .post(app.url("/api/v1/images/"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[actix_web::test]
async fn a_nul_in_a_path_or_query_gets_400() {
    let app = spawn_app().await;
    let (_, token) = app.create_user("creator@example.com", false);
    for path in [
        "/api/v1/plios/%00/",
        "/api/v1/plios/%00/play/",
        "/api/v1/plios/?search=a%00b",
        "/api/v1/items/?plio=%00",
        "/api/v1/users/token/?token=%00",
    ] {
        let (s, body) = app.call("GET", path, Some(&token), None, None).await;
        assert_eq!(s, 400, "{path}: {body}");
        assert!(body["code"].is_string(), "{body}");
    }
}

/// Opens a connection that sends its headers and then one byte of a 100-byte body.
async fn slow_body(address: &str, path: &str, token: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(address.trim_start_matches("http://"))
        .await
        .unwrap();
    s.write_all(
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    s
}

#[actix_web::test]
async fn slow_bodies_are_cut_with_408_and_cannot_stop_healthz() {
    use tokio::io::AsyncReadExt;
    let app = spawn_app_with(&[("REQUEST_BODY_TIMEOUT_MS", "700")]).await;
    let (_, token) = app.create_user("creator@example.com", false);
    // Many slow clients on routes that read bodies in different ways.
    let mut slow = Vec::new();
    for i in 0..150 {
        let path = ["/auth/token/", "/api/v1/plios/", "/api/v1/otp/request/"][i % 3];
        slow.push(slow_body(&app.address, path, &token).await);
    }
    // Meanwhile the server answers.
    let started = std::time::Instant::now();
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    // Each slow client gets a 408 in the error shape once its deadline passes.
    let mut answered = 0;
    for mut s in slow.drain(..).take(12) {
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("an answer within the deadline")
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(text.contains("request_timeout"), "{text}");
        answered += 1;
    }
    assert_eq!(answered, 12);
}

#[actix_web::test]
async fn chunked_slow_bodies_cannot_hold_connections_past_their_deadline() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(&[
        ("REQUEST_BODY_TIMEOUT_MS", "700"),
        ("MAX_CONNECTIONS", "32"),
    ])
    .await;
    // More chunked slow clients than connections, on a route that reads no body and on one
    // that does.
    let mut slow = Vec::new();
    for i in 0..40 {
        let path = ["/healthz", "/auth/token/"][i % 2];
        let mut s = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
            .await
            .unwrap();
        let _ = s
            .write_all(
                format!("POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n1\r\n{{\r\n")
                    .as_bytes(),
            )
            .await;
        slow.push(s);
    }
    // Each is answered 408 and closed once its deadline passes...
    for mut s in slow.drain(..).take(6) {
        let mut out = Vec::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out))
            .await
            .expect("closed within the deadline");
        assert!(read.is_ok());
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    }
    // ...so the server takes new connections again.
    let res = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        app.client.get(app.url("/healthz")).send(),
    )
    .await
    .expect("/healthz answered")
    .unwrap();
    assert_eq!(res.status(), 200);
    // A legitimate chunked JSON body still works.
    let (_, token) = app.create_user("creator@example.com", false);
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(b"{\"name\": ".to_vec()),
        Ok(b"\"Chunked\"}".to_vec()),
    ]));
    let res = app
        .client
        .post(app.url("/api/v1/plios/"))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let plio: Value = res.json().await.unwrap();
    assert_eq!(plio["name"], "Chunked");
}
