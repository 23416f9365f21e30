//! The memory store's bound holds for the whole process: a child server
//! with an 8 MiB `MemoryStore` takes 100k distinct URLs over real sockets
//! (small answers, and every 50th one of 1 to 64 KiB), and its RSS, read
//! from `/proc/PID/status`, grows by at most 1.5 x 8 MiB + 16 MiB. Before
//! each entry was charged what it really takes, an 8 MiB store grew RSS by
//! 36 MiB over 40k entries.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STORE_BYTES: u64 = 8 * 1024 * 1024;
const URLS: usize = 100_000;
const CONNECTIONS: usize = 8;

/// The `cache_fill` server, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cache_fill"))
        .env("CACHE_BYTES", STORE_BYTES.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the cache_fill binary");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("cache_fill said {line:?}"))
        .parse()
        .unwrap();
    Server { child, addr }
}

/// The child's resident set, in KiB.
fn rss_kib(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// GETs every target in turn on one keep-alive connection.
async fn get_all(addr: SocketAddr, targets: Vec<String>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut buf = Vec::with_capacity(80 * 1024);
    for target in targets {
        let head = format!("GET {target} HTTP/1.1\r\nhost: fill.test\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        buf.clear();
        let answer = loop {
            if let Some(answer) = support::parse_response(&buf, false, false) {
                break answer;
            }
            let mut chunk = [0; 16 * 1024];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the server closed the connection at {target}");
            buf.extend_from_slice(&chunk[..n]);
        };
        assert_eq!(answer.status, 200, "{target}");
    }
}

/// Spreads `targets` over [`CONNECTIONS`] connections.
async fn load(addr: SocketAddr, targets: impl Iterator<Item = String>) {
    let mut shares = vec![Vec::new(); CONNECTIONS];
    for (i, target) in targets.enumerate() {
        shares[i % CONNECTIONS].push(target);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for share in shares {
        tasks.spawn(get_all(addr, share));
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_8_mib_store_keeps_the_process_within_its_bound() {
    let server = start();
    let started = Instant::now();
    // Warm up the connections and the server's buffers, uncached.
    load(server.addr, (0..2_000).map(|i| format!("/uncached?i={i}"))).await;
    let before = rss_kib(&server);

    load(
        server.addr,
        (0..URLS).map(|i| match i % 50 {
            0 => format!("/big?kib={}&i={i}", i / 50 % 64 + 1),
            _ => format!("/notes?i={i}"),
        }),
    )
    .await;
    let after = rss_kib(&server);

    let mut stats = Vec::new();
    let store = {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let head = "GET /fixture/store HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.read_to_end(&mut stats).await.unwrap();
        support::parse_response(&stats, true, false).unwrap().text()
    };
    let (answers, bytes) = store.split_once(' ').unwrap();
    let (answers, bytes): (u64, u64) = (answers.parse().unwrap(), bytes.parse().unwrap());
    let growth = after.saturating_sub(before);
    eprintln!(
        "cache_memory: RSS {before} KiB -> {after} KiB (+{growth} KiB) after {URLS} URLs; \
         the store holds {answers} answers, {bytes} bytes counted; took {:?}",
        started.elapsed()
    );
    assert!(bytes <= STORE_BYTES, "{bytes} counted");
    assert!(answers > 1_000, "it keeps answers: {answers}");
    let bound_kib = (STORE_BYTES * 3 / 2 + 16 * 1024 * 1024) / 1024;
    assert!(
        growth <= bound_kib,
        "RSS grew by {growth} KiB, over {bound_kib} KiB"
    );
    assert!(started.elapsed() < Duration::from_secs(120));
}
