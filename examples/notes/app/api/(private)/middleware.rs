//! Guards every route in `app/api/(private)/`: `/api/notes`, `/api/events`,
//! `/api/me`, `/api/legacy/...`. The `(private)` group leaves the URLs as
//! they are; only the folder decides what this middleware wraps.
//!
//! - A state-changing request (POST, PATCH, DELETE, ...) whose `Origin` is
//!   another site gets `403`: with `SameSite=Lax` cookies this closes
//!   cross-site request forgery from every direction.
//! - No session, or an expired one: `401` with a JSON error.
//! - Otherwise the user goes into the request, where handlers take it as a
//!   `CurrentUser` argument.

use approute::axum::extract::{Request, State};
use approute::axum::http::{header, HeaderMap, Method, StatusCode};
use approute::axum::response::{IntoResponse, Response};
use approute::middleware::Next;

use crate::auth;
use crate::error::ApiError;
use crate::AppState;

pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if is_cross_site_write(req.method(), req.headers()) {
        return ApiError::new(StatusCode::FORBIDDEN, "cross-site request refused").into_response();
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

/// A write whose `Origin` names a host other than the one it was sent to.
fn is_cross_site_write(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false; // not a browser, or a same-origin GET-like navigation
    };
    let origin_host = origin.split_once("://").map_or(origin, |(_, host)| host);
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin_host != host
}
