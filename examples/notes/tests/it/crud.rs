//! The JSON API: create, read, list with search and pages, update, delete,
//! and the error answers for everything a client can get wrong.

use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn create_read_update_delete() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;

    let res = alice
        .post_json(
            "/api/notes",
            &json!({ "title": "  Groceries ", "body": "milk\neggs", "public": false }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.header("content-type"), "application/json");
    let note = res.json();
    let id = note["id"].as_i64().unwrap();
    assert_eq!(res.header("location"), format!("/api/notes/{id}"));
    assert_eq!(note["title"], "Groceries", "the title is trimmed");
    assert_eq!(note["body"], "milk\neggs");
    assert_eq!(note["public"], false);
    assert_eq!(note["version"], 1);

    let res = alice.get(&format!("/api/notes/{id}")).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), note);
    assert_eq!(res.header("etag"), "\"v1\"");

    let res = alice
        .patch_json(&format!("/api/notes/{id}"), &json!({ "body": "milk" }))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let patched = res.json();
    assert_eq!(patched["title"], "Groceries", "fields not sent stay");
    assert_eq!(patched["body"], "milk");
    assert_eq!(patched["version"], 2);
    assert_eq!(res.header("etag"), "\"v2\"");

    let res = alice
        .patch_json(
            &format!("/api/notes/{id}"),
            &json!({ "public": true, "version": 2 }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["public"], true);

    // A stale version: refused, and the current note comes back.
    let res = alice
        .patch_json(
            &format!("/api/notes/{id}"),
            &json!({ "title": "x", "version": 2 }),
        )
        .await;
    assert_eq!(res.status, 409, "{}", res.text());
    assert_eq!(res.json()["error"]["current"]["version"], 3);
    assert_eq!(
        alice.get(&format!("/api/notes/{id}")).await.json()["title"],
        "Groceries"
    );

    let res = alice.delete(&format!("/api/notes/{id}")).await;
    assert_eq!(res.status, 204);
    assert!(res.body.is_empty());
    assert_eq!(alice.get(&format!("/api/notes/{id}")).await.status, 404);
    assert_eq!(alice.delete(&format!("/api/notes/{id}")).await.status, 404);
    let res = alice
        .patch_json(&format!("/api/notes/{id}"), &json!({ "title": "x" }))
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.error(), "note not found");
}

#[tokio::test]
async fn list_searches_and_pages() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    for i in 1..=25 {
        let title = if i % 5 == 0 {
            format!("Milk run {i}")
        } else {
            format!("Note {i}")
        };
        alice.create_note(&title, &format!("body {i}"), false).await;
    }
    alice.create_note("100% sure", "under_score", false).await;

    let page = alice.get("/api/notes").await.json();
    assert_eq!(page["total"], 26);
    assert_eq!(page["limit"], 20);
    assert_eq!(page["notes"].as_array().unwrap().len(), 20);
    assert_eq!(page["notes"][0]["title"], "100% sure", "newest first");
    assert_eq!(page["next_offset"], 20);

    let last = alice.get("/api/notes?limit=20&offset=20").await.json();
    assert_eq!(last["notes"].as_array().unwrap().len(), 6);
    assert_eq!(last["next_offset"], serde_json::Value::Null);
    assert_eq!(last["notes"][5]["title"], "Note 1");

    // Case-insensitive, title or body.
    let found = alice.get("/api/notes?q=MILK").await.json();
    assert_eq!(found["total"], 5);
    let titles: Vec<&str> = found["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Milk run 25",
            "Milk run 20",
            "Milk run 15",
            "Milk run 10",
            "Milk run 5"
        ]
    );
    assert_eq!(alice.get("/api/notes?q=body%2017").await.json()["total"], 1);
    // LIKE wildcards in the query match themselves.
    assert_eq!(alice.get("/api/notes?q=%25").await.json()["total"], 1);
    assert_eq!(alice.get("/api/notes?q=_").await.json()["total"], 1);
    assert_eq!(
        alice.get("/api/notes?q=nothing-like-this").await.json()["total"],
        0
    );

    let two = alice.get("/api/notes?q=milk&limit=2&offset=2").await.json();
    assert_eq!(two["notes"][0]["title"], "Milk run 15");
    assert_eq!(two["next_offset"], 4);
}

#[tokio::test]
async fn bad_requests_get_clear_json_errors() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let note = alice.create_note("n", "", false).await;
    let url = format!("/api/notes/{}", note["id"]);

    // Malformed JSON: 400.
    let req = alice.request_with(
        "POST",
        "/api/notes",
        &[("content-type", "application/json")],
        "{\"title\":",
    );
    let res = alice.send(req).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["error"]["status"], 400);
    assert!(res.error().contains("parse"), "{}", res.error());

    // Not JSON at all: 415.
    let req = alice.request_with(
        "POST",
        "/api/notes",
        &[("content-type", "text/plain")],
        "hi",
    );
    assert_eq!(alice.send(req).await.status, 415);

    // Well-formed but wrong: 422, naming the field.
    let res = alice
        .post_json("/api/notes", &json!({ "title": "   " }))
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(res.json()["error"]["fields"]["title"], "must not be empty");
    let res = alice
        .post_json("/api/notes", &json!({ "title": "x".repeat(201) }))
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(
        res.json()["error"]["fields"]["title"],
        "must be at most 200 characters"
    );
    let res = alice
        .post_json("/api/notes", &json!({ "body": "no title" }))
        .await;
    assert_eq!(res.status, 422);
    assert!(
        res.error().contains("missing field `title`"),
        "{}",
        res.error()
    );
    let res = alice
        .post_json("/api/notes", &json!({ "title": "t", "colour": "red" }))
        .await;
    assert_eq!(res.status, 422);
    assert!(
        res.error().contains("unknown field `colour`"),
        "{}",
        res.error()
    );
    let res = alice
        .post_json("/api/notes", &json!({ "title": "t", "public": "yes" }))
        .await;
    assert_eq!(res.status, 422);
    let res = alice.patch_json(&url, &json!({})).await;
    assert_eq!(res.status, 422);
    assert!(res
        .text()
        .contains("give at least one of title, body, public"));
    let res = alice.patch_json(&url, &json!({ "title": "" })).await;
    assert_eq!(res.status, 422);

    // Bad query strings and ids: 400.
    for query in ["limit=0", "limit=101", "limit=ten", "offset=-1"] {
        let res = alice.get(&format!("/api/notes?{query}")).await;
        assert_eq!(res.status, 400, "{query}: {}", res.text());
        assert_eq!(res.json()["error"]["status"], 400);
    }
    let res = alice.get("/api/notes?limit=0&offset=x").await;
    let fields = &res.json()["error"]["fields"];
    assert!(
        fields["limit"].is_string() && fields["offset"].is_string(),
        "{fields}"
    );
    assert_eq!(alice.get("/api/notes/abc").await.status, 400);
    assert_eq!(alice.get("/api/notes/0").await.status, 400);

    // Missing ids: 404, as JSON.
    let res = alice.get("/api/notes/999999").await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json()["error"]["message"], "note not found");

    // A method the route does not export: 405 with Allow.
    let res = alice.send(alice.request("PUT", &url)).await;
    assert_eq!(res.status, 405);
    assert_eq!(res.header("allow"), "DELETE, GET, HEAD, OPTIONS, PATCH");
}
