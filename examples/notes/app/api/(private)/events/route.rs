//! `GET /api/events`: server-sent events with the signed-in user's note
//! changes as they happen (`note.created`, `note.updated`, `note.deleted`,
//! each with the note as JSON), for the page's `EventSource`. See
//! `crate::events::stream` for the whole protocol.

use approute::axum::extract::State;
use approute::axum::response::IntoResponse;

use crate::auth::CurrentUser;
use crate::AppState;

/// Server-sent events with the signed-in user's note changes.
pub async fn GET(State(state): State<AppState>, user: CurrentUser) -> impl IntoResponse {
    crate::events::stream(&state, user.id)
}
