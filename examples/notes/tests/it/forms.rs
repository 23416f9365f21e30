//! HTML form posts and file uploads: they create notes and answer `303
//! See Other` back to the page, as a Next.js server action would.

use serde_json::json;

use crate::support::{multipart, TestApp};

const URLENCODED: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

#[tokio::test]
async fn form_post_creates_a_note_and_redirects() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let req = alice.request_with(
        "POST",
        "/api/notes/form",
        &[URLENCODED],
        "title=From+a+form&body=line+1%0D%0Aline+2+%26+more&public=on",
    );
    let res = alice.send(req).await;
    assert_eq!(res.status, 303, "{}", res.text());
    let location = res.header("location");
    let id: i64 = location
        .strip_prefix("/?created=")
        .unwrap()
        .parse()
        .unwrap();

    let note = alice.get(&format!("/api/notes/{id}")).await.json();
    assert_eq!(note["title"], "From a form");
    assert_eq!(
        note["body"], "line 1\nline 2 & more",
        "CRLF from browsers becomes LF"
    );
    assert_eq!(note["public"], true, "a ticked checkbox");

    // An unticked checkbox is simply absent.
    let req = alice.request_with("POST", "/api/notes/form", &[URLENCODED], "title=Private");
    let res = alice.send(req).await;
    let id = res
        .header("location")
        .strip_prefix("/?created=")
        .unwrap()
        .to_string();
    assert_eq!(
        alice.get(&format!("/api/notes/{id}")).await.json()["public"],
        false
    );
}

#[tokio::test]
async fn form_errors_redirect_with_a_message_or_answer_json() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;

    // A browser: back to the page, with the message in the URL.
    let req = alice.request_with("POST", "/api/notes/form", &[URLENCODED], "title=+&body=x");
    let res = alice.send(req).await;
    assert_eq!(res.status, 303);
    assert_eq!(
        res.header("location"),
        "/?error=title%20must%20not%20be%20empty"
    );

    // An API client asking for JSON: the 422 itself.
    let req = alice.request_with(
        "POST",
        "/api/notes/form",
        &[URLENCODED, ("accept", "application/json")],
        "body=no+title",
    );
    let res = alice.send(req).await;
    assert_eq!(res.status, 422);
    assert_eq!(res.json()["error"]["fields"]["title"], "must not be empty");

    // With JSON accepted, success is a 201 with the note.
    let req = alice.request_with(
        "POST",
        "/api/notes/form",
        &[URLENCODED, ("accept", "application/json")],
        "title=ok",
    );
    let res = alice.send(req).await;
    assert_eq!(res.status, 201);
    assert_eq!(res.json()["title"], "ok");

    // Not a form at all.
    let req = alice.request_with(
        "POST",
        "/api/notes/form",
        &[
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ],
        json!({ "title": "x" }).to_string(),
    );
    assert_eq!(alice.send(req).await.status, 415);
    assert_eq!(alice.get("/api/notes").await.json()["total"], 1);
}

#[tokio::test]
async fn file_upload_imports_a_note_and_redirects() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let content = "# Shopping\r\n\r\n- milk\r\n- bread ü\r\n";
    let (content_type, body) = multipart(&[
        ("file", Some("shopping list.md"), content.as_bytes()),
        ("public", None, b"on"),
    ]);
    let req = alice.request_with(
        "POST",
        "/api/notes/import",
        &[("content-type", &content_type)],
        body,
    );
    let res = alice.send(req).await;
    assert_eq!(res.status, 303, "{}", res.text());
    let id = res
        .header("location")
        .strip_prefix("/?created=")
        .unwrap()
        .to_string();
    let note = alice.get(&format!("/api/notes/{id}")).await.json();
    assert_eq!(
        note["title"], "shopping list",
        "the file name without its extension"
    );
    assert_eq!(note["body"], "# Shopping\n\n- milk\n- bread ü\n");
    assert_eq!(note["public"], true);

    // A title field wins over the file name.
    let (content_type, body) =
        multipart(&[("title", None, b"Named"), ("file", Some("x.txt"), b"text")]);
    let req = alice.request_with(
        "POST",
        "/api/notes/import",
        &[("content-type", &content_type)],
        body,
    );
    let res = alice.send(req).await;
    assert_eq!(res.status, 303);
    let id = res
        .header("location")
        .strip_prefix("/?created=")
        .unwrap()
        .to_string();
    let note = alice.get(&format!("/api/notes/{id}")).await.json();
    assert_eq!(note["title"], "Named");
    assert_eq!(note["public"], false);
}

#[tokio::test]
async fn bad_uploads_are_refused() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;

    let (content_type, body) = multipart(&[("title", None, b"no file")]);
    let req = alice.request_with(
        "POST",
        "/api/notes/import",
        &[("content-type", &content_type)],
        body,
    );
    let res = alice.send(req).await;
    assert_eq!(res.status, 303);
    assert_eq!(
        res.header("location"),
        "/?error=file%20choose%20a%20file%20to%20import"
    );

    let (content_type, body) = multipart(&[(
        "file",
        Some("image.png"),
        &[0x89, b'P', b'N', b'G', 0xff, 0xfe],
    )]);
    let req = alice.request_with(
        "POST",
        "/api/notes/import",
        &[
            ("content-type", &content_type),
            ("accept", "application/json"),
        ],
        body,
    );
    let res = alice.send(req).await;
    assert_eq!(res.status, 422);
    assert_eq!(res.json()["error"]["fields"]["file"], "must be UTF-8 text");

    // Over the route's BODY_LIMIT of 1 MiB: 413 before any of it is stored.
    let big = vec![b'a'; 1_100_000];
    let (content_type, body) = multipart(&[("file", Some("big.txt"), &big)]);
    let req = alice.request_with(
        "POST",
        "/api/notes/import",
        &[("content-type", &content_type)],
        body,
    );
    let res = alice.send(req).await;
    assert_eq!(res.status, 413, "{}", res.text());

    // 600 KB is within the limit, but its 600,000 characters are over the
    // 100,000 a note may have.
    let long = vec![b'a'; 600_000];
    let (content_type, body) = multipart(&[("file", Some("long.txt"), &long)]);
    let req = alice.request_with(
        "POST",
        "/api/notes/import",
        &[
            ("content-type", &content_type),
            ("accept", "application/json"),
        ],
        body,
    );
    let res = alice.send(req).await;
    assert_eq!(res.status, 422, "{}", res.text());
    assert_eq!(
        res.json()["error"]["fields"]["body"],
        "must be at most 100000 characters"
    );
    assert_eq!(alice.get("/api/notes").await.json()["total"], 0);
}
