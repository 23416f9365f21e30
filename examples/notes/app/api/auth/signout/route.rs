//! `POST /api/auth/signout`: ends the session and clears the cookie;
//! `204` whether or not there was one. From another site `403`, and the
//! cookie stays: a cross-site form must not sign the user out.

use approute::axum::extract::State;
use approute::axum::http::{header, HeaderMap, Method, StatusCode};

use crate::auth::{self, SetCookie};
use crate::error::ApiError;
use crate::proxy::Arrival;
use crate::AppState;

/// Ends the session and clears the cookie.
pub async fn POST(
    State(state): State<AppState>,
    arrival: Arrival,
    headers: HeaderMap,
) -> Result<(StatusCode, SetCookie), ApiError> {
    auth::refuse_cross_site(&state.config, &arrival, &Method::POST, &headers)?;
    if let Some(token) = auth::request_token(&headers) {
        auth::delete_session(&state.db, &token).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            auth::clear_cookie(&state.config, &arrival),
        )],
    ))
}
