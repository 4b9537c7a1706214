//! Plio authoring and playback through HTTP: CRUD journeys, the permission matrix of SPEC 4.2,
//! the list, duplicate/copy, soft delete, cache invalidation paths and hostile input.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Caller, TestApp};

fn uuid(p: &Value) -> String {
    p["uuid"].as_str().unwrap().to_string()
}

fn detail_path(p: &Value) -> String {
    format!("/api/v1/plios/{}/", uuid(p))
}

#[actix_web::test]
async fn a_creator_authors_a_plio_in_the_personal_workspace() {
    let app = spawn_app().await;
    let (me, token) = app.create_user("author@example.com", false);
    let c = Caller::new(&app, Some(&token), None);
    let (s, video) = c
        .post(
            "/api/v1/videos/",
            json!({"url": "https://youtu.be/x", "title": "Intro", "duration": 93.5}),
        )
        .await;
    assert_eq!(s, 201, "{video}");
    let (s, plio) = c
        .post(
            "/api/v1/plios/",
            json!({"name": "First", "video": video["id"], "status": "draft"}),
        )
        .await;
    assert_eq!(s, 201, "{plio}");
    let mut keys: Vec<&str> = plio
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "config",
            "created_at",
            "created_by",
            "failsafe_url",
            "id",
            "is_public",
            "items",
            "name",
            "status",
            "updated_at",
            "uuid",
            "video"
        ]
    );
    let u = uuid(&plio);
    assert!(
        u.len() == 10 && u.bytes().all(|b| b.is_ascii_lowercase()),
        "{u}"
    );
    assert_eq!(plio["created_by"]["id"], me);
    assert_eq!(plio["video"]["title"], "Intro");
    assert_eq!(plio["is_public"], true);
    assert!(!plio.to_string().contains("api_key"));

    let (s, item) = c
        .post(
            "/api/v1/items/",
            json!({"plio": plio["id"], "type": "question", "time": 12.5}),
        )
        .await;
    assert_eq!(s, 201, "{item}");
    let (s, late) = c
        .post(
            "/api/v1/items/",
            json!({"plio": plio["id"], "type": "question", "time": 3.0}),
        )
        .await;
    assert_eq!(s, 201, "{late}");
    let (s, q) = c
        .post("/api/v1/questions/", json!({"item": item["id"], "type": "checkbox", "text": "Pick", "options": ["a", "b", "c"], "correct_answer": [0, 2]}))
        .await;
    assert_eq!(s, 201, "{q}");
    let (_, detail) = c.get(&detail_path(&plio)).await;
    let times: Vec<f64> = detail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["time"].as_f64().unwrap())
        .collect();
    assert_eq!(times, [3.0, 12.5], "items ordered by time");
    assert_eq!(detail["items"][1]["details"]["text"], "Pick");
    assert_eq!(detail["items"][0]["details"], json!({}));
    let (_, listed) = c.get(&format!("/api/v1/items/?plio={u}")).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["time"], 3.0);

    // Updates show at once (the cached entry is invalidated); the uuid is immutable.
    let (s, updated) = c
        .patch(
            &detail_path(&plio),
            json!({"name": "Renamed", "uuid": "zzzzzzzzzz", "status": "published"}),
        )
        .await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(
        (updated["name"].as_str(), updated["uuid"].as_str()),
        (Some("Renamed"), Some(u.as_str()))
    );
    assert_eq!(c.get(&detail_path(&plio)).await.1["status"], "published");
    let (s, bad) = c
        .patch(&detail_path(&plio), json!({"status": "archived"}))
        .await;
    assert_eq!(s, 400);
    assert!(bad["fields"]["status"].is_array(), "{bad}");

    let (_, list) = c.get("/api/v1/plios/").await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["video_url"], "https://youtu.be/x");

    assert_eq!(c.delete(&detail_path(&plio)).await.0, 204);
    assert_eq!(c.get(&detail_path(&plio)).await.0, 404);
    assert_eq!(c.get("/api/v1/plios/").await.1["count"], 0);
    // The rows remain, soft-deleted down the cascade.
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.plio WHERE deleted IS NOT NULL"),
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.item WHERE deleted IS NOT NULL AND deleted_by_cascade"),
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.question WHERE deleted IS NOT NULL AND deleted_by_cascade"),
        1
    );
}

