//! Reading an answer's body to keep it, without losing it when it cannot
//! be kept (too large, trailers, an error): the client then gets what was
//! read followed by the rest.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt;

/// The whole body, or (over `limit`, or on an error or trailers) a body
/// that sends what was read and then the rest.
pub(crate) async fn buffer(mut body: Body, limit: usize) -> Result<Bytes, Body> {
    if body.size_hint().lower() > limit as u64 {
        return Err(body);
    }
    let mut read = VecDeque::new();
    let mut len = 0;
    loop {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    len += data.len();
                    read.push_back(Frame::data(data));
                    if len > limit {
                        return Err(Body::new(Replay {
                            read,
                            error: None,
                            rest: Some(body),
                        }));
                    }
                }
                Err(trailers) => {
                    read.push_back(trailers);
                    return Err(Body::new(Replay {
                        read,
                        error: None,
                        rest: Some(body),
                    }));
                }
            },
            Some(Err(e)) => {
                return Err(Body::new(Replay {
                    read,
                    error: Some(e),
                    rest: None,
                }));
            }
        }
    }
    let mut whole = Vec::with_capacity(len);
    for frame in read {
        if let Ok(data) = frame.into_data() {
            whole.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(whole))
}

/// The frames already read, then an error or the rest of the body.
struct Replay {
    read: VecDeque<Frame<Bytes>>,
    error: Option<axum::Error>,
    rest: Option<Body>,
}

impl http_body::Body for Replay {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Some(frame) = self.read.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if let Some(error) = self.error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        match self.rest.as_mut() {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn size_hint(&self) -> SizeHint {
        let read: usize = self
            .read
            .iter()
            .map(|f| f.data_ref().map_or(0, Bytes::len))
            .sum();
        let rest = self.rest.as_ref().map(Body::size_hint).unwrap_or_default();
        let mut hint = SizeHint::new();
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + read as u64);
        }
        hint.set_lower(rest.lower() + read as u64);
        hint
    }
}
