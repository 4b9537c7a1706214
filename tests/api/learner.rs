//! Learner side through HTTP: sessions, answers, events, experiments, tags, metrics and the
//! data download.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Caller, TestApp};

/// A published plio with a `duration`-second video and the given questions
/// (type, options, correct answer, survey).
async fn plio_with(
    c: &Caller<'_>,
    duration: f64,
    questions: &[(&str, Value, Value, bool)],
    publish: bool,
) -> Value {
    let (_, video) = c
        .post(
            "/api/v1/videos/",
            json!({"url": "https://youtu.be/l", "duration": duration}),
        )
        .await;
    let status = if publish { "published" } else { "draft" };
    let (s, plio) = c
        .post(
            "/api/v1/plios/",
            json!({"name": "Lesson", "video": video["id"], "status": status}),
        )
        .await;
    assert_eq!(s, 201, "{plio}");
    for (i, (kind, options, correct, survey)) in questions.iter().enumerate() {
        let (_, item) = c
            .post(
                "/api/v1/items/",
                json!({"plio": plio["id"], "time": 10.0 * (i as f64 + 1.0)}),
            )
            .await;
        let (s, q) = c
            .post(
                "/api/v1/questions/",
                json!({"item": item["id"], "type": kind, "text": format!("q{i}"), "options": options, "correct_answer": correct, "survey": survey}),
            )
            .await;
        assert_eq!(s, 201, "{q}");
    }
    c.get(&format!(
        "/api/v1/plios/{}/",
        plio["uuid"].as_str().unwrap()
    ))
    .await
    .1
}

fn mcq() -> (&'static str, Value, Value, bool) {
    ("mcq", json!(["a", "b", "c"]), json!(1), false)
}

async fn start(c: &Caller<'_>, plio: &Value) -> Value {
    let (s, session) = c
        .post("/api/v1/sessions/", json!({"plio": plio["id"]}))
        .await;
    assert_eq!(s, 201, "{session}");
    session
}

