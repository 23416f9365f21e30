//! The tower layer: negotiates on the request, compresses the answer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{header, Extensions, HeaderValue, Method, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::codec::CompressedBody;
use super::predicate::{verdict, Verdict};
use super::{add_vary, weaken_etag, AcceptEncoding, Compression, Negotiated};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Compresses a service's answers as its [`Compression`] says; made by
/// [`Compression::layer`].
#[derive(Clone, Copy, Debug)]
pub struct CompressionLayer {
    config: Compression,
}

impl CompressionLayer {
    pub(crate) fn new(config: Compression) -> CompressionLayer {
        CompressionLayer { config }
    }
}

impl<S> Layer<S> for CompressionLayer {
    type Service = CompressionService<S>;

    fn layer(&self, inner: S) -> CompressionService<S> {
        CompressionService {
            inner,
            config: self.config,
        }
    }
}

/// The service of [`CompressionLayer`].
#[derive(Clone, Debug)]
pub struct CompressionService<S> {
    inner: S,
    config: Compression,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CompressionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let answer = ForAnswer::of_request(self.config, &mut req);
        ResponseFuture {
            inner: self.inner.call(req),
            answer: Some(answer),
        }
    }
}

/// What a request leaves for its answer's compression. The encoding is
/// negotiated only once the answer turns out to be compressible (most are
/// short or not text), so a request pays for keeping its `Accept-Encoding`
/// (a shared copy of the value), not for parsing it.
#[derive(Debug)]
pub(crate) struct ForAnswer {
    accept: AcceptEncoding,
    plain: bool,
    config: Compression,
}

impl ForAnswer {
    /// Read from the request before it is routed; tells `public/` files and
    /// cached answers the configuration, which choose their own encoding
    /// within it.
    pub(crate) fn of_request<B>(config: Compression, req: &mut Request<B>) -> ForAnswer {
        if !config.is_on() {
            return ForAnswer::new(config, AcceptEncoding::Absent, false, req.extensions_mut());
        }
        let headers = req.headers();
        let accept = AcceptEncoding::of(headers);
        let plain = req.method() != Method::HEAD && !headers.contains_key(header::RANGE);
        ForAnswer::new(config, accept, plain, req.extensions_mut())
    }

    /// The same from what the caller read of the request: its
    /// `Accept-Encoding`, and whether it is neither `HEAD` nor a `Range`
    /// request.
    pub(crate) fn new(
        config: Compression,
        accept: AcceptEncoding,
        plain: bool,
        extensions: &mut Extensions,
    ) -> ForAnswer {
        if config != Compression::default() {
            extensions.insert(config);
        }
        ForAnswer {
            accept,
            plain,
            config,
        }
    }

    /// The answer, compressed if it may be and the request asked for it.
    pub(crate) fn apply(self, mut response: Response<Body>) -> Response<Body> {
        if !self.config.is_on() {
            return response;
        }
        let headers = response.headers();
        let len = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .or_else(|| http_body::Body::size_hint(response.body()).exact());
        let verdict = verdict(
            response.status(),
            headers,
            len,
            self.config.min_size,
            true,
            self.plain,
        );
        if verdict == Verdict::Leave || response.extensions().get::<Negotiated>().is_some() {
            return response;
        }
        let encoding = match verdict {
            Verdict::Compress => self.config.choose_from(&self.accept, |_| true),
            _ => None,
        };
        let Some(encoding) = encoding else {
            add_vary(response.headers_mut());
            return response;
        };
        let headers = response.headers_mut();
        add_vary(headers);
        weaken_etag(headers);
        headers.remove(header::CONTENT_LENGTH);
        headers.remove(header::ACCEPT_RANGES);
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding.as_str()),
        );
        let config = self.config;
        response.map(|body| Body::new(CompressedBody::new(body, encoding, &config)))
    }
}

pin_project_lite::pin_project! {
    /// The future of [`CompressionService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        answer: Option<ForAnswer>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.inner.poll(cx))?;
        let answer = this.answer.take().expect("polled after it was ready");
        Poll::Ready(Ok(answer.apply(response.map(Body::new))))
    }
}
