//! Which answers are the framework's errors, and the body each gets for the
//! client that asked: see "Error answers" in the [module docs](super).
//!
//! approute's own answers carry a [`FrameworkError`] mark (made in
//! `crate::error`). The server marks axum's two: the `404` of a path no
//! route matches and the `405` of a method a route does not answer.
//! Nothing else is touched, so a handler's own error answer, an empty `404`
//! too, reaches the client as the handler made it.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use http_body_util::BodyExt;

use super::logging::LOG_TARGET;
use crate::error::{self, FrameworkError};

/// `router` with axum's own error answers marked: the `405` of a method a
/// route does not answer (only where the route has no fallback of its
/// own), and the `404` of a path no route matches. Neither costs a request
/// that a route answers anything.
pub(super) fn mark_routers_answers(router: Router) -> Router {
    let router = router.method_not_allowed_fallback(|| async {
        error::bare(StatusCode::METHOD_NOT_ALLOWED, error::WRONG_METHOD)
    });
    crate::url::mark_no_route(router)
}

/// Gives a framework error answer the body the client asked for, keeping
/// its other headers (`Allow`, say). Others pass untouched, except axum's
/// failed-to-read-the-body rejections.
pub(super) async fn for_client(response: Response, json: bool) -> Response {
    if let Some(mark) = response.extensions().get::<FrameworkError>() {
        if json || !mark.has_text() {
            let body = error::negotiated(response.status(), mark.message(), json);
            return replace_body(response, body);
        }
        // The route's own line of text, as it wrote it.
        let mut response = response;
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Accept"));
        return response;
    }
    axum_body_rejection(response, json).await
}

/// axum's rejection of a body that failed to read, which axum marks with
/// nothing but its text: made a framework answer like the server's own.
async fn axum_body_rejection(response: Response, json: bool) -> Response {
    let text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let size = http_body::Body::size_hint(response.body()).exact();
    if !text || size.is_none_or(|n| n > 4096) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            tracing::error!(target: LOG_TARGET, "the error answer's body failed: {e}");
            let status = StatusCode::INTERNAL_SERVER_ERROR;
            return error::negotiated(status, "the answer could not be made", json);
        }
    };
    let original = Response::from_parts(parts, Body::from(bytes.clone()));
    if !bytes.starts_with(b"Failed to buffer the request body") {
        return original;
    }
    let message = if original.status() == StatusCode::PAYLOAD_TOO_LARGE {
        "the request body is too large"
    } else {
        "the request body is malformed or was cut short"
    };
    let body = error::negotiated(original.status(), message, json);
    replace_body(original, body)
}

/// `response` with the body, `Content-Type` and `Vary` of `with`.
fn replace_body(response: Response, with: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    let (with, body) = with.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for name in [header::CONTENT_TYPE, header::VARY] {
        if let Some(value) = with.headers.get(&name) {
            parts.headers.insert(name, value.clone());
        }
    }
    if let Some(mark) = with.extensions.get::<FrameworkError>() {
        parts.extensions.insert(mark.clone());
    }
    Response::from_parts(parts, body)
}

/// Whether this `Accept` value names `application/json`.
pub(super) fn names_json(value: &HeaderValue) -> bool {
    value.to_str().is_ok_and(|v| {
        v.split(',').any(|item| {
            let kind = item.split(';').next().unwrap_or("").trim();
            kind.eq_ignore_ascii_case("application/json")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn wants_json(headers: &HeaderMap) -> bool {
        headers.get_all(header::ACCEPT).iter().any(names_json)
    }

    #[test]
    fn accept_json_is_found_among_others() {
        let mut headers = HeaderMap::new();
        assert!(!wants_json(&headers));
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/html, */*"));
        assert!(!wants_json(&headers));
        headers.append(
            header::ACCEPT,
            HeaderValue::from_static("text/plain;q=0.5, Application/JSON; q=1"),
        );
        assert!(wants_json(&headers));
    }
}
