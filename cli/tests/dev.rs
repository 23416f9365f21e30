//! `cargo approute dev` driven as a user drives it, on a real socket: a
//! client polls every 20 ms on a new connection each time while routes are
//! edited, added, broken and deleted, and not one poll may fail.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const POLL_EVERY: Duration = Duration::from_millis(20);
/// The first build compiles the dependencies unless an earlier run did.
const FIRST_BUILD: Duration = Duration::from_secs(15 * 60);
const REBUILD: Duration = Duration::from_secs(180);

/// One GET on a connection of its own: the status and body, or the error.
fn get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in {answer:?}"))?;
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    Ok((status, body.to_string()))
}

/// The `dev` process, its stdout lines collected as they come.
struct DevProcess {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl DevProcess {
    fn start(app: &Path, port: u16) -> DevProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-approute"))
            .args(["approute", "dev"])
            .current_dir(app)
            .env("PORT", port.to_string())
            .env("CARGO_TARGET_DIR", support::apps_target_dir())
            .env("RUST_LOG", "warn")
            .env("APPROUTE_DEV_TIMINGS", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        DevProcess { child, lines }
    }

    fn count(&self, needle: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// SIGTERM, as a terminal's Ctrl-C or a supervisor would stop it.
    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                self.child.kill().unwrap();
                panic!("dev did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for DevProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let pid = self.child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
        }
    }
}

/// Polls `/api/hello` every 20 ms until told to stop, keeping every failure.
struct Poller {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(usize, Vec<String>)>,
}

impl Poller {
    fn start(addr: SocketAddr) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut polls, mut failures) = (0, Vec::new());
            while !stopped.load(Ordering::Relaxed) {
                polls += 1;
                match get(addr, "/api/hello") {
                    Ok((200, _)) => {}
                    Ok((status, body)) => failures.push(format!("{status} {body}")),
                    Err(e) => failures.push(e),
                }
                std::thread::sleep(POLL_EVERY);
            }
            (polls, failures)
        });
        Poller { stop, thread }
    }

    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// Polls `path` every 20 ms until `done` holds, returning how long it took.
fn until(
    addr: SocketAddr,
    path: &str,
    limit: Duration,
    done: impl Fn(u16, &str) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        if let Ok((status, body)) = get(addr, path) {
            if done(status, &body) {
                return started.elapsed();
            }
        }
        assert!(
            started.elapsed() < limit,
            "{path} not as expected after {limit:?}"
        );
        std::thread::sleep(POLL_EVERY);
    }
}

/// The servers of the crate `crate_name` running from dev's target dir
/// that were linked against approute's shared library, and map it.
fn dylib_linked_servers(crate_name: &str) -> Vec<PathBuf> {
    let run_dir = support::apps_target_dir().join("approute-dev/run");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(exe) = std::fs::read_link(entry.path().join("exe")) else {
            continue;
        };
        let maps = std::fs::read_to_string(entry.path().join("maps")).unwrap_or_default();
        if exe.starts_with(&run_dir)
            && exe.file_name().is_some_and(|name| {
                let name = name.to_string_lossy();
                name.starts_with(&format!("{crate_name}-")) && name.contains("-dylib-")
            })
            && maps.contains("libapproute.so")
        {
            found.push(exe);
        }
    }
    found
}

