//! Files from `public/`, served as Next.js serves them: embedded in the
//! binary at compile time, with their content type, a strong `ETag` and
//! `Last-Modified` worked out by the macro, so a request only compares
//! headers and slices bytes.
//!
//! - `GET` and `HEAD`: 200 with `Content-Type`, `Content-Length`, `ETag`,
//!   `Last-Modified`, `Accept-Ranges: bytes` and `Cache-Control: public,
//!   max-age=0` (what Next.js sends for public files).
//! - `If-None-Match` (or, without it, `If-Modified-Since`): 304.
//! - `If-Match` / `If-Unmodified-Since` that fail: 412.
//! - one byte range (`bytes=0-9`, `bytes=10-`, `bytes=-10`): 206 with
//!   `Content-Range`; unsatisfiable: 416 with `Content-Range: bytes */len`;
//!   several ranges, or a malformed header: 200 with the whole file.
//!   `If-Range` with the `ETag` or the `Last-Modified` date keeps the range,
//!   anything else gets the whole file.
//! - `OPTIONS`: 204 with `Allow: GET, HEAD, OPTIONS`; any other method: 405
//!   with that `Allow` (Next.js 14 answers `OPTIONS` with 405 too).
//! - a text file of 1 KiB or more is also embedded compressed, with brotli
//!   and gzip at build time: a client whose `Accept-Encoding` takes one
//!   gets those bytes, with `Content-Encoding` and that variant's own
//!   strong `ETag` (its preconditions compare with that one), and every
//!   answer for the file says `Vary: Accept-Encoding`. A `Range` request
//!   gets ranges of the uncompressed bytes.

use std::future::{ready, Ready};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::MethodRouter;
use axum::Router;

use crate::compress::{Compression, Encoding, Negotiated};
use crate::error;
use crate::redirect::{redirect_with_slash, redirect_without_slash};

/// What `Allow` lists for a public file.
pub const ALLOW: &str = "GET, HEAD, OPTIONS";

/// What Next.js sends for files from `public/`: caches may keep them but
/// must revalidate (cheap, with the `ETag`).
pub const CACHE_CONTROL: &str = "public, max-age=0";

/// A file from the `public/` folder, embedded at compile time: the
/// generated `PUBLIC_FILES` lists them all.
#[derive(Debug)]
pub struct PublicFile {
    url: &'static str,
    file: &'static str,
    bytes: &'static [u8],
    content_type: &'static str,
    etag: &'static str,
    last_modified: Option<(&'static str, u64)>,
    variants: &'static [PublicVariant],
}

/// A public file's bytes compressed at build time, with their own strong
/// `ETag`.
#[derive(Debug)]
pub struct PublicVariant {
    encoding: Encoding,
    bytes: &'static [u8],
    etag: &'static str,
}

impl PublicVariant {
    #[doc(hidden)]
    pub const fn __new(
        encoding: Encoding,
        bytes: &'static [u8],
        etag: &'static str,
    ) -> PublicVariant {
        PublicVariant {
            encoding,
            bytes,
            etag,
        }
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The compressed bytes.
    pub fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// The strong `ETag` of the compressed bytes, quoted.
    pub fn etag(&self) -> &'static str {
        self.etag
    }
}

impl PublicFile {
    #[doc(hidden)]
    pub const fn __new(
        url: &'static str,
        file: &'static str,
        bytes: &'static [u8],
        content_type: &'static str,
        etag: &'static str,
        last_modified: Option<(&'static str, u64)>,
        variants: &'static [PublicVariant],
    ) -> PublicFile {
        PublicFile {
            url,
            file,
            bytes,
            content_type,
            etag,
            last_modified,
            variants,
        }
    }

    /// Its compressed forms, made at build time (none for a file that is
    /// not text, or shorter than 1 KiB).
    pub fn variants(&self) -> &'static [PublicVariant] {
        self.variants
    }

    /// The URL path it is served at, percent-encoded: `/img/a%20b.txt`.
    pub fn url(&self) -> &'static str {
        self.url
    }

