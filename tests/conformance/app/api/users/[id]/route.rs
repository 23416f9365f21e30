//! Fixture route: answers as the Next.js reference app does.

use approute::axum::response::Response;
use approute::Params;

pub async fn GET(params: Params) -> Response {
    crate::echo("api/users/[id]", "GET", params)
}

pub async fn PUT(params: Params) -> Response {
    crate::echo("api/users/[id]", "PUT", params)
}

pub async fn PATCH(params: Params) -> Response {
    crate::echo("api/users/[id]", "PATCH", params)
}

pub async fn DELETE(params: Params) -> Response {
    crate::echo("api/users/[id]", "DELETE", params)
}
