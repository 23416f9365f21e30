//! `GET /robots.txt`: plain text for crawlers; the API is off limits, the
//! public notes and their feed are not.

use approute::axum::http::{header, HeaderMap};
use approute::axum::response::IntoResponse;

use crate::util::origin;

pub async fn GET(headers: HeaderMap) -> impl IntoResponse {
    let body = format!(
        "User-agent: *\nAllow: /\nDisallow: /api/\n\nSitemap: {}/feed.xml\n",
        origin(&headers)
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
}
