//! The legacy API proxy against a second local axum server standing in for
//! the old service: answers pass through; failures become 502, slowness 504.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use approute::axum::body::Bytes;
use approute::axum::extract::{Path, RawQuery};
use approute::axum::http::{header, HeaderMap, StatusCode};
use approute::axum::routing::{get, post};
use approute::axum::{Json, Router};
use serde_json::json;

use crate::support::TestApp;

/// The old service: a few endpoints, one that fails, one that sleeps.
async fn upstream() -> SocketAddr {
    let router = Router::new()
        .route(
            "/quotes/{id}",
            get(|Path(id): Path<String>, RawQuery(query): RawQuery| async move {
                Json(json!({ "id": id, "query": query, "quote": "Simplicity is prerequisite for reliability." }))
            }),
        )
        .route(
            "/echo",
            post(|headers: HeaderMap, body: Bytes| async move {
                let kind = headers.get(header::CONTENT_TYPE).cloned().unwrap();
                ([(header::CONTENT_TYPE, kind), (header::SERVER, "legacy/1.0".parse().unwrap())], body)
            }),
        )
        .route(
            "/headers",
            get(|headers: HeaderMap| async move {
                let has = |name: header::HeaderName| headers.contains_key(name);
                Json(json!({
                    "cookie": has(header::COOKIE),
                    "authorization": has(header::AUTHORIZATION),
                    "accept": headers.get(header::ACCEPT).map(|v| v.to_str().unwrap()),
                }))
            }),
        )
        .route("/boom", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "stack trace here") }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "finally"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { approute::axum::serve(listener, router).await.unwrap() });
    addr
}

async fn app_with_upstream(base: String) -> TestApp {
    TestApp::with(|config| {
        config.legacy_api_url = Some(base);
        config.legacy_timeout = Duration::from_millis(500);
    })
    .await
}

#[tokio::test]
async fn answers_pass_through() {
    let addr = upstream().await;
    let app = app_with_upstream(format!("http://{addr}")).await;
    let alice = app.user("alice@example.com").await;

    let res = alice.get("/api/legacy/quotes/7?lang=en&x=a%20b").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("content-type"), "application/json");
    let body = res.json();
    assert_eq!(body["id"], "7");
    assert_eq!(body["query"], "lang=en&x=a%20b", "the query string as sent");

    let req = alice.request_with(
        "POST",
        "/api/legacy/echo",
        &[("content-type", "text/csv")],
        "a,b\n1,2\n",
    );
    let res = alice.send(req).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), "text/csv");
    assert_eq!(res.text(), "a,b\n1,2\n");
    assert!(
        res.headers.get("server").is_none(),
        "only chosen headers come back"
    );

    // The upstream's own 404 stays a 404.
    let res = alice.get("/api/legacy/no/such/thing").await;
    assert_eq!(res.status, 404);

    // No climbing out of the base URL's path: approute refuses a dot
    // segment before the handler runs (the handler's own check stays).
    for path in [
        "/api/legacy/quotes/../../admin",
        "/api/legacy/%2e%2E/admin",
        "/api/legacy/./x",
    ] {
        let res = alice.get(path).await;
        assert_eq!(res.status, 404, "{path}: {}", res.text());
    }
}

#[tokio::test]
async fn the_users_credentials_stay_here() {
    let addr = upstream().await;
    let app = app_with_upstream(format!("http://{addr}")).await;
    let alice = app.user("alice@example.com").await;
    let req = alice.request_with(
        "GET",
        "/api/legacy/headers",
        &[
            ("accept", "application/json"),
            ("authorization", "Basic eDp5"),
        ],
        "",
    );
    let res = alice.send(req).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let seen = res.json();
    assert_eq!(seen["cookie"], false, "the session cookie is not sent on");
    assert_eq!(seen["authorization"], false);
    assert_eq!(seen["accept"], "application/json");
}

#[tokio::test]
async fn upstream_failures_are_502() {
    let addr = upstream().await;
    let app = app_with_upstream(format!("http://{addr}")).await;
    let alice = app.user("alice@example.com").await;

    let res = alice.get("/api/legacy/boom").await;
    assert_eq!(res.status, 502, "{}", res.text());
    let error = &res.json()["error"];
    assert_eq!(error["upstream_status"], 500);
    assert!(
        !res.text().contains("stack trace"),
        "the upstream's body stays there"
    );

    // Nothing listens there any more.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let app = app_with_upstream(format!("http://{closed}")).await;
    let alice = app.user("alice@example.com").await;
    let res = alice.get("/api/legacy/quotes/1").await;
    assert_eq!(res.status, 502, "{}", res.text());
    assert!(res.error().contains("unreachable"), "{}", res.error());
}

#[tokio::test]
async fn a_slow_upstream_is_504_on_time() {
    let addr = upstream().await;
    let app = app_with_upstream(format!("http://{addr}")).await;
    let alice = app.user("alice@example.com").await;
    let started = Instant::now();
    let res = alice.get("/api/legacy/slow").await;
    let took = started.elapsed();
    assert_eq!(res.status, 504, "{}", res.text());
    assert!(
        res.error().contains("did not answer within"),
        "{}",
        res.error()
    );
    assert!(
        took >= Duration::from_millis(450),
        "waited the timeout: {took:?}"
    );
    assert!(
        took < Duration::from_secs(2),
        "did not wait for the upstream: {took:?}"
    );
}

#[tokio::test]
async fn without_a_legacy_url_it_is_503() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let res = alice.get("/api/legacy/quotes/1").await;
    assert_eq!(res.status, 503);
    assert!(res.error().contains("LEGACY_API_URL"));
}