#[actix_web::test]
async fn organization_members_author_content_and_non_members_cannot() {
    let app = spawn_app().await;
    let org = app.create_tenant("authors").await;
    let (member, token) = app.create_user("member@authors.test", false);
    let (_, outsider) = app.create_user("outsider@authors.test", false);
    app.add_member(member, org["id"].as_i64().unwrap() as i32, "org-view");
    let m = Caller::new(&app, Some(&token), Some("authors"));
    let plio = m.make_plio("Org plio", true, 2).await;
    assert_eq!(plio["items"].as_array().unwrap().len(), 2);
    // Invisible from the personal workspace and in the public schema.
    assert_eq!(
        Caller::new(&app, Some(&token), None)
            .get(&detail_path(&plio))
            .await
            .0,
        404
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM public.plio"), 0);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM authors.plio"), 1);

    let o = Caller::new(&app, Some(&outsider), Some("authors"));
    assert_eq!(o.post("/api/v1/plios/", json!({"name": "x"})).await.0, 403);
    assert_eq!(
        o.post("/api/v1/videos/", json!({"url": "https://x.y"}))
            .await
            .0,
        403
    );
    assert_eq!(
        o.post("/api/v1/items/", json!({"plio": plio["id"], "time": 1}))
            .await
            .0,
        403
    );
}

struct Cell {
    list: i64,
    retrieve: u16,
    play: u16,
    patch: u16,
}

async fn check_cell(label: &str, actor: &Caller<'_>, plio: &Value, want: Cell) {
    let (_, list) = actor.get("/api/v1/plios/").await;
    let seen = list["results"].as_array().map_or(0, |r| {
        r.iter().filter(|p| p["uuid"] == plio["uuid"]).count()
    }) as i64;
    assert_eq!(seen, want.list, "{label}: list");
    assert_eq!(
        actor.get(&detail_path(plio)).await.0,
        want.retrieve,
        "{label}: retrieve"
    );
    assert_eq!(
        actor.get(&format!("{}play/", detail_path(plio))).await.0,
        want.play,
        "{label}: play"
    );
    let (s, _) = actor
        .patch(&detail_path(plio), json!({"name": format!("by {label}")}))
        .await;
    assert_eq!(s, want.patch, "{label}: patch");
}

