//! OTP login and "secrets never in logs", against the real `plio serve` process with its log
//! captured (the log driver is how codes are delivered).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use diesel::RunQueryDsl;
use serde_json::{json, Value};

use crate::helpers::{TestDb, SUPERUSER_PASSWORD};

struct Server {
    child: Child,
    base: String,
    log: PathBuf,
    client: reqwest::Client,
    db: TestDb,
}

impl Server {
    fn start(rust_log: &str) -> Self {
        let db = TestDb::new();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!("plio-test-{}-{port}.log", std::process::id()));
        let child = Command::new(env!("CARGO_BIN_EXE_plio"))
            .arg("serve")
            .env("DATABASE_URL", &db.url)
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("WORKERS", "1")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", rust_log)
            .env("SMS_DRIVER", "log")
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            client: reqwest::Client::new(),
            db,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The codes the log driver delivered to `mobile`, oldest first.
    fn codes(&self, mobile: &str) -> Vec<String> {
        self.log_text()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["mobile"] == mobile && v["otp"].is_string())
            .map(|v| v["otp"].as_str().unwrap().to_string())
            .collect()
    }

    /// The code the log driver delivered last to `mobile`.
    fn last_code(&self, mobile: &str) -> String {
        self.codes(mobile).pop().expect("a code in the log")
    }

    /// Requests a code; once answered 200, waits (at most 5 s) for its delivery: the server
    /// writes its log from a background thread, as an SMS gateway delivers asynchronously.
    async fn request(&self, mobile: &str) -> (u16, Value) {
        let before = self.codes(mobile).len();
        let res = self
            .client
            .post(self.url("/api/v1/otp/request/"))
            .json(&json!({ "mobile": mobile }))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        if status == 200 {
            let started = std::time::Instant::now();
            while self.codes(mobile).len() == before {
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(5),
                    "no code delivered to {mobile} within 5 s"
                );
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        (status, res.json().await.unwrap())
    }

    async fn verify(&self, mobile: &str, otp: &str) -> (u16, Value) {
        let res = self
            .client
            .post(self.url("/api/v1/otp/verify/"))
            .json(&json!({ "mobile": mobile, "otp": otp }))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    fn users_with_mobile(&self, mobile: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(format!(
            "SELECT COUNT(*) AS n FROM public.\"user\" WHERE mobile = '{mobile}'"
        ))
        .get_result::<N>(&mut self.db.conn())
        .unwrap()
        .n
    }
}

impl Server {
    /// Stops the server as operators do (SIGTERM) and waits for it: everything it logged
    /// has been written when this returns.
    fn stop(&mut self) {
        let stopped = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(stopped.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "plio serve exited with {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[actix_web::test]
async fn otp_login_creates_the_user_once_and_codes_are_single_use() {
    let s = Server::start("info");
    let mobile = "+919800000001";
    let (status, body) = s.request(mobile).await;
    assert_eq!(status, 200, "{body}");
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["created_at", "expires_at", "id", "mobile", "updated_at"],
        "no code in the response"
    );
    let code = s.last_code(mobile);
    assert_eq!(code.len(), 6);

    // A wrong code is refused and does not consume the right one.
    let (status, body) = s.verify(mobile, &wrong(&code)).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, pair) = s.verify(mobile, &code).await;
    assert_eq!(status, 200, "{pair}");
    let token = pair["access_token"].as_str().unwrap();
    let res = s
        .client
        .get(s.url("/api/v1/plios/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the token works");
    assert_eq!(s.users_with_mobile(mobile), 1);
    // Single use.
    assert_eq!(s.verify(mobile, &code).await.0, 401);
    // Second login: the same user.
    s.request(mobile).await;
    let code = s.last_code(mobile);
    assert_eq!(s.verify(mobile, &code).await.0, 200);
    assert_eq!(s.users_with_mobile(mobile), 1);

    // Missing fields use Plio's messages.
    let res = s
        .client
        .post(s.url("/api/v1/otp/request/"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["detail"],
        "mobile not provided"
    );
    let (status, body) = s.verify(mobile, "").await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (400, Some("otp not provided"))
    );
    let res = s
        .client
        .post(s.url("/api/v1/otp/request/"))
        .json(&json!({"mobile": "call me; DROP TABLE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[actix_web::test]
async fn expired_superseded_and_guessed_codes_are_refused() {
    let s = Server::start("info");
    // Expired.
    let mobile = "+919800000002";
    s.request(mobile).await;
    let code = s.last_code(mobile);
    diesel::sql_query(
        "UPDATE public.one_time_password SET expires_at = now() - interval '1 second'",
    )
    .execute(&mut s.db.conn())
    .unwrap();
    assert_eq!(s.verify(mobile, &code).await.0, 401);
    assert_eq!(s.users_with_mobile(mobile), 0, "no user on a failed login");

    // A new request supersedes the older code.
    let mobile = "+919800000003";
    s.request(mobile).await;
    let first = s.last_code(mobile);
    s.request(mobile).await;
    let second = s.last_code(mobile);
    if first != second {
        assert_eq!(s.verify(mobile, &first).await.0, 401, "superseded");
    }
    assert_eq!(s.verify(mobile, &second).await.0, 200);

    // Five wrong guesses end a code, even the right one afterwards.
    let mobile = "+919800000004";
    s.request(mobile).await;
    let code = s.last_code(mobile);
    for _ in 0..5 {
        assert_eq!(s.verify(mobile, &wrong(&code)).await.0, 401);
    }
    assert_eq!(s.verify(mobile, &code).await.0, 401);
}

#[actix_web::test]
async fn a_mobile_gets_five_codes_per_fifteen_minutes_then_429() {
    let s = Server::start("info");
    let mobile = "+919800000005";
    for i in 0..5 {
        assert_eq!(s.request(mobile).await.0, 200, "request {i}");
    }
    let (status, body) = s.request(mobile).await;
    assert_eq!(status, 429);
    assert_eq!(body["code"], "throttled");
    // Other numbers are not affected.
    assert_eq!(s.request("+919800000006").await.0, 200);
}

#[actix_web::test]
async fn tokens_otps_api_keys_and_passwords_never_appear_in_logs() {
    let s = Server::start("debug");
    // Seed a superuser the server can authenticate.
    {
        let mut conn = s.db.conn();
        let hash = plio::auth::password::hash(SUPERUSER_PASSWORD).unwrap();
        plio::db::models::user::insert(
            &mut conn,
            &plio::db::models::user::NewUser {
                email: Some("boss@logs.test"),
                password: Some(&hash),
                is_superuser: true,
                ..Default::default()
            },
        )
        .unwrap();
    }
    let pair: Value = s
        .client
        .post(s.url("/auth/token/"))
        .form(&[
            ("grant_type", "password"),
            ("username", "boss@logs.test"),
            ("password", SUPERUSER_PASSWORD),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = pair["access_token"].as_str().unwrap().to_string();
    let refresh = pair["refresh_token"].as_str().unwrap().to_string();
    let org: Value = s
        .client
        .post(s.url("/api/v1/organizations/"))
        .bearer_auth(&access)
        .json(&json!({"name": "Logs", "shortcode": "logs"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api_key = org["api_key"].as_str().unwrap().to_string();
    let sso: Value = s
        .client
        .post(s.url("/auth/generate-external-auth-access-token/"))
        .json(&json!({"unique_id": "learner", "api_key": api_key}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sso_token = sso["access_token"].as_str().unwrap().to_string();
    let res = s
        .client
        .get(s.url(&format!("/api/v1/users/token/?token={sso_token}")))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mobile = "+919811111111";
    s.request(mobile).await;
    let code = s.last_code(mobile);
    let otp_pair = s.verify(mobile, &code).await.1;
    let refreshed: Value = s
        .client
        .post(s.url("/auth/token/"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // A failed login with a password that must not be echoed either.
    s.client
        .post(s.url("/auth/token/"))
        .form(&[
            ("grant_type", "password"),
            ("username", "boss@logs.test"),
            ("password", "wrong-Secret-42"),
        ])
        .send()
        .await
        .unwrap();
    let mut s = s;
    s.stop();

    let log = s.log_text();
    assert!(log.contains("request finished"), "the log was captured");
    // The log driver says at startup that it is for development only.
    assert!(
        log.lines()
            .any(|l| l.contains("\"level\":\"WARN\"") && l.contains("SMS_DRIVER=log")),
        "no startup warning for the log SMS driver"
    );
    for (what, secret) in [
        ("access token", access.as_str()),
        ("refresh token", refresh.as_str()),
        (
            "rotated access token",
            refreshed["access_token"].as_str().unwrap(),
        ),
        ("SSO token", sso_token.as_str()),
        (
            "OTP login token",
            otp_pair["access_token"].as_str().unwrap(),
        ),
        ("api_key", api_key.as_str()),
        ("password", SUPERUSER_PASSWORD),
        ("wrong password", "wrong-Secret-42"),
    ] {
        assert!(!log.contains(secret), "the {what} appears in the log");
    }
    // The code appears once: in the log driver's delivery line, with the mobile. (Matched
    // as a whole number, so digits inside longer numbers such as durations do not count.)
    let lines: Vec<&str> = log.lines().filter(|l| contains_number(l, &code)).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(mobile) && lines[0].contains("\"level\":\"INFO\""),
        "{}",
        lines[0]
    );
}

fn contains_number(line: &str, digits: &str) -> bool {
    line.match_indices(digits).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + digits.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}
