//! The header read timeout, which the server keeps per connection (one
//! timer a connection, moved only when it fires): it bounds the wait for a
//! request's head, on a new connection and between kept-alive requests,
//! and never runs while a request is being answered, however long its
//! handler or its streamed body takes. Over real sockets.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use approute::axum::body::{Body, Bytes};
use approute::axum::routing::get;
use approute::axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const HEADER_TIMEOUT: Duration = Duration::from_millis(400);

async fn start() -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let router = Router::new()
        .route("/quick", get(|| async { "quick" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(HEADER_TIMEOUT * 3).await;
                "slow"
            }),
        )
        .route(
            "/stream",
            get(|| async {
                // Two chunks, the second well past the header timeout.
                Body::new(Paused::new(HEADER_TIMEOUT * 3))
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        approute::serve(router)
            .listener(listener)
            .header_read_timeout(HEADER_TIMEOUT)
            .shutdown_on(async move {
                stopped.await.ok();
            })
            .run(),
    );
    (addr, stop)
}

/// `first `, then after a pause, `second`: a body quiet for a while.
struct Paused {
    sent: u8,
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl Paused {
    fn new(pause: Duration) -> Paused {
        Paused {
            sent: 0,
            pause: Box::pin(tokio::time::sleep(pause)),
        }
    }
}

impl http_body::Body for Paused {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        let chunk: &'static [u8] = match self.sent {
            0 => b"first ",
            1 => {
                ready!(self.pause.as_mut().poll(cx));
                b"second"
            }
            _ => return Poll::Ready(None),
        };
        self.sent += 1;
        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(chunk)))))
    }
}

/// Sends a GET on `stream` and reads the whole answer (chunked or sized);
/// `None` if the connection closed first.
async fn get_on(stream: &mut TcpStream, path: &str) -> Option<String> {
    let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let head = head.to_ascii_lowercase();
            if head.contains("transfer-encoding: chunked") && body.ends_with("0\r\n\r\n") {
                return Some(text);
            }
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|n| n.trim().parse::<usize>().ok());
            if length.is_some_and(|n| body.len() >= n) {
                return Some(text);
            }
        }
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .expect("no answer in time");
        match read {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// How long until the server closes `stream`, which sends nothing.
async fn closed_after(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut chunk = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "not closed: {read:?}"
    );
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_longer_than_the_header_timeout_are_answered_whole() {
    let (addr, _stop) = start().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let slow = get_on(&mut stream, "/slow").await.expect("the slow answer");
    assert!(slow.ends_with("slow"), "{slow}");
    let streamed = get_on(&mut stream, "/stream").await.expect("the stream");
    assert!(
        streamed.contains("first ") && streamed.contains("second"),
        "{streamed}"
    );
    // Requests in a row, each within the timeout of the last answer: the
    // clock starts again for every head.
    for _ in 0..3 {
        tokio::time::sleep(HEADER_TIMEOUT / 2).await;
        let quick = get_on(&mut stream, "/quick").await.expect("kept alive");
        assert!(quick.ends_with("quick"), "{quick}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_waiting_for_a_head_is_closed_at_the_header_timeout() {
    let (addr, _stop) = start().await;
    // Idle after an answer (kept alive), with the timer set for an earlier head.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    assert!(get_on(&mut idle, "/slow").await.is_some());
    let took = closed_after(&mut idle).await;
    assert!(
        took >= HEADER_TIMEOUT / 2 && took < HEADER_TIMEOUT * 4,
        "{took:?}"
    );
    // Half a head, then nothing.
    let mut loris = TcpStream::connect(addr).await.unwrap();
    loris
        .write_all(b"GET /quick HTTP/1.1\r\nhost: t\r\n")
        .await
        .unwrap();
    let took = closed_after(&mut loris).await;
    assert!(took < HEADER_TIMEOUT * 4, "{took:?}");
}
