//! Per-route BODY_LIMIT and MAX_DURATION, over a real socket.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use approute_tests::limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `head` then `body` and returns the status line's code.
async fn send(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer 413 and close before reading it all.
    let _ = stream.write_all(body).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn post(path: &str, len: usize) -> String {
    format!("POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n")
}

fn post_chunked(path: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n")
}

#[tokio::test]
async fn body_limit_per_route() {
    let addr = support::serve(limits::router()).await;
    let (status, text) = send(addr, &post("/small", 5), b"hello").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("hello"));

    let (status, text) = send(addr, &post("/small", 17), &[b'x'; 17]).await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("BODY_LIMIT"), "{text}");

    // without Content-Length the body is cut off at the limit too
    let (status, text) = send(
        addr,
        &post_chunked("/small"),
        b"20\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(status, 413, "{text}");

    // a route may allow more than axum's 2 MiB default
    let three_mib = vec![b'x'; 3 * 1024 * 1024];
    let (status, text) = send(addr, &post("/big", three_mib.len()), &three_mib).await;
    assert_eq!(status, 200, "{}", &text[..text.len().min(300)]);
    assert!(text.ends_with("3145728"));
}

#[tokio::test]
async fn max_duration_cancels_the_handler() {
    let addr = support::serve(limits::router()).await;
    let fast = support::raw(addr, "GET", "/slow?ms=10").await;
    assert_eq!((fast.status, fast.text().as_str()), (200, "slept 10 ms"));

    let started = Instant::now();
    let slow = support::raw(addr, "GET", "/slow?ms=5000").await;
    assert_eq!(slow.status, 504);
    assert!(
        slow.text().contains("MAX_DURATION of 1 s"),
        "{}",
        slow.text()
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "answered after {took:?}, not at the deadline"
    );
}
