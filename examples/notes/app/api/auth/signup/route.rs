//! `POST /api/auth/signup` with `{"email": "...", "password": "..."}`:
//! creates the account (password hashed with argon2id), signs it in with a
//! session cookie, and answers `201` with the user. `422` for an email that
//! is not one or a password under 8 characters, `409` if the email is taken,
//! `503` with `Retry-After` while too many passwords are being hashed,
//! `403` from another site.

use approute::axum::extract::State;
use approute::axum::http::{header, HeaderMap, Method, StatusCode};
use approute::axum::Json;
use serde::Deserialize;

use crate::auth::{self, Credentials, CurrentUser, SetCookie, SignedIn};
use crate::error::{ApiError, JsonBody};
use crate::proxy::Arrival;
use crate::util::now_millis;
use crate::AppState;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct SignUp {
    email: String,
    password: String,
}

/// Creates an account and signs it in.
pub async fn POST(
    State(state): State<AppState>,
    arrival: Arrival,
    headers: HeaderMap,
    JsonBody(form): JsonBody<SignUp>,
) -> Result<(StatusCode, SetCookie, Json<SignedIn>), ApiError> {
    auth::refuse_cross_site(&state.config, &arrival, &Method::POST, &headers)?;
    let Credentials { email, password } = Credentials::check(&form.email, form.password)?;
    let hash = state.passwords.hash(password).await?;
    let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(&email)
    .bind(&hash)
    .bind(now_millis())
    .fetch_one(&state.db.pool)
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(ApiError::conflict(
                "an account with that email exists; sign in instead",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let token = auth::create_session(&state.db, &state.config, id).await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::SET_COOKIE,
            auth::session_cookie(&token, &state.config, &arrival),
        )],
        Json(SignedIn {
            user: CurrentUser { id, email },
        }),
    ))
}