    /// The file, relative to the crate: `public/img/a b.txt`.
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// Its bytes, as they were at compile time.
    pub fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    pub fn content_type(&self) -> &'static str {
        self.content_type
    }

    /// The strong `ETag`, quoted.
    pub fn etag(&self) -> &'static str {
        self.etag
    }

    /// `Last-Modified` (the file's modification time at compile time), as
    /// an HTTP-date.
    pub fn last_modified(&self) -> Option<&'static str> {
        self.last_modified.map(|(date, _)| date)
    }

    fn modified(&self) -> Option<SystemTime> {
        self.last_modified
            .map(|(_, seconds)| UNIX_EPOCH + Duration::from_secs(seconds))
    }
}

/// `image/png  /logo.png  public/logo.png`: one line for a start-up log.
impl std::fmt::Display for PublicFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = self.content_type.split(';').next().unwrap_or_default();
        write!(f, "{kind:<22} {:<32} {}", self.url, self.file)
    }
}

/// What a pattern of the generated table leads to.
#[derive(Clone, Copy, Debug)]
pub enum PublicRoute {
    /// The file at this index of `PUBLIC_FILES`.
    File(usize),
    /// 308 to the URL without its trailing slash.
    RedirectStrip,
    /// 308 to the URL with a trailing slash.
    RedirectAdd,
}

/// Registers the public files' `table` of patterns on `router`; `file_route`
/// makes the method router of one file (the generated code passes one that
/// wraps [`public_file`] in `app/middleware.rs`).
pub fn public_routes<S>(
    mut router: Router<S>,
    table: &[(&str, PublicRoute)],
    files: &'static [PublicFile],
    file_route: impl Fn(&'static PublicFile) -> MethodRouter<S>,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    for &(pattern, target) in table {
        let methods = match target {
            PublicRoute::File(i) => file_route(&files[i]),
            PublicRoute::RedirectStrip => redirect_without_slash(),
            PublicRoute::RedirectAdd => redirect_with_slash(),
        };
        router = router.route(pattern, methods);
    }
    router
}

/// The handler serving `file`; generated code wraps it in the root
/// middleware and registers it with `any`.
pub fn public_file(file: &'static PublicFile) -> ServePublicFile {
    ServePublicFile(file)
}

