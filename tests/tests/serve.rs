//! `approute::serve` over real sockets: panics, body limits, timeouts,
//! error bodies, graceful shutdown (in process and in a child process sent
//! SIGTERM), and a suite of malformed requests.

mod support;

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use approute::axum::body::{Body, Bytes};
use approute::axum::extract::DefaultBodyLimit;
use approute::axum::http::{StatusCode, Uri};
use approute::axum::routing::{get, post};
use approute::axum::Router;
use approute::serve::Server;
use approute_tests::{limits, next14};
use http_body_util::BodyExt;
use support::{parse_response, Answer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------
// A tiny HTTP/1.1 client that reads exactly one response.

/// What came back for a request.
#[derive(Debug)]
enum Outcome {
    Reply(Answer),
    /// The server closed the connection without a byte of answer.
    Closed,
    /// The connection was reset without a byte of answer.
    Reset,
    /// Some bytes, then the end: a broken answer.
    Partial(Vec<u8>),
    /// Nothing conclusive before the deadline.
    Hang(Vec<u8>),
}

impl Outcome {
    fn reply(self) -> Answer {
        match self {
            Outcome::Reply(reply) => reply,
            other => panic!("expected an answer, got {other:?}"),
        }
    }
}

/// Reads one response from `stream`, giving up after `deadline`.
async fn read_reply(stream: &mut TcpStream, deadline: Duration, head_request: bool) -> Outcome {
    let mut buf = Vec::new();
    let read = async {
        let mut chunk = [0u8; 8192];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) => {
                    return match parse_response(&buf, true, head_request) {
                        Some(reply) => Outcome::Reply(reply),
                        None if buf.is_empty() => Outcome::Closed,
                        None => Outcome::Partial(buf.clone()),
                    }
                }
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(reply) = parse_response(&buf, false, head_request) {
                        return Outcome::Reply(reply);
                    }
                }
                Err(_) if buf.is_empty() => return Outcome::Reset,
                Err(_) => {
                    return match parse_response(&buf, true, head_request) {
                        Some(reply) => Outcome::Reply(reply),
                        None => Outcome::Partial(buf.clone()),
                    }
                }
            }
        }
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Hang(buf),
    }
}

/// Sends `bytes` on a new connection and reads one response.
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Outcome {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(bytes).await;
    read_reply(&mut stream, Duration::from_secs(10), false).await
}

