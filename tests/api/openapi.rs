//! The API document (SPEC 5): OpenAPI 3.1, listing exactly the routes of the route table, and
//! a docs page whose assets are served by plio itself (no CDN).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::spawn_app;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn sample(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{uuid}", "00000000-0000-4000-8000-000000000000")
        .replace("{name}", "missing.png")
}

#[actix_web::test]
async fn the_openapi_document_lists_exactly_the_routes_of_the_route_table() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/v1/docs/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let doc: Value = res.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "plio");

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if METHODS.contains(&method.to_uppercase().as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let routed: BTreeSet<(String, String)> = plio::http::routes::routes()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );

    // Every documented error response uses the one error shape.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
}

/// `routes()` is what the server really routes: on each of its paths, exactly its methods are
/// answered, every other one is 405 (every path has one, so each path is shown to be routed).
#[actix_web::test]
async fn the_route_list_matches_what_the_server_routes() {
    let app = spawn_app().await;
    let routed: BTreeSet<(String, String)> = plio::http::routes::routes()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let paths: BTreeSet<&String> = routed.iter().map(|(_, p)| p).collect();
    for path in paths {
        let mut saw_405 = false;
        for method in METHODS {
            let (status, body) = app.call(method, &sample(path), None, None, None).await;
            let listed = routed.contains(&(method.to_string(), path.clone()));
            if listed {
                assert_ne!(
                    status, 405,
                    "{method} {path} is listed but not routed: {body}"
                );
            } else {
                assert_eq!(
                    status, 405,
                    "{method} {path} is routed but not listed: {body}"
                );
                assert_eq!(body["code"], "method_not_allowed");
                saw_405 = true;
            }
        }
        assert!(
            saw_405,
            "{path}: no unrouted method to prove the path is routed"
        );
    }
}

