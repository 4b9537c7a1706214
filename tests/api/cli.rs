use std::process::{Command, Output, Stdio};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::helpers::TestDb;

fn plio(db: &TestDb, args: &[&str]) -> Output {
    plio_env(db, args, &[])
}

pub(crate) fn plio_env(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plio"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        // Run outside the checkout so no .env or fixtures/ directory is picked up by accident.
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run plio")
}

pub(crate) fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn count(db: &TestDb, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(sql)
        .get_result::<N>(&mut db.conn())
        .unwrap()
        .n
}

#[test]
fn every_command_has_help() {
    let db = TestDb::new();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["seed", "--help"],
        vec!["tenant", "--help"],
        vec!["tenant", "create", "--help"],
        vec!["tenant", "list", "--help"],
        vec!["tenant", "drop", "--help"],
        vec!["user", "create-superuser", "--help"],
        vec!["db", "wait", "--help"],
    ] {
        let out = plio(&db, &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
    let out = plio(&db, &["no-such-command"]);
    assert!(!out.status.success());
}

#[test]
fn a_bad_setting_stops_the_command_naming_the_variable() {
    let db = TestDb::new();
    for (var, value) in [
        ("CACHE_TTL_SECONDS", "forever"),
        // No TLS in this build's Redis client: refused at load, not at the first cache call.
        ("REDIS_URL", "rediss://cache.example.com:6380"),
        // An unparsable filter used to be ignored silently.
        ("RUST_LOG", "info,plio=chatty"),
        ("SMS_DRIVER", "webhook"),
    ] {
        let out = plio_env(&db, &["tenant", "list"], &[(var, value)]);
        assert_eq!(out.status.code(), Some(2), "{var}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let named = if var == "SMS_DRIVER" {
            "SMS_WEBHOOK_URL"
        } else {
            var
        };
        assert!(stderr.contains(named), "{var}: {}", text(&out));
    }
}

#[test]
fn tenants_are_created_listed_and_dropped_from_the_cli() {
    let db = TestDb::new();
    let out = plio(&db, &["tenant", "create", "cli-org", "--name", "CLI Org"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'cli_org'"
        ),
        13,
        "12 tenant tables and the schema's migration record"
    );
    let out = plio(&db, &["tenant", "create", "cli-org"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{}",
        text(&out)
    );

    let out = plio(&db, &["tenant", "list"]);
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    let line = listing
        .lines()
        .find(|l| l.starts_with("cli-org"))
        .expect("listed");
    assert!(
        line.contains("cli_org") && line.contains("current") && line.contains("localhost/cli-org*"),
        "{line}"
    );

    let out = plio(&db, &["tenant", "drop", "cli-org"]);
    assert!(!out.status.success(), "refuses without --yes");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM pg_namespace WHERE nspname = 'cli_org'"
        ),
        1
    );
    let out = plio(&db, &["tenant", "drop", "cli-org", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM pg_namespace WHERE nspname = 'cli_org'"
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM public.organization WHERE shortcode = 'cli-org'"
        ),
        0
    );
    let out = plio(&db, &["tenant", "drop", "plio", "--yes"]);
    assert!(
        !out.status.success(),
        "the personal workspace cannot be dropped"
    );
}

#[test]
fn the_cli_refuses_hostile_shortcodes_and_creates_nothing() {
    let db = TestDb::new();
    let before = count(&db, "SELECT COUNT(*) AS n FROM pg_namespace");
    for code in ["x\";drop", "pg-evil", "public", "Caps"] {
        let out = plio(&db, &["tenant", "create", code]);
        assert!(!out.status.success(), "{code}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("shortcode"),
            "{}",
            text(&out)
        );
    }
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM pg_namespace"), before);
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM public.organization"),
        1
    );
}

