//! `POST /api/auth/signout`: ends the session and clears the cookie;
//! `204` whether or not there was one.

use approute::axum::extract::State;
use approute::axum::http::{header, HeaderMap, StatusCode};
use approute::axum::response::IntoResponse;

use crate::auth;
use crate::error::ApiError;
use crate::AppState;

pub async fn POST(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(token) = auth::request_token(&headers) {
        auth::delete_session(&state.db, &token).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            auth::clear_cookie(&state.config, &headers),
        )],
    ))
}
