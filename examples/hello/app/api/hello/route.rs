//! `/api/hello`: JSON, and a POST that echoes its body.

use approute::axum::Json;
use serde_json::{json, Value};

pub async fn GET() -> Json<Value> {
    Json(json!({ "message": "hello" }))
}

pub async fn POST(Json(body): Json<Value>) -> Json<Value> {
    Json(json!({ "you_sent": body }))
}