/// The handler [`public_file`] returns.
#[derive(Clone, Copy, Debug)]
pub struct ServePublicFile(&'static PublicFile);

/// Not offered when a user's handler is not one: it is an approute internal.
#[diagnostic::do_not_recommend]
impl<S> Handler<(), S> for ServePublicFile
where
    S: Clone + Send + Sync + 'static,
{
    type Future = Ready<Response>;

    fn call(self, req: Request, _state: S) -> Self::Future {
        let compression = Compression::of_request(req.extensions());
        ready(respond(self.0, req.method(), req.headers(), &compression))
    }
}

/// The bytes sent for a file: as they are, or one compressed variant.
struct Chosen {
    bytes: &'static [u8],
    etag: &'static str,
    encoding: Option<Encoding>,
}

/// The variant the request's `Accept-Encoding` takes best, among those
/// `compression` enables; a `Range` request gets the file as it is.
fn choose(file: &PublicFile, headers: &HeaderMap, compression: &Compression) -> Chosen {
    let variant = |e: Encoding| file.variants.iter().find(|v| v.encoding == e);
    let chosen = match headers.contains_key(header::RANGE) {
        true => None,
        false => compression.choose(headers, |e| variant(e).is_some()),
    };
    match chosen.and_then(variant) {
        Some(v) => Chosen {
            bytes: v.bytes,
            etag: v.etag,
            encoding: Some(v.encoding),
        },
        None => Chosen {
            bytes: file.bytes,
            etag: file.etag,
            encoding: None,
        },
    }
}

/// The answer to a request for `file`.
pub fn respond(
    file: &PublicFile,
    method: &Method,
    headers: &HeaderMap,
    compression: &Compression,
) -> Response {
    let allow = || [(header::ALLOW, HeaderValue::from_static(ALLOW))];
    if method == Method::OPTIONS {
        return answer(StatusCode::NO_CONTENT, allow(), Body::empty());
    }
    if method != Method::GET && method != Method::HEAD {
        let mut answer = error::bare(StatusCode::METHOD_NOT_ALLOWED, error::WRONG_METHOD);
        answer.headers_mut().extend(allow());
        return answer;
    }
    let chosen = choose(file, headers, compression);
    let len = chosen.bytes.len() as u64;
    let mut validators = vec![
        (header::ETAG, HeaderValue::from_static(chosen.etag)),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ),
        (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
    ];
    if let Some(date) = file.last_modified() {
        validators.push((header::LAST_MODIFIED, HeaderValue::from_static(date)));
    }
    if file
        .variants
        .iter()
        .any(|v| compression.enabled(v.encoding))
    {
        validators.push((header::VARY, HeaderValue::from_static("accept-encoding")));
    }

    // RFC 9110 section 13.2.2: If-Match, If-Unmodified-Since,
    // If-None-Match, If-Modified-Since, then Range with If-Range.
    if let Some(value) = text(headers, &header::IF_MATCH) {
        if !list_matches(&value, chosen.etag, true) {
            return answer(StatusCode::PRECONDITION_FAILED, validators, Body::empty());
        }
    } else if let (Some(since), Some(modified)) =
        (date(headers, &header::IF_UNMODIFIED_SINCE), file.modified())
    {
        if modified > since {
            return answer(StatusCode::PRECONDITION_FAILED, validators, Body::empty());
        }
    }
    if let Some(value) = text(headers, &header::IF_NONE_MATCH) {
        if list_matches(&value, chosen.etag, false) {
            return answer(StatusCode::NOT_MODIFIED, validators, Body::empty());
        }
    } else if let (Some(since), Some(modified)) =
        (date(headers, &header::IF_MODIFIED_SINCE), file.modified())
    {
        if modified <= since {
            return answer(StatusCode::NOT_MODIFIED, validators, Body::empty());
        }
    }

    let content_type = (
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    // Range is defined for GET only (RFC 9110 section 14.2).
    let range = match text(headers, &header::RANGE) {
        Some(value) if method == Method::GET && if_range_holds(file, headers) => {
            parse_range(&value, len)
        }
        _ => Range::Whole,
    };
    let (status, bytes) = match range {
        Range::Whole => (StatusCode::OK, chosen.bytes),
        Range::Unsatisfiable => {
            validators.push((header::CONTENT_RANGE, value(format!("bytes */{len}"))));
            return answer(StatusCode::RANGE_NOT_SATISFIABLE, validators, Body::empty());
        }
        Range::Bytes(first, last) => {
            validators.push((
                header::CONTENT_RANGE,
                value(format!("bytes {first}-{last}/{len}")),
            ));
            let part = &chosen.bytes[first as usize..=last as usize];
            (StatusCode::PARTIAL_CONTENT, part)
        }
    };
    validators.push(content_type);
    if let Some(encoding) = chosen.encoding {
        validators.push((
            header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding.as_str()),
        ));
    }
    validators.push((header::CONTENT_LENGTH, value(bytes.len().to_string())));
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes)
    };
    let mut response = answer(status, validators, body);
    // Chosen already: a compression layer around the router leaves it.
    response.extensions_mut().insert(Negotiated);
    response
}

fn answer(
    status: StatusCode,
    headers: impl IntoIterator<Item = (header::HeaderName, HeaderValue)>,
    body: Body,
) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().extend(headers);
    response
}

fn value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).expect("digits, spaces and punctuation")
}

/// A header's value as text, the values of a repeated header joined with
/// `,` as RFC 9110 allows for lists; `None` if absent or not text.
fn text(headers: &HeaderMap, name: &header::HeaderName) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let values: Option<Vec<&str>> = values.map(|v| v.to_str().ok()).collect();
    Some(values?.join(", "))
}

