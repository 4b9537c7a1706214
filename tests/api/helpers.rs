//! `spawn_app()`: the real server on port 0 against its own fresh database (cloned from a
//! migrated and seeded template), so tests run in parallel without sharing state.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use diesel::prelude::*;
use diesel::sql_types::Text;
use plio::config::Settings;
use plio::db::Database;
use plio::Application;
use serde_json::Value;

pub const SUPERUSER_EMAIL: &str = "root@example.com";
pub const SUPERUSER_PASSWORD: &str = "root-password-123";

/// The Postgres server tests use (no database part).
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_SERVER")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn admin_conn() -> PgConnection {
    PgConnection::establish(&format!("{}/postgres", server_url())).expect("connect to postgres")
}

pub fn settings_for(db_url: &str, extra: &[(&str, &str)]) -> Settings {
    let mut map: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), db_url.to_string()),
        ("BIND".into(), "127.0.0.1:0".into()),
        ("WORKERS".into(), "1".into()),
        ("DB_POOL_SIZE".into(), "4".into()),
        ("TENANT_REFRESH_MS".into(), "200".into()),
        ("SUPERUSER_EMAIL".into(), SUPERUSER_EMAIL.into()),
        ("SUPERUSER_PASSWORD".into(), SUPERUSER_PASSWORD.into()),
    ]);
    for (k, v) in extra {
        map.insert(k.to_string(), v.to_string());
    }
    Settings::from_lookup(|k| map.get(k).cloned()).expect("test settings")
}

/// A migrated and seeded database that every test database is cloned from.
fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let pid = std::process::id();
        let mut admin = admin_conn();
        // Leftovers of earlier runs (other process ids).
        let old: Vec<Name> = diesel::sql_query(
            "SELECT datname::text AS name FROM pg_database WHERE datname LIKE 'plio\\_tpl\\_%' OR datname LIKE 'plio\\_test\\_%'",
        )
        .load(&mut admin)
        .expect("list databases");
        for d in old {
            // Only leftovers of runs that ended: a concurrent run (another checkout, a
            // reviewer) keeps its databases.
            let owner = d
                .name
                .trim_start_matches("plio_tpl_")
                .trim_start_matches("plio_test_")
                .split('_')
                .next()
                .and_then(|p| p.parse::<u32>().ok());
            let alive = owner.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
            if !alive {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", d.name))
                    .execute(&mut admin);
            }
        }
        let name = format!("plio_tpl_{pid}");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .expect("drop template");
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .expect("create template");
        let url = format!("{}/{name}", server_url());
        {
            let db = Database::connect(&url, 2).expect("pool");
            let (_, outcomes) =
                plio::tenancy::provisioning::migrate_all(&db, 1, &|_| {}, &|_| {}).expect("migrate template");
            assert!(outcomes.iter().all(|o| o.error.is_none()), "{outcomes:?}");
            let mut conn = diesel::PgConnection::establish(&url).expect("conn");
            plio::seed::run(&mut conn, &settings_for(&url, &[]), None).expect("seed template");
        }
        // No session may stay connected to a template.
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .execute(&mut admin)
        .expect("disconnect template");
        name
    })
}

/// A fresh database cloned from the template; dropped when the guard is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    /// Dropped with this guard (false for a second server's view of the same database).
    owned: bool,
}

impl TestDb {
    pub fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let template = template();
        let name = format!(
            "plio_test_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let mut admin = admin_conn();
        diesel::sql_query(format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
        ))
        .execute(&mut admin)
        .expect("clone template");
        let url = format!("{}/{name}", server_url());
        Self {
            name,
            url,
            owned: true,
        }
    }

    /// A database that exists already and outlives the test (a Citus coordinator's): never
    /// cloned, never dropped.
    pub fn existing(url: &str) -> Self {
        Self {
            name: url.rsplit('/').next().unwrap_or_default().to_string(),
            url: url.to_string(),
            owned: false,
        }
    }

    /// The same database, for another server; the original guard still drops it.
    pub fn shared(&self) -> Self {
        Self {
            name: self.name.clone(),
            url: self.url.clone(),
            owned: false,
        }
    }

    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let mut admin = admin_conn();
        let _ = diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin);
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDb,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the server with extra settings (e.g. `DB_POOL_SIZE=1`).
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let db = TestDb::new();
    spawn_on(db, extra)
}

