//! Fixture route: answers as the Next.js reference app does.

use approute::axum::response::Response;
use approute::Params;

pub async fn GET(params: Params) -> Response {
    crate::echo("api/enc/a%20b", "GET", params)
}
