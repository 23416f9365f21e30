//! One cached answer and its binary form, for stores that keep bytes.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::cost::heap;
use super::error::Error;
use super::key::joined_value;
use crate::compress::Encoding;

/// One cached answer: status, headers and body, and what the cache needs to
/// know about it. Cheap to clone (shared).
///
/// Stores keep it as it is, or as bytes ([`CachedAnswer::to_bytes`],
/// [`CachedAnswer::from_bytes`]).
#[derive(Clone)]
pub struct CachedAnswer(Arc<Answer>);

/// What a [`CachedAnswer`] holds; made by the cache layer, read back by
/// the codec.
#[derive(Clone)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) path: String,
    pub(crate) tags: Vec<String>,
    /// The request headers the answer depends on (its `Vary`), with the
    /// values they had: it is served only to requests with the same values.
    pub(crate) vary: Vec<(HeaderName, Option<HeaderValue>)>,
    /// Milliseconds since the Unix epoch.
    pub(crate) stored_at: u64,
    /// The route's `REVALIDATE`, in seconds.
    pub(crate) revalidate: u64,
    /// The body compressed, once when it was stored, in each encoding that
    /// shrinks it (none for an answer that is not text, or is short).
    pub(crate) variants: Vec<(Encoding, Bytes)>,
}

impl CachedAnswer {
    pub(crate) fn new(answer: Answer) -> CachedAnswer {
        CachedAnswer(Arc::new(answer))
    }

    /// The status (200).
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The headers sent with it, `Cache-Control` included.
    pub fn headers(&self) -> &HeaderMap {
        &self.0.headers
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.0.body
    }

    /// The URL path it answers, as the client asked for it (no query, a
    /// nested router's prefix included): what
    /// [`revalidate_path`](super::revalidate_path) matches.
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// The body compressed with `encoding`, if it is kept so.
    pub fn compressed(&self, encoding: Encoding) -> Option<&Bytes> {
        let mut variants = self.0.variants.iter();
        variants.find(|(e, _)| *e == encoding).map(|(_, b)| b)
    }

    /// Whether the body is kept compressed too.
    pub(crate) fn has_variants(&self) -> bool {
        !self.0.variants.is_empty()
    }

    /// The route's `CACHE_TAGS`: what [`revalidate_tag`](super::revalidate_tag) matches.
    pub fn tags(&self) -> &[String] {
        &self.0.tags
    }

