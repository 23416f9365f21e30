//! `approute::Params`: a route's parameters as Next.js gives them.

use std::fmt;
use std::ops::Range;

use axum::extract::{FromRequestParts, MatchedPath, OriginalUri};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::error;
use crate::route_info::{MatchedRoute, RouteInfo, UrlSegment};

/// One parameter's value: a string for `[x]`, a list for `[...x]` and
/// `[[...x]]`. Serializes as the bare string or list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamValue {
    One(String),
    Many(Vec<String>),
}

impl Serialize for ParamValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ParamValue::One(v) => v.serialize(s),
            ParamValue::Many(v) => v.serialize(s),
        }
    }
}

/// Every parameter of the matched route, as Next.js's `params`: each path
/// segment percent-decoded on its own (`a%2Fb` is the one segment `a/b`,
/// `+` stays `+`), and an optional catch-all that matched nothing absent.
///
/// Serializes as a JSON object in route order:
/// `{"id":"42","path":["a","b"]}`.
///
/// ```
/// # async fn handler(params: approute::Params) {
/// // app/api/shop/[category]/[...rest]/route.rs
/// let category: Option<&str> = params.get("category");
/// let rest: Option<&[String]> = params.get_all("rest");
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    values: Vec<(Name, ParamValue)>,
}

/// A parameter's name: from the route table, or a slice of the pattern axum
/// matched, shared, so naming a parameter allocates nothing.
#[derive(Clone, Debug)]
enum Name {
    Route(&'static str),
    Pattern(MatchedPath, Range<usize>),
}

impl Name {
    fn as_str(&self) -> &str {
        match self {
            Name::Route(name) => name,
            Name::Pattern(pattern, range) => &pattern.as_str()[range.clone()],
        }
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl Params {
    /// The value of a `[name]` parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        match self.value(name)? {
            ParamValue::One(v) => Some(v),
            ParamValue::Many(_) => None,
        }
    }

    /// The segments of a `[...name]` or `[[...name]]` parameter.
    pub fn get_all(&self, name: &str) -> Option<&[String]> {
        match self.value(name)? {
            ParamValue::Many(v) => Some(v),
            ParamValue::One(_) => None,
        }
    }

    pub fn value(&self, name: &str) -> Option<&ParamValue> {
        self.values
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamValue)> {
        self.values.iter().map(|(n, v)| (n.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Reads the parameters of `route` from a raw (still encoded) path.
    pub(crate) fn from_path(route: &RouteInfo, path: &str) -> Result<Params, InvalidPath> {
        // A trailing slash reaches a route only when it is served with one.
        let raw: Vec<&str> = segments(path).collect();
        let mut values = Vec::new();
        for (i, segment) in route.segments().iter().enumerate() {
            match *segment {
                UrlSegment::Static => {}
                UrlSegment::Dynamic(name) => {
                    let value = raw.get(i).copied().unwrap_or_default();
                    values.push((Name::Route(name), ParamValue::One(decode_segment(value)?)));
                }
                UrlSegment::CatchAll(name) | UrlSegment::OptionalCatchAll(name) => {
                    let rest = raw.get(i..).unwrap_or_default();
                    if !rest.is_empty() || matches!(segment, UrlSegment::CatchAll(_)) {
                        let list = rest
                            .iter()
                            .map(|s| decode_segment(s))
                            .collect::<Result<_, _>>()?;
                        values.push((Name::Route(name), ParamValue::Many(list)));
                    }
                }
            }
        }
        Ok(Params { values })
    }

    /// Reads the parameters of the pattern axum matched (`/a/{id}/{*rest}`),
    /// less its first `skip` segments, from the raw path it matched: what a
    /// route's own pattern gives without its `RouteInfo` (an optional
    /// catch-all's bare URL has a pattern of its own, without the parameter).
    pub(crate) fn from_pattern(
        matched: &MatchedPath,
        skip: usize,
        path: &str,
    ) -> Result<Params, InvalidPath> {
        let mut raw = segments(path);
        let mut values = Vec::new();
        for (start, part) in segment_spans(matched.as_str()).skip(skip) {
            let value = raw.next();
            let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
                continue;
            };
            if let Some(name) = inner.strip_prefix('*') {
                let name = Name::Pattern(matched.clone(), start + 2..start + 2 + name.len());
                let list = value
                    .into_iter()
                    .chain(raw)
                    .map(decode_segment)
                    .collect::<Result<_, _>>()?;
                values.push((name, ParamValue::Many(list)));
                break;
            }
            let name = Name::Pattern(matched.clone(), start + 1..start + 1 + inner.len());
            let value = decode_segment(value.unwrap_or_default())?;
            values.push((name, ParamValue::One(value)));
        }
        Ok(Params { values })
    }
}

/// The segments of a path or pattern, each with its byte offset, without
/// the leading slash or a trailing one.
fn segment_spans(path: &str) -> impl Iterator<Item = (usize, &str)> {
    let start = usize::from(path.starts_with('/'));
    let trimmed = &path[start..];
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    let mut offset = start;
    trimmed
        .split('/')
        .filter(move |_| !trimmed.is_empty())
        .map(move |segment| {
            let at = offset;
            offset += segment.len() + 1;
            (at, segment)
        })
}

/// The segments of a path or pattern, without the leading slash or a
/// trailing one.
fn segments(path: &str) -> impl Iterator<Item = &str> {
    segment_spans(path).map(|(_, segment)| segment)
}

impl Serialize for Params {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.values.len()))?;
        for (name, value) in &self.values {
            map.serialize_entry(name.as_str(), value)?;
        }
        map.end()
    }
}

