//! `init_logging`'s buffered request lines over a real socket: a server
//! process (`src/bin/serve_fixture.rs`) answers a burst of requests and is
//! sent SIGTERM at once; every request's line must be on its stderr when it
//! exits, although lines wait up to 100 ms in the buffer.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `count` requests one after another on one kept-alive connection,
/// `GET /api/users/{first + i}`, reading each answer before the next.
async fn burst(addr: SocketAddr, first: usize, count: usize) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut buf = Vec::new();
    for id in first..first + count {
        let request = format!("GET /api/users/{id} HTTP/1.1\r\nhost: test\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        read_answer(&mut stream, &mut buf).await;
    }
}

/// Reads one answer with a `content-length`, leaving what follows in `buf`.
async fn read_answer(stream: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            assert!(head.starts_with("http/1.1 200"), "{head}");
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map(|n| n.trim().parse().unwrap())
                .expect("a content-length");
            if buf.len() >= end + 4 + length {
                buf.drain(..end + 4 + length);
                return;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .expect("no answer in time")
            .unwrap();
        assert!(n > 0, "the connection closed mid-answer");
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_line_is_lost_on_sigterm() {
    const CONNECTIONS: usize = 4;
    const EACH: usize = 500;
    let (mut child, mut lines) = support::spawn_server(&mut std::process::Command::new(env!(
        "CARGO_BIN_EXE_serve_fixture"
    )));
    let mut log = Vec::new();
    let addr: SocketAddr = loop {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.recv())
            .await
            .expect("no `listening on` line in time")
            .expect("the server's stderr closed");
        let addr = line.split("listening on http://").nth(1).map(|rest| {
            let addr = rest.split_whitespace().next().unwrap();
            addr.parse().unwrap()
        });
        log.push(line);
        if let Some(addr) = addr {
            break addr;
        }
    };

    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|c| tokio::spawn(burst(addr, c * EACH, EACH)))
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    // At once: the last lines are still in the buffer.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no exit");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // stderr closes when the process has exited: every line is in.
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(5), lines.recv()).await {
        log.push(line);
    }
    assert_eq!(status.code(), Some(0), "log tail:\n{}", tail(&log));

    let mut seen: BTreeMap<usize, usize> = BTreeMap::new();
    for line in &log {
        let Some(rest) = line.split(" request method=GET path=/api/users/").nth(1) else {
            continue;
        };
        let (id, rest) = rest.split_once(' ').unwrap();
        assert!(rest.starts_with("status=200 latency="), "{line}");
        *seen.entry(id.parse().unwrap()).or_default() += 1;
    }
    let total = CONNECTIONS * EACH;
    let missing: Vec<usize> = (0..total).filter(|id| !seen.contains_key(id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {total} request lines missing (first {:?}); log tail:\n{}",
        missing.len(),
        &missing[..missing.len().min(10)],
        tail(&log)
    );
    assert!(seen.values().all(|&n| n == 1), "a line logged twice");
    // The shutdown story comes after the requests' lines.
    let last_request = log.iter().rposition(|l| l.contains(" request method="));
    let stopped = log
        .iter()
        .position(|l| l.contains("every connection closed"));
    assert!(
        last_request < stopped && stopped.is_some(),
        "{}",
        tail(&log)
    );
}

fn tail(log: &[String]) -> String {
    log[log.len().saturating_sub(20)..].join("\n")
}