fn write(path: PathBuf, source: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, source).unwrap();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[test]
fn dev_swaps_servers_on_save_without_failing_a_request() {
    let dir = support::scratch("dev-swaps");
    let out = support::approute(&dir, &["new", "dev-app"]);
    assert!(out.status.success(), "{out:?}");
    let app = dir.join("dev-app");
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let dev = DevProcess::start(&app, port);

    until(addr, "/api/hello", FIRST_BUILD, |s, b| {
        s == 200 && b == "hello"
    });
    let poller = Poller::start(addr);
    // The first build linked against approute as a shared library runs in
    // the background while the first server answers; saves after it link
    // that way.
    let started = Instant::now();
    while dev.count("link against approute as a shared library") == 0 {
        assert!(
            started.elapsed() < FIRST_BUILD && dev.count("rebuilds link statically") == 0,
            "{}",
            dev.output()
        );
        std::thread::sleep(POLL_EVERY);
    }

    let hello = app.join("app/api/hello/route.rs");
    let mut edits = Vec::new();
    for round in 1..=3 {
        let body = format!("hello {round}");
        write(
            hello.clone(),
            &format!("pub async fn GET() -> &'static str {{\n    \"{body}\"\n}}\n"),
        );
        edits.push(until(addr, "/api/hello", REBUILD, |s, b| {
            s == 200 && b == body
        }));
    }

    let served = dylib_linked_servers("dev_app");
    assert!(
        !served.is_empty(),
        "no server maps libapproute.so\n{}",
        dev.output()
    );

    let mut adds = Vec::new();
    for round in 1..=3 {
        let path = format!("/api/added{round}");
        write(
            app.join(format!("app/api/added{round}/route.rs")),
            &format!("pub async fn GET() -> &'static str {{\n    \"added {round}\"\n}}\n"),
        );
        adds.push(until(addr, &path, REBUILD, |s, _| s == 200));
    }
    assert!(
        dev.output()
            .contains("+ GET /api/added3  app/api/added3/route.rs"),
        "{}",
        dev.output()
    );

    // A type error: cargo fails, the last good server keeps answering.
    let kept = dev.count("still serving the last good build");
    write(
        hello.clone(),
        "pub async fn GET() -> &'static str {\n    42\n}\n",
    );
    let started = Instant::now();
    while dev.count("still serving the last good build") == kept {
        assert!(started.elapsed() < REBUILD, "{}", dev.output());
        std::thread::sleep(POLL_EVERY);
    }
    assert_eq!(get(addr, "/api/hello"), Ok((200, "hello 3".to_string())));

    // A tree problem: caught by the check before cargo runs.
    let kept = dev.count("the route tree has problems");
    write(
        app.join("app/api/broken/route.rs"),
        "pub async fn Get() {}\n",
    );
    let started = Instant::now();
    while dev.count("the route tree has problems") == kept {
        assert!(started.elapsed() < REBUILD, "{}", dev.output());
        std::thread::sleep(POLL_EVERY);
    }
    std::fs::remove_dir_all(app.join("app/api/broken")).unwrap();

    // Fixed again, and a route deleted.
    write(
        hello,
        "pub async fn GET() -> &'static str {\n    \"hello again\"\n}\n",
    );
    std::fs::remove_dir_all(app.join("app/api/added1")).unwrap();
    until(addr, "/api/added1", REBUILD, |s, _| s == 404);
    assert_eq!(
        get(addr, "/api/hello"),
        Ok((200, "hello again".to_string()))
    );
    assert!(
        dev.output().contains("- GET /api/added1"),
        "{}",
        dev.output()
    );

    // Route edits were built by rustc alone; a build script that does
    // more than ask to be rerun sends the build through cargo again.
    assert!(
        dev.count("rustc started (no cargo)") >= 6,
        "{}",
        dev.output()
    );
    let via_cargo = dev.count("cargo started");
    write(
        app.join("build.rs"),
        "fn main() {\n    println!(\"cargo:rerun-if-changed=app\");\n    \
         println!(\"cargo:rustc-env=GREETING=from build.rs\");\n}\n",
    );
    write(
        app.join("app/api/hello/route.rs"),
        "pub async fn GET() -> &'static str {\n    env!(\"GREETING\")\n}\n",
    );
    until(addr, "/api/hello", REBUILD, |s, b| {
        s == 200 && b == "from build.rs"
    });
    assert!(dev.count("cargo started") > via_cargo, "{}", dev.output());

    // Every server took the socket and said READY=1: no plain restarts.
    assert!(!dev.output().contains("plainly"), "{}", dev.output());
    assert!(!dev.output().contains("READY=1"), "{}", dev.output());
    let (polls, failures) = poller.finish();
    eprintln!(
        "dev: {polls} polls; save -> first answer: edit median {:?} {edits:?}, new route median {:?} {adds:?}",
        median(edits.clone()),
        median(adds.clone())
    );
    assert!(
        failures.is_empty(),
        "{} of {polls} polls failed: {failures:?}\n{}",
        failures.len(),
        dev.output()
    );

    let status = dev.stop();
    assert!(status.success(), "{status:?}");
    assert!(get(addr, "/api/hello").is_err(), "the server outlived dev");
}

/// An app that binds its own port (here `axum::serve`) cannot take the
/// socket `dev` holds: it gets a plain restart, and a line saying so.
#[test]
fn an_app_served_another_way_gets_plain_restarts() {
    let dir = support::scratch("dev-plain");
    assert!(support::approute(&dir, &["new", "plain-app"])
        .status
        .success());
    let app = dir.join("plain-app");
    write(
        app.join("src/main.rs"),
        "approute::app!();\n\n\
         #[tokio::main]\n\
         async fn main() {\n    \
             let port: u16 = std::env::var(\"PORT\").unwrap().parse().unwrap();\n    \
             let listener = tokio::net::TcpListener::bind((\"127.0.0.1\", port)).await.unwrap();\n    \
             approute::axum::serve(listener, app::router().into_make_service()).await.unwrap();\n\
         }\n",
    );
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let dev = DevProcess::start(&app, port);
    until(addr, "/api/hello", FIRST_BUILD, |s, b| {
        s == 200 && b == "hello"
    });
    assert!(
        dev.output().contains("restarting it plainly"),
        "{}",
        dev.output()
    );
    write(
        app.join("app/api/hello/route.rs"),
        "pub async fn GET() -> &'static str {\n    \"plain\"\n}\n",
    );
    until(addr, "/api/hello", REBUILD, |s, b| s == 200 && b == "plain");
    assert!(dev.stop().success());
}

/// `panic = "abort"` cannot link against approute's shared library (std's
/// shared build unwinds): `dev` says so and its rebuilds link statically.
#[test]
fn an_app_that_cannot_link_against_the_dylib_links_statically() {
    let dir = support::scratch("dev-abort");
    assert!(support::approute(&dir, &["new", "abort-app"])
        .status
        .success());
    let app = dir.join("abort-app");
    let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    write(
        app.join("Cargo.toml"),
        &format!("{manifest}\n[profile.dev]\npanic = \"abort\"\n"),
    );
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let dev = DevProcess::start(&app, port);
    until(addr, "/api/hello", FIRST_BUILD, |s, b| {
        s == 200 && b == "hello"
    });
    let started = Instant::now();
    while dev.count("rebuilds link statically") == 0 {
        assert!(started.elapsed() < FIRST_BUILD, "{}", dev.output());
        std::thread::sleep(POLL_EVERY);
    }
    assert!(dev.output().contains("panic strategy"), "{}", dev.output());
    for round in 1..=2 {
        let body = format!("static {round}");
        write(
            app.join("app/api/hello/route.rs"),
            &format!("pub async fn GET() -> &'static str {{\n    \"{body}\"\n}}\n"),
        );
        until(addr, "/api/hello", REBUILD, |s, b| s == 200 && b == body);
    }
    // Not tried again: the graph cannot link this way.
    assert_eq!(dev.count("rebuilds link statically"), 1, "{}", dev.output());
    assert!(dylib_linked_servers("abort_app").is_empty());
    assert!(dev.stop().success());
}
