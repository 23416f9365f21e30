//! The types of the `fixtures/openapi` tree: what its handlers take and
//! answer, with the schemas `openapi_app::openapi()` shows.

use approute::axum::http::StatusCode;
use approute::axum::response::{IntoResponse, Response};
use approute::axum::Json;
use approute::openapi::{schemars, ErrorResponses};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A user as the API shows one.
#[derive(Serialize, JsonSchema)]
pub struct User {
    pub id: u64,
    pub name: String,
}

impl User {
    pub fn new(id: u64) -> User {
        User {
            id,
            name: format!("user {id}"),
        }
    }
}

#[derive(Deserialize, JsonSchema)]
pub struct NewUser {
    /// What to call them.
    pub name: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct UserPatch {
    pub name: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct ListQuery {
    /// At most this many.
    pub limit: Option<u64>,
    pub q: String,
}

/// A body without a schema: the document leaves it open.
#[derive(Deserialize)]
pub struct NoSchema {}

/// The one error, `404`, described once for every handler returning it.
#[derive(Debug)]
pub struct ApiError;

#[derive(Serialize, JsonSchema)]
pub struct ErrorBody {
    pub error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: "not found".into(),
        };
        (StatusCode::NOT_FOUND, Json(body)).into_response()
    }
}

impl ErrorResponses for ApiError {
    const STATUSES: &'static [(u16, &'static str)] = &[(404, "no such user")];
    fn body_schema(generator: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(generator.subschema_for::<ErrorBody>())
    }
}

/// A handler re-exported by `api/legacy/route.rs`.
pub async fn legacy() -> &'static str {
    "legacy"
}
