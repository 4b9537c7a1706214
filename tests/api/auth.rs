use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, SUPERUSER_EMAIL, SUPERUSER_PASSWORD};

pub async fn password_grant_form(
    app: &TestApp,
    username: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/auth/token/"))
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

async fn works(app: &TestApp, token: &str) -> u16 {
    app.client
        .get(app.url("/api/v1/organizations/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[actix_web::test]
async fn the_password_grant_issues_working_tokens_from_form_and_json_bodies() {
    let app = spawn_app().await;
    let res = password_grant_form(&app, SUPERUSER_EMAIL, SUPERUSER_PASSWORD).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86400);
    assert_eq!(body["scope"], "read write");
    let access = body["access_token"].as_str().unwrap();
    assert!(access.len() >= 43);
    assert_ne!(access, body["refresh_token"].as_str().unwrap());
    assert_eq!(works(&app, access).await, 200);

    let res = app
        .client
        .post(app.url("/auth/token"))
        .json(&json!({"grant_type": "password", "username": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let token = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(works(&app, &token).await, 200);
}

#[actix_web::test]
async fn tokens_are_stored_only_as_sha256_digests() {
    let app = spawn_app().await;
    let body: Value = password_grant_form(&app, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    for (table, token) in [("access_token", access), ("refresh_token", refresh)] {
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM public.{table} WHERE token_hash = '{token}'"
            )),
            0
        );
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM public.{table} WHERE token_hash = '{}'",
                plio::secrets::sha256_hex(token)
            )),
            1
        );
    }
    // The password is an argon2id hash.
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.\"user\" WHERE password LIKE '$argon2id$%'"),
        1
    );
}

#[actix_web::test]
async fn wrong_passwords_and_unknown_users_give_the_same_400_invalid_grant() {
    let app = spawn_app().await;
    let wrong = password_grant_form(&app, SUPERUSER_EMAIL, "not-it").await;
    let unknown = password_grant_form(&app, "nobody@example.com", SUPERUSER_PASSWORD).await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(unknown.status(), 400);
    let (a, b): (Value, Value) = (wrong.json().await.unwrap(), unknown.json().await.unwrap());
    assert_eq!(a, b);
    assert_eq!(a["code"], "invalid_grant");
}

#[actix_web::test]
async fn bad_token_requests_get_clear_errors() {
    let app = spawn_app().await;
    type Form<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Form, u16, &str); 3] = [
        (
            &[("grant_type", "client_credentials")],
            400,
            "unsupported_grant_type",
        ),
        (&[("username", "x")], 400, "invalid"),
        (
            &[("grant_type", "password"), ("username", "x@y.z")],
            400,
            "invalid",
        ),
    ];
    for (form, status, code) in cases {
        let res = app
            .client
            .post(app.url("/auth/token/"))
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{form:?}");
        assert_eq!(res.json::<Value>().await.unwrap()["code"], code, "{form:?}");
    }
    let res = app
        .client
        .post(app.url("/auth/token/"))
        .header("Content-Type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_json");
    let res = app
        .client
        .post(app.url("/auth/token/"))
        .json(&json!({"grant_type": ["password"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[actix_web::test]
async fn the_refresh_grant_rotates_and_the_old_pair_stops_working() {
    let app = spawn_app().await;
    let first: Value = password_grant_form(&app, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let old_refresh = first["refresh_token"].as_str().unwrap();
    let res = app
        .client
        .post(app.url("/auth/token/"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", old_refresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(
        works(&app, second["access_token"].as_str().unwrap()).await,
        200
    );
    assert_eq!(
        works(&app, first["access_token"].as_str().unwrap()).await,
        401
    );
    // A refresh token is single use.
    let res = app
        .client
        .post(app.url("/auth/token/"))
        .json(&json!({"grant_type": "refresh_token", "refresh_token": old_refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_grant");
}

#[actix_web::test]
async fn revoking_a_token_ends_its_pair() {
    let app = spawn_app().await;
    let pair: Value = password_grant_form(&app, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(works(&app, access).await, 200);
    let res = app
        .client
        .post(app.url("/auth/revoke-token/"))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(works(&app, access).await, 401);
    let res = app
        .client
        .post(app.url("/auth/token/"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", pair["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        400,
        "the refresh token of a revoked pair is gone too"
    );

    // Revoking by refresh token ends the access token as well (JSON body this time).
    let pair: Value = password_grant_form(&app, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let res = app
        .client
        .post(app.url("/auth/revoke-token/"))
        .json(&json!({"token": pair["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        works(&app, pair["access_token"].as_str().unwrap()).await,
        401
    );

    // Unknown tokens answer the same (nothing to probe); a missing token is a 400.
    let res = app
        .client
        .post(app.url("/auth/revoke-token/"))
        .form(&[("token", "unknown")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .post(app.url("/auth/revoke-token/"))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[actix_web::test]
async fn an_expired_token_is_refused() {
    // Expiry is changed behind the server's back, so its short token cache is turned off.
    let app = crate::helpers::spawn_app_with(&[("TOKEN_CACHE_SECONDS", "0")]).await;
    let (_, token) = app.superuser();
    assert_eq!(works(&app, &token).await, 200);
    {
        use diesel::prelude::*;
        diesel::sql_query(
            "UPDATE public.access_token SET expires_at = now() - interval '1 second'",
        )
        .execute(&mut app.conn())
        .unwrap();
    }
    assert_eq!(works(&app, &token).await, 401);
}

#[actix_web::test]
async fn a_login_updates_last_login_in_the_cached_user_payload() {
    let app = spawn_app().await;
    let (id, token) = app.superuser();
    let me = crate::helpers::Caller::new(&app, Some(&token), None);
    let url = format!("/api/v1/users/{id}/");
    assert_eq!(
        password_grant_form(&app, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
            .await
            .status(),
        200
    );
    let (_, first) = me.get(&url).await;
    assert_eq!(me.get(&url).await.1, first, "served again (cached)");
    assert!(first["last_login"].is_string(), "{first}");
    assert_eq!(
        password_grant_form(&app, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
            .await
            .status(),
        200
    );
    let (_, second) = me.get(&url).await;
    assert_ne!(second["last_login"], first["last_login"], "{second}");
}

/// Token lookups can use an index. Digests are bound as text; the `CHAR` column is cast for
/// that comparison, which its unique index cannot serve, and each lookup of an uncached token
/// scanned the user table (29 ms per request with 10,000 users: issue 14).
#[test]
fn token_digest_lookups_use_their_unique_index() {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[diesel(column_name = "QUERY PLAN")]
        line: String,
    }
    let db = crate::helpers::TestDb::new();
    let mut conn = db.conn();
    // Whatever the table sizes: can the index serve the lookup at all?
    diesel::sql_query("SET enable_seqscan = off")
        .execute(&mut conn)
        .unwrap();
    for (table, index) in [
        ("access_token", "access_token_token_hash_text_idx"),
        ("refresh_token", "refresh_token_token_hash_text_idx"),
    ] {
        let plan: Vec<Line> = diesel::sql_query(format!(
            "EXPLAIN SELECT t.id FROM public.{table} t JOIN public.\"user\" u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.expires_at > now() AND u.is_active"
        ))
        .bind::<diesel::sql_types::Text, _>("a".repeat(64))
        .load(&mut conn)
        .unwrap();
        let plan: Vec<String> = plan.into_iter().map(|l| l.line).collect();
        assert!(plan.iter().any(|l| l.contains(index)), "{table}: {plan:#?}");
    }
}
