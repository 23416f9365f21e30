//! The URL rules applied before routing: what a request path means, decided
//! once, so that no route and no handler has to.
//!
//! - Repeated slashes and backslashes are not served: `//api/hello`,
//!   `/api//hello` and `/api\hello` answer 308 to `/api/hello`, as Next.js
//!   does. The `Location` is made from the collapsed path, so it never starts
//!   with `//` or `/\`, which a browser would follow to another host.
//! - Dot segments (`.`, `..`, and their `%2e` spellings) are resolved as RFC
//!   3986 5.2.4 resolves them: `/api/files/a/../b` is served as
//!   `/api/files/b`, `/..` as `/`. A handler never sees a `.` or `..`
//!   segment taken from the path.
//!
//! The query is never touched: it is kept byte for byte, and an empty one
//! (`/api//hello?`) leaves no `?` behind.

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::extract::{OriginalUri, Request};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::IntoMakeService;
use axum::Router;
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::error::{self, MarkNoRouteLayer};
use crate::redirect::{self, with_query};

/// What the rules make of a request path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum UrlRule {
    /// Route the path as it is: the common case, decided in one scan.
    AsIs,
    /// Route this path instead: the dot segments resolved. The query stays.
    Resolved(String),
    /// Answer `308 Permanent Redirect` with this `Location` (path and query).
    Redirect(String),
    /// Answer `400`: the path holds bytes a URI cannot (RFC 3986 2: only
    /// ASCII, the rest percent-encoded), which hyper lets through.
    Invalid,
}

/// Applies the rules to a request's path and query.
///
/// ```text
/// /api/hello             -> AsIs
/// /api/files/a/../b      -> Resolved("/api/files/b")
/// /api/docs/a/%2e%2e     -> Resolved("/api/docs")
/// //evil.com/api/hello   -> Redirect("/evil.com/api/hello")
/// /api//hello?x=a//b     -> Redirect("/api/hello?x=a//b")
/// ```
pub(crate) fn apply(path: &str, query: Option<&str>) -> UrlRule {
    // Only origin-form paths have segments; `*` (OPTIONS) passes as it is.
    if !path.starts_with('/') {
        return UrlRule::AsIs;
    }
    let bytes = path.as_bytes();
    let mut slashes = false;
    let mut dots = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\\' => slashes = true,
            b'/' if bytes.get(i + 1) == Some(&b'/') => slashes = true,
            b'/' if starts_dot_segment(&bytes[i + 1..]) => dots = true,
            0x80.. => return UrlRule::Invalid,
            _ => {}
        }
    }
    if !slashes && !dots {
        return UrlRule::AsIs;
    }
    if slashes {
        let collapsed = collapse_slashes(path);
        let resolved = resolve_dots(&collapsed);
        return UrlRule::Redirect(with_query(&resolved, query));
    }
    match resolve_dots(path) {
        Cow::Owned(resolved) if dots => UrlRule::Resolved(resolved),
        _ => UrlRule::AsIs,
    }
}

/// Whether `rest` (what follows a `/`) starts with a segment that could be
/// a dot segment: `.` or `%2e`, in any case. The full test is
/// [`is_dot_segment`]; this keeps the scan of ordinary paths to one byte
/// comparison per slash.
fn starts_dot_segment(rest: &[u8]) -> bool {
    match rest {
        [b'.', ..] => true,
        [b'%', b'2', e, ..] => e.eq_ignore_ascii_case(&b'e'),
        _ => false,
    }
}

/// `.` and `..`, with either dot written `%2e` or `%2E`.
fn dot_count(segment: &str) -> Option<usize> {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', e, tail @ ..] if e.eq_ignore_ascii_case(&b'e') => tail,
            _ => return None,
        };
        dots += 1;
    }
    (1..=2).contains(&dots).then_some(dots)
}

/// Whether a raw path segment is `.` or `..` (in any spelling).
pub(crate) fn is_dot_segment(segment: &str) -> bool {
    dot_count(segment).is_some()
}

/// Backslashes become slashes and runs of slashes one slash.
fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        let c = if c == '\\' { '/' } else { c };
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    out
}

