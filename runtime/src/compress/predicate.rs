//! Which answers may be compressed, and the headers a compressed answer
//! (or one that could have been) gets.
// Without the codecs only the headers part serves (stored forms).
#![cfg_attr(not(feature = "compression"), allow(dead_code))]

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};

/// What to do with one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Leave it as it is: it is never compressed, whatever was asked.
    Leave,
    /// It could be compressed for another request, not for this one: it
    /// only gets `Vary: Accept-Encoding`.
    VaryOnly,
    /// Compress it (and add `Vary`).
    Compress,
}

/// Whether an answer with this status and these headers, `len` bytes long
/// if known, is compressed for a request that may get an encoding
/// (`wanted`) or not. `plain_request` is false for `HEAD` and `Range`
/// requests, whose answers are never compressed.
pub(crate) fn verdict(
    status: StatusCode,
    headers: &HeaderMap,
    len: Option<u64>,
    min_size: usize,
    wanted: bool,
    plain_request: bool,
) -> Verdict {
    // Every test here ends in `Leave`, so their order is free: the cheap
    // ones, and those most answers fail (short, not text), come first.
    let no_body = matches!(
        status,
        StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED | StatusCode::PARTIAL_CONTENT
    ) || status.is_informational();
    if no_body || len.is_some_and(|len| len < min_size as u64) {
        return Verdict::Leave;
    }
    let typed = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(compressible_type);
    if !typed
        || headers.contains_key(header::CONTENT_ENCODING)
        || headers.contains_key(header::CONTENT_RANGE)
        || no_transform(headers)
    {
        return Verdict::Leave;
    }
    if wanted && plain_request {
        Verdict::Compress
    } else {
        Verdict::VaryOnly
    }
}

/// Text, JSON, XML, JavaScript, SVG, wasm: types that shrink. Not
/// `text/event-stream`: each event must reach the client when it is sent.
pub(crate) fn compressible_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    if kind.eq_ignore_ascii_case("text") {
        return !sub.eq_ignore_ascii_case("event-stream");
    }
    let ends_with = |suffix: &str| {
        sub.len() >= suffix.len()
            && sub.as_bytes()[sub.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    ends_with("+json")
        || ends_with("+xml")
        || (kind.eq_ignore_ascii_case("application")
            && [
                "json",
                "xml",
                "javascript",
                "x-javascript",
                "ecmascript",
                "wasm",
                "x-ndjson",
            ]
            .iter()
            .any(|known| sub.eq_ignore_ascii_case(known)))
}

/// `Cache-Control: no-transform` asks that the bytes reach the client as
/// they are (RFC 9111 section 5.2.2.6).
fn no_transform(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-transform"))
}

/// Adds `Vary: Accept-Encoding` beside whatever `Vary` is there, unless it
/// names `Accept-Encoding` already or is `*`.
pub(crate) fn add_vary(headers: &mut HeaderMap) {
    let named = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|name| {
            let name = name.trim();
            name == "*" || name.eq_ignore_ascii_case("accept-encoding")
        });
    if !named {
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
}

/// A strong `ETag` becomes weak: the compressed bytes are not the ones it
/// named, but they mean the same (RFC 9110 section 8.8.1).
pub(crate) fn weaken_etag(headers: &mut HeaderMap) {
    let Some(etag) = headers.get(header::ETAG) else {
        return;
    };
    if etag.as_bytes().starts_with(b"\"") {
        let mut weak = b"W/".to_vec();
        weak.extend_from_slice(etag.as_bytes());
        if let Ok(weak) = HeaderValue::from_bytes(&weak) {
            headers.insert(header::ETAG, weak);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn compressible_types() {
        for yes in [
            "text/html; charset=utf-8",
            "text/plain",
            "TEXT/CSS",
            "text/javascript",
            "application/json",
            "application/problem+json",
            "application/manifest+json; charset=utf-8",
            "application/xml",
            "application/rss+xml",
            "image/svg+xml",
            "application/javascript",
            "application/wasm",
            "Application/JSON",
            "image/SVG+XML",
        ] {
            assert!(compressible_type(yes), "{yes}");
        }
        for no in [
            "text/event-stream",
            "text/event-stream; charset=utf-8",
            "image/png",
            "application/octet-stream",
            "application/zip",
            "font/woff2",
            "video/mp4",
            "json",
            "Text/Event-Stream",
            "application/json5",
            "+json",
            "",
        ] {
            assert!(!compressible_type(no), "{no}");
        }
    }

    #[test]
    fn verdicts() {
        let html = headers(&[("content-type", "text/html")]);
        let ok = StatusCode::OK;
        let v = |status, h: &HeaderMap, len, wanted, plain| {
            verdict(status, h, len, 1024, wanted, plain)
        };
        assert_eq!(v(ok, &html, Some(2000), true, true), Verdict::Compress);
        assert_eq!(
            v(ok, &html, None, true, true),
            Verdict::Compress,
            "a stream"
        );
        assert_eq!(
            v(StatusCode::NOT_FOUND, &html, None, true, true),
            Verdict::Compress
        );
        assert_eq!(v(ok, &html, Some(2000), false, true), Verdict::VaryOnly);
        assert_eq!(
            v(ok, &html, Some(2000), true, false),
            Verdict::VaryOnly,
            "HEAD, Range"
        );
        assert_eq!(v(ok, &html, Some(1023), true, true), Verdict::Leave);
        for status in [
            StatusCode::NO_CONTENT,
            StatusCode::NOT_MODIFIED,
            StatusCode::PARTIAL_CONTENT,
        ] {
            assert_eq!(
                v(status, &html, None, true, true),
                Verdict::Leave,
                "{status}"
            );
        }
        let encoded = headers(&[("content-type", "text/html"), ("content-encoding", "gzip")]);
        assert_eq!(v(ok, &encoded, None, true, true), Verdict::Leave);
        let sse = headers(&[("content-type", "text/event-stream")]);
        assert_eq!(v(ok, &sse, None, true, true), Verdict::Leave);
        let png = headers(&[("content-type", "image/png")]);
        assert_eq!(v(ok, &png, None, true, true), Verdict::Leave);
        assert_eq!(v(ok, &HeaderMap::new(), None, true, true), Verdict::Leave);
        let keep = headers(&[
            ("content-type", "text/html"),
            ("cache-control", "public, No-Transform"),
        ]);
        assert_eq!(v(ok, &keep, None, true, true), Verdict::Leave);
    }

    #[test]
    fn vary_is_added_beside_what_is_there() {
        let mut h = headers(&[("vary", "accept-language")]);
        add_vary(&mut h);
        let all: Vec<_> = h.get_all("vary").iter().collect();
        assert_eq!(all, ["accept-language", "accept-encoding"]);
        let mut h = headers(&[("vary", "Origin, Accept-Encoding")]);
        add_vary(&mut h);
        assert_eq!(h.get_all("vary").iter().count(), 1);
        let mut h = headers(&[("vary", "*")]);
        add_vary(&mut h);
        assert_eq!(h.get_all("vary").iter().count(), 1);
    }

    #[test]
    fn strong_etags_become_weak() {
        let mut h = headers(&[("etag", "\"abc\"")]);
        weaken_etag(&mut h);
        assert_eq!(h["etag"], "W/\"abc\"");
        let mut h = headers(&[("etag", "W/\"abc\"")]);
        weaken_etag(&mut h);
        assert_eq!(h["etag"], "W/\"abc\"");
    }
}