/// Every cell of SPEC 4.2's matrix (owner ≠ actor).
#[actix_web::test]
async fn the_plio_permission_matrix_holds_cell_by_cell() {
    let app = spawn_app().await;
    let org = app.create_tenant("matrix").await;
    let org_id = org["id"].as_i64().unwrap() as i32;
    let (owner, owner_token) = app.create_user("owner@matrix.test", false);
    let (member, member_token) = app.create_user("member@matrix.test", false);
    let (_, other_token) = app.create_user("other@matrix.test", false);
    let (_, super_token) = app.create_user("super@matrix.test", true);
    app.add_member(owner, org_id, "org-view");
    app.add_member(member, org_id, "org-view");

    let personal_owner = Caller::new(&app, Some(&owner_token), None);
    let org_owner = Caller::new(&app, Some(&owner_token), Some("matrix"));
    let personal_public = personal_owner.make_plio("pp", true, 0).await;
    let personal_private = personal_owner.make_plio("pq", false, 0).await;
    let org_public = org_owner.make_plio("op", true, 0).await;
    let org_private = org_owner.make_plio("oq", false, 0).await;

    let c = |t: &str, o: Option<&str>| Caller::new(&app, Some(t), o);
    let cell = |list, retrieve, play, patch| Cell {
        list,
        retrieve,
        play,
        patch,
    };
    // personal workspace
    check_cell(
        "personal/other/public",
        &c(&other_token, None),
        &personal_public,
        cell(0, 403, 200, 403),
    )
    .await;
    check_cell(
        "personal/other/private",
        &c(&other_token, None),
        &personal_private,
        cell(0, 403, 404, 403),
    )
    .await;
    check_cell(
        "personal/member/public",
        &c(&member_token, None),
        &personal_public,
        cell(0, 403, 200, 403),
    )
    .await;
    check_cell(
        "personal/superuser/public",
        &c(&super_token, None),
        &personal_public,
        cell(0, 200, 200, 200),
    )
    .await;
    check_cell(
        "personal/superuser/private",
        &c(&super_token, None),
        &personal_private,
        cell(0, 200, 404, 200),
    )
    .await;
    // organization workspace
    check_cell(
        "org/member/public",
        &c(&member_token, Some("matrix")),
        &org_public,
        cell(1, 200, 200, 200),
    )
    .await;
    check_cell(
        "org/member/private",
        &c(&member_token, Some("matrix")),
        &org_private,
        cell(0, 403, 404, 403),
    )
    .await;
    check_cell(
        "org/non-member/public",
        &c(&other_token, Some("matrix")),
        &org_public,
        cell(0, 403, 200, 403),
    )
    .await;
    check_cell(
        "org/non-member/private",
        &c(&other_token, Some("matrix")),
        &org_private,
        cell(0, 403, 404, 403),
    )
    .await;
    check_cell(
        "org/superuser/public",
        &c(&super_token, Some("matrix")),
        &org_public,
        cell(0, 200, 200, 200),
    )
    .await;
    check_cell(
        "org/superuser/private",
        &c(&super_token, Some("matrix")),
        &org_private,
        cell(0, 200, 404, 200),
    )
    .await;

    // Anonymous: public plios play, private ones do not, nothing else is open.
    let anon = Caller::new(&app, None, None);
    assert_eq!(
        anon.get(&format!("{}play/", detail_path(&personal_public)))
            .await
            .0,
        200
    );
    let (s, body) = anon
        .get(&format!("{}play/", detail_path(&personal_private)))
        .await;
    assert_eq!((s, body["detail"].as_str()), (404, Some("Plio not found")));
    assert_eq!(anon.get(&detail_path(&personal_public)).await.0, 401);
    // The creator plays their own private plio.
    assert_eq!(
        personal_owner
            .get(&format!("{}play/", detail_path(&personal_private)))
            .await
            .0,
        200
    );

    // Items and questions inherit: the member may not add to the private org plio, nor
    // anyone to another's personal plio (Plio does not check this).
    let member_org = c(&member_token, Some("matrix"));
    assert_eq!(
        member_org
            .post(
                "/api/v1/items/",
                json!({"plio": org_private["id"], "time": 1})
            )
            .await
            .0,
        403
    );
    assert_eq!(
        member_org
            .post(
                "/api/v1/items/",
                json!({"plio": org_public["id"], "time": 1})
            )
            .await
            .0,
        201
    );
    assert_eq!(
        c(&other_token, None)
            .post(
                "/api/v1/items/",
                json!({"plio": personal_public["id"], "time": 1})
            )
            .await
            .0,
        403
    );
}

