//! `GET /feed.xml`: an RSS 2.0 feed of the newest public notes, everyone's.
//!
//! `REVALIDATE` asks approute to cache the answer for 60 s (Next.js's
//! `export const revalidate = 60`), and `CACHE_TAGS` names it for purging
//! when a public note changes.
//! The handler also says so to browsers and CDNs with `Cache-Control`.
//!
//! The links use the configured public URL (`NOTES_PUBLIC_URL`), never the
//! request's `Host` or `X-Forwarded-Host`: the cached answer goes to
//! everyone, so nothing in it may come from one client's headers.

use approute::axum::extract::State;
use approute::axum::http::header;
use approute::axum::response::IntoResponse;

use crate::error::ApiError;
use crate::notes;
use crate::util::escape_html;
use crate::AppState;

pub const REVALIDATE: u64 = 60;
pub const CACHE_TAGS: &[&str] = &["feed"];
/// The feed is the same for everyone, so a signed-in reader's request
/// (which carries the session cookie) may be answered from the cache too.
pub const CACHE_CREDENTIALED: bool = true;

/// RSS of the newest public notes.
pub async fn GET(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let notes = notes::latest_public(&state, 50).await?;
    let base = &state.config.public_url;
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">\n<channel>\n",
    );
    xml.push_str("<title>Public notes</title>\n");
    xml.push_str(&format!("<link>{}/</link>\n", escape_html(base)));
    xml.push_str("<description>The newest public notes</description>\n");
    for note in &notes {
        let link = escape_html(&format!(
            "{base}{}",
            crate::app::href!("/notes/[id]", id = note.id)
        ));
        let date = httpdate::fmt_http_date(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_millis(note.created_at.max(0).unsigned_abs()),
        );
        xml.push_str(&format!(
            "<item><title>{}</title><link>{link}</link><guid isPermaLink=\"true\">{link}</guid>\
             <pubDate>{date}</pubDate><description>{}</description></item>\n",
            escape_html(&note.title),
            escape_html(&note.body),
        ));
    }
    xml.push_str("</channel>\n</rss>\n");
    Ok((
        [
            (header::CONTENT_TYPE, "application/rss+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        xml,
    ))
}