/// RFC 3986 5.2.4 on an absolute path: `.` is dropped, `..` drops the
/// segment before it, and `..` past the root stays at the root. A path that
/// ended in a dot segment names the folder, not a folder with a trailing
/// slash: `/api/docs/a/..` is `/api/docs`, which is what Next.js serves, and
/// keeps the trailing-slash rules for paths the client wrote with a slash.
fn resolve_dots(path: &str) -> Cow<'_, str> {
    if !path.split('/').any(is_dot_segment) {
        return Cow::Borrowed(path);
    }
    let ends_with_slash = path.ends_with('/');
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/').skip(1) {
        match dot_count(segment) {
            Some(1) => {}
            Some(_) => {
                kept.pop();
            }
            None => kept.push(segment),
        }
    }
    // `split` leaves an empty last segment for a trailing slash.
    if kept.last() == Some(&"") {
        kept.pop();
    }
    let mut out = String::with_capacity(path.len());
    for segment in &kept {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() || ends_with_slash {
        out.push('/');
    }
    Cow::Owned(out)
}

/// A request's URI with its path replaced, the query kept.
pub(crate) fn with_path(uri: &Uri, path: &str) -> Option<Uri> {
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}

/// Runs the URL rules on a request before it is routed: `Err` is the
/// answer to give instead (a redirect). `Ok` holds where to send the
/// request if no route matches it: its path ends in `/`, and Next.js
/// redirects such a path, route or not, to the path without it.
pub(crate) fn before_routing<B>(req: &mut Request<B>) -> Result<Option<String>, Box<Response>> {
    let uri = req.uri();
    match apply(uri.path(), uri.query()) {
        UrlRule::AsIs => {}
        UrlRule::Redirect(location) => return Err(Box::new(redirect::permanent(location))),
        UrlRule::Invalid => {
            return Err(Box::new(error::text(
                StatusCode::BAD_REQUEST,
                "the URL path holds bytes that are not ASCII; percent-encode them",
            )))
        }
        UrlRule::Resolved(path) => {
            let Some(resolved) = with_path(uri, &path) else {
                return Err(Box::new(error::bare(
                    StatusCode::BAD_REQUEST,
                    "Bad Request",
                )));
            };
            // Redirects and the cache read the URL the client asked for:
            // the resolved one from here on.
            req.extensions_mut().insert(OriginalUri(resolved.clone()));
            *req.uri_mut() = resolved;
        }
    }
    let uri = req.uri();
    let path = uri.path();
    if path.len() > 1 && path.ends_with('/') {
        let path = path.trim_end_matches('/');
        let path = if path.is_empty() { "/" } else { path };
        return Ok(Some(with_query(path, uri.query())));
    }
    Ok(None)
}

/// The answer after routing: a path with a trailing slash that no route
/// matched is redirected to the path without it; any other answer stands.
pub(crate) fn after_routing(unrouted: Option<String>, response: Response) -> Response {
    match unrouted {
        Some(location) if error::is_no_route(&response) => redirect::permanent(location),
        _ => response,
    }
}

/// A [`Router`] behind approute's URL rules, for serving it with something
/// other than [`crate::serve()`], which applies them itself. Made by
/// [`normalize`].
#[derive(Clone, Debug)]
pub struct Normalize {
    router: Router,
}

/// The URL rules `approute::serve` applies, for a router served another
/// way (README, "URL rules"): repeated slashes and backslashes answer 308
/// to one slash, dot segments are resolved so that no handler sees a `..`
/// taken from the path, and a trailing slash no route answers is
/// redirected to the path without it.
///
/// ```no_run
/// # async fn run(router: axum::Router) {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
/// axum::serve(listener, approute::normalize(router).into_make_service())
///     .await
///     .unwrap();
/// # }
/// ```
pub fn normalize(router: Router) -> Normalize {
    Normalize {
        router: mark_no_route(router),
    }
}

/// `router` with the `404` of a path no route matches marked
/// ([`error::is_no_route`]), so the trailing-slash rule and the server's
/// error bodies can tell it from a handler's own `404`.
///
/// A router with axum's default fallback (every router `approute::app!`
/// makes) gets a fallback that answers the marked `404`: requests a route
/// matches pay nothing. A router with a fallback of its own keeps it, and a
/// layer around every route marks its empty `404`s; that layer costs every
/// request one more boxed service, about a fifth of axum's own work per
/// request (BENCHMARKS.md, section 10).
pub(crate) fn mark_no_route(router: Router) -> Router {
    if has_default_fallback(&router) {
        router.fallback(|| async { error::no_route() })
    } else {
        router.layer(MarkNoRouteLayer)
    }
}

