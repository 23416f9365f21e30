//! `/api/notes/{id}`: one of the signed-in user's notes. Someone else's
//! note is `404`, exactly like one that does not exist.
//!
//! - `GET`: the note, with `ETag: "v<version>"`.
//! - `PATCH` with any of `{"title", "body", "public"}`: changes just those;
//!   add `"version": n` to change it only if it is still at version `n`
//!   (`409` with the current note otherwise).
//! - `DELETE`: `204`.

use approute::axum::extract::{Path, State};
use approute::axum::http::{header, HeaderName, StatusCode};
use approute::axum::Json;

use crate::auth::CurrentUser;
use crate::error::{ApiError, JsonBody};
use crate::notes::{self, Note, NotePatch};
use crate::AppState;

/// The id from the path: `400` unless it is a positive integer.
fn note_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request(format!("`{raw}` is not a note id")))
}

/// The note, with its version as the `ETag`.
type Tagged = ([(HeaderName, String); 1], Json<Note>);

fn with_etag(note: Note) -> Tagged {
    let etag = format!("\"v{}\"", note.version);
    ([(header::ETAG, etag)], Json(note))
}

/// One of the signed-in user's notes.
pub async fn GET(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Tagged, ApiError> {
    let note = notes::get(&state, user.id, note_id(&id)?).await?;
    Ok(with_etag(note))
}

/// Changes the fields given.
///
/// With `version`, only if the note is still at that version (`409`
/// with the current note otherwise).
pub async fn PATCH(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<NotePatch>,
) -> Result<Tagged, ApiError> {
    let id = note_id(&id)?;
    let note = notes::update(&state, user.id, id, patch.validate()?).await?;
    Ok(with_etag(note))
}

/// Deletes the note.
pub async fn DELETE(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    notes::delete(&state, user.id, note_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
