//! What is not JSON: the RSS feed, robots.txt, the public note page and the
//! web page itself; and the health check.

use crate::support::TestApp;

#[tokio::test]
async fn feed_lists_public_notes_as_rss() {
    let app = TestApp::with(|config| config.public_url = "https://notes.example".into()).await;
    let alice = app.user("alice@example.com").await;
    alice.create_note("Hidden", "private body", false).await;
    let public = alice
        .create_note("Fish & <Chips>", "body with \"quotes\"", true)
        .await;

    let res = app.client().get("/feed.xml").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type"),
        "application/rss+xml; charset=utf-8"
    );
    assert_eq!(res.header("cache-control"), "public, max-age=60");
    let xml = res.text();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">"));
    assert!(
        xml.contains("<title>Fish &amp; &lt;Chips&gt;</title>"),
        "{xml}"
    );
    assert!(
        xml.contains("<description>body with &quot;quotes&quot;</description>"),
        "{xml}"
    );
    assert!(xml.contains("<link>https://notes.example/</link>"), "{xml}");
    let link = format!("<link>https://notes.example/notes/{}</link>", public["id"]);
    assert!(xml.contains(&link), "{xml}");
    assert!(
        xml.contains("<pubDate>") && xml.contains(" GMT</pubDate>"),
        "{xml}"
    );
    assert!(
        !xml.contains("Hidden") && !xml.contains("private body"),
        "{xml}"
    );
    assert_eq!(xml.matches("<item>").count(), 1);
}

/// `REVALIDATE = 60` caches the feed; a change to a public note purges it
/// (tag `feed`), a change to a private one does not need to.
#[tokio::test]
async fn feed_is_cached_and_purged_when_public_notes_change() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let reader = app.client();
    alice.create_note("First", "", true).await;

    let first = reader.get("/feed.xml").await;
    assert_eq!(first.header("x-approute-cache"), "MISS");
    let again = reader.get("/feed.xml").await;
    assert_eq!(again.header("x-approute-cache"), "HIT");
    assert_eq!(again.body, first.body);

    // A private note: not in the feed, so the cached feed stays.
    alice.create_note("Private", "", false).await;
    assert_eq!(
        reader.get("/feed.xml").await.header("x-approute-cache"),
        "HIT"
    );

    // A public one: purged, the next reader sees it at once.
    let second = alice.create_note("Second", "", true).await;
    let res = reader.get("/feed.xml").await;
    assert_eq!(res.header("x-approute-cache"), "MISS");
    assert!(res.text().contains("<title>Second</title>"));

    // Made private: purged, gone from the feed.
    let url = format!("/api/notes/{}", second["id"]);
    alice
        .patch_json(&url, &serde_json::json!({ "public": false }))
        .await;
    let res = reader.get("/feed.xml").await;
    assert!(
        !res.text().contains("<title>Second</title>"),
        "{}",
        res.text()
    );

    // A signed-in reader (with a cookie) is served from the cache too:
    // the route sets CACHE_CREDENTIALED, the feed being the same for all.
    reader.get("/feed.xml").await;
    assert_eq!(
        alice.get("/feed.xml").await.header("x-approute-cache"),
        "HIT"
    );
}

/// The feed is cached for everyone: a request with a forged
/// `X-Forwarded-Host` (or `Host`) must not put its host in the links that
/// other clients then get, whether it fills the cache or not.
#[tokio::test]
async fn forged_host_headers_do_not_poison_the_cached_feed() {
    let app = TestApp::with_peer_addresses(|config| {
        config.public_url = "https://notes.example".into();
    })
    .await;
    let alice = app.user("alice@example.com").await;
    alice.create_note("Hello", "", true).await;
    let attacker = app.client();
    let forged = attacker.request_with(
        "GET",
        "/feed.xml",
        &[
            ("x-forwarded-host", "attacker.example"),
            ("x-forwarded-proto", "https"),
        ],
        "",
    );
    let poisoned = attacker.send(forged).await;
    assert_eq!(
        poisoned.header("x-approute-cache"),
        "MISS",
        "it filled the cache"
    );
    assert!(
        !poisoned.text().contains("attacker.example"),
        "{}",
        poisoned.text()
    );
    let forged_host =
        attacker.request_with("GET", "/feed.xml", &[("host", "attacker.example")], "");
    attacker.send(forged_host).await;

    let reader = app.client().get("/feed.xml").await;
    let xml = reader.text();
    assert!(!xml.contains("attacker.example"), "{xml}");
    assert!(xml.contains("<link>https://notes.example/notes/"), "{xml}");
}

#[tokio::test]
async fn robots_txt_is_plain_text() {
    let app = TestApp::with(|config| config.public_url = "https://notes.example".into()).await;
    let res = app.client().get("/robots.txt").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), "text/plain; charset=utf-8");
    let text = res.text();
    assert!(text.starts_with("User-agent: *\n"), "{text}");
    assert!(text.contains("Disallow: /api/\n"), "{text}");
    assert!(
        text.contains("Sitemap: https://notes.example/feed.xml"),
        "{text}"
    );
}

#[tokio::test]
async fn public_notes_have_a_page_private_ones_do_not() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let public = alice
        .create_note("<script>alert(1)</script>", "hello", true)
        .await;
    let private = alice.create_note("private", "", false).await;
    let anyone = app.client();

    let res = anyone.get(&format!("/notes/{}", public["id"])).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), "text/html; charset=utf-8");
    let html = res.text();
    assert!(
        html.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "escaped: {html}");

    for path in [
        format!("/notes/{}", private["id"]),
        "/notes/999".into(),
        "/notes/x".into(),
    ] {
        let res = anyone.get(&path).await;
        assert_eq!(res.status, 404, "{path}");
        assert_eq!(res.header("content-type"), "text/html; charset=utf-8");
    }
    // Not even its owner sees a private note here: this page is public.
    assert_eq!(
        alice.get(&format!("/notes/{}", private["id"])).await.status,
        404
    );
}

/// The page's query is `cached` under the `feed` tag, which a change to a
/// public note purges: an edit, or making the note private, shows at once.
#[tokio::test]
async fn a_public_note_page_shows_a_change_at_once() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let note = alice.create_note("first", "", true).await;
    let page = format!("/notes/{}", note["id"]);
    let url = format!("/api/notes/{}", note["id"]);
    let anyone = app.client();
    assert!(anyone.get(&page).await.text().contains("<h1>first</h1>"));
    assert!(anyone.get(&page).await.text().contains("<h1>first</h1>"));
    let edit = alice
        .patch_json(&url, &serde_json::json!({"title": "second"}))
        .await;
    assert_eq!(edit.status, 200, "{}", edit.text());
    assert!(anyone.get(&page).await.text().contains("<h1>second</h1>"));
    let hide = alice
        .patch_json(&url, &serde_json::json!({"public": false}))
        .await;
    assert_eq!(hide.status, 200, "{}", hide.text());
    assert_eq!(anyone.get(&page).await.status, 404);
}

#[tokio::test]
async fn the_web_page_and_the_health_check() {
    let app = TestApp::start().await;
    let client = app.client();
    let res = client.get("/").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), "text/html; charset=utf-8");
    let html = res.text();
    assert!(html.contains("<title>Notes</title>"));
    assert!(html.contains("new EventSource(\"/api/events\")"));
    assert!(html.contains("action=\"/api/notes/form\""));
    assert!(html.contains("enctype=\"multipart/form-data\""));

    let res = client.get("/api/health").await;
    assert_eq!(res.status, 200);
    let health = res.json();
    assert_eq!(health["ok"], true);
    assert_eq!(health["database"], app.state.db.backend.name());
}
