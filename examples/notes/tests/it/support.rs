//! The app on a real socket, with a fresh database, and a small HTTP client.
//!
//! The database is a temporary SQLite file, or, when
//! `NOTES_TEST_DATABASE_URL` is a `postgres://` URL (see `ci/postgres.sh`),
//! a new PostgreSQL database created on that server for each test.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use approute::axum::body::Bytes;
use approute::axum::http::{header, HeaderMap, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use notes::{AppState, Config};
use serde_json::{json, Value};
use sqlx::Executor;
use tokio::sync::oneshot;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The app, serving on `addr` until dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    sqlite_file: Option<PathBuf>,
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::with(|_| {}).await
    }

    /// Starts the app with the test defaults, changed by `configure`.
    pub async fn with(configure: impl FnOnce(&mut Config)) -> TestApp {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let (database_url, sqlite_file) = fresh_database(n).await;
        let mut config = Config {
            database_url,
            // Cheap hashes keep the suite fast; `auth.rs` checks the real
            // defaults once.
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            ..Config::default()
        };
        config
            .webhook_secrets
            .insert("billing".into(), "whsec_test".into());
        configure(&mut config);
        let postgres = config.database_url.starts_with("postgres");
        let state = AppState::with_config(config)
            .await
            .expect("connect and migrate");
        assert_eq!(state.db.backend == notes::Backend::Postgres, postgres);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        // The production server, as `main` runs it.
        let server = approute::serve(unthrottled(&state))
            .routes(notes::ROUTES)
            .listener(listener)
            .grace_period(Duration::from_secs(1))
            .shutdown_on(async move {
                stopped.await.ok();
            });
        tokio::spawn(server.run());
        TestApp {
            addr,
            state,
            stop: Some(stop),
            sqlite_file,
        }
    }

    /// A client with no session.
    pub fn client(&self) -> Client {
        Client::new(self.addr)
    }

    /// Signs up `email` (password `correct horse`) and returns its client.
    pub async fn user(&self, email: &str) -> Client {
        let mut client = self.client();
        let res = client
            .post_json(
                "/api/auth/signup",
                &json!({ "email": email, "password": "correct horse" }),
            )
            .await;
        assert_eq!(res.status, 201, "sign up {email}: {}", res.text());
        client.keep_cookie(&res);
        client
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.state.close_streams();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(file) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

/// A database URL no other test uses.
async fn fresh_database(n: usize) -> (String, Option<PathBuf>) {
    let pid = std::process::id();
    match std::env::var("NOTES_TEST_DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => {
            sqlx::any::install_default_drivers();
            let name = format!("notes_test_{pid}_{n}");
            let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&server)
                .await
                .expect("connect to NOTES_TEST_DATABASE_URL");
            admin
                .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .expect("create a test database");
            let (url, query) = server.split_once('?').unwrap_or((&server, ""));
            let (base, _) = url.rsplit_once('/').expect("a database in the URL");
            let query = if query.is_empty() {
                String::new()
            } else {
                format!("?{query}")
            };
            (format!("{base}/{name}{query}"), None)
        }
        _ => {
            let file = std::env::temp_dir().join(format!("notes-test-{pid}-{n}.db"));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
            (file.display().to_string(), Some(file))
        }
    }
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Res {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {} {}", self.status, self.text()))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} header in {self:?}"))
    }

    /// The `error.message` of a JSON error.
    pub fn error(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// An HTTP/1 client with (at most) one session cookie.
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    inner: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
    pub cookie: Option<String>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            inner: hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                .build(HttpConnector::new()),
            cookie: None,
        }
    }

    /// Keeps the session the answer's `Set-Cookie` starts.
    pub fn keep_cookie(&mut self, res: &Res) {
        let set = res.header("set-cookie");
        let pair = set.split(';').next().unwrap();
        self.cookie = Some(pair.to_string());
    }

    /// The raw session token.
    pub fn token(&self) -> String {
        self.cookie
            .as_deref()
            .and_then(|c| c.strip_prefix("session="))
            .expect("signed in")
            .to_string()
    }

    pub fn request(&self, method: &str, path: &str) -> Request<Full<Bytes>> {
        self.request_with(method, path, &[], Bytes::new())
    }

    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Request<Full<Bytes>> {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(format!("http://{}{path}", self.addr));
        if let Some(cookie) = &self.cookie {
            req = req.header(header::COOKIE, cookie);
        }
        for (k, v) in headers {
            req = req.header(*k, HeaderValue::from_str(v).unwrap());
        }
        req.body(Full::new(body.into())).unwrap()
    }

    /// Sends a request and reads the whole answer (10 s at most).
    pub async fn send(&self, req: Request<Full<Bytes>>) -> Res {
        let exchange = async {
            let res = self.inner.request(req).await.expect("the server answers");
            let (parts, body) = res.into_parts();
            let body = body.collect().await.expect("a whole body").to_bytes();
            Res {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            }
        };
        tokio::time::timeout(Duration::from_secs(10), exchange)
            .await
            .expect("an answer within 10 s")
    }

    /// Sends a request and returns the streaming answer.
    pub async fn open(
        &self,
        req: Request<Full<Bytes>>,
    ) -> approute::axum::http::Response<hyper::body::Incoming> {
        self.inner.request(req).await.expect("the server answers")
    }

    pub async fn get(&self, path: &str) -> Res {
        self.send(self.request("GET", path)).await
    }

    pub async fn delete(&self, path: &str) -> Res {
        self.send(self.request("DELETE", path)).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Res {
        self.json("POST", path, body).await
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> Res {
        self.json("PATCH", path, body).await
    }

    pub async fn json(&self, method: &str, path: &str, body: &Value) -> Res {
        let req = self.request_with(
            method,
            path,
            &[("content-type", "application/json")],
            body.to_string(),
        );
        self.send(req).await
    }

    /// POSTs a note and returns it.
    pub async fn create_note(&self, title: &str, body: &str, public: bool) -> Value {
        let res = self
            .post_json(
                "/api/notes",
                &json!({ "title": title, "body": body, "public": public }),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
        res.json()
    }
}

/// A `multipart/form-data` body: `(name, filename, content)` parts.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----notes-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(filename) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
                     Content-Type: text/markdown\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The `notes` binary in a child process (its own memory, read from
/// `/proc`), on a free loopback port with a fresh SQLite file and the real
/// argon2 cost; killed when dropped.
pub struct ChildServer {
    pub addr: SocketAddr,
    child: std::process::Child,
    dir: PathBuf,
}

impl ChildServer {
    /// Starts the binary with `env` added, and waits (10 s at most) until
    /// `/api/health` answers.
    pub async fn start(env: &[(&str, &str)]) -> ChildServer {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("notes-child-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Take a free port and let it go for the child; loopback only.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_notes"))
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("DATABASE_URL", dir.join("notes.db"))
            .env("RUST_LOG", "warn")
            // One client making many requests (`env` may say otherwise).
            .env("APPROUTE_RATE_LIMITS", "off")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the notes binary");
        let server = ChildServer {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
            dir,
        };
        let client = Client::new(server.addr);
        for _ in 0..200 {
            let req = client.request("GET", "/api/health");
            if let Ok(Ok(res)) =
                tokio::time::timeout(Duration::from_secs(1), client.inner.request(req)).await
            {
                if res.status() == 200 {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the notes binary did not answer /api/health within 10 s");
    }

    pub fn client(&self) -> Client {
        Client::new(self.addr)
    }

    /// A line of the child's `/proc/PID/status` in KiB, e.g. `VmHWM` (the
    /// peak resident set) or `VmRSS`.
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read the child's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The app with its `RATE_LIMIT`s lifted: every test comes from 127.0.0.1
/// and all share the process's budget, so they would throttle each other.
/// [`TestApp::rate_limited`] serves it without this; the child servers get
/// `APPROUTE_RATE_LIMITS=off` instead.
fn unthrottled(state: &AppState) -> approute::axum::Router {
    notes::app(state.clone()).layer(approute::axum::Extension(approute::RateLimitExempt))
}

impl TestApp {
    /// The app served by axum's own server with `ConnectInfo` (the peer
    /// address), which trusted-proxy checks need; `approute::serve` keeps
    /// serving it on another socket, unused.
    pub async fn with_peer_addresses(configure: impl FnOnce(&mut Config)) -> TestApp {
        let app = TestApp::with(configure).await;
        let router = unthrottled(&app.state);
        app.served_with_peer_addresses(router).await
    }

    /// As [`TestApp::with_peer_addresses`], with the routes' `RATE_LIMIT`s
    /// in force (they count by peer address).
    pub async fn rate_limited() -> TestApp {
        let app = TestApp::start().await;
        let router = notes::app(app.state.clone());
        app.served_with_peer_addresses(router).await
    }

    async fn served_with_peer_addresses(mut self, router: approute::axum::Router) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.addr = listener.local_addr().unwrap();
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        // Ends with the test's runtime.
        tokio::spawn(async move { approute::axum::serve(listener, service).await });
        self
    }
}
