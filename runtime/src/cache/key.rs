//! The cache key: what makes two requests get the same answer.
//!
//! A key is the host and the URL the client asked for, plus the values of
//! the request headers the answer varies on:
//!
//! ```text
//! Host: API.example.com    GET /v2/x?page=2          -> api.example.com/v2/x?page=2
//! (no Host, as in tests)   GET /notes                -> /notes
//! Vary: accept-language    Accept-Language: de       -> api.example.com/x\naccept-language:de
//! ```
//!
//! The URL is `OriginalUri`, not the URI a route sees: under
//! `Router::new().nest("/v1", ..).nest("/v2", ..)` both nested routes see
//! `/x`, and only the prefix tells their answers apart. The URL rules
//! (`url.rs`) put the normalised URL there before routing, so `/a/../x` and
//! `/x` share an entry. The host is lower-cased. A host (an authority) holds
//! no `/`, a URL starts with one, and neither holds `\n`: the flat form
//! is unambiguous.

use std::fmt;

use axum::extract::{OriginalUri, Request};
use axum::http::uri::Authority;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};

/// Where an answer is kept: host, URL (path and query) as the client asked
/// for them, and the values of the headers its `Vary` names. Stores keep
/// an answer under [`CacheKey::as_str`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    flat: String,
    host_end: usize,
    path_end: usize,
    url_end: usize,
}

impl CacheKey {
    /// The key of a request, or `None` when it must not be cached: its
    /// `Host` is not a host name (and port), or the request line names
    /// another host than `Host` does.
    pub(crate) fn of_request(req: &Request) -> Option<CacheKey> {
        let header_host = match req.headers().get(header::HOST) {
            Some(value) => Some(as_authority(value.as_bytes())?),
            None => None,
        };
        let host = match (req.uri().authority().map(Authority::as_str), header_host) {
            (Some(line), Some(header)) if !line.eq_ignore_ascii_case(header) => return None,
            (Some(line), _) => line,
            (None, Some(header)) => header,
            (None, None) => "",
        };
        let uri = req
            .extensions()
            .get::<OriginalUri>()
            .map_or(req.uri(), |original| &original.0);
        Some(CacheKey::new(host, uri.path(), uri.query()))
    }

    pub(crate) fn new(host: &str, path: &str, query: Option<&str>) -> CacheKey {
        let path = if path.is_empty() { "/" } else { path };
        let mut flat =
            String::with_capacity(host.len() + path.len() + query.map_or(0, str::len) + 1);
        flat.extend(host.chars().map(|c| c.to_ascii_lowercase()));
        let host_end = flat.len();
        flat.push_str(path);
        let path_end = flat.len();
        if let Some(query) = query {
            flat.push('?');
            flat.push_str(query);
        }
        let url_end = flat.len();
        CacheKey {
            flat,
            host_end,
            path_end,
            url_end,
        }
    }

    /// The whole key, one string: host, URL, then `\nname:value` per varied
    /// header (`\nname` for one the request did not send; bytes outside
    /// ASCII and `%` percent-encoded).
    pub fn as_str(&self) -> &str {
        &self.flat
    }

    /// The host, lower-cased (empty when the request named none).
    pub fn host(&self) -> &str {
        &self.flat[..self.host_end]
    }

    /// The path the client asked for: what `revalidate_path` matches.
    pub fn path(&self) -> &str {
        &self.flat[self.host_end..self.path_end]
    }

    /// Path and query.
    pub fn url(&self) -> &str {
        &self.flat[self.host_end..self.url_end]
    }

    /// This key without the varied headers' values.
    pub(crate) fn base(&self) -> CacheKey {
        let mut base = self.clone();
        base.flat.truncate(self.url_end);
        base
    }

