//! Fixture route: answers as the Next.js reference app does.

use approute::axum::response::Response;
use approute::Params;

pub async fn POST(params: Params) -> Response {
    crate::echo("api/postonly", "POST", params)
}