/// Why a path could not be decoded: a `%` not followed by two hex digits,
/// or bytes that are not UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidPath;

impl fmt::Display for InvalidPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the URL path has malformed percent-encoding")
    }
}

/// Strict percent-decoding of one segment, as JavaScript's
/// `decodeURIComponent`: `+` is kept, bad escapes are errors.
pub(crate) fn decode_segment(segment: &str) -> Result<String, InvalidPath> {
    if !segment.contains('%') {
        return Ok(segment.to_string());
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(InvalidPath)?;
            let hi = hex_value(hex[0]).ok_or(InvalidPath)?;
            let lo = hex_value(hex[1]).ok_or(InvalidPath)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| InvalidPath)
}

/// What keeps a path's parameters from a handler.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PathProblem {
    /// A `%` escape that does not decode (400).
    Malformed,
    /// A segment that is, or decodes to something holding, `.` or `..`
    /// between slashes or backslashes (404): `..`, `%2e%2e`, `a%2f..%2fb`,
    /// `..\b`. A handler that joins parameters into a file path would be
    /// walked out of its folder; `approute::serve` resolves the plain dot
    /// segments before routing, so only a router served without it, or an
    /// encoded slash, gets here.
    DotSegment,
}

/// Whether every segment of `path` decodes to a value a handler may get.
pub(crate) fn path_problem(path: &str) -> Option<PathProblem> {
    // The common case costs one scan: no escape and no segment-initial dot.
    let bytes = path.as_bytes();
    let suspicious = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%' || (b == b'.' && (i == 0 || matches!(bytes[i - 1], b'/' | b'\\')))
    });
    if !suspicious {
        return None;
    }
    for segment in path.split('/') {
        let decoded = decode_segment(segment).map_err(|_| PathProblem::Malformed);
        let decoded = match decoded {
            Ok(decoded) => decoded,
            Err(problem) => return Some(problem),
        };
        if decoded
            .split(['/', '\\'])
            .any(|part| part == "." || part == "..")
        {
            return Some(PathProblem::DotSegment);
        }
    }
    None
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Rejection of [`Params`].
#[derive(Debug)]
pub enum ParamsRejection {
    /// The handler is not behind an axum `Router` route.
    NotAnApprouteRoute,
    InvalidPath,
}

