//! `GET /`: the web page (`public/index.html`: sign up or in, then list,
//! search, create, edit, delete and import notes, with live updates).
//!
//! Served by this route until approute serves `public/` itself; the file
//! is compiled in, so the binary is all there is to deploy.

use approute::axum::response::Html;

/// The web page.
pub async fn GET() -> Html<&'static str> {
    Html(include_str!("../public/index.html"))
}
