//! `POST /api/auth/signin` with `{"email": "...", "password": "..."}`:
//! `200` with the user and a fresh session cookie, or `401` for a wrong
//! email or password (the same answer, in the same time, for both).

use approute::axum::extract::State;
use approute::axum::http::{header, HeaderMap};
use approute::axum::response::IntoResponse;
use approute::axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::auth;
use crate::error::{ApiError, JsonBody};
use crate::AppState;

#[derive(Deserialize)]
pub struct SignIn {
    email: String,
    password: String,
}

pub async fn POST(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(form): JsonBody<SignIn>,
) -> Result<impl IntoResponse, ApiError> {
    let email = form.email.trim().to_lowercase();
    let user: Option<(i64, String)> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1")
            .bind(&email)
            .fetch_optional(&state.db.pool)
            .await?;
    let (id, hash) = match user {
        Some((id, hash)) => (Some(id), Some(hash)),
        None => (None, None),
    };
    let matches = auth::verify_password(&state.config, hash, form.password).await?;
    let Some(id) = id.filter(|_| matches) else {
        return Err(ApiError::unauthorized("wrong email or password"));
    };
    let token = auth::create_session(&state.db, &state.config, id).await?;
    Ok((
        [(
            header::SET_COOKIE,
            auth::session_cookie(&token, &state.config, &headers),
        )],
        Json(json!({ "user": { "id": id, "email": email } })),
    ))
}