fn answer_ids(session: &Value) -> Vec<i64> {
    session["session_answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

#[actix_web::test]
async fn the_session_lifecycle_carries_state_over_and_persists_the_first_sessions_state() {
    let app = spawn_app().await;
    let (_, creator) = app.create_user("creator@learn.test", false);
    let (learner_id, learner) = app.create_user("learner@learn.test", false);
    let (_, other) = app.create_user("other@learn.test", false);
    let c = Caller::new(&app, Some(&creator), None);
    let plio = plio_with(&c, 5.0, &[mcq(), mcq()], true).await;
    let l = Caller::new(&app, Some(&learner), None);

    let first = start(&l, &plio).await;
    assert_eq!(first["is_first"], true);
    assert_eq!(first["retention"], "0,0,0,0,0");
    assert_eq!(first["user"]["id"], learner_id);
    assert_eq!(first["plio"]["uuid"], plio["uuid"]);
    assert_eq!(
        first["last_event"]["id"],
        Value::Null,
        "an all-null husk before any event"
    );
    let answers = first["session_answers"].as_array().unwrap();
    assert_eq!(answers.len(), 2);
    assert!(answers.iter().all(|a| a["answer"].is_null()));
    // Persisted (Plio's bug 392 loses it).
    let sid = first["id"].as_i64().unwrap();
    assert_eq!(
        l.get(&format!("/api/v1/sessions/{sid}/")).await.1["retention"],
        "0,0,0,0,0"
    );

    // The learner answers, watches and produces events.
    let ids = answer_ids(&first);
    assert_eq!(
        l.patch(
            &format!("/api/v1/session-answers/{}/", ids[0]),
            json!({"answer": 1})
        )
        .await
        .0,
        200
    );
    let (s, _) = l
        .patch(
            &format!("/api/v1/sessions/{sid}/"),
            json!({"retention": "1,1,0,0,0", "watch_time": 2.5, "has_video_played": true}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, e1) = l
        .post(
            "/api/v1/events/",
            json!({"session": sid, "type": "played", "player_time": 1.0}),
        )
        .await;
    assert_eq!(s, 201, "{e1}");
    let (_, e2) = l
        .post(
            "/api/v1/events/",
            json!({"session": sid, "type": "paused", "player_time": 2.5, "details": {"x": 1}}),
        )
        .await;
    assert_eq!(
        l.get(&format!("/api/v1/sessions/{sid}/")).await.1["last_event"]["id"],
        e2["id"],
        "own latest event"
    );

    // Reopening: a new session carries everything over and resumes at the last event.
    let second = start(&l, &plio).await;
    assert_eq!(second["is_first"], false);
    assert_eq!(second["retention"], "1,1,0,0,0");
    assert_eq!(second["watch_time"], 2.5);
    assert_eq!(second["has_video_played"], true);
    let carried: Vec<Value> = second["session_answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["answer"].clone())
        .collect();
    assert_eq!(carried, [json!(1), Value::Null]);
    assert_eq!(
        second["last_event"]["id"], e2["id"],
        "resume point from the previous session"
    );

    // Another learner, or another plio: nothing inherited.
    let o = Caller::new(&app, Some(&other), None);
    let theirs = start(&o, &plio).await;
    assert_eq!(theirs["is_first"], true);
    assert_eq!(theirs["retention"], "0,0,0,0,0");
    assert_eq!(theirs["last_event"]["id"], Value::Null);
    let plio2 = plio_with(&c, 3.0, &[mcq()], true).await;
    let elsewhere = start(&l, &plio2).await;
    assert_eq!(elsewhere["is_first"], true);
    assert_eq!(elsewhere["retention"], "0,0,0");

    // Learners see only their own sessions and answers.
    let (_, mine) = l.get("/api/v1/sessions/").await;
    assert_eq!(mine.as_array().unwrap().len(), 3);
    assert_eq!(o.get(&format!("/api/v1/sessions/{sid}/")).await.0, 404);
    assert_eq!(
        o.patch(
            &format!("/api/v1/session-answers/{}/", ids[1]),
            json!({"answer": 0})
        )
        .await
        .0,
        404
    );
    assert_eq!(
        o.post(
            "/api/v1/events/",
            json!({"session": sid, "type": "played", "player_time": 0})
        )
        .await
        .0,
        400
    );

    // A soft-deleted history makes the next session a first one again.
    for s in mine
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["plio"]["id"] == plio["id"])
    {
        assert_eq!(
            l.delete(&format!("/api/v1/sessions/{}/", s["id"])).await.0,
            204
        );
    }
    assert_eq!(start(&l, &plio).await["is_first"], true);
}

#[actix_web::test]
async fn sessions_need_a_published_plio_and_carry_experiments_over() {
    let app = spawn_app().await;
    let (_, creator) = app.create_user("c@exp.test", false);
    let (_, learner) = app.create_user("l@exp.test", false);
    let c = Caller::new(&app, Some(&creator), None);
    let draft = plio_with(&c, 5.0, &[mcq()], false).await;
    let l = Caller::new(&app, Some(&learner), None);
    let (s, body) = l
        .post("/api/v1/sessions/", json!({"plio": draft["id"]}))
        .await;
    assert_eq!(
        (s, body["detail"].as_str()),
        (
            400,
            Some("A session can only be created for a published plio")
        )
    );

    let plio = plio_with(&c, 5.0, &[mcq()], true).await;
    let (s, experiment) = c
        .post(
            "/api/v1/experiments/",
            json!({"name": "A/B", "description": "split"}),
        )
        .await;
    assert_eq!(s, 201, "{experiment}");
    // An experiment that does not run on this plio cannot be named (it would expose the
    // workspace's experiments to any learner).
    let (s, body) = l
        .post(
            "/api/v1/sessions/",
            json!({"plio": plio["id"], "experiment": experiment["id"]}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert!(body["experiment"].is_array(), "{body}");
    let (s, link) = c
        .post(
            "/api/v1/experiment-plios/",
            json!({"experiment": experiment["id"], "plio": plio["id"], "split_percentage": 100}),
        )
        .await;
    assert_eq!(s, 201, "{link}");
    let (s, first) = l
        .post(
            "/api/v1/sessions/",
            json!({"plio": plio["id"], "experiment": experiment["id"]}),
        )
        .await;
    assert_eq!(s, 201, "{first}");
    assert_eq!(first["experiment"]["id"], experiment["id"]);
    // The learner sees the experiment's creator as anyone else would: no contact details.
    let mut keys: Vec<&String> = first["experiment"]["created_by"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    keys.sort();
    assert_eq!(keys, ["avatar_url", "first_name", "id", "last_name"]);
    // Plio answers 500 here (bug 391).
    let second = start(&l, &plio).await;
    assert_eq!(second["experiment"]["id"], experiment["id"]);
}

#[actix_web::test]
async fn answers_are_validated_per_question_type() {
    let app = spawn_app().await;
    let (_, creator) = app.create_user("c@ans.test", false);
    let (_, learner) = app.create_user("l@ans.test", false);
    let c = Caller::new(&app, Some(&creator), None);
    let plio = plio_with(
        &c,
        5.0,
        &[
            mcq(),
            ("checkbox", json!(["a", "b", "c"]), json!([0, 2]), false),
            ("subjective", Value::Null, Value::Null, false),
        ],
        true,
    )
    .await;
    let qid = plio["items"][2]["details"]["id"].as_i64().unwrap();
    c.patch(
        &format!("/api/v1/questions/{qid}/"),
        json!({"has_char_limit": true, "max_char_limit": 5}),
    )
    .await;
    let l = Caller::new(&app, Some(&learner), None);
    let ids = answer_ids(&start(&l, &plio).await);
    let path = |i: usize| format!("/api/v1/session-answers/{}/", ids[i]);
    for (i, bad) in [
        (0, json!(3)),
        (0, json!("b")),
        (1, json!([0, 0])),
        (1, json!(2)),
        (2, json!("too long")),
        (2, json!(4)),
    ] {
        let (s, out) = l.patch(&path(i), json!({"answer": bad})).await;
        assert_eq!(s, 400, "{bad}: {out}");
        assert!(out["fields"]["answer"].is_array());
    }
    for (i, good) in [
        (0, json!(2)),
        (1, json!([2, 0])),
        (2, json!("short")),
        (2, Value::Null),
    ] {
        assert_eq!(
            l.patch(&path(i), json!({"answer": good})).await.0,
            200,
            "{good}"
        );
    }
}

async fn answer(l: &Caller<'_>, session: &Value, idx: usize, value: Value) {
    let id = answer_ids(session)[idx];
    let (s, out) = l
        .patch(
            &format!("/api/v1/session-answers/{id}/"),
            json!({"answer": value}),
        )
        .await;
    assert_eq!(s, 200, "{out}");
}

fn retention(len: usize, nonzero_at: Option<usize>) -> String {
    (0..len)
        .map(|i| if Some(i) == nonzero_at { "1" } else { "0" })
        .collect::<Vec<_>>()
        .join(",")
}

#[actix_web::test]
async fn metrics_follow_plios_definitions_on_a_known_scenario() {
    let app = spawn_app().await;
    let (_, creator) = app.create_user("c@metrics.test", false);
    let c = Caller::new(&app, Some(&creator), None);
    let plio = plio_with(&c, 120.0, &[mcq(), mcq()], true).await;
    let path = format!("/api/v1/plios/{}/metrics/", plio["uuid"].as_str().unwrap());
    let (s, none) = c.get(&path).await;
    assert_eq!((s, none), (200, json!({"has_survey_question": false})));

    // Viewer A: one session, retained past a minute, one right and one wrong answer.
    let (_, a) = app.create_user("a@metrics.test", false);
    let a = Caller::new(&app, Some(&a), None);
    let sa = start(&a, &plio).await;
    a.patch(
        &format!("/api/v1/sessions/{}/", sa["id"]),
        json!({"watch_time": 40.0, "retention": retention(120, Some(70))}),
    )
    .await;
    answer(&a, &sa, 0, json!(1)).await;
    answer(&a, &sa, 1, json!(0)).await;
    // Viewer B: an older session (ignored) and a latest one with one right answer.
    let (_, b) = app.create_user("b@metrics.test", false);
    let b = Caller::new(&app, Some(&b), None);
    let old = start(&b, &plio).await;
    answer(&b, &old, 1, json!(1)).await;
    let sb = start(&b, &plio).await;
    b.patch(&format!("/api/v1/sessions/{}/", sb["id"]), json!({"watch_time": 20.0, "retention": retention(120, Some(10)), "has_video_played": true})).await;
    answer(&b, &sb, 0, json!(1)).await;
    answer(&b, &sb, 1, Value::Null).await;
    // Viewer C: a soft-deleted session (Plio would count it).
    let (_, cc) = app.create_user("c2@metrics.test", false);
    let cc = Caller::new(&app, Some(&cc), None);
    let sc = start(&cc, &plio).await;
    cc.delete(&format!("/api/v1/sessions/{}/", sc["id"])).await;

    let (s, m) = c.get(&path).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(
        m,
        json!({
            "unique_viewers": 2,
            "average_watch_time": 30.0,
            "percent_one_minute_retention": 50.0,
            "accuracy": 75.0,
            "average_num_answered": 2.0,
            "percent_completed": 50.0,
            "has_survey_question": false,
        })
    );
    // Only those who may edit the plio read its metrics.
    assert_eq!(a.get(&path).await.0, 403);
}

#[actix_web::test]
async fn metrics_of_a_survey_only_plio_have_no_question_figures() {
    let app = spawn_app().await;
    let (_, creator) = app.create_user("c@survey.test", false);
    let c = Caller::new(&app, Some(&creator), None);
    let plio = plio_with(
        &c,
        90.0,
        &[("mcq", json!(["yes", "no"]), Value::Null, true)],
        true,
    )
    .await;
    let (_, l) = app.create_user("l@survey.test", false);
    start(&Caller::new(&app, Some(&l), None), &plio).await;
    let (_, m) = c
        .get(&format!(
            "/api/v1/plios/{}/metrics/",
            plio["uuid"].as_str().unwrap()
        ))
        .await;
    assert_eq!(m["unique_viewers"], 1);
    assert_eq!(m["has_survey_question"], true);
    for k in [
        "accuracy",
        "average_num_answered",
        "percent_completed",
        "percent_one_minute_retention",
    ] {
        assert!(m[k].is_null(), "{k}: {m}");
    }
}

fn unzip(bytes: &[u8]) -> Vec<(String, String)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut s = String::new();
            std::io::Read::read_to_string(&mut f, &mut s).unwrap();
            (f.name().to_string(), s)
        })
        .collect()
}

async fn download(app: &TestApp, token: &str, org: Option<&str>, uuid: &str) -> (u16, Vec<u8>) {
    let mut req = app
        .client
        .get(app.url(&format!("/api/v1/plios/{uuid}/download_data/")))
        .bearer_auth(token);
    if let Some(o) = org {
        req = req.header("Organization", o);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
}

#[actix_web::test]
async fn the_download_is_a_zip_of_plios_csvs_with_masking_rules() {
    let app = spawn_app().await;
    let org = app.create_tenant("reports").await;
    let org_id = org["id"].as_i64().unwrap() as i32;
    let (admin, admin_token) = app.create_user("admin@reports.test", false);
    let (viewer, viewer_token) = app.create_user("viewer@reports.test", false);
    app.add_member(admin, org_id, "org-admin");
    app.add_member(viewer, org_id, "org-view");
    let c = Caller::new(&app, Some(&admin_token), Some("reports"));
    let plio = plio_with(
        &c,
        30.0,
        &[mcq(), ("subjective", Value::Null, Value::Null, false)],
        true,
    )
    .await;
    let uuid = plio["uuid"].as_str().unwrap();
    let (learner_id, learner) = app.create_user("learner@reports.test", false);
    let l = Caller::new(&app, Some(&learner), Some("reports"));
    let s = start(&l, &plio).await;
    l.patch(
        &format!("/api/v1/sessions/{}/", s["id"]),
        json!({"watch_time": 42.5}),
    )
    .await;
    answer(&l, &s, 0, json!(1)).await;
    answer(&l, &s, 1, json!("photosynthesis")).await;
    l.post(
        "/api/v1/events/",
        json!({"session": s["id"], "type": "played", "player_time": 7.0}),
    )
    .await;

    let (status, bytes) = download(&app, &admin_token, Some("reports"), uuid).await;
    assert_eq!(status, 200);
    let files = unzip(&bytes);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "sessions.csv",
            "user-level-metrics.csv",
            "responses.csv",
            "plio-interaction-details.csv",
            "events.csv",
            "plio-meta-details.csv",
            "READ-ME-FIRST.txt"
        ]
    );
    let file = |n: &str| files.iter().find(|(name, _)| name == n).unwrap().1.clone();
    let sessions = file("sessions.csv");
    let row: Vec<&str> = sessions.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(
        (row[1], row[2], row[3]),
        ("42.5", "learner@reports.test", "false"),
        "admins see identities"
    );
    let responses = file("responses.csv");
    let mcq_row: Vec<&str> = responses.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(
        (mcq_row[4], mcq_row[5], mcq_row[6], mcq_row[8]),
        ("mcq", "1", "true", "2"),
        "answers counted from 1, correct_answer as stored (from 0), as Plio"
    );
    let subjective_row = responses.lines().nth(2).unwrap();
    assert!(
        subjective_row.ends_with(",photosynthesis"),
        "{subjective_row}"
    );
    assert!(
        file("plio-interaction-details.csv").contains("subjective"),
        "subjective questions do not break it (Plio bug 406)"
    );
    let events = file("events.csv");
    assert!(
        events.lines().nth(1).unwrap().contains(",played,7.0,"),
        "{events}"
    );
    assert_eq!(
        file("plio-meta-details.csv").lines().nth(1).unwrap(),
        format!("{uuid},Lesson,https://youtu.be/l")
    );
    let metrics = file("user-level-metrics.csv");
    assert!(
        // Plio's definition: a subjective answer is not "correct" here.
        metrics.lines().nth(1).unwrap().ends_with(",false,2,1,true"),
        "{metrics}"
    );

    // A member who is not an admin may download (the plio is public) but sees Plio's
    // pseudonym, MD5 of the user id.
    let (status, bytes) = download(&app, &viewer_token, Some("reports"), uuid).await;
    assert_eq!(status, 200);
    let masked = unzip(&bytes);
    let sessions = &masked[0].1;
    assert!(!sessions.contains("learner@reports.test"), "{sessions}");
    let pseudonym = sessions.lines().nth(1).unwrap().split(',').nth(2).unwrap();
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n WHERE md5('{learner_id}') = '{pseudonym}'"
        )),
        1,
        "{pseudonym}"
    );

    // Drafts have no data dump.
    let draft = plio_with(&c, 10.0, &[mcq()], false).await;
    let (status, body) = download(
        &app,
        &admin_token,
        Some("reports"),
        draft["uuid"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body["detail"],
        "Data dumps are not available for draft plios"
    );
}