#[actix_web::test]
async fn the_list_paginates_searches_and_orders() {
    let app = spawn_app().await;
    let (_, token) = app.create_user("lister@example.com", false);
    let c = Caller::new(&app, Some(&token), None);
    for name in [
        "delta",
        "alpha",
        "echo",
        "bravo",
        "charlie",
        "alpha two",
        "golf",
    ] {
        let (s, _) = c.post("/api/v1/plios/", json!({"name": name})).await;
        assert_eq!(s, 201);
    }
    let (_, page1) = c.get("/api/v1/plios/").await;
    assert_eq!(
        (
            page1["count"].as_i64(),
            page1["raw_count"].as_i64(),
            page1["page_size"].as_i64()
        ),
        (Some(7), Some(7), Some(5))
    );
    assert_eq!(page1["results"].as_array().unwrap().len(), 5);
    assert_eq!(
        page1["results"][0]["name"], "golf",
        "default ordering: most recently updated first"
    );
    assert!(page1["previous"].is_null());
    assert!(
        page1["next"]
            .as_str()
            .unwrap()
            .ends_with("/api/v1/plios/?page=2"),
        "{}",
        page1["next"]
    );
    let (_, page2) = c.get("/api/v1/plios/?page=2").await;
    assert_eq!(page2["results"].as_array().unwrap().len(), 2);
    assert!(page2["next"].is_null());
    assert_eq!(c.get("/api/v1/plios/?page=3").await.0, 404);
    assert_eq!(c.get("/api/v1/plios/?page=x").await.0, 404);

    let names = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, found) = c.get("/api/v1/plios/?search=alpha").await;
    assert_eq!(
        (found["count"].as_i64(), found["raw_count"].as_i64()),
        (Some(2), Some(7))
    );
    let (_, found) = c.get("/api/v1/plios/?search=alpha%20two").await;
    assert_eq!(names(&found), ["alpha two"], "terms are ANDed");
    let (_, found) = c.get("/api/v1/plios/?search=%25").await;
    assert_eq!(found["count"], 0, "LIKE wildcards are literal");
    let (_, by_name) = c.get("/api/v1/plios/?ordering=name").await;
    assert_eq!(
        names(&by_name),
        ["alpha", "alpha two", "bravo", "charlie", "delta"]
    );
    let (_, by_name_desc) = c.get("/api/v1/plios/?ordering=-name,created_at").await;
    assert_eq!(names(&by_name_desc)[0], "golf");
    let (_, junk) = c.get("/api/v1/plios/?ordering=password;drop,-nope").await;
    assert_eq!(names(&junk)[0], "golf", "invalid fields are ignored");
    let (s, _) = c.get("/api/v1/plios/?ordering=-unique_viewers").await;
    assert_eq!(s, 200);
}

