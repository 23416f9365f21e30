//! Compressed answers, as `next start` gives them by default
//! (`compress: true`): gzip or brotli, chosen by the request's
//! `Accept-Encoding`.
//!
//! [`approute::serve`](crate::serve()) compresses with [`Compression::default`]
//! unless told otherwise ([`Server::compression`](crate::serve::Server::compression));
//! under `axum::serve`, add [`Compression::layer`] to the router.
//!
//! - The encoding: the one the client gives the highest `q`, among those
//!   enabled (brotli and gzip by default); a tie goes to brotli.
//!   `identity;q=0` and `*` are understood; no `Accept-Encoding` means none.
//! - What is compressed: bodies of at least [`DEFAULT_MIN_SIZE`] bytes (or
//!   of unknown length) whose type is text (`text/*`), JSON, XML (and any
//!   `+json` or `+xml` type), JavaScript, SVG or wasm.
//! - What never is: `text/event-stream` (server-sent events must reach the
//!   client one by one), answers to `HEAD` or to a `Range` request, `204`,
//!   `206` and `304`, answers with a `Content-Encoding` already (nothing is
//!   compressed twice) or with `Cache-Control: no-transform`.
//! - Every answer that could be compressed gets `Vary: Accept-Encoding`,
//!   added beside any `Vary` the handler set; a compressed one loses its
//!   `Content-Length` and `Accept-Ranges`, and its strong `ETag` becomes
//!   weak (`W/"..."`), since the bytes differ from the uncompressed ones.
//! - A streamed body is compressed as it goes: whatever the handler has
//!   sent is flushed to the client whenever the handler has nothing more
//!   ready, so a stream is never held back.
//!
//! Files from `public/` and cached answers (`REVALIDATE`) cost no
//! compression per request: the files are compressed once at build time,
//! cached answers once when they are stored.

use axum::body::Bytes;
use axum::http::{header, Extensions, HeaderMap, HeaderValue, Response, StatusCode};

#[cfg(feature = "compression")]
mod codec; // gzip and brotli over bytes and over a streamed body
#[cfg(feature = "compression")]
mod layer; // the tower layer
mod negotiate; // Accept-Encoding -> the encoding to send
mod predicate; // which answers may be compressed; Vary and ETag

#[cfg(feature = "compression")]
pub(crate) use layer::ForAnswer;

#[cfg(feature = "compression")]
pub use layer::{CompressionLayer, CompressionService, ResponseFuture};
pub(crate) use negotiate::negotiate;
pub(crate) use predicate::{add_vary, weaken_etag};

/// Bodies shorter than this (1 KiB) are sent as they are by default: the
/// bytes saved would not pay for the work (Next.js's `compression` package
/// uses the same threshold).
pub const DEFAULT_MIN_SIZE: usize = 1024;
/// gzip's level by default, as zlib's and Next.js's default.
pub const DEFAULT_GZIP_LEVEL: u32 = 6;
/// brotli's quality by default: quality 4 compresses better than gzip 6 at
/// about its speed (11, brotli's best, is for the build-time compression of
/// `public/` files).
pub const DEFAULT_BROTLI_QUALITY: u32 = 4;

/// A content coding approute can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// `br`, RFC 7932.
    Brotli,
    /// `gzip`, RFC 1952.
    Gzip,
}

impl Encoding {
    /// Every encoding, in the order preferred when the client likes two
    /// equally: brotli first, it is smaller.
    pub const ALL: [Encoding; 2] = [Encoding::Brotli, Encoding::Gzip];

    /// Its `Content-Encoding` token: `br`, `gzip`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Encoding::Brotli => 1,
            Encoding::Gzip => 2,
        }
    }
}

/// How answers are compressed: which encodings, how hard, from what size.
/// [`Compression::default`] is on, with brotli and gzip.
///
/// ```
/// use approute::compress::{Compression, Encoding};
///
/// let gzip_only = Compression::default().encodings([Encoding::Gzip]).gzip_level(9);
/// assert!(gzip_only.enabled(Encoding::Gzip) && !gzip_only.enabled(Encoding::Brotli));
/// assert!(!Compression::off().enabled(Encoding::Gzip));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compression {
    encodings: u8,
    gzip_level: u32,
    brotli_quality: u32,
    min_size: usize,
}

impl Default for Compression {
    fn default() -> Compression {
        Compression {
            encodings: Encoding::Brotli.bit() | Encoding::Gzip.bit(),
            gzip_level: DEFAULT_GZIP_LEVEL,
            brotli_quality: DEFAULT_BROTLI_QUALITY,
            min_size: DEFAULT_MIN_SIZE,
        }
    }
}

impl Compression {
    /// Nothing compressed, `public/` files and cached answers included.
    pub fn off() -> Compression {
        Compression {
            encodings: 0,
            ..Compression::default()
        }
    }

    /// Only these encodings (none: [`Compression::off`]).
    pub fn encodings(mut self, encodings: impl IntoIterator<Item = Encoding>) -> Compression {
        self.encodings = encodings.into_iter().fold(0, |set, e| set | e.bit());
        self
    }

    /// gzip's level, 1 (fastest) to 9 (smallest); default
    /// [`DEFAULT_GZIP_LEVEL`].
    ///
    /// # Panics
    ///
    /// If `level` is not in `1..=9`.
    pub fn gzip_level(mut self, level: u32) -> Compression {
        assert!(
            (1..=9).contains(&level),
            "approute: gzip level {level} is not in 1..=9 (1 is fastest, 9 smallest)"
        );
        self.gzip_level = level;
        self
    }