/// A header's HTTP-date; a malformed date counts as absent, as the RFC
/// asks.
fn date(headers: &HeaderMap, name: &header::HeaderName) -> Option<SystemTime> {
    httpdate::parse_http_date(text(headers, name)?.trim()).ok()
}

/// Whether an `If-Match` / `If-None-Match` list names `etag`: `*` names
/// any; `strong` comparison never matches a weak tag (`W/"..."`).
fn list_matches(list: &str, etag: &str, strong: bool) -> bool {
    list.split(',').map(str::trim).any(|tag| {
        if tag == "*" {
            return true;
        }
        match tag.strip_prefix("W/") {
            Some(weak) => !strong && weak == etag,
            None => tag == etag,
        }
    })
}

/// `If-Range`: the range applies only if the file is still the one the
/// client has a part of: the same strong `ETag`, or exactly the
/// `Last-Modified` date.
fn if_range_holds(file: &PublicFile, headers: &HeaderMap) -> bool {
    let Some(value) = text(headers, &header::IF_RANGE) else {
        return true;
    };
    let value = value.trim();
    if value.starts_with('"') {
        return value == file.etag;
    }
    if value.starts_with("W/") {
        return false;
    }
    match (httpdate::parse_http_date(value), file.modified()) {
        (Ok(date), Some(modified)) => date == modified,
        _ => false,
    }
}

/// What a `Range` header asks of a file of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Range {
    /// No usable range: send the whole file.
    Whole,
    /// Bytes `first..=last`, both within the file.
    Bytes(u64, u64),
    /// A well-formed range that starts past the end.
    Unsatisfiable,
}