#[actix_web::test]
async fn duplicating_clones_the_whole_graph_as_an_independent_draft() {
    let app = spawn_app().await;
    let (_, token) = app.create_user("dup@example.com", false);
    let c = Caller::new(&app, Some(&token), None);
    let source = c.make_plio("Original", true, 2).await;
    let (s, copy) = c
        .post(&format!("{}duplicate/", detail_path(&source)), json!({}))
        .await;
    assert_eq!(s, 200, "{copy}");
    assert_ne!(copy["uuid"], source["uuid"]);
    assert_ne!(copy["id"], source["id"]);
    assert_eq!(copy["status"], "draft");
    assert_eq!(copy["name"], "Original");
    assert_ne!(
        copy["video"]["id"], source["video"]["id"],
        "a new video row"
    );
    assert_eq!(copy["video"]["url"], source["video"]["url"]);
    let texts = |p: &Value| -> Vec<String> {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["details"]["text"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(texts(&copy), texts(&source));
    assert_ne!(copy["items"][0]["id"], source["items"][0]["id"]);
    // Editing the copy leaves the original untouched.
    let qid = copy["items"][0]["details"]["id"].as_i64().unwrap();
    let (s, _) = c
        .patch(
            &format!("/api/v1/questions/{qid}/"),
            json!({"text": "changed"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        c.get(&detail_path(&source)).await.1["items"][0]["details"]["text"],
        "Q0"
    );
    assert_eq!(
        c.get(&detail_path(&copy)).await.1["items"][0]["details"]["text"],
        "changed"
    );
}

#[actix_web::test]
async fn copying_to_another_workspace_lands_there_and_spares_the_source() {
    let app = spawn_app().await;
    let target = app.create_tenant("target-ws").await;
    let (me, token) = app.create_user("copier@example.com", false);
    let (_, stranger) = app.create_user("stranger@example.com", false);
    app.add_member(me, target["id"].as_i64().unwrap() as i32, "org-view");
    let c = Caller::new(&app, Some(&token), None);
    let source = c.make_plio("To copy", true, 2).await;
    let copy_path = format!("{}copy/", detail_path(&source));

    let (s, body) = c.post(&copy_path, json!({})).await;
    assert_eq!(
        (s, body["detail"].as_str()),
        (400, Some("workspace is not provided"))
    );
    let (s, body) = c.post(&copy_path, json!({"workspace": "nowhere"})).await;
    assert_eq!(
        (s, body["detail"].as_str()),
        (404, Some("workspace does not exist"))
    );
    app.create_tenant("not-mine").await;
    assert_eq!(
        c.post(&copy_path, json!({"workspace": "not-mine"})).await.0,
        403,
        "not a member of the target"
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM not_mine.plio"), 0);
    let (s, _) = Caller::new(&app, Some(&stranger), None)
        .post(&copy_path, json!({"workspace": "target-ws"}))
        .await;
    assert_eq!(s, 403, "may not even read the source");

    let (s, copy) = c.post(&copy_path, json!({"workspace": "target-ws"})).await;
    assert_eq!(s, 200, "{copy}");
    assert_ne!(copy["uuid"], source["uuid"]);
    assert_eq!(copy["status"], "draft");
    assert_eq!(copy["items"].as_array().unwrap().len(), 2);
    let in_target = Caller::new(&app, Some(&token), Some("target-ws"));
    assert_eq!(in_target.get(&detail_path(&copy)).await.0, 200);
    assert_eq!(
        in_target.get(&detail_path(&source)).await.0,
        404,
        "the original is not in the target"
    );
    assert_eq!(
        c.get(&detail_path(&copy)).await.0,
        404,
        "the copy is not in the source"
    );
    assert_eq!(
        c.get(&detail_path(&source)).await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM target_ws.plio"), 1);
}

#[actix_web::test]
async fn items_bulk_delete_with_plios_messages() {
    let app = spawn_app().await;
    let (_, token) = app.create_user("bulk@example.com", false);
    let (_, other) = app.create_user("notmine@example.com", false);
    let c = Caller::new(&app, Some(&token), None);
    let plio = c.make_plio("Bulk", true, 3).await;
    let ids: Vec<i64> = plio["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let path = "/api/v1/items/bulk_delete/";
    let cases = [
        (json!({}), 400, "item id(s) not provided"),
        (
            json!({"id": 5}),
            400,
            "id should contain a list of item ids to be deleted",
        ),
        (
            json!({"id": ["a"]}),
            400,
            "id should contain a list of item ids to be deleted",
        ),
        (
            json!({"id": [ids[0], 999_999]}),
            404,
            "one or more of the ids provided do not exist",
        ),
    ];
    for (body, status, message) in cases {
        let (s, out) = c.delete_with(path, body.clone()).await;
        assert_eq!(
            (s, out["detail"].as_str()),
            (status, Some(message)),
            "{body}"
        );
    }
    let (s, _) = Caller::new(&app, Some(&other), None)
        .delete_with(path, json!({"id": [ids[0]]}))
        .await;
    assert_eq!(s, 403, "only items of plios the caller may edit");
    let (s, out) = c.delete_with(path, json!({"id": [ids[0], ids[1]]})).await;
    assert_eq!((s, out), (200, json!("deletion successful")));
    let (_, detail) = c.get(&detail_path(&plio)).await;
    assert_eq!(
        detail["items"].as_array().unwrap().len(),
        1,
        "the cached entry was invalidated"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM public.question WHERE deleted IS NOT NULL"),
        2
    );
}

async fn every_write_invalidates_the_plios_it_changes(app: TestApp) {
    let org = app.create_tenant("inval").await;
    let (me, token) = app.create_user("inval@example.com", false);
    app.add_member(me, org["id"].as_i64().unwrap() as i32, "org-view");
    let personal = Caller::new(&app, Some(&token), None);
    let in_org = Caller::new(&app, Some(&token), Some("inval"));
    let plio = personal.make_plio("Cached", true, 1).await;
    let org_plio = in_org.make_plio("Cached in org", true, 1).await;
    let path = detail_path(&plio);
    // Read twice: the second read is a hit.
    personal.get(&path).await;
    assert_eq!(personal.get(&path).await.1["name"], "Cached");

    let video = plio["video"]["id"].as_i64().unwrap();
    let (s, _) = personal
        .patch(
            &format!("/api/v1/videos/{video}/"),
            json!({"title": "New title"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        personal.get(&path).await.1["video"]["title"],
        "New title",
        "video edit"
    );

    let item = plio["items"][0]["id"].as_i64().unwrap();
    personal
        .patch(&format!("/api/v1/items/{item}/"), json!({"time": 42.0}))
        .await;
    assert_eq!(
        personal.get(&path).await.1["items"][0]["time"],
        42.0,
        "item edit"
    );

    let question = plio["items"][0]["details"]["id"].as_i64().unwrap();
    personal
        .patch(
            &format!("/api/v1/questions/{question}/"),
            json!({"text": "Reworded"}),
        )
        .await;
    assert_eq!(
        personal.get(&path).await.1["items"][0]["details"]["text"],
        "Reworded",
        "question edit"
    );

    // An image attached to the question, then its alt text edited.
    let png = tiny_png();
    let image = upload(&app, &token, None, "pic.png", png).await;
    assert_eq!(image.0, 201, "{}", image.1);
    let image_id = image.1["id"].as_i64().unwrap();
    personal
        .patch(
            &format!("/api/v1/questions/{question}/"),
            json!({"image": image_id}),
        )
        .await;
    assert_eq!(
        personal.get(&path).await.1["items"][0]["details"]["image"]["id"],
        image_id
    );
    personal
        .patch(
            &format!("/api/v1/images/{image_id}/"),
            json!({"alt_text": "A diagram"}),
        )
        .await;
    assert_eq!(
        personal.get(&path).await.1["items"][0]["details"]["image"]["alt_text"],
        "A diagram",
        "image edit"
    );

    personal
        .patch(
            &format!("{path}setting/"),
            json!({"player": {"skipEnabled": true}}),
        )
        .await;
    assert_eq!(
        personal.get(&path).await.1["config"]["settings"]["player"]["skipEnabled"],
        true,
        "settings"
    );

    // The creator's name: visible at once in every workspace's plio payloads.
    in_org.get(&detail_path(&org_plio)).await;
    personal
        .patch(
            &format!("/api/v1/users/{me}/"),
            json!({"first_name": "Grace"}),
        )
        .await;
    assert_eq!(
        personal.get(&path).await.1["created_by"]["first_name"],
        "Grace"
    );
    assert_eq!(
        in_org.get(&detail_path(&org_plio)).await.1["created_by"]["first_name"],
        "Grace"
    );

    // Deleting a question, and a video shared by two plios.
    personal
        .delete(&format!("/api/v1/questions/{question}/"))
        .await;
    assert_eq!(
        personal.get(&path).await.1["items"][0]["details"],
        json!({}),
        "question delete"
    );
    let (s, second) = personal
        .post(
            "/api/v1/plios/",
            json!({"name": "Same video", "video": video}),
        )
        .await;
    assert_eq!(s, 201);
    personal.get(&detail_path(&second)).await;
    personal
        .patch(
            &format!("/api/v1/videos/{video}/"),
            json!({"url": "https://youtu.be/new"}),
        )
        .await;
    assert_eq!(
        personal.get(&path).await.1["video"]["url"],
        "https://youtu.be/new"
    );
    assert_eq!(
        personal.get(&detail_path(&second)).await.1["video"]["url"],
        "https://youtu.be/new"
    );
}

#[actix_web::test]
async fn every_write_invalidates_the_plios_it_changes_in_memory() {
    every_write_invalidates_the_plios_it_changes(spawn_app().await).await;
}

#[actix_web::test]
async fn every_write_invalidates_the_plios_it_changes_in_redis() {
    let prefix = format!("inv{}", std::process::id());
    let app = spawn_app_with(&[
        ("REDIS_URL", crate::cache::redis_url().as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
    ])
    .await;
    every_write_invalidates_the_plios_it_changes(app).await;
}

#[actix_web::test]
async fn the_same_plio_id_in_two_tenants_is_served_from_the_cache_without_crossing() {
    let prefix = format!("same{}", std::process::id());
    let app = spawn_app_with(&[
        ("REDIS_URL", crate::cache::redis_url().as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
    ])
    .await;
    let (me, token) = app.create_user("twins@example.com", false);
    let mut plios = Vec::new();
    for code in ["twin-a", "twin-b"] {
        let org = app.create_tenant(code).await;
        app.add_member(me, org["id"].as_i64().unwrap() as i32, "org-view");
        let c = Caller::new(&app, Some(&token), Some(code));
        plios.push(c.make_plio(&format!("plio of {code}"), true, 0).await);
    }
    assert_eq!(plios[0]["id"], plios[1]["id"]);
    for _ in 0..2 {
        for (code, p) in ["twin-a", "twin-b"].iter().zip(&plios) {
            let (_, got) = Caller::new(&app, Some(&token), Some(code))
                .get(&detail_path(p))
                .await;
            assert_eq!(got["name"], format!("plio of {code}"));
        }
    }
    let mut conn = redis::Client::open(crate::cache::redis_url())
        .unwrap()
        .get_connection()
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*:plio:*"))
        .query(&mut conn)
        .unwrap();
    let mut keys: Vec<String> = keys.into_iter().filter(|k| !k.contains(":_")).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            format!("{prefix}:twin_a:plio:1"),
            format!("{prefix}:twin_b:plio:1")
        ]
    );
}

#[actix_web::test]
async fn hostile_input_gets_400_with_fields_and_changes_nothing() {
    let app = spawn_app().await;
    let (_, token) = app.create_user("hostile@example.com", false);
    let c = Caller::new(&app, Some(&token), None);
    let plio = c.make_plio("Target", true, 1).await;
    let long = "x".repeat(256);
    let cases = [
        (
            "/api/v1/plios/",
            json!({"name": 5, "is_public": "yes", "video": "x"}),
            vec!["name", "is_public", "video"],
        ),
        ("/api/v1/plios/", json!({"name": long}), vec!["name"]),
        (
            "/api/v1/plios/",
            json!({"status": "deleted"}),
            vec!["status"],
        ),
        ("/api/v1/plios/", json!({"video": 999_999}), vec!["video"]),
        (
            "/api/v1/videos/",
            json!({"url": format!("https://x.y/{long}")}),
            vec!["url"],
        ),
        (
            "/api/v1/videos/",
            json!({"url": "https://x.y", "duration": -1}),
            vec!["duration"],
        ),
        (
            "/api/v1/items/",
            json!({"plio": plio["id"], "time": "soon"}),
            vec!["time"],
        ),
        (
            "/api/v1/items/",
            json!({"plio": plio["id"], "time": 1, "type": "poll"}),
            vec!["type"],
        ),
        (
            "/api/v1/questions/",
            json!({"item": plio["items"][0]["id"], "type": "mcq", "options": ["a", "b"], "correct_answer": "b"}),
            vec!["correct_answer"],
        ),
        (
            "/api/v1/questions/",
            json!({"item": plio["items"][0]["id"], "type": "checkbox", "options": ["a", "b"], "correct_answer": [1, "x"]}),
            vec!["correct_answer"],
        ),
        (
            "/api/v1/questions/",
            json!({"item": plio["items"][0]["id"], "type": "subjective", "options": "a"}),
            vec!["options"],
        ),
        (
            "/api/v1/questions/",
            json!({"item": plio["items"][0]["id"], "type": "essay"}),
            vec!["type"],
        ),
        (
            "/api/v1/questions/",
            json!({"item": plio["items"][0]["id"], "type": "subjective", "has_char_limit": true, "max_char_limit": -5}),
            vec!["max_char_limit"],
        ),
    ];
    let before = (
        app.count("SELECT COUNT(*) AS n FROM public.plio"),
        app.count("SELECT COUNT(*) AS n FROM public.video"),
        app.count("SELECT COUNT(*) AS n FROM public.item"),
        app.count("SELECT COUNT(*) AS n FROM public.question"),
    );
    for (path, body, fields) in cases {
        let (s, out) = c.post(path, body.clone()).await;
        assert_eq!(s, 400, "{path} {body}: {out}");
        for f in fields {
            assert!(out["fields"][f].is_array(), "{path} {body}: {out}");
        }
    }
    let after = (
        app.count("SELECT COUNT(*) AS n FROM public.plio"),
        app.count("SELECT COUNT(*) AS n FROM public.video"),
        app.count("SELECT COUNT(*) AS n FROM public.item"),
        app.count("SELECT COUNT(*) AS n FROM public.question"),
    );
    assert_eq!(before, after);
    // Unknown plio uuids, including hostile ones, are plain 404s.
    for bad in ["nope", "x'%20OR%201=1--", "..%2F..%2Fetc"] {
        assert_eq!(
            c.get(&format!("/api/v1/plios/{bad}/")).await.0,
            404,
            "{bad}"
        );
    }
}

pub fn tiny_png() -> Vec<u8> {
    // An 8-byte PNG signature followed by a minimal IHDR chunk is enough for the sniffer.
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    v.extend_from_slice(&[
        0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77,
        0x53, 0xDE,
    ]);
    v
}

pub async fn upload(
    app: &TestApp,
    token: &str,
    org: Option<&str>,
    filename: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(filename.to_string());
    let form = reqwest::multipart::Form::new()
        .part("url", part)
        .text("alt_text", "alt");
    let mut req = app
        .client
        .post(app.url("/api/v1/images/"))
        .bearer_auth(token)
        .multipart(form);
    if let Some(o) = org {
        req = req.header("Organization", o);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[actix_web::test]
async fn uploads_get_random_names_and_must_really_be_images() {
    let media = std::env::temp_dir().join(format!(
        "plio-media-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let app = spawn_app_with(&[("MEDIA_ROOT", media.to_str().unwrap())]).await;
    let (_, token) = app.create_user("uploader@example.com", false);
    let (s, image) = upload(&app, &token, None, "../../etc/passwd.png", tiny_png()).await;
    assert_eq!(s, 201, "{image}");
    let url = image["url"].as_str().unwrap();
    // Absolute, on the origin the upload was addressed to (the web client runs elsewhere).
    let name = url
        .strip_prefix(&format!("{}/media/images/", app.address))
        .expect("under images/");
    let (stem, ext) = name.split_once('.').unwrap();
    assert!(
        stem.len() == 10 && stem.bytes().all(|b| b.is_ascii_lowercase()) && ext == "png",
        "{url}"
    );
    assert!(media.join("images").join(name).exists());
    assert!(!url.contains("passwd") && !url.contains(".."));
    let served = app.client.get(url).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().to_vec(), tiny_png());

    let files_before = std::fs::read_dir(media.join("images")).unwrap().count();
    let (s, out) = upload(
        &app,
        &token,
        None,
        "innocent.png",
        b"<?php system($_GET['x']); ?>".to_vec(),
    )
    .await;
    assert_eq!(s, 400);
    assert!(out["fields"]["url"].is_array(), "{out}");
    let mut big = tiny_png();
    big.resize(10 * 1024 * 1024 + 10, 0);
    let (s, _) = upload(&app, &token, None, "big.png", big).await;
    assert_eq!(s, 413);
    assert_eq!(
        std::fs::read_dir(media.join("images")).unwrap().count(),
        files_before,
        "nothing stored"
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM public.image"), 1);
    assert_eq!(
        app.client
            .get(app.url("/media/images/..%2F..%2Fsecret"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // Non-members cannot upload into an organization.
    app.create_tenant("no-uploads").await;
    assert_eq!(
        upload(&app, &token, Some("no-uploads"), "a.png", tiny_png())
            .await
            .0,
        403
    );
    std::fs::remove_dir_all(&media).ok();
}

pub fn rand_suffix() -> String {
    plio::secrets::random_string(6, plio::secrets::LOWERCASE)
}