    /// brotli's quality, 0 (fastest) to 11 (smallest); default
    /// [`DEFAULT_BROTLI_QUALITY`].
    ///
    /// # Panics
    ///
    /// If `quality` is over 11.
    pub fn brotli_quality(mut self, quality: u32) -> Compression {
        assert!(
            quality <= 11,
            "approute: brotli quality {quality} is not in 0..=11 (0 is fastest, 11 smallest)"
        );
        self.brotli_quality = quality;
        self
    }

    /// Bodies shorter than this many bytes are sent as they are; default
    /// [`DEFAULT_MIN_SIZE`].
    pub fn min_size(mut self, bytes: usize) -> Compression {
        self.min_size = bytes;
        self
    }

    /// Whether `encoding` may be sent.
    pub fn enabled(&self, encoding: Encoding) -> bool {
        self.encodings & encoding.bit() != 0
    }

    /// Whether any encoding may be sent.
    pub fn is_on(&self) -> bool {
        self.encodings != 0
    }

    /// The layer that compresses a router's answers this way: what
    /// `approute::serve` adds, for routers served otherwise.
    ///
    /// ```
    /// use approute::axum::{routing::get, Router};
    /// use approute::compress::Compression;
    ///
    /// let router: Router = Router::new()
    ///     .route("/", get(|| async { "hello" }))
    ///     .layer(Compression::default().layer());
    /// ```
    #[cfg(feature = "compression")]
    pub fn layer(self) -> CompressionLayer {
        CompressionLayer::new(self)
    }

    /// What the request's server or layer chose (carried in the request's
    /// extensions when it is not the default), else the default.
    pub(crate) fn of_request(extensions: &Extensions) -> Compression {
        extensions.get::<Compression>().copied().unwrap_or_default()
    }

    /// The encoding to send for a request with `headers`, among `offered`
    /// (and the enabled ones); `None` for the uncompressed bytes.
    pub(crate) fn choose(
        &self,
        headers: &HeaderMap,
        offered: impl Fn(Encoding) -> bool,
    ) -> Option<Encoding> {
        if !self.is_on() {
            return None;
        }
        self.choose_from(&AcceptEncoding::of(headers), offered)
    }

    /// [`Compression::choose`] for a request's `Accept-Encoding` kept
    /// from it.
    pub(crate) fn choose_from(
        &self,
        accept: &AcceptEncoding,
        offered: impl Fn(Encoding) -> bool,
    ) -> Option<Encoding> {
        let accept = accept.text()?;
        negotiate(accept, |e: Encoding| self.enabled(e) && offered(e))
    }
}

/// A request's `Accept-Encoding`: its one value (a shared copy), or its
/// values joined with commas, as one list.
#[derive(Clone, Debug)]
pub(crate) enum AcceptEncoding {
    Absent,
    One(HeaderValue),
    Joined(String),
}

impl AcceptEncoding {
    pub(crate) fn of(headers: &HeaderMap) -> AcceptEncoding {
        let mut values = headers.get_all(header::ACCEPT_ENCODING).iter();
        let Some(first) = values.next() else {
            return AcceptEncoding::Absent;
        };
        let Some(second) = values.next() else {
            return AcceptEncoding::One(first.clone());
        };
        // A first value that is not text makes the whole header unreadable.
        let Ok(first) = first.to_str() else {
            return AcceptEncoding::Absent;
        };
        let rest = std::iter::once(second).chain(values);
        let mut joined = first.to_string();
        for value in rest.filter_map(|v| v.to_str().ok()) {
            joined.push(',');
            joined.push_str(value);
        }
        AcceptEncoding::Joined(joined)
    }

    fn text(&self) -> Option<&str> {
        match self {
            AcceptEncoding::Absent => None,
            AcceptEncoding::One(value) => value.to_str().ok(),
            AcceptEncoding::Joined(text) => Some(text),
        }
    }
}

/// The forms a cached answer is kept in beside its body: compressed once,
/// when it is stored, in each encoding `config` enables that shrinks it by
/// a twentieth or more. None for an answer the layer would not compress.
pub(crate) fn stored_forms(
    status: StatusCode,
    headers: &HeaderMap,
    body: &Bytes,
    config: &Compression,
) -> Vec<(Encoding, Bytes)> {
    #[cfg(feature = "compression")]
    {
        let len = Some(body.len() as u64);
        if predicate::verdict(status, headers, len, config.min_size, true, true)
            == predicate::Verdict::Compress
        {
            return Encoding::ALL
                .into_iter()
                .filter(|&e| config.enabled(e))
                .map(|e| (e, codec::compress(e, config, body)))
                .filter(|(_, packed)| packed.len() <= body.len() - body.len() / 20)
                .map(|(e, packed)| (e, Bytes::from(packed)))
                .collect();
        }
    }
    let _ = (status, headers, body, config);
    Vec::new()
}

/// Sends one of an answer's stored forms: the one `encoding` names, with
/// `Content-Encoding` and a weak `ETag`, or (`None`) the body as it is.
/// `varies` says other requests could get another form.
pub(crate) fn send_stored<B>(response: &mut Response<B>, encoding: Option<Encoding>, varies: bool) {
    if varies {
        add_vary(response.headers_mut());
        response.extensions_mut().insert(Negotiated);
    }
    let headers = response.headers_mut();
    if let Some(encoding) = encoding {
        weaken_etag(headers);
        headers.remove(header::ACCEPT_RANGES);
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding.as_str()),
        );
    }
}

/// Marks an answer whose encoding was chosen already (a `public/` file, a
/// cached answer), so the layer leaves it as it is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Negotiated;
