//! Live updates: every change to a note goes on a broadcast channel in
//! [`AppState`](crate::AppState); `app/api/(private)/events/route.rs` turns
//! the owner's share of it into server-sent events.

use std::convert::Infallible;
use std::time::Duration;

use approute::axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;

use crate::notes::Note;
use crate::AppState;

/// What happened to a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteEventKind {
    Created,
    Updated,
    Deleted,
}

impl NoteEventKind {
    /// The SSE event name: `note.created`, ...
    pub fn event_name(self) -> &'static str {
        match self {
            NoteEventKind::Created => "note.created",
            NoteEventKind::Updated => "note.updated",
            NoteEventKind::Deleted => "note.deleted",
        }
    }
}

/// A change to one user's note.
#[derive(Clone, Debug)]
pub struct NoteEvent {
    pub user_id: i64,
    pub kind: NoteEventKind,
    pub note: Note,
}

/// The event stream for one user: `ready` first (the client is subscribed
/// from then on), then `note.created` / `note.updated` / `note.deleted` with
/// the note as JSON data, `resync` if this client fell too far behind to
/// see every change, and a comment every 15 s to keep proxies from closing
/// the connection. It ends when the server shuts down.
pub fn stream(
    state: &AppState,
    user_id: i64,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.events.subscribe();
    let closed = Box::pin(state.closed());
    let ready = Event::default().event("ready").data("{}");
    let changes = stream::unfold((rx, closed), move |(mut rx, mut closed)| async move {
        loop {
            let received = tokio::select! {
                () = &mut closed => return None,
                received = rx.recv() => received,
            };
            let event = match received {
                Ok(event) if event.user_id == user_id => Event::default()
                    .event(event.kind.event_name())
                    .json_data(&event.note)
                    .expect("a note serializes"),
                Ok(_) => continue,
                Err(RecvError::Lagged(missed)) => Event::default()
                    .event("resync")
                    .data(format!("{{\"missed\":{missed}}}")),
                Err(RecvError::Closed) => return None,
            };
            return Some((Ok(event), (rx, closed)));
        }
    });
    let events = stream::once(async move { Ok(ready) }).chain(changes);
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
