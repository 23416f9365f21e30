//! The legacy API: an older HTTP service (`LEGACY_API_URL`) that
//! `app/api/legacy/[...path]/route.rs` puts behind this one, as a Next.js
//! route handler would wrap an old backend. One pooled hyper client, a
//! timeout over the whole exchange, and the upstream's failures turned into
//! gateway errors: unreachable or `5xx` is `502`, too slow is `504`.

use std::time::Duration;

use approute::axum::body::{Body, Bytes};
use approute::axum::http::{header, HeaderMap, HeaderName, Method, Request, StatusCode, Uri};
use approute::axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::ApiError;

/// Request headers passed on; the rest (cookies above all) stay here.
const FORWARDED_REQUEST: &[HeaderName] = &[header::ACCEPT, header::CONTENT_TYPE];
/// Response headers passed back.
const FORWARDED_RESPONSE: &[HeaderName] = &[
    header::CONTENT_TYPE,
    header::CACHE_CONTROL,
    header::ETAG,
    header::LAST_MODIFIED,
];
/// The largest upstream body passed back.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// A pooled HTTP/1 client (cheap to clone).
#[derive(Clone, Debug)]
pub struct Client {
    inner: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl Client {
    pub fn new() -> Client {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        connector.set_nodelay(true);
        let inner = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Client { inner }
    }

    /// Sends `method base/path?query` with `body`, and reads the whole
    /// answer, all within `timeout`.
    #[allow(clippy::too_many_arguments)]
    pub async fn forward(
        &self,
        base: &str,
        method: Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Response, ApiError> {
        let mut target = format!("{base}/{path}");
        if let Some(query) = query {
            target.push('?');
            target.push_str(query);
        }
        let uri: Uri = target
            .parse()
            .map_err(|_| ApiError::bad_request("that path cannot be forwarded"))?;
        let mut request = Request::builder().method(method).uri(uri);
        for name in FORWARDED_REQUEST {
            if let Some(value) = headers.get(name) {
                request = request.header(name, value);
            }
        }
        let request = request.body(Full::new(body)).map_err(ApiError::internal)?;

        let exchange = async {
            let response = self.inner.request(request).await.map_err(|e| {
                gateway(
                    StatusCode::BAD_GATEWAY,
                    format!("the legacy API is unreachable: {e}"),
                )
            })?;
            let (parts, body) = response.into_parts();
            let body = http_body_util::Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(|e| {
                    gateway(
                        StatusCode::BAD_GATEWAY,
                        format!("the legacy API's answer broke off: {e}"),
                    )
                })?
                .to_bytes();
            Ok::<_, ApiError>((parts, body))
        };
        let (parts, body) = match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(gateway(
                    StatusCode::GATEWAY_TIMEOUT,
                    format!("the legacy API did not answer within {timeout:?}"),
                ))
            }
        };
        if parts.status.is_server_error() {
            return Err(gateway(
                StatusCode::BAD_GATEWAY,
                format!("the legacy API failed with {}", parts.status),
            )
            .with_extra(serde_json::json!({ "upstream_status": parts.status.as_u16() })));
        }
        // Success and the upstream's own client errors (a 404 stays a 404)
        // go back as they came.
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = parts.status;
        for name in FORWARDED_RESPONSE {
            if let Some(value) = parts.headers.get(name) {
                response.headers_mut().insert(name, value.clone());
            }
        }
        Ok(response.into_response())
    }
}

fn gateway(status: StatusCode, message: String) -> ApiError {
    tracing::warn!("legacy API: {message}");
    ApiError::new(status, message)
}