#[actix_web::test]
async fn the_docs_page_is_served_from_vendored_assets() {
    let app = spawn_app().await;
    for url in ["/api/v1/docs/", "/api/v1/docs", "/api/v1/docs/index.html"] {
        let res = app.client.get(app.url(url)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
        let html = res.text().await.unwrap();
        assert!(html.contains("<base href=\"/api/v1/docs/\">"), "{url}");
    }
    let html = app
        .client
        .get(app.url("/api/v1/docs/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for cdn in ["unpkg", "jsdelivr", "cdnjs", "http://", "https://"] {
        assert!(!html.contains(cdn), "the page references {cdn}: {html}");
    }
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let link = part.split('"').next().unwrap_or_default();
            if !link.is_empty() && !link.starts_with('/') && !link.starts_with('#') {
                assets.push(link.trim_start_matches("./").to_string());
            }
        }
    }
    assert!(
        assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")),
        "{assets:?}"
    );
    for asset in &assets {
        let res = app
            .client
            .get(app.url(&format!("/api/v1/docs/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{asset}");
        let body = res.bytes().await.unwrap();
        assert!(!body.is_empty(), "{asset}");
        if asset.ends_with(".js") {
            let text = String::from_utf8_lossy(&body);
            for cdn in ["unpkg.com", "cdn.jsdelivr"] {
                assert!(!text.contains(cdn), "{asset} loads from {cdn}");
            }
        }
    }
    // The page's initializer loads this server's document.
    let init = app
        .client
        .get(app.url("/api/v1/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    assert!(init
        .text()
        .await
        .unwrap()
        .contains("/api/v1/docs/openapi.json"));
    let res = app
        .client
        .get(app.url("/api/v1/docs/no-such-asset.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "not_found");
}

/// Found by Schemathesis: a `settings` body nested near serde_json's 128-level limit was stored
/// under the organization's `config` one level deeper, and every later read of the organization
/// (and of its members' payloads) failed with a 500.
#[actix_web::test]
async fn deeply_nested_bodies_are_refused_before_they_are_stored() {
    let app = spawn_app().await;
    let (_, token) = app.superuser();
    let nested = |depth: usize| {
        let mut v = serde_json::json!(1);
        for _ in 0..depth {
            v = serde_json::json!({ "a": v });
        }
        v
    };
    let (status, body) = app
        .call(
            "PATCH",
            "/api/v1/organizations/1/setting/",
            Some(&token),
            None,
            Some(nested(127)),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid");
    let (status, body) = app
        .call("GET", "/api/v1/organizations/1/", Some(&token), None, None)
        .await;
    assert_eq!(status, 200, "{body}");
    // Ordinary nesting is kept.
    let (status, body) = app
        .call(
            "PATCH",
            "/api/v1/organizations/1/setting/",
            Some(&token),
            None,
            Some(nested(20)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Found by Schemathesis: numbers are stored in jsonb as exact decimals, and reading a number
/// near f64::MAX back overflowed the fast float parser (a 500 on every later read of the
/// organization); others came back with a different last digit.
#[actix_web::test]
async fn numbers_in_settings_read_back_as_they_were_written() {
    let app = spawn_app().await;
    let (_, token) = app.superuser();
    let settings = serde_json::json!({"max": -1.7976931348623155e308, "n": 4186398503461794.0, "tiny": 5.10606712978076e-201});
    let (status, body) = app
        .call(
            "PATCH",
            "/api/v1/organizations/1/setting/",
            Some(&token),
            None,
            Some(settings.clone()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call("GET", "/api/v1/organizations/1/", Some(&token), None, None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["config"]["settings"], settings);
}

/// Errors of `value` against a documented schema; objects are held to their listed keys (every
/// key a route returns must be documented), which is stricter than JSON Schema.
fn schema_errors(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return schema_errors(doc, &doc["components"]["schemas"][name], value, at);
    }
    if let Some(variants) = schema["oneOf"].as_array() {
        return if variants
            .iter()
            .any(|s| schema_errors(doc, s, value, at).is_empty())
        {
            vec![]
        } else {
            vec![format!("{at}: matches no variant: {value}")]
        };
    }
    if let Some(parts) = schema["allOf"].as_array() {
        // The parts together list the keys: check each part's keys, then that none is extra.
        let mut errors = Vec::new();
        let mut known = BTreeSet::new();
        for part in parts {
            let part = match part["$ref"].as_str() {
                Some(r) => {
                    &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")]
                }
                None => part,
            };
            if let Some(props) = part["properties"].as_object() {
                known.extend(props.keys().cloned());
                let mut loose = part.clone();
                loose["additionalProperties"] = Value::Bool(true);
                errors.extend(schema_errors(doc, &loose, value, at));
            }
        }
        for key in value.as_object().map(|m| m.keys()).into_iter().flatten() {
            if !known.contains(key) {
                errors.push(format!("{at}.{key}: not documented"));
            }
        }
        return errors;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return vec![], // any value
    };
    let fits = |t: &str| match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    };
    if !types.iter().any(|t| fits(t)) {
        return vec![format!("{at}: {value} is not {types:?}")];
    }
    let mut errors = Vec::new();
    if let (Some(map), true) = (value.as_object(), types.contains(&"object")) {
        for key in schema["required"].as_array().into_iter().flatten() {
            let key = key.as_str().unwrap_or_default();
            if !map.contains_key(key) {
                errors.push(format!("{at}.{key}: required but missing"));
            }
        }
        let props = schema["properties"].as_object();
        for (key, v) in map {
            match props.and_then(|p| p.get(key)) {
                Some(s) => errors.extend(schema_errors(doc, s, v, &format!("{at}.{key}"))),
                None if schema["additionalProperties"] == Value::Bool(true) => {}
                None if props.is_some() => errors.push(format!("{at}.{key}: not documented")),
                None => {}
            }
        }
    }
    if let (Some(items), true) = (value.as_array(), types.contains(&"array")) {
        for (i, v) in items.iter().enumerate() {
            errors.extend(schema_errors(
                doc,
                &schema["items"],
                v,
                &format!("{at}[{i}]"),
            ));
        }
    }
    errors
}

/// Real responses of the main routes, checked key by key against the document.
#[actix_web::test]
async fn responses_have_the_documented_shapes() {
    use crate::helpers::Caller;
    let app = spawn_app().await;
    let (admin_id, token) = app.superuser();
    let doc: Value = app
        .client
        .get(app.url("/api/v1/docs/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let caller = Caller::new(&app, Some(&token), None);
    let plio = caller.make_plio("Shapes", true, 2).await;
    let uuid = plio["uuid"].as_str().unwrap().to_string();
    let plio_id = plio["id"].clone();
    let item_id = plio["items"][0]["id"].clone();

    let check = |method: &str, template: &str, status: u16, body: &Value| {
        let schema = &doc["paths"][template][method.to_lowercase()]["responses"]
            [status.to_string()]["content"]["application/json"]["schema"];
        assert!(
            !schema.is_null(),
            "{method} {template} {status} is not documented"
        );
        let errors = schema_errors(&doc, schema, body, "$");
        assert!(
            errors.is_empty(),
            "{method} {template} {status}: {errors:#?}\n{body}"
        );
    };

    // The checker itself: an undocumented key, a missing one and a wrong type are caught.
    let (s, mut b) = caller.get(&format!("/api/v1/plios/{uuid}/")).await;
    b["items"][0]["bogus"] = Value::from(1);
    b.as_object_mut().unwrap().remove("name");
    b["is_public"] = Value::from("yes");
    let schema = &doc["paths"]["/api/v1/plios/{uuid}/"]["get"]["responses"][s.to_string()]
        ["content"]["application/json"]["schema"];
    assert_eq!(schema_errors(&doc, schema, &b, "$").len(), 3, "{b}");

    let (s, b) = caller.get("/api/v1/plios/").await;
    check("GET", "/api/v1/plios/", s, &b);
    let (s, b) = caller.get(&format!("/api/v1/plios/{uuid}/")).await;
    check("GET", "/api/v1/plios/{uuid}/", s, &b);
    let (s, b) = caller.get(&format!("/api/v1/plios/{uuid}/play/")).await;
    check("GET", "/api/v1/plios/{uuid}/play/", s, &b);
    let (s, b) = caller.get(&format!("/api/v1/plios/{uuid}/metrics/")).await;
    check("GET", "/api/v1/plios/{uuid}/metrics/", s, &b);
    let (s, b) = caller.get("/api/v1/videos/").await;
    check("GET", "/api/v1/videos/", s, &b);
    let (s, b) = caller.get(&format!("/api/v1/items/?plio={uuid}")).await;
    check("GET", "/api/v1/items/", s, &b);
    let (s, b) = caller.get("/api/v1/questions/").await;
    check("GET", "/api/v1/questions/", s, &b);
    let (s, session) = caller
        .post("/api/v1/sessions/", serde_json::json!({"plio": plio_id}))
        .await;
    check("POST", "/api/v1/sessions/", s, &session);
    let (s, b) = caller
        .post(
            "/api/v1/events/",
            serde_json::json!({"session": session["id"], "type": "played", "player_time": 1.5, "details": {}}),
        )
        .await;
    check("POST", "/api/v1/events/", s, &b);
    let (s, b) = caller
        .post(
            "/api/v1/session-answers/",
            serde_json::json!({"session": session["id"], "item": item_id, "answer": 1}),
        )
        .await;
    check("POST", "/api/v1/session-answers/", s, &b);
    let (s, b) = caller
        .get(&format!("/api/v1/sessions/{}/", session["id"]))
        .await;
    check("GET", "/api/v1/sessions/{id}/", s, &b);
    let (s, experiment) = caller
        .post("/api/v1/experiments/", serde_json::json!({"name": "E"}))
        .await;
    check("POST", "/api/v1/experiments/", s, &experiment);
    let (s, b) = caller
        .post(
            "/api/v1/experiment-plios/",
            serde_json::json!({"experiment": experiment["id"], "plio": plio_id, "split_percentage": 50.0}),
        )
        .await;
    check("POST", "/api/v1/experiment-plios/", s, &b);
    let (s, b) = caller
        .post("/api/v1/tags/", serde_json::json!({"name": "T"}))
        .await;
    check("POST", "/api/v1/tags/", s, &b);
    let (s, b) = caller.get("/api/v1/roles/").await;
    check("GET", "/api/v1/roles/", s, &b);
    let (s, b) = caller.get("/api/v1/organizations/").await;
    check("GET", "/api/v1/organizations/", s, &b);
    let (s, b) = caller.get(&format!("/api/v1/users/{admin_id}/")).await;
    check("GET", "/api/v1/users/{id}/", s, &b);
    let (s, b) = caller.get("/api/v1/organization-users/").await;
    check("GET", "/api/v1/organization-users/", s, &b);
    let (s, b) = caller.get("/healthz/").await;
    check("GET", "/healthz/", s, &b);
    let (s, b) = caller.get("/api/v1/videos/0/").await;
    check("GET", "/api/v1/videos/{id}/", s, &b);
}
