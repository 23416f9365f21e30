//! Fixture apps for the test suite: each `app!` below is one tree, and the
//! files in `tests/` send requests to them. The rules tree is served in
//! each trailing-slash mode, so its files are loaded more than once (the
//! public tree too).
#![allow(clippy::duplicate_mod)]

use approute::axum::http::{HeaderName, HeaderValue, Method};
use approute::axum::response::{IntoResponse, Response};
use approute::axum::Json;
use approute::Params;

approute::app!(dir = "conformance/app", module = next14);
approute::app!(dir = "fixtures/rules/app", module = rules);
approute::app!(
    dir = "fixtures/rules/app",
    module = rules_add,
    trailing_slash = add
);
approute::app!(
    dir = "fixtures/rules/app",
    module = rules_both,
    trailing_slash = both
);
approute::app!(
    dir = "fixtures/stateful/app",
    module = stateful,
    state = Counter
);
approute::app!(
    dir = "fixtures/mixed/app",
    pages = "fixtures/mixed/pages",
    module = mixed
);

approute::app!(dir = "fixtures/mw/app", module = mw, state = Counter);
approute::app!(dir = "fixtures/limits/app", module = limits);
approute::app!(dir = "fixtures/openapi/app", module = openapi_app);
pub mod openapi_types;
approute::app!(
    dir = "fixtures/rate-limit/app",
    module = rate_limited,
    state = Counter
);
approute::app!(
    dir = "fixtures/cache/app",
    module = cache_app,
    state = Counter
);
approute::app!(
    dir = "fixtures/public/app",
    public = "fixtures/public/public",
    module = public_site
);
approute::app!(dir = "fixtures/root-catch-all/app", module = root_catch_all);
approute::app!(
    dir = "fixtures/root-catch-all/app",
    module = root_catch_all_add,
    trailing_slash = add
);
approute::app!(
    dir = "fixtures/public/app",
    public = "fixtures/public/public",
    module = public_site_add,
    trailing_slash = add
);

approute::app!(
    dir = "fixtures/compression/app",
    public = "fixtures/compression/public",
    module = compression_site,
    state = Counter
);
pub mod compression_fixture;

/// Appends `name` to the request's `x-trail` header: middleware fixtures
/// record the order they ran in.
pub fn trail(req: &mut approute::axum::extract::Request, name: &str) {
    let before = trail_of(req.headers());
    let now = if before.is_empty() {
        name.to_string()
    } else {
        format!("{before},{name}")
    };
    req.headers_mut()
        .insert("x-trail", HeaderValue::from_str(&now).unwrap());
}

/// The `x-trail` a request arrived with.
pub fn trail_of(headers: &approute::axum::http::HeaderMap) -> String {
    headers
        .get("x-trail")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Sleeps as long as the request's `x-sleep-ms` header asks: cache fixtures
/// use it to make a handler run slow.
pub async fn sleep_as_asked(headers: &approute::axum::http::HeaderMap) {
    let ms = headers
        .get("x-sleep-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// State for the `stateful` and `cache` fixtures: counts handler runs.
#[derive(Clone, Default)]
pub struct Counter(pub std::sync::Arc<std::sync::atomic::AtomicU64>);

/// Handlers that `fixtures/rules/app/reexport/route.rs` re-exports.
pub mod shared {
    pub async fn list() -> &'static str {
        "list"
    }

    pub async fn create() -> (approute::axum::http::StatusCode, &'static str) {
        (approute::axum::http::StatusCode::CREATED, "created")
    }
}

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
        // route ids may hold non-ASCII folder names (obs-text in a header)
        HeaderValue::from_bytes(route.as_bytes()).expect("no control characters"),
    );
    headers.insert(
        HeaderName::from_static("x-method"),
        HeaderValue::from_static(method),
    );
    response
}
