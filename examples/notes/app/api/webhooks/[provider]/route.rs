//! `POST /api/webhooks/{provider}`: events from another service, signed
//! with the secret `WEBHOOK_SECRET_<PROVIDER>` (see `crate::webhooks` for
//! the `x-signature: t=..,v1=..` scheme).
//!
//! - unknown provider: `404`; bad, missing or stale (over 5 minutes)
//!   signature: `401`; body not a JSON event: `400`;
//! - an event id or signature seen before: `409` (a replay, or a retry of
//!   an event already handled: either way, nothing happens twice);
//! - `{"id": "evt_1", "type": "note.create", "data": {"email": ..., "title":
//!   ..., "body": ..., "public": false}}` creates a note for that user, in
//!   the same transaction that records the event; other types are recorded
//!   and acknowledged.
//!
//! The handler takes the body as `Bytes`: the MAC is over the exact bytes
//! sent, which parsing and re-serializing JSON would not preserve.

use approute::axum::body::Bytes;
use approute::axum::extract::{Path, State};
use approute::axum::http::HeaderMap;
use approute::axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::events::NoteEventKind;
use crate::notes::{self, NewNote};
use crate::util::now_secs;
use crate::webhooks;
use crate::AppState;

pub const BODY_LIMIT: usize = 262_144;

#[derive(Deserialize)]
pub struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Value,
}

#[derive(Deserialize)]
pub struct NoteCreate {
    email: String,
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    public: bool,
}

/// An event from another service, signed with its secret.
pub async fn POST(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let provider = provider.to_ascii_lowercase();
    let Some(secret) = state.config.webhook_secrets.get(&provider) else {
        return Err(ApiError::not_found("webhook provider"));
    };
    let header = headers.get(webhooks::HEADER).and_then(|v| v.to_str().ok());
    let signature = webhooks::verify(
        secret.as_bytes(),
        header,
        &body,
        now_secs(),
        state.config.webhook_tolerance,
    )
    .map_err(|e| ApiError::unauthorized(e.to_string()))?;
    let event: Event = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("not a webhook event: {e}")))?;
    if event.id.is_empty() || event.id.len() > 200 {
        return Err(ApiError::bad_request(
            "the event id must be 1 to 200 characters",
        ));
    }

    let mut tx = state.db.pool.begin().await?;
    let recorded = sqlx::query(
        "INSERT INTO webhook_events (provider, event_id, signature, event_type, received_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&provider)
    .bind(&event.id)
    .bind(&signature)
    .bind(&event.kind)
    .bind(crate::util::now_millis())
    .execute(&mut *tx)
    .await;
    match recorded {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(ApiError::conflict(format!(
                "event {} was received already",
                event.id
            )));
        }
        Err(e) => return Err(e.into()),
    }

    let mut created = None;
    if event.kind == "note.create" {
        let data: NoteCreate = serde_json::from_value(event.data)
            .map_err(|e| ApiError::invalid([("data", e.to_string())].into()))?;
        let user: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(data.email.trim().to_lowercase())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(user_id) = user else {
            return Err(ApiError::invalid(
                [("data", "no user has that email".to_string())].into(),
            ));
        };
        let new = NewNote {
            title: data.title,
            body: data.body,
            public: data.public,
        }
        .validate()?;
        let note = notes::insert(&mut *tx, user_id, &new).await?;
        created = Some((user_id, note));
    }
    // The event is recorded and its effect applied together, or neither
    // (an error above drops `tx`, which rolls back): the sender can retry.
    tx.commit().await?;

    let mut note = None;
    if let Some((user_id, created)) = created {
        state
            .changed(user_id, NoteEventKind::Created, &created, false)
            .await;
        note = Some(created);
    }
    Ok(Json(
        json!({ "received": true, "event": event.id, "note": note }),
    ))
}
