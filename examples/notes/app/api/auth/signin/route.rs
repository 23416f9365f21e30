//! `POST /api/auth/signin` with `{"email": "...", "password": "..."}`:
//! `200` with the user and a fresh session cookie, or `401` for a wrong
//! email or password (the same answer, in the same time, for both).
//!
//! At most `RATE_LIMIT` sign-ins per client: the 11th in a minute from one
//! address gets approute's `429` with `Retry-After`, before any password
//! is hashed, whichever accounts it tries.
//!
//! After `SIGNIN_MAX_FAILURES` wrong passwords in a row for one email,
//! `429` with `Retry-After` until `SIGNIN_LOCKOUT_SECS` have passed
//! (`src/lockout.rs`); `503` with `Retry-After` while too many passwords
//! are being hashed already (`src/passwords.rs`); `403` from another site.

use approute::axum::extract::State;
use approute::axum::http::{header, HeaderMap, Method};
use approute::axum::Json;
use serde::Deserialize;

use crate::auth::{self, CurrentUser, SetCookie, SignedIn};
use crate::error::{ApiError, JsonBody};
use crate::proxy::Arrival;
use crate::AppState;

/// Ten sign-ins per minute per client address.
pub const RATE_LIMIT: (u32, u64) = (10, 60);

#[derive(Deserialize, schemars::JsonSchema)]
pub struct SignIn {
    email: String,
    password: String,
}

/// Signs in with an email and a password.
pub async fn POST(
    State(state): State<AppState>,
    arrival: Arrival,
    headers: HeaderMap,
    JsonBody(form): JsonBody<SignIn>,
) -> Result<(SetCookie, Json<SignedIn>), ApiError> {
    auth::refuse_cross_site(&state.config, &arrival, &Method::POST, &headers)?;
    let email = form.email.trim().to_lowercase();
    let attempt = state.lockout.begin(&email).await?.map_err(|left| {
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        ApiError::too_many(
            "too many wrong passwords for this account; try again later",
            secs.max(1),
        )
    })?;
    let user: Option<(i64, String)> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1")
            .bind(&email)
            .fetch_optional(&state.db.pool)
            .await?;
    let (id, hash) = match user {
        Some((id, hash)) => (Some(id), Some(hash)),
        None => (None, None),
    };
    let matches = state.passwords.verify(hash, form.password).await?;
    let Some(id) = id.filter(|_| matches) else {
        let failures = attempt.failed();
        if failures == state.config.signin_max_failures {
            let client = arrival.client.map_or("unknown".into(), |ip| ip.to_string());
            tracing::warn!("sign-in locked for an account after {failures} wrong passwords, the last from {client}");
        }
        return Err(ApiError::unauthorized("wrong email or password"));
    };
    attempt.succeeded().await?;
    let token = auth::create_session(&state.db, &state.config, id).await?;
    Ok((
        [(
            header::SET_COOKIE,
            auth::session_cookie(&token, &state.config, &arrival),
        )],
        Json(SignedIn {
            user: CurrentUser { id, email },
        }),
    ))
}
