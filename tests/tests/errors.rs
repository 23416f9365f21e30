//! Whose error answer is it? `approute::serve` gives the framework's own
//! (no route, wrong method, a body over the limit, a bad path) a small body
//! by `Accept`, with `Vary: Accept`, and leaves a handler's own error
//! answers exactly as the handler made them, empty ones included: the
//! framework marks its answers instead of guessing from an empty body.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use approute::axum::http::StatusCode;
use approute::axum::routing::{get, post};
use approute::axum::Router;
use approute_tests::next14;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What came back: the status, headers lower-cased, and the body.
struct Seen {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    fn names(&self) -> Vec<&str> {
        self.headers.keys().map(String::as_str).collect()
    }
}

const JSON: Option<&str> = Some("application/json");

/// Serves `router` with `approute::serve` on a free port, with a body
/// limit of 64 bytes, until the test's runtime ends.
async fn start(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = approute::serve(router)
        .body_limit(64)
        .listener(listener)
        .shutdown_on(std::future::pending());
    tokio::spawn(server.run());
    addr
}

/// One request on its own connection, read until the server closes it.
async fn send(addr: SocketAddr, method: &str, path: &str, accept: Option<&str>) -> Seen {
    let accept = accept.map_or(String::new(), |a| format!("accept: {a}\r\n"));
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: t\r\n{accept}content-length: 0\r\nconnection: close\r\n\r\n"
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers: BTreeMap<String, String> = lines
        .map(|line| line.split_once(':').unwrap())
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    // Every answer here has a length, so the body is not chunked.
    assert!(headers.contains_key("content-length"), "{raw}");
    Seen {
        status,
        headers,
        body: body.to_string(),
    }
}

fn handlers() -> Router {
    Router::new()
        .route("/own/404", get(|| async { StatusCode::NOT_FOUND }))
        .route("/own/400", get(|| async { StatusCode::BAD_REQUEST }))
        .route(
            "/own/500",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route(
            "/own/404-tagged",
            get(|| async { (StatusCode::NOT_FOUND, [("x-own", "yes")]) }),
        )
        .route(
            "/own/404-text",
            get(|| async { (StatusCode::NOT_FOUND, "not here") }),
        )
        .route("/own/post-only", post(|| async { "posted" }))
        .merge(next14::router())
}

#[tokio::test]
async fn a_handlers_empty_error_answer_reaches_the_client_untouched() {
    let addr = start(handlers()).await;
    for (path, status) in [("/own/404", 404), ("/own/400", 400), ("/own/500", 500)] {
        for accept in [None, JSON] {
            let seen = send(addr, "GET", path, accept).await;
            let case = format!("{path} accept {accept:?}");
            assert_eq!(seen.status, status, "{case}");
            assert_eq!(seen.body, "", "{case}");
            // What hyper adds to any answer, and nothing of ours.
            assert_eq!(
                seen.names(),
                ["connection", "content-length", "date"],
                "{case}"
            );
            assert_eq!(seen.header("content-length"), Some("0"), "{case}");
        }
    }
    for accept in [None, JSON] {
        let tagged = send(addr, "GET", "/own/404-tagged", accept).await;
        assert_eq!((tagged.status, tagged.body.as_str()), (404, ""));
        assert_eq!(tagged.header("x-own"), Some("yes"));
        assert_eq!(tagged.header("vary"), None);

        let text = send(addr, "GET", "/own/404-text", accept).await;
        assert_eq!((text.status, text.body.as_str()), (404, "not here"));
        assert_eq!(text.header("vary"), None);
    }
}

#[tokio::test]
async fn the_frameworks_error_answers_keep_their_bodies() {
    let addr = start(handlers()).await;

    let none = send(addr, "GET", "/no/such/route", None).await;
    assert_eq!(none.status, 404);
    assert_eq!(none.body, "404 Not Found: no route matches this path\n");
    assert_eq!(
        none.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(none.header("vary"), Some("Accept"));
    let none = send(addr, "GET", "/no/such/route", JSON).await;
    assert_eq!(none.header("content-type"), Some("application/json"));
    assert_eq!(none.header("vary"), Some("Accept"));
    assert_eq!(
        none.body,
        r#"{"error":{"status":404,"message":"no route matches this path"}}"#
    );

    // The 405 of a generated route and of axum's own method router: both
    // keep their `Allow`.
    for (path, allow) in [("/api/hello", "GET"), ("/own/post-only", "POST")] {
        let wrong = send(addr, "DELETE", path, None).await;
        assert_eq!(wrong.status, 405, "{path}");
        assert!(wrong.header("allow").is_some_and(|a| a.contains(allow)));
        assert_eq!(
            wrong.body, "405 Method Not Allowed: this route does not answer this method\n",
            "{path}"
        );
        assert_eq!(wrong.header("vary"), Some("Accept"), "{path}");
        let wrong = send(addr, "DELETE", path, JSON).await;
        assert_eq!(
            wrong.body,
            r#"{"error":{"status":405,"message":"this route does not answer this method"}}"#,
            "{path}"
        );
    }

    // Over the server's body limit of 64 bytes.
    let head = "POST /own/post-only HTTP/1.1\r\nhost: t\r\ncontent-length: 65\r\n\
                connection: close\r\n\r\n";
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    assert!(
        raw.to_ascii_lowercase().contains("\r\nvary: accept\r\n"),
        "{raw}"
    );
    assert!(
        raw.ends_with("413 Payload Too Large: the request body is over the limit of 64 bytes\n"),
        "{raw}"
    );

    // A route's own check: its line of text as it was, or JSON.
    let bad = send(addr, "GET", "/api/users/%zz", None).await;
    assert_eq!(
        (bad.status, bad.body.as_str()),
        (
            400,
            "400 Bad Request: the URL path has malformed percent-encoding"
        )
    );
    assert_eq!(bad.header("vary"), Some("Accept"));
    let bad = send(addr, "GET", "/api/users/%zz", JSON).await;
    assert_eq!(
        bad.body,
        r#"{"error":{"status":400,"message":"the URL path has malformed percent-encoding"}}"#
    );
}
