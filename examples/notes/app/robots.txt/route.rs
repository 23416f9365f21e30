//! `GET /robots.txt`: plain text for crawlers; the API is off limits, the
//! public notes and their feed are not.

use approute::axum::extract::State;
use approute::axum::http::header;
use approute::axum::response::IntoResponse;

use crate::AppState;

/// The sitemap's address is the configured public URL, as in the feed.
pub async fn GET(State(state): State<AppState>) -> impl IntoResponse {
    let body = format!(
        "User-agent: *\nAllow: /\nDisallow: /api/\n\nSitemap: {}/feed.xml\n",
        state.config.public_url
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
}
