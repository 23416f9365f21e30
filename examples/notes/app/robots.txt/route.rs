//! `GET /robots.txt`: plain text for crawlers; the API is off limits, the
//! public notes and their feed are not.

use approute::axum::extract::State;
use approute::axum::http::header;
use approute::axum::response::IntoResponse;

use crate::AppState;

/// The sitemap's address is the configured public URL, as in the feed.
/// Rules for crawlers.
pub async fn GET(State(state): State<AppState>) -> impl IntoResponse {
    let body = format!(
        "User-agent: *\nAllow: /\nDisallow: /api/\n\nSitemap: {}{}\n",
        state.config.public_url,
        crate::app::href!("/feed.xml")
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
}