#[actix_web::test]
async fn learner_data_stays_in_its_tenant() {
    let app = spawn_app().await;
    let (me, token) = app.create_user("iso@learn.test", false);
    for code in ["learn-a", "learn-b"] {
        let org = app.create_tenant(code).await;
        app.add_member(me, org["id"].as_i64().unwrap() as i32, "org-view");
    }
    let a = Caller::new(&app, Some(&token), Some("learn-a"));
    let b = Caller::new(&app, Some(&token), Some("learn-b"));
    let plio = plio_with(&a, 5.0, &[mcq()], true).await;
    let s = start(&a, &plio).await;
    let (_, ev) = a
        .post(
            "/api/v1/events/",
            json!({"session": s["id"], "type": "played", "player_time": 1}),
        )
        .await;
    assert_eq!(b.get("/api/v1/sessions/").await.1, json!([]));
    assert_eq!(
        b.get(&format!("/api/v1/sessions/{}/", s["id"])).await.0,
        404
    );
    assert_eq!(b.get(&format!("/api/v1/events/{}/", ev["id"])).await.0, 404);
    assert_eq!(b.get("/api/v1/session-answers/").await.1, json!([]));
    assert_eq!(
        Caller::new(&app, Some(&token), None)
            .get("/api/v1/sessions/")
            .await
            .1,
        json!([])
    );
    assert_eq!(
        a.get("/api/v1/sessions/").await.1.as_array().unwrap().len(),
        1
    );
}

