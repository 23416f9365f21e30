//! `/api/users/{id}`: typed path params and several methods.

use approute::axum::extract::Path;
use approute::axum::http::StatusCode;
use approute::axum::Json;
use serde_json::{json, Value};

pub async fn GET(Path(id): Path<u64>) -> Json<Value> {
    Json(json!({ "id": id, "name": crate::users::name(id) }))
}

pub async fn DELETE(Path(id): Path<u64>) -> StatusCode {
    if id == 0 {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::NO_CONTENT
    }
}