#[test]
fn migrate_is_idempotent() {
    let db = TestDb::new();
    assert!(plio(&db, &["tenant", "create", "idem"]).status.success());
    for _ in 0..2 {
        let out = plio(&db, &["migrate"]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .contains("public migrations applied: 0; tenant migrations applied: 0 across 2 schemas; failed schemas: 0"),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn migrate_reports_a_failed_tenant_continues_with_the_others_and_resumes() {
    let db = TestDb::new();
    for code in ["good-one", "bad-one", "good-two"] {
        assert!(plio(&db, &["tenant", "create", code]).status.success());
    }
    let mut conn = db.conn();
    // good-one and good-two lose their last migration (it will be re-applied); bad-one also
    // keeps a conflicting table, so re-applying fails there.
    diesel::sql_query(
        "DELETE FROM good_one.__diesel_schema_migrations WHERE version = '20260201000003'; ",
    )
    .execute(&mut conn)
    .unwrap();
    conn.batch_execute(
        "DROP TABLE good_one.model_has_tag, good_one.tag; \
         DELETE FROM good_two.__diesel_schema_migrations WHERE version = '20260201000003'; \
         DROP TABLE good_two.model_has_tag, good_two.tag; \
         DELETE FROM bad_one.__diesel_schema_migrations WHERE version = '20260201000003'; \
         DROP TABLE bad_one.model_has_tag;",
    )
    .unwrap();

    let out = plio(&db, &["migrate", "--jobs", "2"]);
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("FAILED bad_one (bad-one)"),
        "{}",
        text(&out)
    );
    assert!(
        !stderr.contains("good_one") && !stderr.contains("good_two"),
        "{}",
        text(&out)
    );
    for schema in ["good_one", "good_two"] {
        assert_eq!(
            count(&db, &format!("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = '{schema}' AND table_name = 'tag'")),
            1,
            "{schema} was migrated despite bad_one failing"
        );
    }
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM public.organization WHERE shortcode = 'bad-one' AND schema_version = '20260201000002'"),
        1,
        "the failed tenant's recorded state is what it really has"
    );

    // Fix the cause and re-run: only bad-one has work left.
    conn.batch_execute("DROP TABLE bad_one.tag").unwrap();
    let out = plio(&db, &["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("tenant migrations applied: 1 across 4 schemas"),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains("bad_one (bad-one): applied 20260201000003"),
        "{}",
        text(&out)
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM public.organization WHERE schema_version = '20260201000003'"
        ),
        4
    );
}

#[test]
fn seed_is_idempotent_and_honours_default_tenant_variables() {
    let db = TestDb::new();
    let env = [
        ("SUPERUSER_EMAIL", "boss@example.com"),
        ("SUPERUSER_PASSWORD", "boss-password"),
        ("DEFAULT_TENANT_NAME", "Personal: workspace"),
        ("DEFAULT_TENANT_DOMAIN", "plio.example"),
    ];
    for _ in 0..2 {
        let out = plio_env(&db, &["seed"], &env);
        assert!(out.status.success(), "{}", text(&out));
    }
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM public.role"), 3);
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM public.organization WHERE schema_name = 'public' AND name = 'Personal: workspace'"),
        1
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM public.organizations_domain WHERE domain = 'plio.example' AND is_primary"),
        1
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM public.organizations_domain"),
        1,
        "the primary domain was replaced, not added"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM public.\"user\" WHERE email = 'boss@example.com' AND is_superuser"),
        1
    );
}

#[test]
fn a_malformed_fixture_is_reported_with_file_and_line_and_nothing_is_written() {
    let db = TestDb::new();
    let dir = std::env::temp_dir().join(format!("plio-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("default_tenant.yaml"),
        "organizations:\n  - schema_name: public\n    shortcode: renamed\n    name: Renamed\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("roles.yaml"),
        "roles:\n  - name: a-new-role\n  - nme: typo\n",
    )
    .unwrap();
    let out = plio_env(
        &db,
        &["seed", "--fixtures", dir.to_str().unwrap()],
        &[
            ("SUPERUSER_EMAIL", "new@example.com"),
            ("SUPERUSER_PASSWORD", "whatever-1"),
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("roles.yaml:3:"), "{}", text(&out));
    // Nothing of the valid parts was written either.
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM public.organization WHERE shortcode = 'renamed'"
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM public.role WHERE name = 'a-new-role'"
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM public.\"user\" WHERE email = 'new@example.com'"
        ),
        0
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn serve_stops_gracefully_with_exit_code_0_on_sigterm() {
    let db = TestDb::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_plio"))
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("WORKERS", "1")
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(up, "server did not start");
    // Wait until it answers HTTP (its signal handlers are installed by then).
    let mut answered = false;
    for _ in 0..100 {
        use std::io::{Read, Write};
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            if out.starts_with("HTTP/1.1 200") {
                answered = true;
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(answered, "server did not answer /healthz");
    // A request in flight when the signal arrives: its headers are in, its body not yet.
    use std::io::{Read, Write};
    let body = format!(
        "grant_type=password&username={}&password={}",
        crate::helpers::SUPERUSER_EMAIL.replace('@', "%40"),
        crate::helpers::SUPERUSER_PASSWORD
    );
    let mut in_flight = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    in_flight
        .write_all(
            format!(
                "POST /auth/token/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // New connections are refused while the in-flight request is still being served.
    let mut refused = false;
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "still accepting new connections after SIGTERM");
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );
    in_flight.write_all(body.as_bytes()).unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("access_token"), "{answer}");
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "no longer listening"
    );
}
