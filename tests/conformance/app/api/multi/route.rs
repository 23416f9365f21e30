//! Fixture route: answers as the Next.js reference app does.

use approute::axum::response::Response;
use approute::Params;

pub async fn GET(params: Params) -> Response {
    crate::echo("api/multi", "GET", params)
}

pub async fn POST(params: Params) -> Response {
    crate::echo("api/multi", "POST", params)
}

pub async fn DELETE(params: Params) -> Response {
    crate::echo("api/multi", "DELETE", params)
}

pub async fn PATCH(params: Params) -> Response {
    crate::echo("api/multi", "PATCH", params)
}

pub async fn PUT(params: Params) -> Response {
    crate::echo("api/multi", "PUT", params)
}
