//! The cache behind `/feed.xml` (its `REVALIDATE` and `CACHE_TAGS`), and
//! the purge that runs when a public note changes, as Next.js's
//! `revalidateTag("feed")` would after a mutation.
//!
//! Each [`AppState`](crate::AppState) has its own cache (so several apps in
//! one process, as in the tests, do not share answers); [`crate::app`] puts
//! it in front of the router.

use approute::cache::{Cache, MemoryStore};

/// The tag `app/feed.xml/route.rs` declares in `CACHE_TAGS`.
pub const FEED_TAG: &str = "feed";

/// A small in-memory cache: the feed is the only cached route.
pub fn new() -> Cache {
    Cache::new(MemoryStore::new(4 * 1024 * 1024))
}

/// Drops the cached feed, so the next request sees the change at once.
pub async fn purge_feed(cache: &Cache) {
    if let Err(e) = cache.revalidate_tag(FEED_TAG).await {
        tracing::warn!("purging the cached feed: {e}");
    }
}
