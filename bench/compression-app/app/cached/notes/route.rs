//! The list, cached: compressed once when stored.

use approute::axum::Json;

pub const REVALIDATE: u64 = 3600;

pub async fn GET() -> Json<serde_json::Value> {
    Json(crate::notes())
}
