//! The memory store's bound holds for the whole process: a child server
//! with an 8 MiB `MemoryStore` takes 100k distinct URLs over real sockets
//! (small answers), then 20k more of mixed sizes, and its RSS, read
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
const BATCH: usize = 32;

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

/// GETs every target on one keep-alive connection, [`BATCH`] requests
/// written at a time (HTTP/1.1 pipelining), each answer checked for a 200.
async fn get_all(addr: SocketAddr, targets: Vec<String>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut buf = Vec::with_capacity(256 * 1024);
    for batch in targets.chunks(BATCH) {
        let mut heads = String::new();
        for target in batch {
            heads.push_str(&format!("GET {target} HTTP/1.1\r\nhost: fill.test\r\n\r\n"));
        }
        stream.write_all(heads.as_bytes()).await.unwrap();
        let mut answered = 0;
        while answered < batch.len() {
            match next_answer(&buf) {
                Some((status, len)) => {
                    assert_eq!(status, 200, "{}", batch[answered]);
                    buf.drain(..len);
                    answered += 1;
                }
                None => {
                    let mut chunk = [0; 64 * 1024];
                    let n = stream.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "the server closed the connection");
                    buf.extend_from_slice(&chunk[..n]);
                }
            }
        }
    }
}

/// The status and length of the complete answer at the start of `buf`
/// (every answer here has a `content-length`).
fn next_answer(buf: &[u8]) -> Option<(u16, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).unwrap();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let body: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .expect("a content-length");
    (buf.len() >= end + body).then_some((status, end + body))
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

/// What the `cache_fill` server says of its store: (answers, bytes counted).
async fn store_stats(addr: SocketAddr) -> (u64, u64) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = "GET /fixture/store HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let text = support::parse_response(&bytes, true, false).unwrap().text();
    let (answers, counted) = text.split_once(' ').unwrap();
    (answers.parse().unwrap(), counted.parse().unwrap())
}

/// Checks the store's count and the RSS growth since `before`.
async fn within_bound(server: &Server, before: u64, what: &str) {
    let after = rss_kib(server);
    let (answers, counted) = store_stats(server.addr).await;
    let growth = after.saturating_sub(before);
    eprintln!(
        "cache_memory: {what}: RSS {before} KiB -> {after} KiB (+{growth} KiB); \
         the store holds {answers} answers, {counted} bytes counted"
    );
    assert!(counted <= STORE_BYTES, "{counted} counted");
    assert!(answers > 1_000, "it keeps answers: {answers}");
    let bound_kib = (STORE_BYTES * 3 / 2 + 16 * 1024 * 1024) / 1024;
    assert!(
        growth <= bound_kib,
        "{what}: RSS grew by {growth} KiB, over {bound_kib} KiB"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_8_mib_store_keeps_the_process_within_its_bound() {
    let server = start();
    let started = Instant::now();
    // Warm up the connections and the server's buffers, uncached.
    load(server.addr, (0..2_000).map(|i| format!("/uncached?i={i}"))).await;
    let before = rss_kib(&server);

    // The worst case: small answers, where bookkeeping is most of the cost.
    load(server.addr, (0..URLS).map(|i| format!("/notes?i={i}"))).await;
    within_bound(&server, before, "100k small answers").await;

    // Then a mix: every 10th answer of 1 to 64 KiB.
    load(
        server.addr,
        (0..URLS / 5).map(|i| match i % 10 {
            0 => format!("/big?kib={}&i={i}", i / 10 % 64 + 1),
            _ => format!("/notes?mix={i}"),
        }),
    )
    .await;
    within_bound(&server, before, "then 20k of mixed sizes").await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(150), "took {took:?}");
}
