//! Guards every route in `app/api/(private)/`: `/api/notes`, `/api/events`,
//! `/api/me`, `/api/legacy/...`. The `(private)` group leaves the URLs as
//! they are; only the folder decides what this middleware wraps.
//!
//! - A state-changing request (POST, PATCH, DELETE, ...) whose `Origin` is
//!   another site gets `403` (`auth::is_cross_site_write`): with
//!   `SameSite=Lax` cookies this closes cross-site request forgery from
//!   every direction.
//! - No session, or an expired one: `401` with a JSON error.
//! - Otherwise the user goes into the request, where handlers take it as a
//!   `CurrentUser` argument.

use approute::axum::extract::{Request, State};
use approute::axum::response::{IntoResponse, Response};
use approute::middleware::Next;

use crate::auth;
use crate::error::ApiError;
use crate::proxy::Arrival;
use crate::AppState;

pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let arrival = Arrival::of(
        &state.config.trusted_proxies,
        req.headers(),
        req.extensions(),
    );
    if let Err(refused) =
        auth::refuse_cross_site(&state.config, &arrival, req.method(), req.headers())
    {
        return refused.into_response();
    }
    let Some(token) = auth::request_token(req.headers()) else {
        return ApiError::unauthorized("sign in first").into_response();
    };
    match auth::session_user(&state.db, &token).await {
        Ok(Some(user)) => {
            req.extensions_mut().insert(user);
            next.run(req).await
        }
        Ok(None) => {
            ApiError::unauthorized("your session has expired; sign in again").into_response()
        }
        Err(e) => e.into_response(),
    }
}
