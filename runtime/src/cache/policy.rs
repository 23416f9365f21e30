//! What may be cached: the rules the module doc of
//! [`cache`](super) lists, for the request and for the answer.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use super::key::joined_value;
use axum::response::Response;

use crate::route_info::RouteInfo;

/// `GET` or `HEAD`, without credentials unless the route allows them.
pub(crate) fn cacheable_request(req: &Request, info: &RouteInfo) -> bool {
    let method = req.method();
    if method != Method::GET && method != Method::HEAD {
        return false;
    }
    info.config().cache_credentialed
        || !(req.headers().contains_key(header::AUTHORIZATION)
            || req.headers().contains_key(header::COOKIE))
}

/// `Some(vary)` for an answer that may be cached: 200, no cookie, nothing
/// in `Cache-Control` against it, no `Vary: *`. `vary` is the request
/// headers it depends on, with their values.
pub(crate) fn cacheable_response(
    response: &Response,
    request: &HeaderMap,
) -> Option<Vec<(HeaderName, Option<HeaderValue>)>> {
    if response.status() != StatusCode::OK {
        return None;
    }
    let headers = response.headers();
    if headers.contains_key(header::SET_COOKIE) {
        return None;
    }
    let forbids = |directive: &str| {
        matches!(
            directive.split('=').next().map(str::trim),
            Some(d) if d.eq_ignore_ascii_case("no-store")
                || d.eq_ignore_ascii_case("no-cache")
                || d.eq_ignore_ascii_case("private")
        )
    };
    for value in headers.get_all(header::CACHE_CONTROL) {
        let value = value.to_str().ok()?;
        if value.split(',').any(forbids) {
            return None;
        }
    }
    let mut vary = Vec::new();
    for value in headers.get_all(header::VARY) {
        for name in value.to_str().ok()?.split(',') {
            let name = name.trim();
            if name == "*" {
                return None;
            }
            if name.is_empty() {
                continue;
            }
            let name = HeaderName::try_from(name).ok()?;
            let value = joined_value(request, &name);
            if !vary.iter().any(|(n, _)| *n == name) {
                vary.push((name, value));
            }
        }
    }
    Some(vary)
}
