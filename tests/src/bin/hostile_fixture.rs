//! A server process for `tests/hostile.rs` to attack and weigh (its RSS):
//! `approute::serve` with `WRITE_TIMEOUT_MS`, `MAX_CONNECTIONS` and
//! `HEADER_LIMIT` from the environment when set, serving
//! - `GET /hello`: `hello`;
//! - `GET /big?mb=N`: an N MiB body made for the request;
//! - `GET /events?idle_ms=N`: an event stream, one event, N ms of silence,
//!   a second event, the end.
//!
//! Binds `$HOST:$PORT` (the test sets `PORT=0`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use approute::axum::body::{Body, Bytes};
use approute::axum::http::{header, Uri};
use approute::axum::response::IntoResponse;
use approute::axum::routing::get;
use approute::axum::Router;
use http_body::Frame;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    approute::serve::init_logging();
    let router = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route("/big", get(big))
        .route("/events", get(events));
    let mut server = approute::serve(router);
    if let Some(ms) = env_number("WRITE_TIMEOUT_MS") {
        server = server.write_timeout(Duration::from_millis(ms as u64));
    }
    if let Some(max) = env_number("MAX_CONNECTIONS") {
        server = server.max_connections(max);
    }
    if let Some(bytes) = env_number("HEADER_LIMIT") {
        server = server.header_limit(bytes);
    }
    server.await
}

fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.parse().ok()
}

/// The number after `name=` in the query, 0 without one.
fn query_number(uri: &Uri, name: &str) -> u64 {
    uri.query()
        .and_then(|q| q.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
        .unwrap_or(0)
}

async fn big(uri: Uri) -> Bytes {
    Bytes::from(vec![b'x'; (query_number(&uri, "mb") as usize) << 20])
}

async fn events(uri: Uri) -> impl IntoResponse {
    let idle = Duration::from_millis(query_number(&uri, "idle_ms"));
    let body = TwoEvents {
        sent: 0,
        pause: Box::pin(tokio::time::sleep(idle)),
    };
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::new(body),
    )
}

/// `data: 1`, a pause, `data: 2`.
struct TwoEvents {
    sent: u8,
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for TwoEvents {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.sent {
            0 => {}
            1 => std::task::ready!(self.pause.as_mut().poll(cx)),
            _ => return Poll::Ready(None),
        }
        self.sent += 1;
        let event = format!("data: {}\n\n", self.sent);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(event)))))
    }
}
