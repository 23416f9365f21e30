//! The list, made and compressed on every request.

use approute::axum::Json;

pub async fn GET() -> Json<serde_json::Value> {
    Json(crate::notes())
}