    /// When the handler made it.
    pub fn stored_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0.stored_at)
    }

    /// The route's `REVALIDATE` when it was made: fresh for this long.
    pub fn revalidate(&self) -> Duration {
        Duration::from_secs(self.0.revalidate)
    }

    /// The bytes it takes in memory, allocator rounding included: what
    /// [`MemoryStore`](super::MemoryStore) counts, with its own bookkeeping.
    pub fn size(&self) -> usize {
        let a = &self.0;
        // A header is a 104-byte slot (name, value, hash, links) plus a 4-byte
        // index, and its name and value bytes when they are not static.
        let header_slots = heap(a.headers.capacity() * 108);
        let extra_values = a.headers.len() - a.headers.keys_len();
        let header_bytes: usize = a
            .headers
            .iter()
            .map(|(k, v)| heap(k.as_str().len()) + heap(v.len()))
            .sum();
        let vary_slots = heap(a.vary.len() * size_of::<(HeaderName, Option<HeaderValue>)>());
        let vary_bytes: usize = a
            .vary
            .iter()
            .map(|(k, v)| heap(k.as_str().len()) + v.as_ref().map_or(0, |v| heap(v.len())))
            .sum();
        let tags = heap(a.tags.len() * size_of::<String>())
            + a.tags.iter().map(|t| heap(t.len())).sum::<usize>();
        // The body's bytes, and the block `Bytes` shares them through.
        let body = heap(a.body.len()) + heap(24);
        let variants = heap(a.variants.len() * size_of::<(Encoding, Bytes)>())
            + a.variants
                .iter()
                .map(|(_, b)| heap(b.len()) + heap(24))
                .sum::<usize>();
        heap(16 + size_of::<Answer>())
            + header_slots
            + heap(extra_values * 64)
            + header_bytes
            + vary_slots
            + vary_bytes
            + tags
            + body
            + variants
            + heap(a.path.len())
    }

    /// The same answer, stale whatever its age (as if made at the epoch):
    /// what a store gives back for an answer a
    /// [`mark_stale`](super::CacheStore::mark_stale) named.
    pub fn marked_stale(&self) -> CachedAnswer {
        CachedAnswer::new(Answer {
            stored_at: 0,
            ..Answer::clone(&self.0)
        })
    }

    pub(crate) fn stored_at_ms(&self) -> u64 {
        self.0.stored_at
    }

    /// Fresh at `now` (milliseconds since the epoch) for a route that
    /// revalidates after `revalidate` seconds.
    pub(crate) fn is_fresh(&self, now: u64, revalidate: u64) -> bool {
        now < self
            .0
            .stored_at
            .saturating_add(revalidate.saturating_mul(1000))
    }

    /// Whether its `Vary` names request headers.
    pub(crate) fn varies(&self) -> bool {
        !self.0.vary.is_empty()
    }

    /// The request headers its `Vary` names.
    pub(crate) fn vary_names(&self) -> impl Iterator<Item = &HeaderName> {
        self.0.vary.iter().map(|(name, _)| name)
    }

    /// Whether it may answer a request with these headers (its `Vary`).
    pub(crate) fn suits(&self, request: &HeaderMap) -> bool {
        self.0
            .vary
            .iter()
            .all(|(name, value)| joined_value(request, name) == *value)
    }

    /// The answer as bytes, for stores that keep bytes (a versioned format
    /// that [`CachedAnswer::from_bytes`] reads).
    ///
    /// ```
    /// # use approute::cache::CachedAnswer;
    /// # fn roundtrip(answer: &CachedAnswer) {
    /// let back = CachedAnswer::from_bytes(&answer.to_bytes()).unwrap();
    /// assert_eq!(back.body(), answer.body());
    /// # }
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let a = &self.0;
        let mut out = Vec::with_capacity(self.size());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&a.stored_at.to_le_bytes());
        out.extend_from_slice(&a.revalidate.to_le_bytes());
        out.extend_from_slice(&a.status.as_u16().to_le_bytes());
        put_bytes(&mut out, a.path.as_bytes());
        put_len(&mut out, a.tags.len());
        for tag in &a.tags {
            put_bytes(&mut out, tag.as_bytes());
        }
        put_len(&mut out, a.vary.len());
        for (name, value) in &a.vary {
            put_bytes(&mut out, name.as_str().as_bytes());
            match value {
                Some(v) => {
                    out.push(1);
                    put_bytes(&mut out, v.as_bytes());
                }
                None => out.push(0),
            }
        }
        put_len(&mut out, a.headers.len());
        for (name, value) in &a.headers {
            put_bytes(&mut out, name.as_str().as_bytes());
            put_bytes(&mut out, value.as_bytes());
        }
        put_bytes(&mut out, &a.body);
        put_len(&mut out, a.variants.len());
        for (encoding, bytes) in &a.variants {
            out.push(match encoding {
                Encoding::Brotli => b'b',
                Encoding::Gzip => b'g',
            });
            put_bytes(&mut out, bytes);
        }
        out
    }

    /// Reads what [`CachedAnswer::to_bytes`] wrote.
    ///
    /// ```
    /// use approute::cache::CachedAnswer;
    ///
    /// assert!(CachedAnswer::from_bytes(b"not an answer").is_err());
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<CachedAnswer, Error> {
        let mut r = Reader(bytes);
        if r.take(MAGIC.len())? != MAGIC {
            return Err(Error::new(
                "not a cached answer (or one of another version)",
            ));
        }
        let stored_at = r.u64()?;
        let revalidate = r.u64()?;
        let status = StatusCode::from_u16(r.u16()?).map_err(Error::new)?;
        let path = r.string()?;
        let tags = (0..r.len()?)
            .map(|_| r.string())
            .collect::<Result<_, _>>()?;
        let mut vary = Vec::new();
        for _ in 0..r.len()? {
            let name = HeaderName::from_bytes(r.bytes()?).map_err(Error::new)?;
            let value = match r.take(1)?[0] {
                0 => None,
                _ => Some(HeaderValue::from_bytes(r.bytes()?).map_err(Error::new)?),
            };
            vary.push((name, value));
        }
        let mut headers = HeaderMap::new();
        for _ in 0..r.len()? {
            let name = HeaderName::from_bytes(r.bytes()?).map_err(Error::new)?;
            let value = HeaderValue::from_bytes(r.bytes()?).map_err(Error::new)?;
            headers.append(name, value);
        }
        let body = Bytes::copy_from_slice(r.bytes()?);
        let mut variants = Vec::new();
        for _ in 0..r.len()? {
            let encoding = match r.take(1)?[0] {
                b'b' => Encoding::Brotli,
                b'g' => Encoding::Gzip,
                _ => return Err(Error::new("a cached answer in an unknown encoding")),
            };
            variants.push((encoding, Bytes::copy_from_slice(r.bytes()?)));
        }
        if !r.0.is_empty() {
            return Err(Error::new("trailing bytes after a cached answer"));
        }
        Ok(CachedAnswer::new(Answer {
            status,
            headers,
            body,
            path,
            tags,
            vary,
            stored_at,
            revalidate,
            variants,
        }))
    }
}

