//! Signed webhooks: the good one acts once; a bad, missing, stale or
//! replayed one does nothing.

use notes::util::now_secs;
use notes::webhooks::header_value;
use serde_json::json;

use crate::support::{Client, Res, TestApp};

const SECRET: &[u8] = b"whsec_test";

async fn deliver(client: &Client, provider: &str, signature: Option<&str>, body: &str) -> Res {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(signature) = signature {
        headers.push(("x-signature", signature));
    }
    let req = client.request_with(
        "POST",
        &format!("/api/webhooks/{provider}"),
        &headers,
        body.to_string(),
    );
    client.send(req).await
}

fn note_event(id: &str, title: &str) -> String {
    // Spacing kept as a sender might send it: the MAC is over these bytes.
    format!(
        r#"{{ "id": "{id}", "type": "note.create",
            "data": {{ "email": "alice@example.com", "title": "{title}", "body": "from billing" }} }}"#
    )
}

#[tokio::test]
async fn a_signed_event_acts_once() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let hook = app.client();
    let body = note_event("evt_1", "Invoice paid");
    let signature = header_value(SECRET, now_secs(), body.as_bytes());

    let res = deliver(&hook, "billing", Some(&signature), &body).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let answer = res.json();
    assert_eq!(answer["received"], true);
    assert_eq!(answer["event"], "evt_1");
    assert_eq!(answer["note"]["title"], "Invoice paid");
    let list = alice.get("/api/notes").await.json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["notes"][0]["body"], "from billing");

    // The very same request again: a replay.
    let res = deliver(&hook, "billing", Some(&signature), &body).await;
    assert_eq!(res.status, 409, "{}", res.text());
    assert_eq!(res.error(), "event evt_1 was received already");

    // Same event, signed afresh (a retry, or a replay with a new stamp).
    let later = header_value(SECRET, now_secs() - 10, body.as_bytes());
    assert_eq!(
        deliver(&hook, "billing", Some(&later), &body).await.status,
        409
    );
    assert_eq!(
        alice.get("/api/notes").await.json()["total"],
        1,
        "acted once"
    );

    // Provider names are case-insensitive; other event types are recorded.
    let other = r#"{"id":"evt_2","type":"invoice.created","data":{}}"#;
    let signature = header_value(SECRET, now_secs(), other.as_bytes());
    let res = deliver(&hook, "Billing", Some(&signature), other).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["note"], serde_json::Value::Null);
}

#[tokio::test]
async fn bad_signatures_are_401_and_do_nothing() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let hook = app.client();
    let body = note_event("evt_1", "Forged");
    let now = now_secs();

    let cases = [
        ("missing", None),
        ("malformed", Some("sha256=abc".to_string())),
        ("no v1", Some(format!("t={now}"))),
        (
            "wrong secret",
            Some(header_value(b"guess", now, body.as_bytes())),
        ),
        ("other body", Some(header_value(SECRET, now, b"{}"))),
        (
            "other time",
            Some(format!(
                "t={},v1={}",
                now - 1,
                notes::webhooks::sign(SECRET, now, body.as_bytes())
            )),
        ),
        (
            "six minutes old",
            Some(header_value(SECRET, now - 360, body.as_bytes())),
        ),
        (
            "six minutes ahead",
            Some(header_value(SECRET, now + 360, body.as_bytes())),
        ),
        ("not hex", Some(format!("t={now},v1=zz"))),
    ];
    for (case, signature) in cases {
        let res = deliver(&hook, "billing", signature.as_deref(), &body).await;
        assert_eq!(res.status, 401, "{case}: {}", res.text());
        assert_eq!(res.json()["error"]["status"], 401, "{case}");
    }
    // A tampered body: signed, then changed in flight.
    let signature = header_value(SECRET, now, body.as_bytes());
    let tampered = body.replace("Forged", "Tampered");
    assert_eq!(
        deliver(&hook, "billing", Some(&signature), &tampered)
            .await
            .status,
        401
    );

    // Within the five minutes: accepted.
    let signature = header_value(SECRET, now - 240, body.as_bytes());
    assert_eq!(
        deliver(&hook, "billing", Some(&signature), &body)
            .await
            .status,
        200
    );
    assert_eq!(alice.get("/api/notes").await.json()["total"], 1);

    // A provider without a secret: 404.
    let signature = header_value(SECRET, now, body.as_bytes());
    assert_eq!(
        deliver(&hook, "github", Some(&signature), &body)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_signed_event_that_cannot_be_applied_is_not_recorded() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let hook = app.client();

    // Signed, but not JSON: 400.
    let signature = header_value(SECRET, now_secs(), b"not json");
    assert_eq!(
        deliver(&hook, "billing", Some(&signature), "not json")
            .await
            .status,
        400
    );

    // A note for a user who does not exist: 422, and the event is not
    // recorded, so the sender may retry once the account exists.
    let body = json!({ "id": "evt_9", "type": "note.create",
        "data": { "email": "nobody@example.com", "title": "t" } })
    .to_string();
    let signature = header_value(SECRET, now_secs(), body.as_bytes());
    let res = deliver(&hook, "billing", Some(&signature), &body).await;
    assert_eq!(res.status, 422, "{}", res.text());
    let body = body.replace("nobody@", "alice@");
    let signature = header_value(SECRET, now_secs(), body.as_bytes());
    let res = deliver(&hook, "billing", Some(&signature), &body).await;
    assert_eq!(
        res.status,
        200,
        "same event id, now applicable: {}",
        res.text()
    );
    assert_eq!(alice.get("/api/notes").await.json()["total"], 1);
}

/// A sender retrying in a hurry: the same event delivered ten times at
/// once is applied exactly once; the others are 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_of_one_event_act_once() {
    let app = TestApp::start().await;
    let alice = app.user("alice@example.com").await;
    let body = note_event("evt_burst", "Once only");
    let signature = header_value(SECRET, now_secs(), body.as_bytes());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (hook, body, signature) = (app.client(), body.clone(), signature.clone());
        tasks.spawn(async move {
            deliver(&hook, "billing", Some(&signature), &body)
                .await
                .status
        });
    }
    let mut statuses = tasks.join_all().await;
    statuses.sort();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(alice.get("/api/notes").await.json()["total"], 1);
}
