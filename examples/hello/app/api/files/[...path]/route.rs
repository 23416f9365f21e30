//! `/api/files/a/b/c`: a catch-all, one or more segments.

use approute::axum::Json;
use approute::Params;

pub async fn GET(params: Params) -> Json<Params> {
    Json(params)
}