#[actix_web::test]
async fn experiments_splits_and_tags() {
    let app = spawn_app().await;
    let (_, owner) = app.create_user("owner@tags.test", false);
    let (_, other) = app.create_user("other@tags.test", false);
    let o = Caller::new(&app, Some(&owner), None);
    let x = Caller::new(&app, Some(&other), None);
    let (_, e) = o
        .post(
            "/api/v1/experiments/",
            json!({"name": "E", "description": "d"}),
        )
        .await;
    assert_eq!(e["created_by"]["email"], "owner@tags.test");
    assert_eq!(
        x.get(&format!("/api/v1/experiments/{}/", e["id"])).await.0,
        404,
        "own experiments only"
    );
    assert_eq!(x.get("/api/v1/experiments/").await.1, json!([]));
    let plio = plio_with(&o, 5.0, &[], true).await;
    let (s, bad) = o
        .post(
            "/api/v1/experiment-plios/",
            json!({"experiment": e["id"], "plio": plio["id"], "split_percentage": 120}),
        )
        .await;
    assert_eq!(s, 400, "{bad}");
    let (s, ep) = o
        .post(
            "/api/v1/experiment-plios/",
            json!({"experiment": e["id"], "plio": plio["id"], "split_percentage": 50}),
        )
        .await;
    assert_eq!(s, 201, "{ep}");
    assert_eq!(ep["plio"]["uuid"], plio["uuid"]);
    assert_eq!(
        x.post(
            "/api/v1/experiment-plios/",
            json!({"experiment": e["id"], "plio": plio["id"], "split_percentage": 50})
        )
        .await
        .0,
        400
    );

    let (s, t1) = o
        .post("/api/v1/tags/", json!({"name": "Class 9 Science"}))
        .await;
    assert_eq!(s, 201);
    let (_, t2) = o
        .post("/api/v1/tags/", json!({"name": "Class 9 science"}))
        .await;
    assert_eq!(
        (t1["slug"].as_str(), t2["slug"].as_str()),
        (Some("class-9-science"), Some("class-9-science-1"))
    );
    let (_, renamed) = o
        .patch(
            &format!("/api/v1/tags/{}/", t1["id"]),
            json!({"name": "Physics", "slug": "hacked"}),
        )
        .await;
    assert_eq!(
        (renamed["name"].as_str(), renamed["slug"].as_str()),
        (Some("Physics"), Some("class-9-science"))
    );
    assert_eq!(o.post("/api/v1/tags/", json!({"name": ""})).await.0, 400);
}
