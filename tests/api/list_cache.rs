//! The plio list is served from cached pages (issue 14), and every change it shows reaches
//! the next read at once (SPEC 6.4): a plio written, its video's url, a learner's session
//! (`unique_viewers`), a membership granted or removed, a plio deleted.

use serde_json::{json, Value};

use crate::helpers::{names, spawn_app, Caller};

fn row<'a>(list: &'a Value, uuid: &str) -> &'a Value {
    list["results"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["uuid"] == uuid))
        .unwrap_or(&Value::Null)
}

#[actix_web::test]
async fn the_cached_plio_list_shows_every_change_at_once() {
    let app = spawn_app().await;
    let (owner, owner_token) = app.create_user("owner@lists.example", false);
    let (learner, learner_token) = app.create_user("learner@lists.example", false);
    let org = app.create_tenant("lists").await;
    let org_id = org["id"].as_i64().unwrap() as i32;
    app.add_member(owner, org_id, "org-admin");
    let me = Caller::new(&app, Some(&owner_token), Some("lists"));
    let them = Caller::new(&app, Some(&learner_token), Some("lists"));

    for _ in 0..2 {
        let (status, list) = me.get("/api/v1/plios/").await;
        assert_eq!((status, list["count"].clone()), (200, json!(0)), "{list}");
    }
    let plio = me.make_plio("First", true, 1).await;
    let uuid = plio["uuid"].as_str().unwrap().to_string();
    let plio_id = plio["id"].clone();
    let video_id = plio["video"]["id"].clone();
    for _ in 0..2 {
        let list = me.get("/api/v1/plios/").await.1;
        assert_eq!(names(&list), ["First"], "a created plio is listed: {list}");
        assert_eq!(row(&list, &uuid)["unique_viewers"], 0);
        assert_eq!(row(&list, &uuid)["video_url"], "https://youtu.be/abc");
    }

    let (status, _) = me
        .patch(
            &format!("/api/v1/plios/{uuid}/"),
            json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(names(&me.get("/api/v1/plios/").await.1), ["Renamed"]);

    let (status, body) = me
        .patch(
            &format!("/api/v1/videos/{video_id}/"),
            json!({"url": "https://youtu.be/xyz"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let list = me.get("/api/v1/plios/").await.1;
    assert_eq!(row(&list, &uuid)["video_url"], "https://youtu.be/xyz");

    // A learner who is not a member lists nothing, then plays: one viewer.
    for _ in 0..2 {
        assert_eq!(them.get("/api/v1/plios/").await.1["count"], 0);
    }
    let (status, session) = them
        .post("/api/v1/sessions/", json!({"plio": plio_id}))
        .await;
    assert_eq!(status, 201, "{session}");
    let list = me.get("/api/v1/plios/").await.1;
    assert_eq!(row(&list, &uuid)["unique_viewers"], 1, "{list}");
    let (status, _) = them
        .delete(&format!("/api/v1/sessions/{}/", session["id"]))
        .await;
    assert_eq!(status, 204);
    let list = me.get("/api/v1/plios/").await.1;
    assert_eq!(row(&list, &uuid)["unique_viewers"], 0, "{list}");

    // Made a member through the API: the learner lists the public plio; removed: nothing.
    let role = app.count("SELECT id::bigint AS n FROM public.role WHERE name = 'org-view'");
    let (status, membership) = me
        .post(
            "/api/v1/organization-users/",
            json!({"user": learner, "organization": org_id, "role": role}),
        )
        .await;
    assert_eq!(status, 201, "{membership}");
    for _ in 0..2 {
        assert_eq!(names(&them.get("/api/v1/plios/").await.1), ["Renamed"]);
    }
    let (status, _) = me
        .delete(&format!("/api/v1/organization-users/{}/", membership["id"]))
        .await;
    assert_eq!(status, 204);
    assert_eq!(them.get("/api/v1/plios/").await.1["count"], 0);

    // Searches and pages are cached apart and follow changes too.
    assert_eq!(
        names(&me.get("/api/v1/plios/?search=renamed").await.1),
        ["Renamed"]
    );
    assert_eq!(me.get("/api/v1/plios/?search=nothing").await.1["count"], 0);
    let (status, _) = me.delete(&format!("/api/v1/plios/{uuid}/")).await;
    assert_eq!(status, 204);
    assert_eq!(me.get("/api/v1/plios/").await.1["count"], 0);
    assert_eq!(me.get("/api/v1/plios/?search=renamed").await.1["count"], 0);
}