pub fn spawn_on(db: TestDb, extra: &[(&str, &str)]) -> TestApp {
    let settings = settings_for(&db.url, extra);
    let app = Application::build(settings).expect("build app");
    let port = app.port();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        db,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn conn(&self) -> PgConnection {
        self.db.conn()
    }

    /// Creates a user directly in the database and returns (id, access token).
    pub fn create_user(&self, email: &str, superuser: bool) -> (i32, String) {
        let mut conn = self.conn();
        let id = plio::db::models::user::insert(
            &mut conn,
            &plio::db::models::user::NewUser {
                email: Some(email),
                is_superuser: superuser,
                ..Default::default()
            },
        )
        .expect("insert user");
        (id, self.token_for(id))
    }

    /// Issues a token pair for a user directly (the password grant is tested separately).
    pub fn token_for(&self, user_id: i32) -> String {
        let mut conn = self.conn();
        plio::auth::tokens::issue(&mut conn, user_id)
            .expect("issue token")
            .access_token
    }

    /// The seeded superuser's id and a fresh token.
    pub fn superuser(&self) -> (i32, String) {
        let mut conn = self.conn();
        let id: i32 = plio::db::schema::user::table
            .filter(plio::db::schema::user::email.eq(SUPERUSER_EMAIL))
            .select(plio::db::schema::user::id)
            .first(&mut conn)
            .expect("seeded superuser");
        (id, self.token_for(id))
    }

    /// Creates a tenant over HTTP as the superuser; returns the 201 body.
    pub async fn create_tenant(&self, shortcode: &str) -> Value {
        self.create_tenant_with(shortcode, None).await
    }

    pub async fn create_tenant_with(&self, shortcode: &str, domain: Option<&str>) -> Value {
        let (_, token) = self.superuser();
        let mut body =
            serde_json::json!({"name": format!("Org {shortcode}"), "shortcode": shortcode});
        if let Some(d) = domain {
            body["domain"] = Value::from(d);
        }
        let res = self
            .client
            .post(self.url("/api/v1/organizations/"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 201, "creating tenant {shortcode}");
        res.json().await.expect("json")
    }

    /// Adds a membership with the given role name.
    pub fn add_member(&self, user_id: i32, org_id: i32, role: &str) {
        let mut conn = self.conn();
        diesel::sql_query(
            "INSERT INTO public.organization_user (user_id, organization_id, role_id) \
             SELECT $1, $2, id FROM public.role WHERE name = $3",
        )
        .bind::<diesel::sql_types::Int4, _>(user_id)
        .bind::<diesel::sql_types::Int4, _>(org_id)
        .bind::<Text, _>(role)
        .execute(&mut conn)
        .expect("insert membership");
    }

    /// Inserts a plio row straight into `schema` (the plio API is not part of this layer).
    pub fn insert_plio(&self, schema: &str, name: &str, created_by: i32, is_public: bool) -> i32 {
        let mut conn = self.conn();
        let uuid = plio::secrets::random_string(10, plio::secrets::LOWERCASE);
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Int4)]
            id: i32,
        }
        let row: Id = diesel::sql_query(format!(
            "INSERT INTO \"{schema}\".plio (name, uuid, created_by_id, is_public) VALUES ($1, $2, $3, $4) RETURNING id"
        ))
        .bind::<Text, _>(name)
        .bind::<Text, _>(uuid)
        .bind::<diesel::sql_types::Int4, _>(created_by)
        .bind::<diesel::sql_types::Bool, _>(is_public)
        .get_result(&mut conn)
        .expect("insert plio");
        row.id
    }

    /// Count of rows for a SQL `SELECT COUNT(*) AS n ...`.
    pub fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.conn();
        diesel::sql_query(sql)
            .get_result::<N>(&mut conn)
            .expect("count")
            .n
    }

    /// Names of the plios a caller sees in the list.
    pub async fn plio_names(&self, token: &str, org: Option<&str>) -> (u16, Value) {
        let mut req = self
            .client
            .get(self.url("/api/v1/plios/"))
            .bearer_auth(token);
        if let Some(o) = org {
            req = req.header("Organization", o);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.expect("json"))
    }
}

/// The `name`s of a plio list body.
pub fn names(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

impl TestApp {
    /// One request: (status, JSON body or Null).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        org: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(o) = org {
            req = req.header("Organization", o);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// A caller in a workspace: token plus optional `Organization` header.
#[derive(Clone)]
pub struct Caller<'a> {
    pub app: &'a TestApp,
    pub token: Option<String>,
    pub org: Option<String>,
}

impl<'a> Caller<'a> {
    pub fn new(app: &'a TestApp, token: Option<&str>, org: Option<&str>) -> Self {
        Self {
            app,
            token: token.map(str::to_string),
            org: org.map(str::to_string),
        }
    }
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.app
            .call(
                "GET",
                path,
                self.token.as_deref(),
                self.org.as_deref(),
                None,
            )
            .await
    }
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.app
            .call(
                "POST",
                path,
                self.token.as_deref(),
                self.org.as_deref(),
                Some(body),
            )
            .await
    }
    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.app
            .call(
                "PATCH",
                path,
                self.token.as_deref(),
                self.org.as_deref(),
                Some(body),
            )
            .await
    }
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.app
            .call(
                "DELETE",
                path,
                self.token.as_deref(),
                self.org.as_deref(),
                None,
            )
            .await
    }
    pub async fn delete_with(&self, path: &str, body: Value) -> (u16, Value) {
        self.app
            .call(
                "DELETE",
                path,
                self.token.as_deref(),
                self.org.as_deref(),
                Some(body),
            )
            .await
    }

    /// Creates a plio (with a video, and `items` items each with an mcq question); returns
    /// its detail payload.
    pub async fn make_plio(&self, name: &str, is_public: bool, items: usize) -> Value {
        let (s, video) = self
            .post(
                "/api/v1/videos/",
                serde_json::json!({"url": "https://youtu.be/abc", "title": "V", "duration": 120.0}),
            )
            .await;
        assert_eq!(s, 201, "{video}");
        let (s, plio) = self
            .post(
                "/api/v1/plios/",
                serde_json::json!({"name": name, "video": video["id"], "status": "published", "is_public": is_public}),
            )
            .await;
        assert_eq!(s, 201, "{plio}");
        for i in 0..items {
            let (s, item) = self
                .post("/api/v1/items/", serde_json::json!({"plio": plio["id"], "type": "question", "time": (i as f64) * 10.0 + 5.0}))
                .await;
            assert_eq!(s, 201, "{item}");
            let (s, q) = self
                .post(
                    "/api/v1/questions/",
                    serde_json::json!({"item": item["id"], "type": "mcq", "text": format!("Q{i}"), "options": ["a", "b", "c"], "correct_answer": 1}),
                )
                .await;
            assert_eq!(s, 201, "{q}");
        }
        let (s, detail) = self
            .get(&format!(
                "/api/v1/plios/{}/",
                plio["uuid"].as_str().unwrap()
            ))
            .await;
        assert_eq!(s, 200);
        detail
    }
}