    /// The key of the variant that answers `request`, for an answer that
    /// varies on `names`.
    pub(crate) fn variant<'n>(
        &self,
        names: impl Iterator<Item = &'n HeaderName>,
        request: &HeaderMap,
    ) -> CacheKey {
        let mut key = self.base();
        for name in names {
            key.flat.push('\n');
            key.flat.push_str(name.as_str());
            if let Some(value) = joined_value(request, name) {
                key.flat.push(':');
                for &b in value.as_bytes() {
                    match b {
                        b'%' | 0x80.. => key.flat.push_str(&format!("%{b:02X}")),
                        _ => key.flat.push(char::from(b)),
                    }
                }
            }
        }
        key
    }
}

/// `bytes` if they may be an authority (RFC 3986 3.2: a host name or
/// address, a port, user info): no `/`, `?`, `#`, space, control or
/// non-ASCII byte. Checked without parsing: this runs for every request.
fn as_authority(bytes: &[u8]) -> Option<&str> {
    let allowed = |b: &u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:%[]@".contains(b);
    if bytes.iter().all(allowed) {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

/// Every value of `name` in `headers`, joined with `, ` as RFC 9110 5.3
/// allows; `None` when there is none.
pub(crate) fn joined_value(headers: &HeaderMap, name: &HeaderName) -> Option<HeaderValue> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    let Some(second) = values.next() else {
        return Some(first.clone());
    };
    let mut bytes = first.as_bytes().to_vec();
    for value in std::iter::once(second).chain(values) {
        bytes.extend_from_slice(b", ");
        bytes.extend_from_slice(value.as_bytes());
    }
    HeaderValue::from_bytes(&bytes).ok()
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.flat, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Uri;

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request {
        let mut req = Request::builder().uri(uri);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.body(Body::empty()).unwrap()
    }

    fn key(uri: &str, headers: &[(&str, &str)]) -> Option<String> {
        CacheKey::of_request(&request(uri, headers)).map(|k| k.as_str().to_string())
    }

    #[test]
    fn host_and_url_the_client_asked_for() {
        assert_eq!(key("/notes?p=2", &[]).as_deref(), Some("/notes?p=2"));
        assert_eq!(
            key("/x", &[("host", "API.Example.com:8080")]).as_deref(),
            Some("api.example.com:8080/x")
        );
        assert_eq!(
            key("http://a.example/x", &[("host", "A.example")]).as_deref(),
            Some("a.example/x")
        );
        // Two hosts in one request, or a host that is no host: not cached.
        assert_eq!(key("http://a.example/x", &[("host", "b.example")]), None);
        assert_eq!(key("/x", &[("host", "a.example/evil")]), None);
        assert_eq!(key("/x", &[("host", "a b")]), None);

        // Behind `nest("/v2", ..)` the route sees `/x`; the key keeps `/v2`.
        let mut req = request("/x?q", &[("host", "h")]);
        req.extensions_mut()
            .insert(OriginalUri(Uri::from_static("/v2/x?q")));
        let key = CacheKey::of_request(&req).unwrap();
        assert_eq!(
            (key.as_str(), key.host(), key.path(), key.url()),
            ("h/v2/x?q", "h", "/v2/x", "/v2/x?q")
        );
    }

    #[test]
    fn variants_name_every_varied_header() {
        let base = CacheKey::new("h", "/x", None);
        let lang = HeaderName::from_static("accept-language");
        let absent = HeaderName::from_static("x-absent");
        let mut headers = HeaderMap::new();
        headers.append(&lang, HeaderValue::from_static("de"));
        headers.append(&lang, HeaderValue::from_static("en"));
        headers.append("x-other", HeaderValue::from_static("1"));
        let variant = base.variant([&lang, &absent].into_iter(), &headers);
        assert_eq!(variant.as_str(), "h/x\naccept-language:de, en\nx-absent");
        assert_eq!(variant.url(), "/x");
        assert_eq!(variant.base(), base);

        let odd = HeaderValue::from_bytes(b"50%\xff").unwrap();
        headers.insert(&lang, odd);
        let variant = base.variant(std::iter::once(&lang), &headers);
        assert_eq!(variant.as_str(), "h/x\naccept-language:50%25%FF");
    }
}
