//! `GET /api/health`: a small focused endpoint for load balancers and
//! uptime checks: `200 {"ok":true,"database":"sqlite"}` when the database
//! answers, `503` when it does not.

use approute::axum::extract::State;
use approute::axum::http::StatusCode;
use approute::axum::Json;
use serde_json::{json, Value};

use crate::AppState;

/// Whether the database answers.
pub async fn GET(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.db.backend.name();
    match state.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "ok": true, "database": database })),
        ),
        Err(e) => {
            tracing::error!("health: database: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "ok": false, "database": database })),
            )
        }
    }
}
