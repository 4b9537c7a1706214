//! Google sign-in (`POST /auth/convert-token/`, SPEC 4.1) against a local stand-in for
//! Google's userinfo endpoint: Google itself is never called from tests.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};

async fn userinfo(req: HttpRequest) -> HttpResponse {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let info = match token {
        "new-user-token" => {
            json!({"sub": "1", "email": "new.person@gmail.com", "email_verified": true,
            "name": "New Person", "given_name": "New", "family_name": "Person", "picture": "https://example.com/p.png"})
        }
        "existing-user-token" => {
            json!({"sub": "2", "email": "teacher@school.org", "email_verified": true,
            "given_name": "Google", "family_name": "Name"})
        }
        "unverified-token" => {
            json!({"sub": "3", "email": "unverified@example.com", "email_verified": false})
        }
        "string-verified-token" => {
            json!({"sub": "4", "email": "legacy@example.com", "email_verified": "true"})
        }
        "slow-token" => {
            actix_web::rt::time::sleep(Duration::from_secs(3)).await;
            json!({"sub": "5", "email": "slow@example.com", "email_verified": true})
        }
        "broken-google" => return HttpResponse::BadGateway().finish(),
        _ => {
            return HttpResponse::Unauthorized().json(
                json!({"error": "invalid_request", "error_description": "Invalid Credentials"}),
            )
        }
    };
    HttpResponse::Ok().json(info)
}

/// Starts the stand-in; returns its userinfo URL.
fn google_stand_in() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(|| App::new().route("/userinfo", web::get().to(userinfo)))
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
    actix_web::rt::spawn(server);
    format!("http://127.0.0.1:{port}/userinfo")
}

async fn app_with_google(extra: &[(&str, &str)]) -> TestApp {
    let url = google_stand_in();
    let mut settings = vec![
        ("GOOGLE_USERINFO_URL", url.as_str()),
        ("GOOGLE_TIMEOUT_MS", "500"),
    ];
    settings.extend_from_slice(extra);
    spawn_app_with(&settings).await
}

