//! `download_data` byte for byte: the worked example of Plio's format (Plio's own code run
//! against PostgreSQL on the same data gave the bytes under `tests/fixtures/download_data/`),
//! built through the HTTP API, plus masking, formula injection and pandas' float answers.

use std::io::Read;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Int4, Text};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Caller, TestApp};

const FILES: [&str; 6] = [
    "sessions.csv",
    "user-level-metrics.csv",
    "responses.csv",
    "plio-interaction-details.csv",
    "events.csv",
    "plio-meta-details.csv",
];

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/download_data/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Zip members in order: (name, compression, text).
fn unzip(bytes: &[u8]) -> Vec<(String, zip::CompressionMethod, String)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut s = String::new();
            f.read_to_string(&mut s).unwrap();
            (f.name().to_string(), f.compression(), s)
        })
        .collect()
}

async fn download(c: &Caller<'_>, uuid: &str) -> Vec<(String, zip::CompressionMethod, String)> {
    let mut req = c
        .app
        .client
        .get(c.app.url(&format!("/api/v1/plios/{uuid}/download_data/")))
        .bearer_auth(c.token.as_deref().unwrap());
    if let Some(o) = &c.org {
        req = req.header("Organization", o);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200);
    unzip(&res.bytes().await.unwrap())
}

fn file<'a>(files: &'a [(String, zip::CompressionMethod, String)], name: &str) -> &'a str {
    &files.iter().find(|(n, _, _)| n == name).unwrap().2
}

fn sql(app: &TestApp, schema: &str, statement: &str) {
    app.conn()
        .batch_execute(&format!("SET search_path TO \"{schema}\"; {statement}"))
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

#[derive(QueryableByName)]
struct Digest {
    #[diesel(sql_type = Text)]
    md5: String,
}

fn md5_of_id(app: &TestApp, id: i32) -> String {
    diesel::sql_query("SELECT md5($1::text) AS md5")
        .bind::<Int4, _>(id)
        .get_result::<Digest>(&mut app.conn())
        .unwrap()
        .md5
}

/// A tenant `shortcode` with an org admin and a plain member; returns (schema, admin, member).
async fn workspace<'a>(app: &'a TestApp, shortcode: &str) -> (String, Caller<'a>, Caller<'a>) {
    let org = app.create_tenant(shortcode).await;
    let org_id = org["id"].as_i64().unwrap() as i32;
    let (admin, admin_token) = app.create_user(&format!("admin@{shortcode}.test"), false);
    let (viewer, viewer_token) = app.create_user(&format!("viewer@{shortcode}.test"), false);
    app.add_member(admin, org_id, "org-admin");
    app.add_member(viewer, org_id, "org-view");
    (
        org["schema_name"].as_str().unwrap().to_string(),
        Caller::new(app, Some(&admin_token), Some(shortcode)),
        Caller::new(app, Some(&viewer_token), Some(shortcode)),
    )
}

/// A published plio named `name`; each question is (time, type, text, options, correct).
/// Returns the plio and its item ids.
async fn plio(
    c: &Caller<'_>,
    name: &str,
    questions: &[(f64, &str, &str, Value, Value)],
) -> (Value, Vec<i64>) {
    let (_, video) = c
        .post(
            "/api/v1/videos/",
            json!({"url": "https://www.youtube.com/watch?v=abc123", "duration": 30.0}),
        )
        .await;
    let (s, plio) = c
        .post(
            "/api/v1/plios/",
            json!({"name": name, "video": video["id"], "status": "published"}),
        )
        .await;
    assert_eq!(s, 201, "{plio}");
    let mut items = vec![];
    for (time, kind, text, options, correct) in questions {
        let (s, item) = c
            .post("/api/v1/items/", json!({"plio": plio["id"], "time": time}))
            .await;
        assert_eq!(s, 201, "{item}");
        let mut body = json!({"item": item["id"], "type": kind, "text": text});
        if !options.is_null() {
            body["options"] = options.clone();
        }
        if !correct.is_null() {
            body["correct_answer"] = correct.clone();
        }
        let (s, q) = c.post("/api/v1/questions/", body).await;
        assert_eq!(s, 201, "{q}");
        items.push(item["id"].as_i64().unwrap());
    }
    (plio, items)
}

