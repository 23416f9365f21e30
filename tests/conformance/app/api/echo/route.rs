//! Fixture route: answers as the Next.js reference app does.

use approute::axum::response::Response;
use approute::Params;

pub async fn GET(params: Params) -> Response {
    crate::echo("api/echo", "GET", params)
}

pub async fn POST(params: Params) -> Response {
    crate::echo("api/echo", "POST", params)
}

pub async fn PUT(params: Params) -> Response {
    crate::echo("api/echo", "PUT", params)
}

pub async fn PATCH(params: Params) -> Response {
    crate::echo("api/echo", "PATCH", params)
}

pub async fn DELETE(params: Params) -> Response {
    crate::echo("api/echo", "DELETE", params)
}

pub async fn HEAD(params: Params) -> Response {
    crate::echo("api/echo", "HEAD", params)
}

pub async fn OPTIONS(params: Params) -> Response {
    crate::echo("api/echo", "OPTIONS", params)
}