fn get_request(path: &str, accept: Option<&str>) -> Vec<u8> {
    let accept = accept
        .map(|a| format!("accept: {a}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nhost: test\r\n{accept}\r\n").into_bytes()
}

async fn http_get(addr: SocketAddr, path: &str) -> Answer {
    exchange(addr, &get_request(path, None)).await.reply()
}

async fn http_get_json(addr: SocketAddr, path: &str) -> Answer {
    exchange(addr, &get_request(path, Some("application/json")))
        .await
        .reply()
}

fn post_request(path: &str, body: &[u8], accept: Option<&str>) -> Vec<u8> {
    let accept = accept
        .map(|a| format!("accept: {a}\r\n"))
        .unwrap_or_default();
    let mut bytes = format!(
        "POST {path} HTTP/1.1\r\nhost: test\r\n{accept}content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn chunked_request(path: &str, chunks: &[&[u8]]) -> Vec<u8> {
    let mut bytes =
        format!("POST {path} HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n")
            .into_bytes();
    for chunk in chunks {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}

/// Waits until connecting to `addr` is refused; how long that took.
async fn refused_within(addr: SocketAddr, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        match TcpStream::connect(addr).await {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return started.elapsed(),
            // Reset: it reached the backlog as the listener closed.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("connect failed oddly: {e}"),
            Ok(_) => {}
        }
        assert!(
            started.elapsed() < limit,
            "still accepting connections {limit:?} after shutdown"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn wait_for(count: &AtomicUsize, n: usize) {
    let started = Instant::now();
    while count.load(Ordering::SeqCst) < n {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "only {} of {n} requests reached the handler",
            count.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

// ---------------------------------------------------------------------------
// Servers under test.

/// Hand-made routes under `/t`, merged with the Next.js reference tree.
fn router() -> Router {
    Router::new()
        .route("/t/ok", get(|| async { "ok" }))
        .route(
            "/t/panic",
            get(|| async {
                if true {
                    panic!("handler exploded");
                }
                "unreachable"
            }),
        )
        .route("/t/slow", get(slow))
        .route(
            "/t/len",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route("/t/stream-len", post(stream_len))
        .route(
            "/t/tiny-len",
            post(|body: Bytes| async move { body.len().to_string() })
                .layer(DefaultBodyLimit::max(16)),
        )
        .route("/t/empty-404", get(|| async { StatusCode::NOT_FOUND }))
        .route(
            "/t/own-404",
            get(|| async { (StatusCode::NOT_FOUND, "custom not found") }),
        )
        .merge(next14::router())
}

/// Sleeps `?ms=` milliseconds.
async fn slow(uri: Uri) -> &'static str {
    let ms = uri
        .query()
        .and_then(|q| q.strip_prefix("ms="))
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(100);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "slept"
}

/// Reads the body frame by frame; a read error becomes a bare 500.
async fn stream_len(body: Body) -> Result<String, StatusCode> {
    let mut body = body;
    let mut len = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        if let Some(data) = frame.data_ref() {
            len += data.len();
        }
    }
    Ok(len.to_string())
}

/// A server running on a free loopback port, stopped by `stop`.
struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
}

impl Running {
    async fn start(server: Server) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(
            server
                .listener(listener)
                .shutdown_on(async move {
                    let _ = stopped.await;
                })
                .run(),
        );
        Running {
            addr,
            stop: Some(stop),
            task,
        }
    }

    fn stop(&mut self) {
        self.stop.take().unwrap().send(()).unwrap();
    }

    /// Stops the server and waits for `run` to return.
    async fn finish(mut self, limit: Duration) -> io::Result<()> {
        if self.stop.is_some() {
            self.stop();
        }
        tokio::time::timeout(limit, self.task)
            .await
            .expect("the server did not stop in time")
            .unwrap()
    }
}

// ---------------------------------------------------------------------------
// Panics, limits, timeouts, error bodies.

#[tokio::test]
async fn a_panic_is_a_500_and_the_server_keeps_serving() {
    let server = Running::start(Server::new(router())).await;

    // On one keep-alive connection: the panic, then a normal request.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(&get_request("/t/panic", None))
        .await
        .unwrap();
    let reply = read_reply(&mut stream, Duration::from_secs(5), false)
        .await
        .reply();
    assert_eq!(reply.status, 500);
    assert_eq!(
        reply.text(),
        "500 Internal Server Error: the handler panicked\n"
    );
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    stream.write_all(&get_request("/t/ok", None)).await.unwrap();
    let reply = read_reply(&mut stream, Duration::from_secs(5), false)
        .await
        .reply();
    assert_eq!((reply.status, reply.text().as_str()), (200, "ok"));

    // The same as JSON, and many panics in parallel leave the server up.
    let reply = http_get_json(server.addr, "/t/panic").await;
    assert_eq!(reply.status, 500);
    assert_eq!(
        reply.json(),
        serde_json::json!({"error": {"status": 500, "message": "the handler panicked"}})
    );
    let panics: Vec<_> = (0..20)
        .map(|_| tokio::spawn(http_get(server.addr, "/t/panic")))
        .collect();
    for panic in panics {
        assert_eq!(panic.await.unwrap().status, 500);
    }
    assert_eq!(http_get(server.addr, "/api/users/42").await.status, 200);
    server.finish(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let server = Running::start(Server::new(router()).body_limit(1024)).await;
    let addr = server.addr;

    let under = exchange(addr, &post_request("/t/len", &[b'a'; 1024], None)).await;
    assert_eq!(under.reply().text(), "1024");

    // A Content-Length over the limit: answered before the body is read.
    let over = exchange(
        addr,
        &post_request("/t/len", &[b'a'; 1025], Some("application/json")),
    )
    .await
    .reply();
    assert_eq!(over.status, 413);
    assert_eq!(
        over.json(),
        serde_json::json!({"error": {"status": 413,
            "message": "the request body is over the limit of 1024 bytes"}})
    );
    let absurd = exchange(
        addr,
        b"POST /t/len HTTP/1.1\r\nhost: t\r\ncontent-length: 1000000000000\r\n\r\n",
    )
    .await
    .reply();
    assert_eq!(absurd.status, 413);

    // A chunked body that grows over the limit, read by an extractor and by
    // a handler streaming it: both end as the same 413.
    let big = [b'b'; 600];
    for path in ["/t/len", "/t/stream-len"] {
        let reply = exchange(addr, &chunked_request(path, &[&big, &big, &big]))
            .await
            .reply();
        assert_eq!(reply.status, 413, "{path}");
        assert_eq!(
            reply.text(),
            "413 Payload Too Large: the request body is over the limit of 1024 bytes\n",
            "{path}"
        );
        let fine = exchange(addr, &chunked_request(path, &[&big]))
            .await
            .reply();
        assert_eq!(
            (fine.status, fine.text()),
            (200, "600".to_string()),
            "{path}"
        );
    }
    server.finish(Duration::from_secs(5)).await.unwrap();

    // The default is 2 MiB, for extractors too (axum's own default is lifted).
    let server = Running::start(Server::new(router())).await;
    let limit = approute::serve::DEFAULT_BODY_LIMIT;
    assert_eq!(limit, 2 * 1024 * 1024);
    let at = exchange(
        server.addr,
        &post_request("/t/len", &vec![b'c'; limit], None),
    )
    .await;
    assert_eq!(at.reply().text(), limit.to_string());
    let over = format!(
        "POST /t/len HTTP/1.1\r\nhost: t\r\ncontent-length: {}\r\n\r\n",
        limit + 1
    );
    assert_eq!(
        exchange(server.addr, over.as_bytes()).await.reply().status,
        413
    );
    server.finish(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_slow_handler_times_out() {
    let server = Running::start(Server::new(router()).timeout(Duration::from_millis(200))).await;
    let started = Instant::now();
    let reply = http_get(server.addr, "/t/slow?ms=5000").await;
    let took = started.elapsed();
    assert_eq!(reply.status, 408);
    assert_eq!(
        reply.text(),
        "408 Request Timeout: the request took longer than 200ms\n"
    );
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert_eq!(http_get(server.addr, "/t/slow?ms=10").await.text(), "slept");
    server.finish(Duration::from_secs(5)).await.unwrap();

    let server = Running::start(
        Server::new(router())
            .timeout(Duration::from_millis(100))
            .timeout_status(StatusCode::SERVICE_UNAVAILABLE),
    )
    .await;
    let reply = http_get_json(server.addr, "/t/slow?ms=5000").await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["error"]["status"], 503);
    server.finish(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn framework_errors_get_a_small_consistent_body() {
    let server = Running::start(Server::new(router())).await;
    let addr = server.addr;

    let text = http_get(addr, "/no/such/route").await;
    assert_eq!(text.status, 404);
    assert_eq!(text.text(), "404 Not Found: no route matches this path\n");
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; charset=utf-8")
    );

    let json = http_get_json(addr, "/no/such/route").await;
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(
        json.json(),
        serde_json::json!({"error": {"status": 404, "message": "no route matches this path"}})
    );

    // axum's 405 keeps its `Allow`, and gains a body.
    let wrong = exchange(
        addr,
        b"DELETE /api/hello HTTP/1.1\r\nhost: t\r\naccept: text/html, application/json;q=0.9\r\n\r\n",
    )
    .await
    .reply();
    assert_eq!(wrong.status, 405);
    assert!(wrong.header("allow").is_some_and(|a| a.contains("GET")));
    assert_eq!(wrong.json()["error"]["status"], 405);

    // A handler's own 404 is left alone, empty or with a body (issue 12).
    let empty = http_get(addr, "/t/empty-404").await;
    assert_eq!((empty.status, empty.text()), (404, String::new()));
    let own = http_get(addr, "/t/own-404").await;
    assert_eq!(
        (own.status, own.text()),
        (404, "custom not found".to_string())
    );

    // HEAD: the status and headers, no body.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"HEAD /no/such/route HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    let head = read_reply(&mut stream, Duration::from_secs(5), true)
        .await
        .reply();
    assert_eq!(head.status, 404);

    // approute's own 400 for bad percent-encoding: text as it was, or JSON.
    let bad = http_get(addr, "/api/users/%E0%A4%A").await;
    assert_eq!(
        (bad.status, bad.text().as_str()),
        (
            400,
            "400 Bad Request: the URL path has malformed percent-encoding"
        )
    );
    let bad = http_get_json(addr, "/api/users/%E0%A4%A").await;
    assert_eq!(
        bad.json(),
        serde_json::json!({"error": {"status": 400,
            "message": "the URL path has malformed percent-encoding"}})
    );

    // axum's rejection of a body over a route's own DefaultBodyLimit.
    let tiny = exchange(addr, &chunked_request("/t/tiny-len", &[&[b'x'; 100]]))
        .await
        .reply();
    assert_eq!(
        (tiny.status, tiny.text().as_str()),
        (
            413,
            "413 Payload Too Large: the request body is too large\n"
        )
    );

    let ok = http_get(addr, "/api/users/42").await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["params"], serde_json::json!({"id": "42"}));
    server.finish(Duration::from_secs(5)).await.unwrap();
}

/// Routes' BODY_LIMIT and MAX_DURATION (tests/fixtures/limits) under the
/// server's limits: a larger BODY_LIMIT is let through once the server knows
/// the routes, and the routes' text errors become JSON when asked for.
#[tokio::test]
async fn route_limits_work_under_the_server_limits() {
    let three_mib = vec![b'x'; 3 * 1024 * 1024];

    let server = Running::start(Server::new(limits::router())).await;
    let capped = exchange(server.addr, &post_request("/big", &three_mib, None)).await;
    assert_eq!(
        capped.reply().status,
        413,
        "without .routes() the server's 2 MiB applies"
    );
    server.finish(Duration::from_secs(5)).await.unwrap();

    let server = Running::start(Server::new(limits::router()).routes(limits::ROUTES)).await;
    let addr = server.addr;
    let big = exchange(addr, &post_request("/big", &three_mib, None)).await;
    assert_eq!(big.reply().text(), "3145728");
    let over = format!(
        "POST /big HTTP/1.1\r\nhost: t\r\ncontent-length: {}\r\n\r\n",
        4 * 1024 * 1024 + 1
    );
    assert_eq!(exchange(addr, over.as_bytes()).await.reply().status, 413);

    let small = exchange(
        addr,
        &post_request("/small", &[b'x'; 17], Some("application/json")),
    )
    .await
    .reply();
    assert_eq!(small.status, 413);
    let message = small.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("BODY_LIMIT"), "{message}");

    let slow = http_get_json(addr, "/slow?ms=5000").await;
    assert_eq!(slow.status, 504);
    assert_eq!(slow.json()["error"]["status"], 504);
    server.finish(Duration::from_secs(5)).await.unwrap();
}

// ---------------------------------------------------------------------------
// Graceful shutdown.

/// A router whose `/slow` counts its callers, then sleeps `ms`.
fn counting_router(started: Arc<AtomicUsize>, ms: u64) -> Router {
    Router::new()
        .route(
            "/slow",
            get(move || {
                let started = started.clone();
                async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    "done"
                }
            }),
        )
        .route("/ok", get(|| async { "ok" }))
}

#[tokio::test]
async fn shutdown_finishes_every_in_flight_request_and_refuses_new_ones() {
    const N: usize = 5;
    let started = Arc::new(AtomicUsize::new(0));
    let mut server = Running::start(
        Server::new(counting_router(started.clone(), 500)).grace_period(Duration::from_secs(5)),
    )
    .await;
    let addr = server.addr;

    // An idle keep-alive connection must not hold shutdown up.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(&get_request("/ok", None)).await.unwrap();
    let first = read_reply(&mut idle, Duration::from_secs(5), false).await;
    assert_eq!(first.reply().text(), "ok");

    let clients: Vec<_> = (0..N)
        .map(|_| tokio::spawn(async move { exchange(addr, &get_request("/slow", None)).await }))
        .collect();
    wait_for(&started, N).await;

    let stopped_at = Instant::now();
    server.stop();
    let refused_after = refused_within(addr, Duration::from_secs(1)).await;
    assert!(
        clients.iter().all(|c| !c.is_finished()),
        "the requests should still be running when new connections are refused"
    );

    for client in clients {
        let reply = client.await.unwrap().reply();
        assert_eq!((reply.status, reply.text()), (200, "done".to_string()));
        assert_eq!(reply.header("connection"), Some("close"));
    }
    // The idle connection was closed rather than left open.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(2), idle.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0))), "{closed:?}");

    server.finish(Duration::from_secs(5)).await.unwrap();
    let took = stopped_at.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    eprintln!("refused new connections after {refused_after:?}; stopped after {took:?}");
}

/// A connection the server accepted before shutdown but whose request comes
/// a moment after it began is served, not closed unanswered: `cargo approute
/// dev` hands the socket to a new server this way on every save.
#[tokio::test]
async fn a_connection_accepted_before_shutdown_gets_its_request_served() {
    let started = Arc::new(AtomicUsize::new(0));
    let mut server = Running::start(
        Server::new(counting_router(started, 0)).grace_period(Duration::from_secs(5)),
    )
    .await;
    let mut early = TcpStream::connect(server.addr).await.unwrap();
    // Long enough for the accept loop to take it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    early
        .write_all(&get_request("/ok", None))
        .await
        .expect("the connection was closed before its request");
    let reply = read_reply(&mut early, Duration::from_secs(5), false)
        .await
        .reply();
    assert_eq!((reply.status, reply.text()), (200, "ok".to_string()));
    // And then closed, the request being answered.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(2), early.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0))), "{closed:?}");
    server.finish(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn the_grace_period_bounds_shutdown() {
    let started = Arc::new(AtomicUsize::new(0));
    let mut server = Running::start(
        Server::new(counting_router(started.clone(), 60_000))
            .timeout(None)
            .grace_period(Duration::from_millis(300)),
    )
    .await;
    let addr = server.addr;
    let client = tokio::spawn(async move { exchange(addr, &get_request("/slow", None)).await });
    wait_for(&started, 1).await;
    let stopped_at = Instant::now();
    server.stop();
    server.finish(Duration::from_secs(5)).await.unwrap();
    let took = stopped_at.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "{took:?}"
    );
    let outcome = client.await.unwrap();
    assert!(
        matches!(outcome, Outcome::Closed | Outcome::Reset),
        "{outcome:?}"
    );
}

/// `src/bin/serve_fixture.rs` running as a child process on a free port,
/// its stderr collected line by line. Killed if the test fails half-way.
struct Fixture {
    child: std::process::Child,
    addr: SocketAddr,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    log: Vec<String>,
}

impl Fixture {
    async fn start() -> Fixture {
        let (child, lines) = support::spawn_server(&mut std::process::Command::new(env!(
            "CARGO_BIN_EXE_serve_fixture"
        )));
        let mut fixture = Fixture {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            lines,
            log: Vec::new(),
        };
        fixture.addr = loop {
            let line = fixture.next_line().await;
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        fixture
    }

    /// The next line the child wrote on stderr, kept in the log too.
    async fn next_line(&mut self) -> String {
        let line = tokio::time::timeout(Duration::from_secs(20), self.lines.recv())
            .await
            .unwrap_or_else(|_| panic!("no log line in time; so far:\n{}", self.log.join("\n")))
            .unwrap_or_else(|| panic!("the server's stderr closed; log:\n{}", self.log.join("\n")));
        self.log.push(line.clone());
        line
    }

    /// Waits until `n` more lines containing `needle` have been written.
    async fn wait_for_lines(&mut self, needle: &str, n: usize) {
        let mut seen = 0;
        while seen < n {
            if self.next_line().await.contains(needle) {
                seen += 1;
            }
        }
    }

    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit code and whole log.
    async fn exit(&mut self, limit: Duration) -> (Option<i32>, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < limit,
                "the server did not exit; log:\n{}",
                self.log.join("\n")
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        while let Ok(Some(line)) =
            tokio::time::timeout(Duration::from_secs(2), self.lines.recv()).await
        {
            self.log.push(line);
        }
        (status.code(), self.log.join("\n"))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_and_exits_zero() {
    const N: usize = 5;
    let mut fixture = Fixture::start().await;
    let addr = fixture.addr;
    assert_eq!(http_get(addr, "/api/users/7").await.status, 200);

    let clients: Vec<_> = (0..N)
        .map(|_| {
            tokio::spawn(async move { exchange(addr, &get_request("/fixture/slow", None)).await })
        })
        .collect();
    fixture
        .wait_for_lines("fixture: slow request started", N)
        .await;

    fixture.signal("TERM");
    refused_within(addr, Duration::from_secs(2)).await;
    assert!(clients.iter().all(|c| !c.is_finished()));

    for client in clients {
        let reply = client.await.unwrap().reply();
        assert_eq!((reply.status, reply.text()), (200, "slow done".to_string()));
    }
    let (code, log) = fixture.exit(Duration::from_secs(5)).await;
    assert_eq!(code, Some(0), "log:\n{log}");

    // The start-up route table, one request line each, the shutdown story.
    let routes = log.lines().filter(|l| l.contains(" route ")).count();
    assert_eq!(routes, next14::ROUTES.len(), "log:\n{log}");
    assert!(log.contains("/api/users/[id]"), "log:\n{log}");
    let slow_lines = log
        .lines()
        .filter(|l| l.contains("method=GET path=/fixture/slow status=200 latency="))
        .count();
    assert_eq!(slow_lines, N, "log:\n{log}");
    assert!(log.contains("SIGTERM: shutting down"), "log:\n{log}");
    assert!(log.contains("every connection closed"), "log:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_ends_the_grace_period_and_still_exits_zero() {
    let mut fixture = Fixture::start().await;
    let addr = fixture.addr;
    let client =
        tokio::spawn(
            async move { exchange(addr, &get_request("/fixture/slow?ms=60000", None)).await },
        );
    fixture
        .wait_for_lines("fixture: slow request started", 1)
        .await;

    fixture.signal("INT");
    fixture.wait_for_lines("SIGINT: shutting down", 1).await;
    let second = Instant::now();
    fixture.signal("TERM");
    let (code, log) = fixture.exit(Duration::from_secs(5)).await;
    assert_eq!(code, Some(0), "log:\n{log}");
    // The fixture's grace period is 10 s: the second signal cut it short.
    assert!(second.elapsed() < Duration::from_secs(3), "log:\n{log}");
    assert!(log.contains("SIGTERM again"), "log:\n{log}");
    let outcome = client.await.unwrap();
    assert!(
        matches!(outcome, Outcome::Closed | Outcome::Reset),
        "{outcome:?}"
    );
}

// ---------------------------------------------------------------------------
// Malformed requests.

/// One malformed request: its bytes, and whether the client then closes its
/// sending side (for requests cut short, which the server would otherwise
/// wait out).
struct Case {
    name: String,
    bytes: Vec<u8>,
    half_close: bool,
    /// Not valid HTTP, but accepted by hyper (and Node) on purpose: any
    /// answer but a 5xx will do.
    lenient: bool,
    /// The one status that is right (501 for a method nobody knows).
    exactly: Option<u16>,
}

fn case(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Case {
    Case {
        name: name.into(),
        bytes: bytes.into(),
        half_close: false,
        lenient: false,
        exactly: None,
    }
}

fn lenient(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Case {
    Case {
        lenient: true,
        ..case(name, bytes)
    }
}

fn truncated(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Case {
    Case {
        half_close: true,
        ..case(name, bytes)
    }
}

/// A small deterministic generator for garbage.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn malformed_requests() -> Vec<Case> {
    let mut cases = Vec::new();
    let line = |target: &str| format!("GET {target} HTTP/1.1\r\nhost: t\r\n\r\n");

    // Garbage request lines.
    for (i, raw) in [
        "\r\n\r\n\r\n\r\n",
        "GET\r\n\r\n",
        "GET /\r\n\r\n",
        "GET / HTTP/1.1 extra\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "GET / HTTP/1\r\n\r\n",
        "GET / HTTP/1.1.1\r\n\r\n",
        "GET / http/1.1\r\n\r\n",
        "GET / FTP/1.1\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "GET /  HTTP/1.1\r\n\r\n",
        "GET\t/\tHTTP/1.1\r\n\r\n",
        " GET / HTTP/1.1\r\n\r\n",
        "/ HTTP/1.1\r\n\r\n",
        "HTTP/1.1 200 OK\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "GET / HTTP/1.1\rhost: t\r\r",
        "GET / HTTP/1.1\r\n\x00\r\n\r\n",
        "GET /\x00 HTTP/1.1\r\n\r\n",
    ]
    .into_iter()
    .enumerate()
    {
        cases.push(case(format!("request line {i}: {raw:?}"), raw));
    }
    cases.push(case(
        "a TLS client hello",
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
    ));
    let mut random = XorShift(0x5eed_cafe_f00d_beef);
    for i in 0..40 {
        let len = 1 + (random.next() % 300) as usize;
        let mut bytes = random.bytes(len);
        bytes.extend_from_slice(b"\r\n\r\n");
        cases.push(case(format!("random bytes {i}"), bytes));
    }
    for i in 0..10 {
        // A plausible start, then garbage in the head.
        let mut bytes = b"GET /api/hello HTTP/1.1\r\nhost: t\r\n".to_vec();
        let len = 1 + (random.next() % 100) as usize;
        bytes.extend(random.bytes(len).into_iter().map(|b| b | 0x80));
        bytes.extend_from_slice(b"\r\n\r\n");
        cases.push(case(format!("garbage header {i}"), bytes));
    }

    // Bad methods.
    for method in [
        "G ET", "GE(T", "GE\"T", "GET,", "G/ET", "GE:T", "G@T", "[GET]", "G\x7fT", "GÉT",
        "\x01GET", "GET\x00", "{}", "G\\T", "GET;",
    ] {
        cases.push(case(
            format!("method {method:?}"),
            format!("{method} /api/hello HTTP/1.1\r\nhost: t\r\n\r\n"),
        ));
    }
    for method in ["get", "FOO", "PROPFIND", &"A".repeat(2000)] {
        let name: String = method.chars().take(20).collect();
        // RFC 9110 9.1: a method the server does not know is a 501.
        cases.push(Case {
            exactly: Some(501),
            ..case(
                format!("unknown method {name}"),
                format!("{method} /api/hello HTTP/1.1\r\nhost: t\r\n\r\n"),
            )
        });
    }

    // Broken percent-encoding, on every route that reads params, and on no route.
    for prefix in [
        "/api/users/",
        "/api/users/1/posts/",
        "/api/files/a/",
        "/api/docs/",
        "/team/",
        "/api/shop/c/",
        "/api/items/",
        "/nowhere/",
    ] {
        for bad in [
            "%",
            "%2",
            "%G0",
            "%%",
            "%zz",
            "%C3%28",
            "%E2%82",
            "%FF",
            "%ED%A0%80",
            "%C0%AF",
        ] {
            cases.push(case(
                format!("percent {prefix}{bad}"),
                line(&format!("{prefix}{bad}")),
            ));
        }
    }

    // Bytes that are not ASCII (or not UTF-8) in the path.
    for (i, bad) in [
        &b"\xff"[..],
        b"\xc3\x28",
        b"\xe2\x82",
        b"\xed\xa0\x80",
        b"\xf0\x28\x8c\x28",
        b"\x80abc",
        b"a\xfe\xfe",
        b"\x7f",
        b"\x1b[31m",
        b"a b",
        b"<script>",
        b"a\tb",
    ]
    .into_iter()
    .enumerate()
    {
        for prefix in ["/api/users/", "/api/files/x/"] {
            let mut bytes = format!("GET {prefix}").into_bytes();
            bytes.extend_from_slice(bad);
            bytes.extend_from_slice(b" HTTP/1.1\r\nhost: t\r\n\r\n");
            cases.push(case(format!("raw path bytes {i} under {prefix}"), bytes));
        }
    }
    // Outside RFC 3986, yet let through by hyper as by Node's parser.
    for (i, odd) in [&b"\xc3\xa9"[..], b"a\"b", b"a\\b", b"{x}", b"a|b", b"a^b"]
        .into_iter()
        .enumerate()
    {
        let mut bytes = b"GET /api/users/".to_vec();
        bytes.extend_from_slice(odd);
        bytes.extend_from_slice(b" HTTP/1.1\r\nhost: t\r\n\r\n");
        cases.push(lenient(format!("lenient path bytes {i}"), bytes));
    }

    // Header blocks that are too large or malformed.
    cases.push(case(
        "100 KiB URI",
        line(&format!("/api/users/{}", "a".repeat(100 * 1024))),
    ));
    cases.push(case(
        "500 KiB header value",
        format!(
            "GET /api/hello HTTP/1.1\r\nhost: t\r\nx-big: {}\r\n\r\n",
            "v".repeat(500 * 1024)
        ),
    ));
    cases.push(case(
        "1 MiB of header lines",
        format!(
            "GET /api/hello HTTP/1.1\r\nhost: t\r\n{}\r\n",
            "x-h: 0123456789012345678901234567890123456789\r\n".repeat(24 * 1024)
        ),
    ));
    cases.push(case(
        "200 headers",
        format!(
            "GET /api/hello HTTP/1.1\r\nhost: t\r\n{}\r\n",
            (0..200)
                .map(|i| format!("x-h{i}: v\r\n"))
                .collect::<String>()
        ),
    ));
    for (i, header) in [
        "x-foo : bar",
        " x-folded: bar",
        "x-foo: bar\r\n continued",
        "x-foo bar",
        ": empty-name",
        "x(foo): bar",
        "x foo: bar",
        "x-foo:\x00bar",
        "x-foo: b\x01ar",
        "x-foo: bar\rbaz",
        "héader: bar",
        "x-foo\x7f: bar",
    ]
    .into_iter()
    .enumerate()
    {
        cases.push(case(
            format!("bad header {i}: {header:?}"),
            format!("GET /api/hello HTTP/1.1\r\nhost: t\r\n{header}\r\n\r\n"),
        ));
    }

    // Absurd or contradictory body framing, on a route that reads the body.
    for (i, framing) in [
        "content-length: -1",
        "content-length: abc",
        "content-length: 1e3",
        "content-length: 0x10",
        "content-length: 99999999999999999999999999",
        "content-length: 18446744073709551616",
        "content-length: 1, 2",
        "content-length: 5\r\ncontent-length: 6",
        "content-length: +5",
        "content-length:  5 5",
        "transfer-encoding: gzip",
        "transfer-encoding: chunked, gzip",
        "transfer-encoding: chunkedx",
        "transfer-encoding: identity",
        "transfer-encoding: chunked\r\ntransfer-encoding: gzip",
    ]
    .into_iter()
    .enumerate()
    {
        cases.push(case(
            format!("framing {i}: {framing:?}"),
            format!("POST /t/len HTTP/1.1\r\nhost: t\r\n{framing}\r\n\r\nhello"),
        ));
    }
    cases.push(case(
        "content-length 2^62",
        "POST /t/len HTTP/1.1\r\nhost: t\r\ncontent-length: 4611686018427387904\r\n\r\nhello",
    ));
    cases.push(case(
        "expect 100-continue with an absurd length",
        "POST /t/len HTTP/1.1\r\nhost: t\r\nexpect: 100-continue\r\ncontent-length: 99999999999\r\n\r\n",
    ));
    for (i, body) in [
        "zz\r\nhello\r\n0\r\n\r\n",
        "5\r\nhelloXX0\r\n\r\n",
        "ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "5 5\r\nhello\r\n0\r\n\r\n",
        "5\nhello\n0\n\n\x00",
        "\r\n\r\n",
    ]
    .into_iter()
    .enumerate()
    {
        cases.push(case(
            format!("bad chunk {i}: {body:?}"),
            format!("POST /t/len HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n{body}"),
        ));
    }

    cases.push(case(
        "a chunk extension of 64 KiB",
        format!(
            "POST /t/len HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n5;{}\r\nhello\r\n0\r\n\r\n",
            "x".repeat(64 * 1024)
        ),
    ));

    // Requests cut short: the client stops and closes its side.
    let full = "POST /t/len HTTP/1.1\r\nhost: t\r\ncontent-length: 100\r\n\r\n";
    for cut in [1, 4, 10, 20, 30, 40, full.len() - 2] {
        cases.push(truncated(
            format!("head cut at {cut}"),
            &full.as_bytes()[..cut],
        ));
    }
    for sent in [0, 1, 50, 99] {
        let mut bytes = full.as_bytes().to_vec();
        bytes.extend(vec![b'x'; sent]);
        cases.push(truncated(format!("body of 100 cut at {sent}"), bytes));
    }
    for path in ["/t/len", "/t/stream-len"] {
        cases.push(truncated(
            format!("chunked body cut short on {path}"),
            format!(
                "POST {path} HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n10\r\nabc"
            ),
        ));
        cases.push(truncated(
            format!("chunked body without its last chunk on {path}"),
            format!(
                "POST {path} HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n"
            ),
        ));
    }
    cases
}

/// Throws each malformed request at the server on its own connection (16
/// at a time); each must be answered 4xx or see the connection closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_a_4xx_or_a_close_and_the_server_stays_up() {
    let server = Running::start(
        Server::new(router())
            .body_limit(64 * 1024)
            .timeout(Duration::from_secs(3))
            .header_read_timeout(Duration::from_secs(1)),
    )
    .await;
    let addr = server.addr;
    let cases = malformed_requests();
    assert!(cases.len() >= 200, "only {} cases", cases.len());

    let started = Instant::now();
    let mut outcomes = Vec::new();
    for batch in cases.chunks(16) {
        let mut running = Vec::new();
        for case in batch {
            let bytes = case.bytes.clone();
            let half_close = case.half_close;
            running.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let _ = stream.write_all(&bytes).await;
                if half_close {
                    let _ = stream.shutdown().await;
                }
                read_reply(&mut stream, Duration::from_secs(5), false).await
            }));
        }
        for (case, task) in batch.iter().zip(running) {
            outcomes.push((case, task.await.unwrap()));
        }
    }

    // A client that sends half a head and then nothing: the header read
    // timeout closes it.
    let mut slow_loris = TcpStream::connect(addr).await.unwrap();
    slow_loris
        .write_all(b"GET /api/hello HTTP/1.1\r\nhost: t\r\nx-more: ")
        .await
        .unwrap();
    let loris_started = Instant::now();
    let loris = read_reply(&mut slow_loris, Duration::from_secs(5), false).await;
    let loris_took = loris_started.elapsed();
    assert!(
        matches!(loris, Outcome::Closed | Outcome::Reset)
            || matches!(&loris, Outcome::Reply(r) if r.status == 408),
        "{loris:?}"
    );
    assert!(loris_took < Duration::from_secs(3), "{loris_took:?}");

    let mut failures = Vec::new();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for (case, outcome) in &outcomes {
        let (kind, ok) = match outcome {
            Outcome::Reply(r) if case.exactly.is_some() => {
                (r.status.to_string(), case.exactly == Some(r.status))
            }
            Outcome::Reply(r) if case.lenient => (format!("lenient {}", r.status), r.status < 500),
            Outcome::Reply(r) => (r.status.to_string(), (400..500).contains(&r.status)),
            Outcome::Closed => ("closed".to_string(), true),
            Outcome::Reset => ("reset".to_string(), true),
            Outcome::Partial(bytes) => (
                format!("partial {:?}", String::from_utf8_lossy(bytes)),
                false,
            ),
            Outcome::Hang(bytes) => (
                format!("hang after {:?}", String::from_utf8_lossy(bytes)),
                false,
            ),
        };
        if !ok {
            failures.push(format!("{}: {kind}", case.name));
        }
        let key = if ok { kind } else { "FAIL".to_string() };
        *tally.entry(key).or_default() += 1;
    }
    eprintln!(
        "{} malformed requests in {:?}: {tally:?}",
        outcomes.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} malformed requests were not refused cleanly:\n{}",
        failures.len(),
        outcomes.len(),
        failures.join("\n")
    );

    // The server is still up and still right.
    assert!(!server.task.is_finished());
    let ok = http_get(addr, "/api/users/42").await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["params"], serde_json::json!({"id": "42"}));
    let posted = exchange(addr, &post_request("/t/len", b"hello", None)).await;
    assert_eq!(posted.reply().text(), "5");
    server.finish(Duration::from_secs(5)).await.unwrap();
}
