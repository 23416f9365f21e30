//! HTML form posts and file uploads: they create notes and answer `303
//! See Other` back to the page, as a Next.js server action would.

use serde_json::{json, Value};

use crate::support::{multipart, Client, Res, TestApp};

const URLENCODED: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
/// Asks for errors as JSON rather than a redirect back to the page.
const ACCEPT_JSON: (&str, &str) = ("accept", "application/json");

#[tokio::test]
async fn form_post_creates_a_note_and_redirects() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let res = post_form(
        &alice,
        &[URLENCODED],
        "title=From+a+form&body=line+1%0D%0Aline+2+%26+more&public=on",
    )
    .await;
    assert_eq!(res.status, 303, "{}", res.text());
    let note = created_note(&alice, &res).await;
    assert_eq!(note["title"], "From a form");
    assert_eq!(
        note["body"], "line 1\nline 2 & more",
        "CRLF from browsers becomes LF"
    );
    assert_eq!(note["public"], true, "a ticked checkbox");

    // An unticked checkbox is simply absent.
    let res = post_form(&alice, &[URLENCODED], "title=Private").await;
    assert_eq!(created_note(&alice, &res).await["public"], false);
}

#[tokio::test]
async fn form_errors_redirect_with_a_message_or_answer_json() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;

    // A browser: back to the page, with the message in the URL.
    let res = post_form(&alice, &[URLENCODED], "title=+&body=x").await;
    assert_eq!(res.status, 303);
    assert_eq!(
        res.header("location"),
        "/?error=title%20must%20not%20be%20empty"
    );

    // An API client asking for JSON: the 422 itself.
    let res = post_form(&alice, &[URLENCODED, ACCEPT_JSON], "body=no+title").await;
    assert_eq!(res.status, 422);
    assert_eq!(res.json()["error"]["fields"]["title"], "must not be empty");

    // With JSON accepted, success is a 201 with the note.
    let res = post_form(&alice, &[URLENCODED, ACCEPT_JSON], "title=ok").await;
    assert_eq!(res.status, 201);
    assert_eq!(res.json()["title"], "ok");

    // Not a form at all.
    let json_body = json!({ "title": "x" }).to_string();
    let res = post_form(
        &alice,
        &[("content-type", "application/json"), ACCEPT_JSON],
        &json_body,
    )
    .await;
    assert_eq!(res.status, 415);
    assert_eq!(alice.get("/api/notes").await.json()["total"], 1);
}

#[tokio::test]
async fn file_upload_imports_a_note_and_redirects() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let content = "# Shopping\r\n\r\n- milk\r\n- bread ü\r\n";
    let res = import(
        &alice,
        &[
            ("file", Some("shopping list.md"), content.as_bytes()),
            ("public", None, b"on"),
        ],
        &[],
    )
    .await;
    assert_eq!(res.status, 303, "{}", res.text());
    let note = created_note(&alice, &res).await;
    assert_eq!(
        note["title"], "shopping list",
        "the file name without its extension"
    );
    assert_eq!(note["body"], "# Shopping\n\n- milk\n- bread ü\n");
    assert_eq!(note["public"], true);

    // A title field wins over the file name.
    let res = import(
        &alice,
        &[("title", None, b"Named"), ("file", Some("x.txt"), b"text")],
        &[],
    )
    .await;
    assert_eq!(res.status, 303);
    let note = created_note(&alice, &res).await;
    assert_eq!(note["title"], "Named");
    assert_eq!(note["public"], false);
}

#[tokio::test]
async fn bad_uploads_are_refused() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;

    let res = import(&alice, &[("title", None, b"no file")], &[]).await;
    assert_eq!(res.status, 303);
    assert_eq!(
        res.header("location"),
        "/?error=file%20choose%20a%20file%20to%20import"
    );

    let res = import(
        &alice,
        &[(
            "file",
            Some("image.png"),
            &[0x89, b'P', b'N', b'G', 0xff, 0xfe],
        )],
        &[ACCEPT_JSON],
    )
    .await;
    assert_eq!(res.status, 422);
    assert_eq!(res.json()["error"]["fields"]["file"], "must be UTF-8 text");

    // Over the route's BODY_LIMIT of 1 MiB: 413 before any of it is stored.
    let big = vec![b'a'; 1_100_000];
    let res = import(&alice, &[("file", Some("big.txt"), &big)], &[]).await;
    assert_eq!(res.status, 413, "{}", res.text());

    // 600 KB is within the limit, but its 600,000 characters are over the
    // 100,000 a note may have.
    let long = vec![b'a'; 600_000];
    let res = import(&alice, &[("file", Some("long.txt"), &long)], &[ACCEPT_JSON]).await;
    assert_eq!(res.status, 422, "{}", res.text());
    assert_eq!(
        res.json()["error"]["fields"]["body"],
        "must be at most 100000 characters"
    );
    assert_eq!(alice.get("/api/notes").await.json()["total"], 0);
}

/// Posts `parts` as a multipart form to the import endpoint, with `headers`
/// besides its `content-type`.
async fn import(
    client: &Client,
    parts: &[(&str, Option<&str>, &[u8])],
    headers: &[(&str, &str)],
) -> Res {
    let (content_type, body) = multipart(parts);
    let mut all = vec![("content-type", content_type.as_str())];
    all.extend_from_slice(headers);
    let req = client.request_with("POST", "/api/notes/import", &all, body);
    client.send(req).await
}

/// Posts `body` to the form endpoint with `headers`.
async fn post_form(client: &Client, headers: &[(&str, &str)], body: &str) -> Res {
    let req = client.request_with("POST", "/api/notes/form", headers, body.to_string());
    client.send(req).await
}

/// The note a `303` to `/?created=ID` says was made.
async fn created_note(client: &Client, res: &Res) -> Value {
    let location = res.header("location");
    let id: i64 = location
        .strip_prefix("/?created=")
        .unwrap_or_else(|| panic!("not a created redirect: {location}"))
        .parse()
        .unwrap();
    client.get(&format!("/api/notes/{id}")).await.json()
}
