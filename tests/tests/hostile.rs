//! `approute::serve` under hostile traffic, over real sockets: clients that
//! stop reading, too many connections, running out of file descriptors,
//! oversized headers; and the peer address each request carries. Where
//! memory or CPU is the point, the server is `src/bin/hostile_fixture.rs`
//! in a child process, weighed through `/proc/PID`.

mod support;

use std::io;
use std::net::SocketAddr;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use approute::axum::extract::ConnectInfo;
use approute::axum::routing::get;
use approute::axum::Router;
use approute::ClientAddr;
use support::parse_response;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::UnboundedReceiver;

const MIB: u64 = 1024 * 1024;

/// The fixture server as a child process on a free port, its stderr kept.
struct FixtureProcess {
    child: Child,
    addr: SocketAddr,
    lines: UnboundedReceiver<String>,
    log: Vec<String>,
}

impl FixtureProcess {
    /// Started with these environment variables, under `prlimit` when
    /// `open_files` is given.
    async fn start(env: &[(&str, &str)], open_files: Option<u32>) -> FixtureProcess {
        let fixture = env!("CARGO_BIN_EXE_hostile_fixture");
        let mut command = match open_files {
            Some(n) => {
                let mut command = Command::new("prlimit");
                command
                    .arg(format!("--nofile={n}:{n}"))
                    .arg("--")
                    .arg(fixture);
                command
            }
            None => Command::new(fixture),
        };
        let (child, lines) = support::spawn_server(command.envs(env.iter().copied()));
        let mut server = FixtureProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            lines,
            log: Vec::new(),
        };
        server.addr = loop {
            let line = tokio::time::timeout(Duration::from_secs(20), server.lines.recv())
                .await
                .expect("no `listening on` line in time")
                .expect("the server exited before listening");
            server.log.push(line.clone());
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        server
    }

    /// A field of `/proc/PID/status`, in bytes (`VmRSS`, `VmHWM`).
    fn memory(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|line| line.starts_with(field)).unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }

    fn rss(&self) -> u64 {
        self.memory("VmRSS:")
    }

    /// User plus system CPU time so far, in clock ticks (1/100 s).
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are fields 14 and 15; `after_name` starts at 3.
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// Every stderr line so far.
    fn log(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.log.push(line);
        }
        self.log.join("\n")
    }
}

impl Drop for FixtureProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 50 ms until it holds or `limit` passes.
async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}

fn get_request(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: t\r\n\r\n").into_bytes()
}

/// Reads until one whole response is in, the connection ends, or `limit`
/// passes; what came, and whether the connection ended.
async fn read_some(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (buf, true),
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                if parse_response(&buf, false, false).is_some() {
                    return (buf, false);
                }
            }
            Err(_) => return (buf, false),
        }
    }
}

async fn status_of(addr: SocketAddr, request: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let (bytes, _) = read_some(&mut stream, Duration::from_secs(5)).await;
    parse_response(&bytes, true, false)
        .unwrap_or_else(|| panic!("no response: {:?}", String::from_utf8_lossy(&bytes)))
        .status
}

// ---------------------------------------------------------------------------
// Slow readers: the write timeout.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_off_and_its_memory_freed() {
    const CLIENTS: usize = 3;
    const BODY_MIB: u64 = 48;
    let server = FixtureProcess::start(&[("WRITE_TIMEOUT_MS", "1000")], None).await;
    let before = server.rss();

    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(&get_request(&format!("/big?mb={BODY_MIB}")))
            .await
            .unwrap();
        clients.push(stream); // and never read
    }
    let held = CLIENTS as u64 * BODY_MIB * MIB;
    assert!(
        eventually(Duration::from_secs(10), || server.rss() > before + held / 2).await,
        "the bodies never showed in RSS: {} MiB before, {} MiB now",
        before / MIB,
        server.rss() / MIB
    );
    let started = Instant::now();
    assert!(
        eventually(Duration::from_secs(8), || server.rss() < before + 24 * MIB).await,
        "RSS stayed at {} MiB ({} MiB before)",
        server.rss() / MIB,
        before / MIB
    );
    let freed_after = started.elapsed();
    eprintln!(
        "{CLIENTS} stuck {BODY_MIB} MiB responses: RSS {} MiB before, {} MiB after, freed in {freed_after:?}",
        before / MIB,
        server.rss() / MIB
    );
    // The connections are closed: what the kernel had buffered, then the end.
    for mut stream in clients {
        let mut taken = 0u64;
        let mut chunk = vec![0u8; 256 * 1024];
        let ended = loop {
            match tokio::time::timeout(Duration::from_secs(3), stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break true,
                Ok(Ok(n)) => taken += n as u64,
                Err(_) => break false,
            }
        };
        assert!(ended, "the connection is still open after {taken} bytes");
        assert!(taken < BODY_MIB * MIB, "the whole body came: {taken}");
    }
    // The server goes on.
    assert_eq!(status_of(server.addr, &get_request("/hello")).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_event_stream_outlives_the_write_timeout() {
    let server = FixtureProcess::start(&[("WRITE_TIMEOUT_MS", "300")], None).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(&get_request("/events?idle_ms=1500"))
        .await
        .unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("data: 2") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("the second event never came")
            .expect("the stream broke");
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("data: 1\n\n"), "{text}");
    assert!(started.elapsed() >= Duration::from_millis(1400));
}

