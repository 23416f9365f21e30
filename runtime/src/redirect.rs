//! The `308` redirects that move a URL to the trailing-slash form its route
//! is served in, for routes and public files alike.

use axum::extract::{OriginalUri, Request};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, MethodRouter};

use crate::error;

/// A 308 to the same URL without its trailing slash, query kept.
pub fn redirect_without_slash<S: Clone + Send + Sync + 'static>() -> MethodRouter<S> {
    any(|req: Request| async move { redirect(&req, without_slash) })
}

/// A 308 to the same URL with a trailing slash, query kept.
pub fn redirect_with_slash<S: Clone + Send + Sync + 'static>() -> MethodRouter<S> {
    any(|req: Request| async move { redirect(&req, with_slash) })
}

pub(crate) fn without_slash(path: &str) -> String {
    path.trim_end_matches('/').to_string()
}

pub(crate) fn with_slash(path: &str) -> String {
    format!("{path}/")
}

/// The URL as the client sent it: nesting strips a prefix from `uri()`,
/// but a `Location` must carry it.
fn original_uri(req: &Request) -> &Uri {
    req.extensions()
        .get::<OriginalUri>()
        .map(|o| &o.0)
        .unwrap_or(req.uri())
}

pub(crate) fn redirect(req: &Request, change: impl Fn(&str) -> String) -> Response {
    let uri = original_uri(req);
    permanent(with_query(&change(uri.path()), uri.query()))
}

/// A `Location` from a path and the request's query: kept byte for byte,
/// and an empty one (`/a/?`) leaves no `?` behind, as in Next.js.
pub(crate) fn with_query(path: &str, query: Option<&str>) -> String {
    match query.filter(|q| !q.is_empty()) {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    }
}

/// A `308` to `location` (a path and query on this site). Browsers read
/// `//host` and `/\host` as another site: a `Location` this starts with
/// is made to start with one `/`, whoever built it.
pub(crate) fn permanent(mut location: String) -> Response {
    let own_site = location.len() - location.trim_start_matches(['/', '\\']).len();
    if own_site != 1 || !location.starts_with('/') {
        location = format!("/{}", location.trim_start_matches(['/', '\\']));
    }
    match HeaderValue::try_from(location) {
        Ok(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
        // Only a path with bytes a header cannot hold.
        Err(_) => error::bare(StatusCode::BAD_REQUEST, "Bad Request"),
    }
}