impl axum::response::IntoResponse for ParamsRejection {
    fn into_response(self) -> axum::response::Response {
        match self {
            ParamsRejection::NotAnApprouteRoute => error::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "approute::Params used in a handler that is not behind a Router route",
            ),
            ParamsRejection::InvalidPath => {
                error::text(StatusCode::BAD_REQUEST, InvalidPath.to_string())
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ParamsRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Params, ParamsRejection> {
        if let Some(MatchedRoute(route)) = parts.extensions.get::<MatchedRoute>().copied() {
            return Params::from_path(route, parts.uri.path())
                .map_err(|_| ParamsRejection::InvalidPath);
        }
        // Most routes are not marked (a mark costs an allocation or two on
        // every request): their registered pattern, which axum records,
        // names the same parameters.
        let matched = parts
            .extensions
            .get::<MatchedPath>()
            .ok_or(ParamsRejection::NotAnApprouteRoute)?;
        let path = parts.uri.path();
        // Under `Router::nest` the pattern starts with the outer prefix,
        // which `uri` no longer has: skip as many segments as were cut.
        let skip = parts.extensions.get::<OriginalUri>().map_or(0, |original| {
            segments(original.0.path())
                .count()
                .saturating_sub(segments(path).count())
        });
        Params::from_pattern(matched, skip, path).map_err(|_| ParamsRejection::InvalidPath)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static FILES: RouteInfo = RouteInfo::__new(
        "/api/shop/[category]/[...rest]",
        "app/api/shop/[category]/[...rest]/route.rs",
        &["GET"],
        &[
            UrlSegment::Static,
            UrlSegment::Static,
            UrlSegment::Dynamic("category"),
            UrlSegment::CatchAll("rest"),
        ],
        "GET, HEAD, OPTIONS",
        crate::RouteConfig::NONE,
    );
    static DOCS: RouteInfo = RouteInfo::__new(
        "/docs/[[...slug]]",
        "app/docs/[[...slug]]/route.rs",
        &["GET"],
        &[UrlSegment::Static, UrlSegment::OptionalCatchAll("slug")],
        "GET, HEAD, OPTIONS",
        crate::RouteConfig::NONE,
    );

    fn json(route: &RouteInfo, path: &str) -> String {
        serde_json::to_string(&Params::from_path(route, path).unwrap()).unwrap()
    }

    #[test]
    fn decodes_each_segment_on_its_own() {
        assert_eq!(
            json(&FILES, "/api/shop/a%2Fb/x%20y/c%2Fd/e+f"),
            r#"{"category":"a/b","rest":["x y","c/d","e+f"]}"#
        );
    }

    #[test]
    fn optional_catch_all_absent_when_empty() {
        assert_eq!(json(&DOCS, "/docs"), "{}");
        assert_eq!(json(&DOCS, "/docs/"), "{}");
        assert_eq!(json(&DOCS, "/docs/a/b"), r#"{"slug":["a","b"]}"#);
        let p = Params::from_path(&DOCS, "/docs/a").unwrap();
        assert_eq!(p.get_all("slug"), Some(&["a".to_string()][..]));
        assert_eq!(p.get("slug"), None);
    }

    #[test]
    fn short_paths_do_not_panic() {
        assert!(Params::from_path(&FILES, "/").is_ok());
        assert!(Params::from_path(&FILES, "").is_ok());
    }

    #[test]
    fn strict_decoding() {
        assert_eq!(decode_segment("%E2%9C%93").unwrap(), "✓");
        assert_eq!(decode_segment("a+b").unwrap(), "a+b");
        for bad in ["%zz", "%", "%4", "%E2%9C", "%FF", "a%2"] {
            assert_eq!(decode_segment(bad), Err(InvalidPath), "{bad}");
        }
        assert_eq!(path_problem("/a/%20/b"), None);
        assert_eq!(path_problem("/a/%zz"), Some(PathProblem::Malformed));
    }

    #[test]
    fn no_parameter_holds_a_dot_segment() {
        for ok in [
            "/a/b",
            "/a/.b",
            "/a/b..",
            "/a/...",
            "/a/%2e%2e%2e",
            "/a/%252e%252e",
            "/.well-known",
        ] {
            assert_eq!(path_problem(ok), None, "{ok}");
        }
        for bad in [
            "/a/..",
            "/a/.",
            "/a/../b",
            "/a/%2e%2e",
            "/a/.%2E",
            "/a%2f..%2fb",
            "/a/..%2fb",
            "/a/%2e%2e%2f",
            "/a%2f../b",
            "/a/..%5cb",
            "/a/..\\b",
            "/a\\..\\b",
        ] {
            assert_eq!(path_problem(bad), Some(PathProblem::DotSegment), "{bad}");
        }
    }
}