// ---------------------------------------------------------------------------
// Connections: the cap, and accept errors.

/// `router` served in process with `configure` applied, until the test ends.
async fn serve_in_process(
    router: Router,
    configure: impl FnOnce(approute::serve::Server) -> approute::serve::Server,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server =
        configure(approute::serve(router).listener(listener)).shutdown_on(std::future::pending());
    tokio::spawn(server.run());
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_connections_a_new_one_waits_for_a_free_slot() {
    let router = Router::new().route("/hello", get(|| async { "hello" }));
    let addr = serve_in_process(router, |server| server.max_connections(2)).await;
    // Two keep-alive connections, answered once, then idle.
    let mut idle = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&get_request("/hello")).await.unwrap();
        let (bytes, closed) = read_some(&mut stream, Duration::from_secs(5)).await;
        assert!(!closed && bytes.starts_with(b"HTTP/1.1 200"));
        idle.push(stream);
    }
    // The third connects (the kernel queues it) but is not served...
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(&get_request("/hello")).await.unwrap();
    let (bytes, closed) = read_some(&mut third, Duration::from_millis(500)).await;
    assert!(
        bytes.is_empty() && !closed,
        "{:?}",
        String::from_utf8_lossy(&bytes)
    );
    // ...until a slot frees.
    drop(idle.pop());
    let freed = Instant::now();
    let (bytes, _) = read_some(&mut third, Duration::from_secs(5)).await;
    assert!(
        bytes.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(
        freed.elapsed() < Duration::from_secs(1),
        "{:?}",
        freed.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_descriptors_the_server_backs_off_logs_once_and_recovers() {
    // 64 descriptors, and a cap too high to protect them: accept fails.
    let mut server = FixtureProcess::start(&[("MAX_CONNECTIONS", "100000")], Some(64)).await;
    let mut flood = Vec::new();
    for _ in 0..150 {
        flood.push(TcpStream::connect(server.addr).await.unwrap());
    }
    assert!(
        eventually(Duration::from_secs(5), || server
            .log()
            .contains("accept failed"))
        .await,
        "accept never failed:\n{}",
        server.log()
    );
    let cpu_before = server.cpu_ticks();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu = server.cpu_ticks() - cpu_before;
    eprintln!("out of descriptors for 2 s: {cpu} ticks of CPU");
    assert!(
        cpu <= 20,
        "{cpu} ticks (1/100 s) of CPU in 2 s: the loop spins"
    );

    // Connections closed, descriptors free: a normal request is answered.
    drop(flood);
    let started = Instant::now();
    assert_eq!(status_of(server.addr, &get_request("/hello")).await, 200);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    let log = server.log();
    assert_eq!(log.matches("accept failed").count(), 1, "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_connection_cap_keeps_under_the_open_files_limit() {
    // 64 descriptors: the default cap leaves some for the app, so accept
    // never runs out; the flood waits in the backlog instead.
    let mut server = FixtureProcess::start(&[], Some(64)).await;
    let mut flood = Vec::new();
    for _ in 0..100 {
        flood.push(TcpStream::connect(server.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(flood);
    assert_eq!(status_of(server.addr, &get_request("/hello")).await, 200);
    let log = server.log();
    assert!(!log.contains("accept failed"), "{log}");
}

// ---------------------------------------------------------------------------
// Header buffers.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_get_a_431_and_hold_little_memory() {
    const CLIENTS: usize = 300;
    let server = FixtureProcess::start(&[], None).await;
    let before = server.rss();

    // 300 clients each send half of a 390 KB header, then wait.
    let half = format!(
        "GET /hello HTTP/1.1\r\nhost: t\r\nx-big: {}",
        "a".repeat(195_000)
    );
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let half = half.clone();
        let addr = server.addr;
        clients.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let _ = tokio::time::timeout(Duration::from_secs(5), stream.write_all(half.as_bytes()))
                .await;
            let (bytes, _) = read_some(&mut stream, Duration::from_secs(5)).await;
            (stream, bytes)
        }));
    }
    let mut statuses = Vec::new();
    let mut streams = Vec::new();
    for client in clients {
        let (stream, bytes) = client.await.unwrap();
        statuses.push(parse_response(&bytes, true, false).map(|r| r.status));
        streams.push(stream);
    }
    let peak = server.memory("VmHWM:");
    eprintln!(
        "{CLIENTS} half-sent 390 KB headers: RSS {} MiB before, peak {} MiB",
        before / MIB,
        peak / MIB
    );
    assert!(
        peak < before + 32 * MIB,
        "peak RSS {} MiB, {} MiB before",
        peak / MIB,
        before / MIB
    );
    assert!(
        statuses.iter().all(|s| *s == Some(431)),
        "{:?}",
        statuses
            .iter()
            .filter(|s| **s != Some(431))
            .take(5)
            .collect::<Vec<_>>()
    );
    drop(streams);

    // Clients that stay under the limit and stall hold at most its size.
    let stalled = format!(
        "GET /hello HTTP/1.1\r\nhost: t\r\nx-big: {}",
        "a".repeat(60_000)
    );
    let mut held = Vec::new();
    for _ in 0..CLIENTS {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(stalled.as_bytes()).await.unwrap();
        held.push(stream);
    }
    let settled = || server.memory("VmHWM:");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let peak = settled();
    eprintln!(
        "{CLIENTS} stalled 60 KB heads: RSS {} MiB before, peak {} MiB",
        before / MIB,
        peak / MIB
    );
    assert!(peak < before + 48 * MIB, "peak RSS {} MiB", peak / MIB);
    drop(held);

    // Under the 64 KiB default a large head is fine.
    let fine = format!(
        "GET /hello HTTP/1.1\r\nhost: t\r\nx-big: {}\r\n\r\n",
        "a".repeat(60_000)
    );
    assert_eq!(status_of(server.addr, fine.as_bytes()).await, 200);
    let over = format!(
        "GET /hello HTTP/1.1\r\nhost: t\r\nx-big: {}\r\n\r\n",
        "a".repeat(70_000)
    );
    assert_eq!(status_of(server.addr, over.as_bytes()).await, 431);
}

// ---------------------------------------------------------------------------
// The peer address, and the client behind trusted proxies.

async fn whoami(ConnectInfo(peer): ConnectInfo<SocketAddr>, client: ClientAddr) -> String {
    format!("peer {} client {}", peer.ip(), client.0)
}

async fn ask_whoami(addr: SocketAddr, forwarded_for: &str) -> String {
    let request = format!(
        "GET /whoami HTTP/1.1\r\nhost: t\r\nx-forwarded-for: {forwarded_for}\r\nconnection: close\r\n\r\n"
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let (bytes, _) = read_some(&mut stream, Duration::from_secs(5)).await;
    parse_response(&bytes, true, false).unwrap().text()
}

#[tokio::test]
async fn requests_carry_the_peer_and_the_client_behind_trusted_proxies() {
    let router = || Router::new().route("/whoami", get(whoami));
    let spoof = "6.6.6.6, 198.51.100.2";

    let direct = serve_in_process(router(), |server| server).await;
    assert_eq!(
        ask_whoami(direct, spoof).await,
        "peer 127.0.0.1 client 127.0.0.1"
    );

    let behind_proxy = serve_in_process(router(), |server| {
        server.trust_proxies(["127.0.0.0/8", "::1"])
    })
    .await;
    assert_eq!(
        ask_whoami(behind_proxy, spoof).await,
        "peer 127.0.0.1 client 198.51.100.2"
    );

    let other_proxy =
        serve_in_process(router(), |server| server.trust_proxies(["10.0.0.0/8"])).await;
    assert_eq!(
        ask_whoami(other_proxy, spoof).await,
        "peer 127.0.0.1 client 127.0.0.1"
    );

    // Without a server, the extractor says why; `Option` takes it calmly.
    let answer = support::call(&router(), "GET", "/whoami").await;
    assert_eq!(answer.status, 500);
}

#[tokio::test]
async fn a_proxy_entry_that_is_not_an_address_stops_the_server_at_start() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = approute::serve(Router::new())
        .listener(listener)
        .trust_proxies(["10.0.0.0/8", "my-proxy"])
        .shutdown_on(std::future::pending())
        .run()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("\"my-proxy\""), "{error}");
}