/// Whether `router` answers a path no route matches with axum's own empty
/// `404`. axum says so only in its `Debug` text (`default_fallback: true`,
/// then `catch_all_fallback: Default(..)`), which a test pins; any other
/// text takes the layer, which is right for every router.
fn has_default_fallback(router: &Router) -> bool {
    let text = format!("{router:?}");
    text.rfind("default_fallback: ").is_some_and(|at| {
        text[at..].starts_with("default_fallback: true, catch_all_fallback: Default(")
    })
}

impl Normalize {
    /// What `axum::serve` takes: one service for every connection.
    pub fn into_make_service(self) -> IntoMakeService<Normalize> {
        axum::ServiceExt::<Request>::into_make_service(self)
    }

    /// The same, with the peer's address for `ConnectInfo`.
    pub fn into_make_service_with_connect_info<C>(
        self,
    ) -> IntoMakeServiceWithConnectInfo<Normalize, C> {
        axum::ServiceExt::<Request>::into_make_service_with_connect_info(self)
    }
}

impl<B> Service<Request<B>> for Normalize
where
    B: http_body::Body<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = NormalizeFuture<<Router as Service<Request<B>>>::Future>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        match before_routing(&mut req) {
            Ok(unrouted) => NormalizeFuture::Routed {
                inner: self.router.call(req),
                unrouted,
            },
            Err(answer) => NormalizeFuture::Answered {
                answer: Some(*answer),
            },
        }
    }
}

