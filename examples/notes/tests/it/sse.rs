//! Server-sent events: a change made through the API reaches the owner's
//! open stream, and nobody else's.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{json, Value};

use crate::support::{Client, TestApp};

/// Reads `event:`/`data:` blocks off a streaming answer.
struct Events {
    body: Incoming,
    buffer: String,
}

impl Events {
    async fn open(client: &Client) -> Events {
        let res = client.open(client.request("GET", "/api/events")).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let mut events = Events {
            body: res.into_body(),
            buffer: String::new(),
        };
        // Subscribed from here on.
        assert_eq!(events.next().await.expect("a ready event").0, "ready");
        events
    }

    /// The next event's name and data, or `None` when the stream ends
    /// (within 5 s).
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() && name == "message" {
                    continue; // a keep-alive comment
                }
                return Some((name, serde_json::from_str(&data).unwrap()));
            }
            let frame = tokio::time::timeout(Duration::from_secs(5), self.body.frame())
                .await
                .expect("an event within 5 s")?
                .expect("a readable stream");
            if let Ok(data) = frame.into_data() {
                self.buffer.push_str(std::str::from_utf8(&data).unwrap());
            }
        }
    }
}

#[tokio::test]
async fn changes_arrive_live_for_their_owner_only() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let bob = app.user("bob@example.com").await;
    let mut alices = Events::open(&alice).await;
    let mut bobs = Events::open(&bob).await;

    // Bob's change first: Alice's stream must skip it.
    bob.create_note("bob's", "", false).await;
    let note = alice
        .create_note("Live!", "made through the API", false)
        .await;

    let (name, data) = alices.next().await.unwrap();
    assert_eq!(name, "note.created");
    assert_eq!(data, note, "the note itself, as the API shows it");
    let (name, data) = bobs.next().await.unwrap();
    assert_eq!(
        (name.as_str(), data["title"].as_str()),
        ("note.created", Some("bob's"))
    );

    let url = format!("/api/notes/{}", note["id"]);
    alice.patch_json(&url, &json!({ "title": "Edited" })).await;
    let (name, data) = alices.next().await.unwrap();
    assert_eq!(name, "note.updated");
    assert_eq!(data["title"], "Edited");
    assert_eq!(data["version"], 2);

    alice.delete(&url).await;
    let (name, data) = alices.next().await.unwrap();
    assert_eq!(name, "note.deleted");
    assert_eq!(data["id"], note["id"]);

    // Forms and uploads publish too.
    let req = alice.request_with(
        "POST",
        "/api/notes/form",
        &[("content-type", "application/x-www-form-urlencoded")],
        "title=From+the+form",
    );
    assert_eq!(alice.send(req).await.status, 303);
    let (name, data) = alices.next().await.unwrap();
    assert_eq!(
        (name.as_str(), data["title"].as_str()),
        ("note.created", Some("From the form"))
    );
}

#[tokio::test]
async fn streams_end_at_shutdown() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let mut events = Events::open(&alice).await;
    app.state.close_streams();
    assert_eq!(
        events.next().await,
        None,
        "the stream ends, so shutdown need not wait"
    );
}
