//! Accounts, sessions and the private folder's middleware: who may do
//! what, and that one user can never see or touch another's notes.

use serde_json::json;

use crate::support::{multipart, TestApp};

#[tokio::test]
async fn sign_up_sets_a_safe_session_cookie() {
    let app = TestApp::start().await;
    let client = app.client();
    let res = client
        .post_json(
            "/api/auth/signup",
            &json!({ "email": " Alice@Example.com ", "password": "correct horse" }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["user"]["email"], "alice@example.com");
    let cookie = res.header("set-cookie");
    assert!(cookie.starts_with("session="), "{cookie}");
    assert!(cookie.contains("; HttpOnly"), "{cookie}");
    assert!(cookie.contains("; SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("; Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");

    // Behind a TLS-terminating proxy the cookie is Secure.
    let req = client.request_with(
        "POST",
        "/api/auth/signin",
        &[
            ("content-type", "application/json"),
            ("x-forwarded-proto", "https"),
        ],
        json!({ "email": "alice@example.com", "password": "correct horse" }).to_string(),
    );
    let res = client.send(req).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.header("set-cookie").ends_with("; Secure"));
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes() {
    // The real defaults here, not the test's cheap ones.
    let app = TestApp::with(|config| {
        let defaults = notes::Config::default();
        config.argon2_memory_kib = defaults.argon2_memory_kib;
        config.argon2_iterations = defaults.argon2_iterations;
    })
    .await;
    app.user("alice@example.com").await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE email = $1")
        .bind("alice@example.com")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains("correct horse"));
    // Sessions are kept as hashes too: the token itself is nowhere.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].len(), 64);
}

#[tokio::test]
async fn sign_up_and_sign_in_mistakes() {
    let app = TestApp::start().await;
    app.user("alice@example.com").await;
    let client = app.client();

    let res = client
        .post_json(
            "/api/auth/signup",
            &json!({ "email": "ALICE@example.com", "password": "another one" }),
        )
        .await;
    assert_eq!(res.status, 409, "{}", res.text());

    let res = client
        .post_json(
            "/api/auth/signup",
            &json!({ "email": "not-an-email", "password": "short" }),
        )
        .await;
    assert_eq!(res.status, 422);
    let fields = &res.json()["error"]["fields"];
    assert_eq!(fields["email"], "must be an email address");
    assert_eq!(fields["password"], "must be at least 8 characters");

    let res = client
        .post_json("/api/auth/signup", &json!({ "email": "a@b.io" }))
        .await;
    assert_eq!(res.status, 422, "missing password");

    let wrong = client
        .post_json(
            "/api/auth/signin",
            &json!({ "email": "alice@example.com", "password": "wrong horse" }),
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.headers.get("set-cookie").is_none());
    let nobody = client
        .post_json(
            "/api/auth/signin",
            &json!({ "email": "bob@example.com", "password": "correct horse" }),
        )
        .await;
    assert_eq!(nobody.status, 401);
    assert_eq!(wrong.error(), nobody.error(), "no hint which emails exist");

    let res = client
        .post_json(
            "/api/auth/signin",
            &json!({ "email": "alice@example.com", "password": "correct horse" }),
        )
        .await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn private_routes_need_a_session() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let note = alice.create_note("mine", "", false).await;
    let id = note["id"].as_i64().unwrap();
    let anonymous = app.client();
    let (content_type, body) = multipart(&[("file", Some("a.md"), b"x")]);
    let requests = [
        anonymous.request("GET", "/api/notes"),
        anonymous.request_with(
            "POST",
            "/api/notes",
            &[("content-type", "application/json")],
            r#"{"title":"x"}"#,
        ),
        anonymous.request("GET", &format!("/api/notes/{id}")),
        anonymous.request_with(
            "PATCH",
            &format!("/api/notes/{id}"),
            &[("content-type", "application/json")],
            r#"{"title":"x"}"#,
        ),
        anonymous.request("DELETE", &format!("/api/notes/{id}")),
        anonymous.request_with(
            "POST",
            "/api/notes/form",
            &[("content-type", "application/x-www-form-urlencoded")],
            "title=x",
        ),
        anonymous.request_with(
            "POST",
            "/api/notes/import",
            &[("content-type", content_type.as_str())],
            body,
        ),
        anonymous.request("GET", "/api/events"),
        anonymous.request("GET", "/api/me"),
        anonymous.request("GET", "/api/legacy/anything"),
        // A session token nobody issued.
        anonymous.request_with("GET", "/api/notes", &[("cookie", "session=0123abcd")], ""),
        anonymous.request_with(
            "GET",
            "/api/notes",
            &[("authorization", "Bearer 0123abcd")],
            "",
        ),
    ];
    for req in requests {
        let line = format!("{} {}", req.method(), req.uri().path());
        let res = anonymous.send(req).await;
        assert_eq!(res.status, 401, "{line}: {}", res.text());
        assert_eq!(res.header("content-type"), "application/json", "{line}");
        assert_eq!(res.json()["error"]["status"], 401, "{line}");
    }
    // Nothing changed.
    assert_eq!(alice.get(&format!("/api/notes/{id}")).await.json(), note);

    // The same token as a Bearer header works, for API clients.
    let req = anonymous.request_with(
        "GET",
        "/api/me",
        &[("authorization", &format!("Bearer {}", alice.token()))],
        "",
    );
    let res = anonymous.send(req).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["email"], "alice@example.com");
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    assert_eq!(alice.get("/api/me").await.status, 200);
    let res = alice.send(alice.request("POST", "/api/auth/signout")).await;
    assert_eq!(res.status, 204);
    assert!(res.header("set-cookie").contains("Max-Age=0"));
    // The old cookie is dead on the server, whatever the browser keeps.
    assert_eq!(alice.get("/api/me").await.status, 401);
    assert_eq!(alice.get("/api/notes").await.status, 401);
}

#[tokio::test]
async fn users_never_see_or_change_each_others_notes() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let bob = app.user("bob@example.com").await;
    let note = alice
        .create_note("alice's secret", "do not read", true)
        .await;
    let url = format!("/api/notes/{}", note["id"]);

    // Bob: as if the note did not exist, whatever he tries.
    let res = bob.get(&url).await;
    assert_eq!(res.status, 404);
    assert_eq!(res.error(), "note not found");
    assert_eq!(
        bob.patch_json(&url, &json!({ "title": "mine now" }))
            .await
            .status,
        404
    );
    assert_eq!(
        bob.patch_json(&url, &json!({ "title": "mine now", "version": 1 }))
            .await
            .status,
        404
    );
    assert_eq!(bob.delete(&url).await.status, 404);
    let list = bob.get("/api/notes?q=secret").await.json();
    assert_eq!(list["total"], 0);
    assert_eq!(list["notes"], json!([]));

    // Alice's note is untouched.
    let res = alice.get(&url).await;
    assert_eq!(res.json(), note);
    assert_eq!(alice.get("/api/notes").await.json()["total"], 1);
}

#[tokio::test]
async fn cross_site_writes_are_refused() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let host = format!("127.0.0.1:{}", app.addr.port());

    let evil = alice.request_with(
        "POST",
        "/api/notes",
        &[
            ("content-type", "application/json"),
            ("origin", "https://evil.example"),
        ],
        r#"{"title":"csrf"}"#,
    );
    let res = alice.send(evil).await;
    assert_eq!(res.status, 403, "{}", res.text());
    assert_eq!(alice.get("/api/notes").await.json()["total"], 0);

    // The page's own fetches carry its own origin: fine.
    let same = alice.request_with(
        "POST",
        "/api/notes",
        &[
            ("content-type", "application/json"),
            ("origin", &format!("http://{host}")),
        ],
        r#"{"title":"ok"}"#,
    );
    assert_eq!(alice.send(same).await.status, 201);
    // Reads are not writes.
    let read = alice.request_with(
        "GET",
        "/api/notes",
        &[("origin", "https://evil.example")],
        "",
    );
    assert_eq!(alice.send(read).await.status, 200);
}
