//! Errors as JSON, in the shape `approute::serve` uses for its own:
//! `{"error":{"status":422,"message":"...","fields":{"title":"..."}}}`.

use std::collections::BTreeMap;

use approute::axum::extract::rejection::{JsonRejection, QueryRejection};
use approute::axum::extract::{FromRequest, Request};
use approute::axum::http::{header, HeaderValue, StatusCode};
use approute::axum::response::{IntoResponse, Response};
use approute::axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

use approute::openapi::schemars::{JsonSchema, Schema, SchemaGenerator};
use approute::openapi::{DescribeInput, ErrorResponses, Operation};

/// An error answer: a status, a message, and for validation errors what is
/// wrong with each field.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub fields: BTreeMap<&'static str, String>,
    /// Extra members of the error object (e.g. the current note on a 409).
    pub extra: Option<serde_json::Value>,
    /// Seconds for a `Retry-After` header (on a 429 or 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            fields: BTreeMap::new(),
            extra: None,
            retry_after: None,
        }
    }

    /// `400 Bad Request`: the request itself is malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// `401 Unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// `404 Not Found`.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    /// `409 Conflict`.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// `422 Unprocessable Content`: well-formed, but the values are wrong.
    pub fn invalid(fields: BTreeMap<&'static str, String>) -> ApiError {
        let names: Vec<&str> = fields.keys().copied().collect();
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: format!("invalid {}", names.join(", ")),
            fields,
            extra: None,
            retry_after: None,
        }
    }

    /// `429 Too Many Requests`, to be tried again in `secs` seconds.
    pub fn too_many(message: impl Into<String>, secs: u64) -> ApiError {
        let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message);
        error.retry_after = Some(secs);
        error
    }

    /// `503 Service Unavailable`, to be tried again in `secs` seconds.
    pub fn busy(message: impl Into<String>, secs: u64) -> ApiError {
        let mut error = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message);
        error.retry_after = Some(secs);
        error
    }

    /// `500`: logs the cause, tells the client nothing about it.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {cause}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }

    pub fn with_extra(mut self, extra: serde_json::Value) -> ApiError {
        self.extra = Some(extra);
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        ApiError::internal(format_args!("database: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "status": self.status.as_u16(), "message": self.message });
        if !self.fields.is_empty() {
            error["fields"] = json!(self.fields);
        }
        if let Some(serde_json::Value::Object(extra)) = self.extra {
            for (k, v) in extra {
                error[k] = v;
            }
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        // Syntax errors are 400, wrong types or missing fields 422, a
        // missing `Content-Type: application/json` 415, too big 413.
        let status = match &rejection {
            JsonRejection::JsonSyntaxError(_) => StatusCode::BAD_REQUEST,
            JsonRejection::JsonDataError(_) => StatusCode::UNPROCESSABLE_ENTITY,
            other => other.status(),
        };
        ApiError::new(status, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::bad_request(rejection.body_text())
    }
}

/// The body of every error answer, for the API document.
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
struct ErrorDetail {
    status: u16,
    message: String,
    /// What is wrong with each field (a `422`).
    fields: Option<BTreeMap<String, String>>,
}

/// Every status an `ApiError` can be, said once for the API document
/// (`app::openapi()`) rather than on each handler.
impl ErrorResponses for ApiError {
    const STATUSES: &'static [(u16, &'static str)] = &[
        (400, "the request is malformed"),
        (401, "not signed in, or a wrong email or password"),
        (403, "a write from another site"),
        (404, "no such thing, or not yours"),
        (
            409,
            "a conflict: the email is taken, the note changed, the event was seen",
        ),
        (413, "the body is too big"),
        (415, "the body is not JSON"),
        (422, "well-formed, but the values are wrong"),
        (429, "too many attempts; see `Retry-After`"),
        (500, "internal error"),
        (503, "busy or not configured; see `Retry-After`"),
    ];

    fn body_schema(generator: &mut SchemaGenerator) -> Option<Schema> {
        Some(generator.subschema_for::<ErrorBody>())
    }
}

/// `Json<T>` whose rejections are JSON errors like every other error here.
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(JsonBody(value))
    }
}

/// In the API document, a `JsonBody<T>` is the `Json<T>` it wraps.
impl<T: JsonSchema> DescribeInput for JsonBody<T> {
    fn describe_input(operation: &mut Operation<'_>) {
        Json::<T>::describe_input(operation)
    }
}