/// Starts a session; returns (session id, answer ids in item order).
async fn start(c: &Caller<'_>, plio: &Value) -> (i64, Vec<i64>) {
    let (s, session) = c
        .post("/api/v1/sessions/", json!({"plio": plio["id"]}))
        .await;
    assert_eq!(s, 201, "{session}");
    let answers = session["session_answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    (session["id"].as_i64().unwrap(), answers)
}

async fn answer(c: &Caller<'_>, answer_id: i64, value: Value) {
    let (s, body) = c
        .patch(
            &format!("/api/v1/session-answers/{answer_id}/"),
            json!({ "answer": value }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

/// The worked example, as built.
struct Example<'a> {
    schema: String,
    admin: Caller<'a>,
    member: Caller<'a>,
    learner_id: i32,
    uuid: String,
    /// Fixture placeholders and the ids they stand for.
    subs: Vec<(String, String)>,
}

/// Builds the worked example of Plio's format through the API, then pins its timestamps.
async fn worked_example(app: &TestApp) -> Example<'_> {
    let (schema, admin, member) = workspace(app, "csv").await;
    let (plio, items) = plio(
        &admin,
        "My plio",
        &[
            (5.0, "mcq", "Pick one", json!(["a", "b"]), json!(1)),
            (12.5, "subjective", "Why?", Value::Null, Value::Null),
        ],
    )
    .await;
    // The editor's defaults for a subjective question (this branch's API refuses them).
    sql(
        app,
        &schema,
        &format!(
            "UPDATE question SET options = '[\"\",\"\"]', correct_answer = '0' WHERE item_id = {}",
            items[1]
        ),
    );
    let (learner_id, token) = app.create_user("learner@example.com", false);
    let l = Caller::new(app, Some(&token), Some("csv"));
    let (session, answers) = start(&l, &plio).await;
    let (s, _) = l
        .patch(
            &format!("/api/v1/sessions/{session}/"),
            json!({"watch_time": 20.5}),
        )
        .await;
    assert_eq!(s, 200);
    answer(&l, answers[0], json!(0)).await;
    answer(&l, answers[1], json!("Paris, \"really\"")).await;
    for (kind, time, details) in [
        ("played", 0.0, json!({})),
        (
            "question_answered",
            5.0,
            json!({"itemIndex": 0, "answer": 0}),
        ),
    ] {
        let (s, e) = l
            .post(
                "/api/v1/events/",
                json!({"session": session, "type": kind, "player_time": time, "details": details}),
            )
            .await;
        assert_eq!(s, 201, "{e}");
    }
    sql(
        app,
        &schema,
        &format!(
            "UPDATE session SET created_at = '2026-01-02 03:04:05.123456+00', \
             updated_at = '2026-01-02 03:10:00+00' WHERE id = {session}; \
             UPDATE session_answer SET created_at = '2026-01-02 03:04:05.2+00' WHERE session_id = {session}; \
             UPDATE event SET created_at = '2026-01-02 03:04:06+00' WHERE type = 'played'; \
             UPDATE event SET created_at = '2026-01-02 03:05:00.5+00' WHERE type = 'question_answered'"
        ),
    );
    let uuid = plio["uuid"].as_str().unwrap().to_string();
    let subs = vec![
        ("{session}".to_string(), session.to_string()),
        ("{item1}".to_string(), items[0].to_string()),
        ("{item2}".to_string(), items[1].to_string()),
        ("{uuid}".to_string(), uuid.clone()),
    ];
    Example {
        schema,
        admin,
        member,
        learner_id,
        uuid,
        subs,
    }
}

fn expected(name: &str, subs: &[(String, String)], learner: &str) -> String {
    let mut text = fixture(name);
    for (from, to) in subs {
        text = text.replace(from, to);
    }
    text.replace("{learner}", learner)
}

#[actix_web::test]
async fn the_worked_example_downloads_as_plios_bytes() {
    let app = spawn_app().await;
    let Example {
        admin, uuid, subs, ..
    } = worked_example(&app).await;
    let files = download(&admin, &uuid).await;
    let names: Vec<&str> = files.iter().map(|(n, _, _)| n.as_str()).collect();
    let mut want = FILES.to_vec();
    want.push("READ-ME-FIRST.txt");
    assert_eq!(names, want);
    assert!(
        files
            .iter()
            .all(|(_, method, _)| *method == zip::CompressionMethod::Deflated),
        "deflated, as Plio's shutil.make_archive"
    );
    for name in FILES {
        assert_eq!(
            file(&files, name),
            expected(name, &subs, "learner@example.com"),
            "{name}"
        );
    }
}

#[actix_web::test]
async fn a_member_who_is_not_an_admin_gets_md5_of_the_user_id_and_nothing_else_changes() {
    let app = spawn_app().await;
    let Example {
        member,
        learner_id,
        uuid,
        subs,
        ..
    } = worked_example(&app).await;
    let masked = md5_of_id(&app, learner_id);
    assert_eq!(masked.len(), 32);
    let first = download(&member, &uuid).await;
    for name in FILES {
        assert_eq!(file(&first, name), expected(name, &subs, &masked), "{name}");
    }
    // Stable across downloads (researchers join files of several downloads).
    assert_eq!(download(&member, &uuid).await, first);
}

#[actix_web::test]
async fn user_text_is_defused_and_a_missing_mcq_answer_turns_mcq_answers_into_floats() {
    let app = spawn_app().await;
    let (schema, admin, _) = workspace(&app, "defuse").await;
    let (plio, items) = plio(
        &admin,
        "@home, \"lesson\"",
        &[
            (1.0, "mcq", "+1 or -1?", json!(["-1", "+1", "=1"]), json!(1)),
            (2.0, "subjective", "-Explain", Value::Null, Value::Null),
        ],
    )
    .await;
    let uuid = plio["uuid"].as_str().unwrap();
    let (_, alice) = app.create_user("alice@defuse.test", false);
    let (_, bob) = app.create_user("bob@defuse.test", false);
    let alice = Caller::new(&app, Some(&alice), Some("defuse"));
    let bob = Caller::new(&app, Some(&bob), Some("defuse"));
    let (a_session, a_answers) = start(&alice, &plio).await;
    answer(&alice, a_answers[0], json!(1)).await;
    answer(&alice, a_answers[1], json!("=HYPERLINK(\"x\")")).await;
    let (b_session, b_answers) = start(&bob, &plio).await;
    answer(&bob, b_answers[1], json!("\tindented")).await;
    sql(
        &app,
        &schema,
        "UPDATE session_answer SET created_at = '2026-01-02 03:04:05+00'",
    );

    let files = download(&admin, uuid).await;
    let (i1, i2) = (items[0], items[1]);
    let t = "2026-01-02 03:04:05+00:00";
    assert_eq!(
        file(&files, "responses.csv"),
        format!(
            "session_id,user_identifier,has_user_logged_in_via_sso,item_id,question_type,correct_answer,is_answer_correct,answered_at,answer\n\
             {a_session},alice@defuse.test,false,{i1},mcq,1,true,{t},2.0\n\
             {a_session},alice@defuse.test,false,{i2},subjective,,true,{t},\"'=HYPERLINK(\"\"x\"\")\"\n\
             {b_session},bob@defuse.test,false,{i1},mcq,1,false,{t},\n\
             {b_session},bob@defuse.test,false,{i2},subjective,,true,{t},'\tindented\n"
        ),
        "mcq answers are N.0 once one is missing (pandas); user text gets a leading '"
    );
    assert_eq!(
        file(&files, "plio-interaction-details.csv"),
        format!(
            "item_id,item_type,item_time,question_type,question_text,question_options,question_correct_answer\n\
             {i1},question,1.0,mcq,'+1 or -1?,\"[\"\"-1\"\", \"\"+1\"\", \"\"=1\"\"]\",2\n\
             {i2},question,2.0,subjective,'-Explain,,\n"
        )
    );
    assert_eq!(
        file(&files, "plio-meta-details.csv"),
        format!("id,name,video\n{uuid},\"'@home, \"\"lesson\"\"\",https://www.youtube.com/watch?v=abc123\n")
    );
    // Plio's user-level metrics: subjective answers are not "correct", rows by identifier.
    assert_eq!(
        file(&files, "user-level-metrics.csv"),
        "user_identifier,has_user_logged_in_via_sso,num_questions_attempted,num_questions_answered_correctly,are_all_questions_attempted\n\
         alice@defuse.test,false,2,1,true\n\
         bob@defuse.test,false,1,0,false\n"
    );
}

/// The fixture without the lines that contain `gone`.
fn without(text: &str, gone: &str) -> String {
    text.lines()
        .filter(|l| !l.contains(gone))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[actix_web::test]
async fn soft_deleted_rows_stay_out_of_the_download() {
    let app = spawn_app().await;
    let Example {
        schema,
        admin,
        uuid,
        subs,
        ..
    } = worked_example(&app).await;
    let item2 = &subs[2].1;
    sql(
        &app,
        &schema,
        &format!(
            "UPDATE event SET deleted = now() WHERE type = 'played'; \
             UPDATE question SET deleted = now() WHERE item_id = {item2}"
        ),
    );
    let files = download(&admin, &uuid).await;
    let want = |name: &str| expected(name, &subs, "learner@example.com");
    assert_eq!(
        file(&files, "events.csv"),
        without(&want("events.csv"), ",played,")
    );
    assert_eq!(
        file(&files, "responses.csv"),
        without(&want("responses.csv"), ",subjective,")
    );
    assert_eq!(
        file(&files, "plio-interaction-details.csv"),
        without(&want("plio-interaction-details.csv"), ",subjective,")
    );
    assert_eq!(
        file(&files, "user-level-metrics.csv"),
        want("user-level-metrics.csv").replace(",false,2,0,true", ",false,1,0,true")
    );

    sql(&app, &schema, "UPDATE session SET deleted = now()");
    let files = download(&admin, &uuid).await;
    for name in [
        "sessions.csv",
        "user-level-metrics.csv",
        "responses.csv",
        "events.csv",
    ] {
        assert_eq!(
            file(&files, name),
            without(&want(name), "learner@"),
            "{name}"
        );
    }
}