/// What the web client sends (JSON, with its client id and secret).
async fn convert(app: &TestApp, token: &str) -> (u16, Value) {
    let res = app
        .client
        .post(app.url("/auth/convert-token/"))
        .header("Organization", "")
        .json(&json!({"grant_type": "convert_token", "client_id": "plio-client", "client_secret": "s3cret",
            "backend": "google-oauth2", "token": token}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn users_with_email(app: &TestApp, email: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM public.\"user\" WHERE lower(email) = lower('{email}')"
    ))
}

#[actix_web::test]
async fn a_google_token_signs_in_a_new_user_with_a_token_pair_and_the_user_payload() {
    let app = app_with_google(&[]).await;
    let (s, body) = convert(&app, "new-user-token").await;
    assert_eq!(s, 200, "{body}");
    for key in ["access_token", "refresh_token"] {
        assert!(body[key].as_str().is_some_and(|t| t.len() >= 40), "{body}");
    }
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read write");
    assert!(body["expires_in"].as_i64().is_some_and(|e| e > 0));
    let user = &body["user"];
    assert_eq!(user["email"], "new.person@gmail.com");
    assert_eq!(user["first_name"], "New");
    assert_eq!(user["last_name"], "Person");
    assert_eq!(user["avatar_url"], "https://example.com/p.png");
    assert_eq!(users_with_email(&app, "new.person@gmail.com"), 1);
    // The access token works, as the client uses it next.
    let access = body["access_token"].as_str().unwrap();
    let (s, me) = app
        .call(
            "GET",
            &format!("/api/v1/users/token/?token={access}"),
            Some(access),
            None,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(me["id"], user["id"]);
    // Signing in again is the same user.
    let (s, again) = convert(&app, "new-user-token").await;
    assert_eq!(s, 200);
    assert_eq!(again["user"]["id"], user["id"]);
    assert_eq!(users_with_email(&app, "new.person@gmail.com"), 1);
    // Form-encoded works too (OAuth clients send forms).
    let res = app
        .client
        .post(app.url("/auth/convert-token/"))
        .form(&[
            ("grant_type", "convert_token"),
            ("backend", "google-oauth2"),
            ("token", "new-user-token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn a_user_created_earlier_with_that_email_is_adopted_not_duplicated() {
    let app = app_with_google(&[]).await;
    // Created by an org admin with a password and their own name, in another letter case.
    let (id, _) = app.create_user("Teacher@School.org", false);
    {
        use diesel::prelude::*;
        use plio::db::schema::user;
        diesel::update(user::table.find(id))
            .set(user::first_name.eq("Asha"))
            .execute(&mut app.conn())
            .unwrap();
    }
    let (s, body) = convert(&app, "existing-user-token").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["user"]["id"], id);
    // Names the user has are kept; empty ones are filled from Google.
    assert_eq!(body["user"]["first_name"], "Asha");
    assert_eq!(body["user"]["last_name"], "Name");
    assert_eq!(users_with_email(&app, "teacher@school.org"), 1);
}

#[actix_web::test]
async fn unverified_emails_and_refused_tokens_get_400_invalid_grant_and_create_nobody() {
    let app = app_with_google(&[]).await;
    let before = app.count("SELECT COUNT(*) AS n FROM public.\"user\"");
    let (s, body) = convert(&app, "unverified-token").await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["code"], "invalid_grant");
    let (s, body) = convert(&app, "a-token-google-does-not-know").await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["code"], "invalid_grant");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.\"user\""),
        before
    );
    // Google's older string form of the flag is understood.
    assert_eq!(convert(&app, "string-verified-token").await.0, 200);
    // Wrong grant type, wrong backend, no token.
    let bad = |body: Value| {
        let app = &app;
        async move {
            let res = app
                .client
                .post(app.url("/auth/convert-token/"))
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let (s, body) =
        bad(json!({"grant_type": "password", "backend": "google-oauth2", "token": "x"})).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (s, body) =
        bad(json!({"grant_type": "convert_token", "backend": "facebook", "token": "x"})).await;
    assert_eq!(s, 400, "{body}");
    let (s, body) = bad(json!({"grant_type": "convert_token", "backend": "google-oauth2"})).await;
    assert_eq!(s, 400);
    assert!(body["token"].is_array(), "{body}");
}

#[actix_web::test]
async fn an_unreachable_or_slow_google_gives_503_within_the_timeout() {
    let app = app_with_google(&[]).await;
    let started = Instant::now();
    let (s, body) = convert(&app, "slow-token").await;
    assert_eq!(s, 503, "{body}");
    assert_eq!(body["code"], "google_unavailable");
    // GOOGLE_TIMEOUT_MS is 500 here; the stand-in answers after 3 s.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let (s, body) = convert(&app, "broken-google").await;
    assert_eq!(s, 503, "{body}");
    // Nothing listens on this port.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("http://127.0.0.1:{port}/userinfo");
    let app = spawn_app_with(&[("GOOGLE_USERINFO_URL", url.as_str())]).await;
    let (s, body) = convert(&app, "new-user-token").await;
    assert_eq!(s, 503, "{body}");
    assert_eq!(body["code"], "google_unavailable");
}

#[actix_web::test]
async fn google_sign_in_can_be_switched_off() {
    let app = app_with_google(&[("GOOGLE_SIGN_IN", "false")]).await;
    let (s, body) = convert(&app, "new-user-token").await;
    assert_eq!(s, 404, "{body}");
    assert_eq!(users_with_email(&app, "new.person@gmail.com"), 0);
    // The same request with the switch on (the default) signs in.
    let app = app_with_google(&[]).await;
    assert_eq!(convert(&app, "new-user-token").await.0, 200);
}

#[actix_web::test]
async fn a_disabled_account_cannot_sign_in_with_google() {
    let app = app_with_google(&[]).await;
    let (id, _) = app.create_user("teacher@school.org", false);
    {
        use diesel::prelude::*;
        use plio::db::schema::user;
        diesel::update(user::table.find(id))
            .set(user::is_active.eq(false))
            .execute(&mut app.conn())
            .unwrap();
    }
    let tokens = format!("SELECT COUNT(*) AS n FROM public.access_token WHERE user_id = {id}");
    let before = app.count(&tokens);
    let (s, body) = convert(&app, "existing-user-token").await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["code"], "invalid_grant");
    assert_eq!(app.count(&tokens), before, "no token issued");
}