impl fmt::Debug for CachedAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedAnswer")
            .field("status", &self.0.status)
            .field("path", &self.0.path)
            .field("tags", &self.0.tags)
            .field("body_len", &self.0.body.len())
            .field("stored_at_ms", &self.0.stored_at)
            .field("revalidate", &self.0.revalidate)
            .finish_non_exhaustive()
    }
}

const MAGIC: &[u8] = b"approute-answer-2\n";

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u64).to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.0.len() < n {
            return Err(Error::new("truncated cached answer"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64, Error> {
        let bytes = self.take(8)?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    fn u16(&mut self) -> Result<u16, Error> {
        let bytes = self.take(2)?;
        Ok(u16::from_le_bytes(bytes.try_into().expect("2 bytes")))
    }

    fn len(&mut self) -> Result<usize, Error> {
        let n = self.u64()?;
        // Every counted item takes at least a byte: a larger count is corrupt.
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.0.len())
            .ok_or_else(|| Error::new("corrupt length in a cached answer"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], Error> {
        let n = self.len()?;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, Error> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(Error::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> CachedAnswer {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        headers.append("x-two", HeaderValue::from_static("a"));
        headers.append("x-two", HeaderValue::from_static("b"));
        CachedAnswer::new(Answer {
            status: StatusCode::OK,
            headers,
            body: Bytes::from_static(b"hello \xff"),
            path: "/api/notes".into(),
            tags: vec!["notes".into(), "all".into()],
            vary: vec![
                (
                    HeaderName::from_static("accept-language"),
                    Some(HeaderValue::from_static("de")),
                ),
                (HeaderName::from_static("x-absent"), None),
            ],
            stored_at: 1_700_000_000_123,
            revalidate: 60,
            variants: vec![(Encoding::Gzip, Bytes::from_static(b"\x1f\x8b..."))],
        })
    }

    #[test]
    fn bytes_roundtrip() {
        let a = answer();
        let b = CachedAnswer::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(b.status(), a.status());
        assert_eq!(b.headers(), a.headers());
        assert_eq!(b.body(), a.body());
        assert_eq!(b.path(), "/api/notes");
        assert_eq!(b.tags(), ["notes", "all"]);
        assert_eq!(b.0.vary, a.0.vary);
        assert_eq!(b.stored_at(), a.stored_at());
        assert_eq!(b.revalidate(), Duration::from_secs(60));
        assert_eq!(b.0.variants, a.0.variants);
    }

    #[test]
    fn corrupt_bytes_are_errors_not_panics() {
        let bytes = answer().to_bytes();
        for cut in 0..bytes.len() {
            assert!(
                CachedAnswer::from_bytes(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(CachedAnswer::from_bytes(&long).is_err());
        let mut huge = bytes;
        let at = MAGIC.len() + 8 + 8 + 2;
        huge[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(CachedAnswer::from_bytes(&huge).is_err());
    }

    #[test]
    fn freshness_and_vary() {
        let a = answer();
        assert!(a.is_fresh(1_700_000_000_123 + 59_999, 60));
        assert!(!a.is_fresh(1_700_000_000_123 + 60_000, 60));
        let mut req = HeaderMap::new();
        assert!(!a.suits(&req));
        req.insert("accept-language", HeaderValue::from_static("de"));
        assert!(a.suits(&req));
        req.insert("x-absent", HeaderValue::from_static("1"));
        assert!(!a.suits(&req));
    }
}
