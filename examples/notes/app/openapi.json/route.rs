//! `GET /openapi.json`: this API as OpenAPI 3.1, written by `app!` from
//! the tree and the handlers' signatures (the same document as the
//! committed `openapi.json`).

use approute::axum::Json;
use approute::openapi::OpenApi;

/// This API, as OpenAPI 3.1.
pub async fn GET() -> Json<OpenApi> {
    Json(crate::app::openapi())
}
