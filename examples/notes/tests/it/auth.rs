//! Accounts, sessions and the private folder's middleware: who may do
//! what, and that one user can never see or touch another's notes.

use serde_json::json;

use notes::proxy::TrustedProxies;

use crate::support::{multipart, TestApp};

#[tokio::test]
async fn sign_up_sets_a_safe_session_cookie() {
    // Loopback is the TLS-terminating proxy here.
    let app = TestApp::with_peer_addresses(|config| {
        config.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
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

/// `X-Forwarded-Proto` from a client that is not a trusted proxy (none is,
/// by default) changes nothing.
#[tokio::test]
async fn forwarded_headers_from_untrusted_clients_are_ignored() {
    for app in [
        // Peer addresses known, loopback not trusted.
        TestApp::with_peer_addresses(|_| {}).await,
        // Under `approute::serve` (which gives the peer address): a proxy
        // list that leaves loopback out trusts nobody here.
        TestApp::with(|config| {
            config.trusted_proxies = TrustedProxies::parse("10.0.0.0/8, fd00::/8").unwrap();
        })
        .await,
    ] {
        let client = app.client();
        let req = client.request_with(
            "POST",
            "/api/auth/signup",
            &[
                ("content-type", "application/json"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "attacker.example"),
            ],
            json!({ "email": "alice@example.com", "password": "correct horse" }).to_string(),
        );
        let res = client.send(req).await;
        assert_eq!(res.status, 201, "{}", res.text());
        assert!(!res.header("set-cookie").contains("Secure"));
        // Nor does a forwarded host make another site's Origin this one.
        let req = client.request_with(
            "POST",
            "/api/auth/signout",
            &[
                ("origin", "https://attacker.example"),
                ("x-forwarded-host", "attacker.example"),
            ],
            "",
        );
        assert_eq!(client.send(req).await.status, 403);
    }
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

/// A cross-site form posting to sign-out would end the session (its
/// `Set-Cookie` clears the cookie even though `SameSite=Lax` kept the
/// cookie from being sent): refused like every other cross-site write.
#[tokio::test]
async fn cross_site_sign_out_is_refused() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let evil = alice.request_with(
        "POST",
        "/api/auth/signout",
        &[("origin", "https://evil.example")],
        "",
    );
    let res = alice.send(evil).await;
    assert_eq!(res.status, 403, "{}", res.text());
    assert!(res.headers.get("set-cookie").is_none());
    assert_eq!(alice.get("/api/me").await.status, 200, "still signed in");

    // Sign-in and sign-up refuse other sites too (login CSRF).
    for path in ["/api/auth/signin", "/api/auth/signup"] {
        let req = alice.request_with(
            "POST",
            path,
            &[
                ("content-type", "application/json"),
                ("origin", "https://evil.example"),
            ],
            json!({ "email": "mallory@example.com", "password": "correct horse" }).to_string(),
        );
        assert_eq!(alice.send(req).await.status, 403, "{path}");
    }

    // The page itself (same origin) signs out.
    let own = format!("http://127.0.0.1:{}", app.addr.port());
    let same = alice.request_with("POST", "/api/auth/signout", &[("origin", &own)], "");
    assert_eq!(alice.send(same).await.status, 204);
    assert_eq!(alice.get("/api/me").await.status, 401);
}

/// Wrong passwords in a row lock the account's sign-ins (`429` with
/// `Retry-After`, even with the right password) until the lock passes; a
/// right password before that starts the count again.
#[tokio::test]
async fn wrong_passwords_lock_the_account_for_a_while() {
    let app = TestApp::with(|config| {
        config.signin_lockout = std::time::Duration::from_secs(2);
        // Room for every parallel attempt below: none turned away busy.
        config.argon2_queue = 16;
    })
    .await;
    app.user("alice@example.com").await;
    app.user("bob@example.com").await;
    let client = app.client();
    let sign_in = |email: &'static str, password: &'static str| {
        let client = client.clone();
        let body = json!({ "email": email, "password": password });
        async move { client.post_json("/api/auth/signin", &body).await }
    };
    const ALICE: &str = "alice@example.com";
    let wrong = || sign_in(ALICE, "wrong horse");

    // Nine wrong, one right: the count starts again.
    for _ in 0..9 {
        assert_eq!(wrong().await.status, 401);
    }
    assert_eq!(sign_in(ALICE, "correct horse").await.status, 200);

    // Ten wrong in a row: the eleventh attempt is refused, right or not.
    for n in 1..=10 {
        let res = wrong().await;
        assert_eq!(res.status, 401, "attempt {n}: {}", res.text());
    }
    let locked = sign_in(ALICE, "correct horse").await;
    assert_eq!(locked.status, 429, "{}", locked.text());
    let retry: u64 = locked.header("retry-after").parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After: {retry}");
    assert!(locked.headers.get("set-cookie").is_none());
    // Emails without an account lock the same way (no hint which exist),
    // and guesses sent all at once do not slip past the count.
    let mut guesses = tokio::task::JoinSet::new();
    for _ in 0..11 {
        guesses.spawn(sign_in("nobody@example.com", "wrong horse"));
    }
    let mut statuses: Vec<u16> = guesses
        .join_all()
        .await
        .iter()
        .map(|res| res.status)
        .collect();
    statuses.sort();
    assert_eq!(statuses, [vec![401; 10], vec![429]].concat());
    // Other accounts are not affected.
    assert_eq!(
        sign_in("bob@example.com", "correct horse").await.status,
        200
    );

    // Once the lock has passed, the right password works.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(sign_in(ALICE, "correct horse").await.status, 200);
    assert_eq!(wrong().await.status, 401);
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
