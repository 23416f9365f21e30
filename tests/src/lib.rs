//! Fixture apps for the test suite: each `app!` below is one tree, and the
//! files in `tests/` send requests to them.

use approute::axum::http::{HeaderName, HeaderValue, Method};
use approute::axum::response::{IntoResponse, Response};
use approute::axum::Json;
use approute::Params;

approute::app!(dir = "conformance/app", module = next14);

/// Answers as every handler of the Next.js reference app does: a JSON body
/// `{"route", "method", "params"}` (none for HEAD) and `x-route`/`x-method`.
pub fn echo(route: &'static str, method: &'static str, params: Params) -> Response {
    let body = serde_json::json!({ "route": route, "method": method, "params": params });
    let mut response = if method == Method::HEAD.as_str() {
        ().into_response()
    } else {
        Json(body).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("x-route"),
        HeaderValue::from_static(route),
    );
    headers.insert(
        HeaderName::from_static("x-method"),
        HeaderValue::from_static(method),
    );
    response
}
