//! What the `fixtures/compression` routes send: a page, a JSON list, and a
//! body that pauses after its first part.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use approute::axum::body::Bytes;
use http_body::Frame;

/// An HTML page of about 6 KiB.
pub fn page() -> String {
    let notes: String = (0..50)
        .map(|i| {
            format!(
                "<li class=\"note\"><a href=\"/notes/{i}\">Note {i}</a> water the plants</li>\n"
            )
        })
        .collect();
    format!("<!doctype html><html><head><title>Notes</title></head><body><ul>\n{notes}</ul></body></html>\n")
}

/// 100 notes as JSON, about 7 KiB.
pub fn list() -> serde_json::Value {
    (0..100)
        .map(|i| serde_json::json!({ "id": i, "title": format!("Note {i}"), "done": i % 3 == 0 }))
        .collect()
}

/// `first`, then a 30 s pause, then `last part`: a client that sees
/// `first` early knows it was not held back.
pub struct Pausing {
    first: Option<String>,
    pause: Pin<Box<tokio::time::Sleep>>,
    done: bool,
}

impl Pausing {
    pub fn new(first: String) -> Pausing {
        Pausing {
            first: Some(first),
            pause: Box::pin(tokio::time::sleep(Duration::from_secs(30))),
            done: false,
        }
    }
}

impl http_body::Body for Pausing {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(first)))));
        }
        if self.done {
            return Poll::Ready(None);
        }
        std::task::ready!(self.pause.as_mut().poll(cx));
        self.done = true;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"last part")))))
    }
}
