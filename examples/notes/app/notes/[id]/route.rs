//! `GET /notes/{id}`: a public note as an HTML page, rendered on the
//! server from the database: the page the feed links to. A note that does
//! not exist or is not public is the same `404`.
//!
//! The query goes through `approute::cache::cached` (Next.js's
//! `unstable_cache`): kept for 60 s under the `feed` tag, which every
//! change to a public note purges, on every instance with `REDIS_URL`.

use approute::axum::extract::{Path, State};
use approute::axum::http::StatusCode;
use approute::axum::response::Html;
use approute::cache::{cached, CacheOptions};

use crate::error::ApiError;
use crate::notes;
use crate::util::escape_html;
use crate::AppState;

/// A public note as a web page.
pub async fn GET(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Html<String>, (StatusCode, Html<String>)> {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            Html(page("Not found", "<p>There is no public note here.</p>")),
        )
    };
    let Ok(id) = id.parse::<i64>() else {
        return Err(not_found());
    };
    let options = CacheOptions::revalidate(60).tag(crate::feed_cache::FEED_TAG);
    let query = async move { notes::get_public(&state, id).await };
    match cached(&format!("public-note:{id}"), options, query).await {
        Ok(Some(note)) => {
            let body = format!(
                "<article><h1>{}</h1><pre>{}</pre></article>",
                escape_html(&note.title),
                escape_html(&note.body)
            );
            Ok(Html(page(&note.title, &body)))
        }
        Ok(None) => Err(not_found()),
        Err(ApiError { status, .. }) => {
            Err((status, Html(page("Error", "<p>Try again later.</p>"))))
        }
    }
}

fn page(title: &str, body: &str) -> String {
    let (home, feed) = (crate::app::href!("/"), crate::app::href!("/feed.xml"));
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"alternate\" type=\"application/rss+xml\" href=\"{feed}\">\
         </head><body style=\"font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto\">\
         {body}<p><a href=\"{home}\">Notes</a> · <a href=\"{feed}\">RSS</a></p></body></html>",
        escape_html(title)
    )
}
