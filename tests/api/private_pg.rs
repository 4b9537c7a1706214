//! A throwaway PostgreSQL cluster of the test's own, on its own port, that a test may stop and
//! start (the shared server is never touched).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::settings_for;

/// A cluster in a temporary directory, run as the `postgres` OS user.
pub struct PrivatePg {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
}

fn pg_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries under /usr/lib/postgresql")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().expect("an initdb")
}

fn as_postgres(bin: &std::path::Path, tool: &str, args: &[&str]) -> bool {
    let cmd = bin.join(tool);
    let mut c = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(cmd);
        c
    } else {
        Command::new(cmd)
    };
    c.args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn is_root() -> bool {
    std::env::var("USER").map(|u| u == "root").unwrap_or(false)
        || Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false)
}

impl PrivatePg {
    pub fn start() -> Self {
        let bin = pg_bin();
        let dir = std::env::temp_dir().join(format!(
            "plio-private-pg-{}-{}",
            std::process::id(),
            crate::plios::rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            assert!(Command::new("chown")
                .args(["-R", "postgres:postgres", dir.to_str().unwrap()])
                .status()
                .unwrap()
                .success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = dir.join("data");
        assert!(
            as_postgres(
                &bin,
                "initdb",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync"
                ]
            ),
            "initdb"
        );
        let pg = Self { dir, bin, port };
        pg.up();
        pg
    }

    fn data(&self) -> String {
        self.dir.join("data").to_str().unwrap().to_string()
    }

    pub fn up(&self) {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.to_str().unwrap()
        );
        assert!(
            as_postgres(
                &self.bin,
                "pg_ctl",
                &["-D", &self.data(), "-o", &opts, "-w", "start"]
            ),
            "pg_ctl start"
        );
    }

    pub fn down(&self) {
        assert!(
            as_postgres(
                &self.bin,
                "pg_ctl",
                &["-D", &self.data(), "-m", "fast", "-w", "stop"]
            ),
            "pg_ctl stop"
        );
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = as_postgres(
            &self.bin,
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[actix_web::test]
async fn requests_get_503_while_postgres_is_down_and_succeed_again_once_it_is_back() {
    use diesel::prelude::*;
    let pg = PrivatePg::start();
    {
        let mut admin = PgConnection::establish(&pg.url("postgres")).unwrap();
        diesel::sql_query("CREATE DATABASE plio")
            .execute(&mut admin)
            .unwrap();
    }
    let url = pg.url("plio");
    {
        let db = plio::db::Database::connect(&url, 2).unwrap();
        let (_, outcomes) =
            plio::tenancy::provisioning::migrate_all(&db, 1, &|_| {}, &|_| {}).unwrap();
        assert!(outcomes.iter().all(|o| o.error.is_none()));
        let mut conn = <diesel::PgConnection as diesel::Connection>::establish(&url).unwrap();
        plio::seed::run(&mut conn, &settings_for(&url, &[]), None).unwrap();
    }
    let app = {
        let settings = settings_for(&url, &[]);
        let application = plio::Application::build(settings).unwrap();
        let port = application.port();
        actix_web::rt::spawn(application.run_until_stopped());
        (format!("http://127.0.0.1:{port}"), reqwest::Client::new())
    };
    let get = |path: &'static str| {
        let (base, client) = (app.0.clone(), app.1.clone());
        async move {
            let res = client.get(format!("{base}{path}")).send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    assert_eq!(get("/readyz").await.0, 200);
    // A public plio, read once so that its payload is cached.
    let uuid = {
        let mut conn = PgConnection::establish(&url).unwrap();
        let creator = plio::db::models::user::insert(
            &mut conn,
            &plio::db::models::user::NewUser {
                email: Some("creator@example.com"),
                ..Default::default()
            },
        )
        .unwrap();
        diesel::sql_query(
            "INSERT INTO public.plio (name, uuid, created_by_id, is_public, status) \
             VALUES ('cached', 'cachedplio', $1, true, 'published')",
        )
        .bind::<diesel::sql_types::Int4, _>(creator)
        .execute(&mut conn)
        .unwrap();
        "cachedplio"
    };
    let play = format!("/api/v1/plios/{uuid}/play/");
    let play: &'static str = Box::leak(play.into_boxed_str());
    assert_eq!(get(play).await.0, 200);
    pg.down();
    let (s, body) = get("/readyz").await;
    assert_eq!(s, 503, "{body}");
    assert_eq!(body["code"], "database_unavailable");
    // The breaker is open now: a burst of requests that need the database all get 503 without
    // each waiting out the pool (the time is printed, not asserted: speed is plio bench's).
    let started = std::time::Instant::now();
    let burst: Vec<_> = (0..32)
        .map(|_| {
            let (base, client) = (app.0.clone(), app.1.clone());
            actix_web::rt::spawn(async move {
                client
                    .get(format!("{base}/api/v1/plios/"))
                    .bearer_auth("another-token-nobody-has")
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for handle in burst {
        assert_eq!(handle.await.unwrap(), 503);
    }
    eprintln!(
        "32 requests answered 503 in {:?} while PostgreSQL was down",
        started.elapsed()
    );
    let metrics = app
        .1
        .get(format!("{}/metrics", app.0))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("plio_db_breaker_open 1"), "{metrics}");
    // Cached reads are still answered.
    let (s, body) = get(play).await;
    assert_eq!(
        s, 200,
        "a cached plio is served while PostgreSQL is down: {body}"
    );
    assert_eq!(body["name"], "cached");
    // A request that needs the database (the token is checked there): 503, not 500.
    let res = app
        .1
        .get(format!("{}/api/v1/plios/", app.0))
        .bearer_auth("a-token-nobody-has")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "database_unavailable"
    );
    pg.up();
    // Back without a restart of plio.
    let mut recovered = false;
    for _ in 0..100 {
        if get("/readyz").await.0 == 200 {
            recovered = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "plio did not recover after PostgreSQL came back");
    let res = app
        .1
        .get(format!("{}/api/v1/plios/", app.0))
        .bearer_auth("a-token-nobody-has")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the database answers again");
    let metrics = app
        .1
        .get(format!("{}/metrics", app.0))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("plio_db_breaker_open 0"), "{metrics}");
}