/// One `bytes=first-last`, `bytes=first-` or `bytes=-suffix`. Several
/// ranges and malformed headers are ignored (the whole file is sent), which
/// RFC 9110 allows.
fn parse_range(header: &str, len: u64) -> Range {
    let Some((unit, spec)) = header.split_once('=') else {
        return Range::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Range::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Range::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (first, last) {
        ("", suffix) => match number(suffix) {
            None => Range::Whole,
            Some(0) => Range::Unsatisfiable,
            Some(_) if len == 0 => Range::Unsatisfiable,
            Some(n) => Range::Bytes(len.saturating_sub(n), len - 1),
        },
        (first, "") => match number(first) {
            None => Range::Whole,
            Some(first) if first >= len => Range::Unsatisfiable,
            Some(first) => Range::Bytes(first, len - 1),
        },
        (first, last) => match (number(first), number(last)) {
            (Some(first), Some(last)) if first <= last => {
                if first >= len {
                    Range::Unsatisfiable
                } else {
                    Range::Bytes(first, last.min(len - 1))
                }
            }
            _ => Range::Whole,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static FILE: PublicFile = PublicFile::__new(
        "/hello.txt",
        "public/hello.txt",
        b"hello text",
        "text/plain; charset=utf-8",
        "\"a-1234\"",
        Some(("Wed, 25 Nov 2026 11:36:54 GMT", 1_795_606_614)),
        &[],
    );

    fn get(headers: &[(&str, &str)]) -> Response {
        request(Method::GET, headers)
    }

    fn request(method: Method, headers: &[(&str, &str)]) -> Response {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        respond(&FILE, &method, &map, &Compression::default())
    }

    fn head(response: &Response, name: &str) -> Option<String> {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-4", 10), Range::Bytes(0, 4));
        assert_eq!(parse_range("bytes=6-", 10), Range::Bytes(6, 9));
        assert_eq!(parse_range("bytes=-3", 10), Range::Bytes(7, 9));
        assert_eq!(parse_range("bytes=-30", 10), Range::Bytes(0, 9));
        assert_eq!(parse_range("bytes=5-100", 10), Range::Bytes(5, 9));
        assert_eq!(parse_range("BYTES = 1-1", 10), Range::Bytes(1, 1));
        assert_eq!(parse_range("bytes=10-", 10), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=50-60", 10), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 10), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=-1", 0), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,3-4", 10), Range::Whole);
        assert_eq!(parse_range("bytes=4-1", 10), Range::Whole);
        assert_eq!(parse_range("bytes=a-b", 10), Range::Whole);
        assert_eq!(parse_range("bytes=+1-2", 10), Range::Whole);
        assert_eq!(parse_range("bytes=-", 10), Range::Whole);
        assert_eq!(parse_range("items=0-1", 10), Range::Whole);
        assert_eq!(parse_range("bytes 0-1", 10), Range::Whole);
        assert_eq!(
            parse_range("bytes=0-99999999999999999999999", 10),
            Range::Whole
        );
    }

    #[test]
    fn entity_tag_lists() {
        assert!(list_matches("\"a-1234\"", "\"a-1234\"", true));
        assert!(list_matches("\"x\", \"a-1234\"", "\"a-1234\"", true));
        assert!(list_matches("*", "\"a-1234\"", true));
        assert!(list_matches("W/\"a-1234\"", "\"a-1234\"", false));
        assert!(!list_matches("W/\"a-1234\"", "\"a-1234\"", true));
        assert!(!list_matches("\"a-12345\"", "\"a-1234\"", false));
        assert!(!list_matches("a-1234", "\"a-1234\"", false));
    }

    #[test]
    fn full_answer_headers() {
        let r = get(&[]);
        assert_eq!(r.status(), 200);
        assert_eq!(head(&r, "etag").unwrap(), "\"a-1234\"");
        assert_eq!(head(&r, "content-length").unwrap(), "10");
        assert_eq!(head(&r, "cache-control").unwrap(), "public, max-age=0");
        assert_eq!(head(&r, "accept-ranges").unwrap(), "bytes");
        assert_eq!(
            head(&r, "last-modified").unwrap(),
            "Wed, 25 Nov 2026 11:36:54 GMT"
        );
    }

    #[test]
    fn conditional_requests() {
        let lm = "Wed, 25 Nov 2026 11:36:54 GMT";
        let earlier = "Wed, 25 Nov 2026 11:36:53 GMT";
        let status = |h: &[(&str, &str)]| get(h).status().as_u16();
        assert_eq!(status(&[("if-none-match", "\"a-1234\"")]), 304);
        assert_eq!(status(&[("if-none-match", "W/\"a-1234\"")]), 304);
        assert_eq!(status(&[("if-none-match", "*")]), 304);
        assert_eq!(status(&[("if-modified-since", lm)]), 304);
        assert_eq!(status(&[("if-modified-since", earlier)]), 200);
        assert_eq!(status(&[("if-modified-since", "yesterday")]), 200);
        // If-None-Match wins over If-Modified-Since
        assert_eq!(
            status(&[("if-none-match", "\"other\""), ("if-modified-since", lm)]),
            200
        );
        assert_eq!(status(&[("if-match", "\"a-1234\"")]), 200);
        assert_eq!(
            status(&[("if-none-match", "\"x\""), ("if-none-match", "\"a-1234\"")]),
            304,
            "a repeated header is one list"
        );
        assert_eq!(status(&[("if-match", "\"other\"")]), 412);
        assert_eq!(status(&[("if-match", "W/\"a-1234\"")]), 412);
        assert_eq!(status(&[("if-unmodified-since", earlier)]), 412);
        assert_eq!(status(&[("if-unmodified-since", lm)]), 200);
        let not_modified = get(&[("if-none-match", "\"a-1234\"")]);
        assert_eq!(head(&not_modified, "etag").unwrap(), "\"a-1234\"");
        assert_eq!(head(&not_modified, "content-length"), None);
    }

    #[test]
    fn if_range() {
        let range = ("range", "bytes=0-1");
        let status = |h: &[(&str, &str)]| get(h).status().as_u16();
        assert_eq!(status(&[range, ("if-range", "\"a-1234\"")]), 206);
        assert_eq!(status(&[range, ("if-range", "\"old\"")]), 200);
        assert_eq!(status(&[range, ("if-range", "W/\"a-1234\"")]), 200);
        assert_eq!(
            status(&[range, ("if-range", "Wed, 25 Nov 2026 11:36:54 GMT")]),
            206
        );
        assert_eq!(
            status(&[range, ("if-range", "Wed, 25 Nov 2026 11:36:55 GMT")]),
            200
        );
    }

    #[test]
    fn display_is_a_log_line() {
        assert_eq!(
            FILE.to_string(),
            format!(
                "{:<22} {:<32} {}",
                "text/plain", "/hello.txt", "public/hello.txt"
            )
        );
    }

    static PACKED: PublicFile = PublicFile::__new(
        "/app.css",
        "public/app.css",
        b"body { color: red }",
        "text/css; charset=utf-8",
        "\"13-plain\"",
        None,
        &[
            PublicVariant::__new(Encoding::Brotli, b"BR", "\"2-br\""),
            PublicVariant::__new(Encoding::Gzip, b"GZIP", "\"4-gzip\""),
        ],
    );

    fn packed(headers: &[(&str, &str)], compression: Compression) -> Response {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        respond(&PACKED, &Method::GET, &map, &compression)
    }

    #[test]
    fn compressed_variants() {
        let on = Compression::default();
        let br = packed(&[("accept-encoding", "gzip, br")], on);
        assert_eq!(head(&br, "content-encoding").unwrap(), "br");
        assert_eq!(head(&br, "etag").unwrap(), "\"2-br\"");
        assert_eq!(head(&br, "content-length").unwrap(), "2");
        assert_eq!(head(&br, "vary").unwrap(), "accept-encoding");
        let gzip = packed(&[("accept-encoding", "gzip")], on);
        assert_eq!(head(&gzip, "etag").unwrap(), "\"4-gzip\"");
        let plain = packed(&[], on);
        assert_eq!(head(&plain, "content-encoding"), None);
        assert_eq!(head(&plain, "etag").unwrap(), "\"13-plain\"");
        assert_eq!(head(&plain, "vary").unwrap(), "accept-encoding");
        // Each variant's preconditions compare with its own ETag.
        let gz = ("accept-encoding", "gzip");
        assert_eq!(
            packed(&[gz, ("if-none-match", "\"4-gzip\"")], on).status(),
            304
        );
        assert_eq!(
            packed(&[gz, ("if-none-match", "\"13-plain\"")], on).status(),
            200
        );
        // A range is of the plain bytes.
        let range = packed(&[gz, ("range", "bytes=0-3")], on);
        assert_eq!(range.status(), 206);
        assert_eq!(head(&range, "content-encoding"), None);
        assert_eq!(head(&range, "etag").unwrap(), "\"13-plain\"");
        // What the server allows.
        let off = packed(&[gz], Compression::off());
        assert_eq!(head(&off, "content-encoding"), None);
        assert_eq!(
            head(&off, "vary"),
            None,
            "never compressed, so it never varies"
        );
        let gzip_only = Compression::default().encodings([Encoding::Gzip]);
        let only = packed(&[("accept-encoding", "br, gzip")], gzip_only);
        assert_eq!(head(&only, "content-encoding").unwrap(), "gzip");
    }

    #[test]
    fn methods() {
        let options = request(Method::OPTIONS, &[]);
        assert_eq!(options.status(), 204);
        assert_eq!(head(&options, "allow").unwrap(), ALLOW);
        let post = request(Method::POST, &[]);
        assert_eq!(post.status(), 405);
        assert_eq!(head(&post, "allow").unwrap(), ALLOW);
        let head_answer = request(Method::HEAD, &[("range", "bytes=0-1")]);
        assert_eq!(head_answer.status(), 200, "HEAD ignores Range");
        assert_eq!(head(&head_answer, "content-length").unwrap(), "10");
    }
}
