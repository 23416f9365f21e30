//! Fixture route: answers as the Next.js reference app does.

use approute::axum::response::Response;
use approute::Params;

pub async fn GET(params: Params) -> Response {
    crate::echo("api/opts", "GET", params)
}

pub async fn OPTIONS(params: Params) -> Response {
    crate::echo("api/opts", "OPTIONS", params)
}
