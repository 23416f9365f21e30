//! `/api/legacy/...`: the older service at `LEGACY_API_URL`, behind this
//! one for signed-in users. `GET /api/legacy/quotes/7?lang=en` is sent on
//! as `GET $LEGACY_API_URL/quotes/7?lang=en`; its answer comes back as it
//! was, except that an unreachable or failing (`5xx`) service is `502` and
//! one slower than `LEGACY_TIMEOUT_MS` (default 5 s) is `504`.
//!
//! `MAX_DURATION` is the route's own ceiling, past which approute cancels
//! the handler and answers `504`: a backstop should the client's timeout
//! be configured longer.

use approute::axum::body::Bytes;
use approute::axum::extract::{OriginalUri, State};
use approute::axum::http::{HeaderMap, Method};
use approute::axum::response::Response;

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::AppState;

pub const MAX_DURATION: u64 = 20;

/// The older service's answer to the same request.
pub async fn GET(
    State(state): State<AppState>,
    _user: CurrentUser,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    forward(&state, Method::GET, &uri, &headers, Bytes::new()).await
}

/// The older service's answer to the same request.
pub async fn POST(
    State(state): State<AppState>,
    _user: CurrentUser,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    forward(&state, Method::POST, &uri, &headers, body).await
}

async fn forward(
    state: &AppState,
    method: Method,
    uri: &approute::axum::http::Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(base) = &state.config.legacy_api_url else {
        return Err(ApiError::new(
            approute::axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the legacy API is not configured (set LEGACY_API_URL)",
        ));
    };
    // The path as the client sent it, still percent-encoded; `.` and `..`
    // segments (however encoded) could climb out of the base URL's path.
    let path = uri.path().strip_prefix("/api/legacy/").unwrap_or_default();
    let dots = path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    });
    if dots {
        return Err(ApiError::bad_request(
            "`.` and `..` are not allowed in the path",
        ));
    }
    state
        .legacy
        .forward(
            base,
            method,
            path,
            uri.query(),
            headers,
            body,
            state.config.legacy_timeout,
        )
        .await
}