pin_project! {
    /// The future of [`Normalize`]: the router's, or the rules' own answer.
    #[project = NormalizeProj]
    pub enum NormalizeFuture<F> {
        Routed { #[pin] inner: F, unrouted: Option<String> },
        Answered { answer: Option<Response> },
    }
}

impl<F> Future for NormalizeFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            NormalizeProj::Routed { inner, unrouted } => match inner.poll(cx) {
                Poll::Ready(Ok(response)) => {
                    Poll::Ready(Ok(after_routing(unrouted.take(), response)))
                }
                Poll::Ready(Err(never)) => match never {},
                Poll::Pending => Poll::Pending,
            },
            NormalizeProj::Answered { answer } => {
                Poll::Ready(Ok(answer.take().expect("polled after completion")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_fallback_is_told_from_a_routers_own() {
        use axum::routing::get;
        let plain = Router::new().route("/default_fallback: false", get(|| async { "" }));
        assert!(has_default_fallback(&plain));
        let nested = Router::new().nest("/api", plain.clone());
        assert!(has_default_fallback(&nested));
        let own = plain.clone().fallback(|| async { "mine" });
        assert!(!has_default_fallback(&own));
        let service = plain.fallback_service(tower::service_fn(|_: Request| async {
            Ok::<_, Infallible>(Response::new(axum::body::Body::empty()))
        }));
        assert!(!has_default_fallback(&service));
    }

    fn rule(target: &str) -> UrlRule {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        apply(path, query)
    }

    fn resolved(s: &str) -> UrlRule {
        UrlRule::Resolved(s.to_string())
    }

    fn redirect(s: &str) -> UrlRule {
        UrlRule::Redirect(s.to_string())
    }

    #[test]
    fn ordinary_paths_pass_as_they_are() {
        for target in [
            "/",
            "/api/hello",
            "/api/hello/",
            "/api/files/a.b/.c/...",
            "/api/files/..b/b../.a",
            "/api/files/%2e%2e%2fb",
            "/api/files/a/%252e%252e/b",
            "/api/users/a%20b?x=../y&z=//",
            "*",
        ] {
            assert_eq!(rule(target), UrlRule::AsIs, "{target}");
        }
    }

    #[test]
    fn dot_segments_resolve_as_rfc_3986_says() {
        let cases = [
            ("/api/files/a/../b", "/api/files/b"),
            ("/api/files/./a", "/api/files/a"),
            ("/api/files/%2e/a", "/api/files/a"),
            ("/api/files/%2E/a", "/api/files/a"),
            ("/api/files/a/%2e%2e/b", "/api/files/b"),
            ("/api/files/a/%2E%2e/b", "/api/files/b"),
            ("/api/files/a/.%2e/b", "/api/files/b"),
            ("/api/files/a/%2e./b", "/api/files/b"),
            ("/api/files/a/b/..", "/api/files/a"),
            ("/api/users/..", "/api"),
            ("/api/docs/a/..", "/api/docs"),
            ("/api/docs/a/b/../..", "/api/docs"),
            ("/api/docs/.", "/api/docs"),
            ("/api/shop/shoes/../red/42", "/api/shop/red/42"),
            ("/..", "/"),
            ("/.", "/"),
            ("/../api/hello", "/api/hello"),
            ("/api/../../../api/hello", "/api/hello"),
            // A slash the client wrote stays for the trailing-slash rules.
            ("/api/files/a/../b/", "/api/files/b/"),
            ("/api/users/../", "/api/"),
            ("/../", "/"),
            ("/./", "/"),
        ];
        for (target, want) in cases {
            assert_eq!(rule(target), resolved(want), "{target}");
        }
        // The query is not the path: its dots stay.
        assert_eq!(rule("/api/files/a/../b?x=../y"), resolved("/api/files/b"));
    }

    #[test]
    fn repeated_slashes_and_backslashes_redirect_to_one_slash() {
        let cases = [
            ("//api/hello", "/api/hello"),
            ("/api//hello", "/api/hello"),
            ("/api\\hello", "/api/hello"),
            ("/api/files/a//b", "/api/files/a/b"),
            ("/api/files/a//", "/api/files/a/"),
            ("/api//hello?x=a//b", "/api/hello?x=a//b"),
            ("/api//hello?x=a\\b", "/api/hello?x=a\\b"),
            ("/api//hello?x=1?y=2", "/api/hello?x=1?y=2"),
            ("/api//hello?", "/api/hello"),
            ("//evil.com/api/hello", "/evil.com/api/hello"),
            ("/\\evil.com", "/evil.com"),
            ("/\\/evil.com", "/evil.com"),
            ("/\\\\evil.com", "/evil.com"),
            ("//\\evil.com", "/evil.com"),
            ("///evil.com", "/evil.com"),
            ("/\\evil.example/", "/evil.example/"),
            ("//", "/"),
            ("/\\", "/"),
            ("//?x=1", "/?x=1"),
            // Dots are resolved in the same hop.
            ("//api/..//hello", "/hello"),
            ("/api/files/a/..//b", "/api/files/b"),
            ("/api/files/a\\..\\b", "/api/files/b"),
            ("//..", "/"),
        ];
        for (target, want) in cases {
            assert_eq!(rule(target), redirect(want), "{target}");
        }
    }

    #[test]
    fn no_location_leaves_the_site() {
        // Every mix of the characters a hostile path is made of.
        let alphabet = [
            "/", "\\", ".", "..", "%2e", "%2f", "%5c", "evil.com", "?", "a",
        ];
        let mut checked = 0;
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    for d in alphabet {
                        let target = format!("/{a}{b}{c}{d}");
                        if let UrlRule::Redirect(location) = rule(&target) {
                            assert!(location.starts_with('/'), "{target} -> {location}");
                            let second = location.as_bytes().get(1);
                            assert!(
                                second != Some(&b'/') && second != Some(&b'\\'),
                                "{target} -> {location}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked} redirects checked");
    }

    #[test]
    fn raw_non_ascii_is_refused() {
        assert_eq!(rule("/api/users/é"), UrlRule::Invalid);
        assert_eq!(rule("/api/users/%C3%A9"), UrlRule::AsIs);
    }

    #[test]
    fn dot_segments_in_every_spelling() {
        for s in [".", "..", "%2e", "%2E", "%2e%2e", ".%2E", "%2E."] {
            assert!(is_dot_segment(s), "{s}");
        }
        for s in [
            "",
            "...",
            ".a",
            "a.",
            "%2e%2e%2e",
            "%2f",
            "%2",
            "%2e%2",
            "%252e",
        ] {
            assert!(!is_dot_segment(s), "{s}");
        }
    }
}
