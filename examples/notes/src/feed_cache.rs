//! The cache behind `/feed.xml` (its `REVALIDATE` and `CACHE_TAGS`) and
//! the public note pages (`cached`), and the purge that runs when a public
//! note changes, as Next.js's `revalidateTag("feed")` would after a
//! mutation.
//!
//! Each [`AppState`](crate::AppState) has its own cache (so several apps in
//! one process, as in the tests, do not share answers); [`crate::app`] puts
//! it in front of the router. With `REDIS_URL` it lives in Redis, shared by
//! every instance: answers, purges and single flight (see the README).

use approute::cache::{Cache, MemoryStore, RedisStore};

/// The tag `app/feed.xml/route.rs` declares in `CACHE_TAGS`.
pub const FEED_TAG: &str = "feed";

/// In Redis when `redis_url` is set (several instances), else a small
/// in-memory cache.
pub async fn new(redis_url: Option<&str>) -> Result<Cache, approute::cache::Error> {
    Ok(match redis_url {
        Some(url) => {
            let store = RedisStore::connect(url).await?.prefix("notes:");
            // Sign-in's RATE_LIMIT counts once for the fleet, not per instance.
            let _ = approute::rate_limit::set_counter(store.counter());
            Cache::new(store)
        }
        None => Cache::new(MemoryStore::new(4 * 1024 * 1024)),
    })
}

/// Drops the cached feed and public note pages, so the next request sees
/// the change at once.
pub async fn purge_feed(cache: &Cache) {
    if let Err(e) = cache.revalidate_tag(FEED_TAG).await {
        tracing::warn!("purging the cached feed: {e}");
    }
}
