//! The tower layer: negotiates on the request, compresses the answer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, Method, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::codec::CompressedBody;
use super::predicate::{verdict, Verdict};
use super::{add_vary, weaken_etag, Compression, Encoding, Negotiated};

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
        let plain = req.method() != Method::HEAD && !req.headers().contains_key(header::RANGE);
        let encoding = self.config.choose(req.headers(), |_| true);
        // `public/` files and cached answers choose their own encoding,
        // within what this layer allows.
        if self.config != Compression::default() {
            req.extensions_mut().insert(self.config);
        }
        ResponseFuture {
            inner: self.inner.call(req),
            answer: Some(Answer {
                encoding,
                plain,
                config: self.config,
            }),
        }
    }
}

/// What the request decided, for its answer.
#[derive(Clone, Copy, Debug)]
struct Answer {
    encoding: Option<Encoding>,
    plain: bool,
    config: Compression,
}

pin_project_lite::pin_project! {
    /// The future of [`CompressionService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        answer: Option<Answer>,
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
        Poll::Ready(Ok(answer.apply(response)))
    }
}

impl Answer {
    fn apply<B>(self, response: Response<B>) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (mut parts, body) = response.into_parts();
        if !self.config.is_on() || parts.extensions.get::<Negotiated>().is_some() {
            return Response::from_parts(parts, Body::new(body));
        }
        let len = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .or_else(|| body.size_hint().exact());
        let verdict = verdict(
            parts.status,
            &parts.headers,
            len,
            self.config.min_size,
            self.encoding.is_some(),
            self.plain,
        );
        let body = match (verdict, self.encoding) {
            (Verdict::Leave, _) => Body::new(body),
            (Verdict::Compress, Some(encoding)) => {
                let headers = &mut parts.headers;
                add_vary(headers);
                weaken_etag(headers);
                headers.remove(header::CONTENT_LENGTH);
                headers.remove(header::ACCEPT_RANGES);
                headers.insert(
                    header::CONTENT_ENCODING,
                    HeaderValue::from_static(encoding.as_str()),
                );
                Body::new(CompressedBody::new(Body::new(body), encoding, &self.config))
            }
            (Verdict::VaryOnly | Verdict::Compress, _) => {
                add_vary(&mut parts.headers);
                Body::new(body)
            }
        };
        Response::from_parts(parts, body)
    }
}
