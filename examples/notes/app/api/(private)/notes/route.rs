//! `/api/notes`: the signed-in user's notes.
//!
//! - `GET /api/notes?q=milk&limit=20&offset=0`: a page of notes, newest
//!   first, whose title or body contains `q`; `400` for a bad `limit` or
//!   `offset`.
//! - `POST /api/notes` with `{"title": "...", "body": "...", "public": false}`:
//!   `201` with the note and its `Location`; `400` for malformed JSON, `415`
//!   without `Content-Type: application/json`, `422` for wrong values.

use std::collections::BTreeMap;

use approute::axum::extract::{Query, State};
use approute::axum::http::{header, HeaderName, StatusCode};
use approute::axum::Json;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::error::{ApiError, JsonBody};
use crate::notes::{self, NewNote, Note, Page, DEFAULT_LIMIT, MAX_LIMIT};
use crate::AppState;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    limit: Option<String>,
    offset: Option<String>,
}

/// A page of the signed-in user's notes, newest first.
///
/// `q` searches titles and bodies; `limit` (1 to 100, default 20) and
/// `offset` page through them.
pub async fn GET(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Result<Query<ListQuery>, approute::axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page>, ApiError> {
    let Query(query) = query?;
    let mut fields = BTreeMap::new();
    let limit = match query.limit.as_deref().map(str::parse::<i64>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            fields.insert("limit", format!("must be an integer from 1 to {MAX_LIMIT}"));
            0
        }
    };
    let offset = match query.offset.as_deref().map(str::parse::<i64>) {
        None => 0,
        Some(Ok(n)) if n >= 0 => n,
        Some(_) => {
            fields.insert("offset", "must be a whole number, 0 or more".to_string());
            0
        }
    };
    if !fields.is_empty() {
        let mut error = ApiError::invalid(fields);
        error.status = StatusCode::BAD_REQUEST;
        return Err(error);
    }
    if query.q.chars().count() > 200 {
        return Err(ApiError::bad_request("q must be at most 200 characters"));
    }
    Ok(Json(
        notes::list(&state, user.id, &query.q, limit, offset).await?,
    ))
}

/// Creates a note.
pub async fn POST(
    State(state): State<AppState>,
    user: CurrentUser,
    JsonBody(new): JsonBody<NewNote>,
) -> Result<(StatusCode, [(HeaderName, String); 1], Json<Note>), ApiError> {
    let note = notes::create(&state, user.id, new.validate()?).await?;
    let location = crate::app::href!("/api/notes/[id]", id = note.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(note),
    ))
}
