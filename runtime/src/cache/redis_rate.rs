//! `RATE_LIMIT` counters in the Redis store, shared by every instance.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::Script;

use super::error::Error;
use super::redis::RedisStore;
use super::redis_link::Link;
use crate::rate_limit::{Count, Hit, RateCounter, RateKey};

/// Counts one request in a fixed window that starts at the key's first
/// request. KEYS: the counter. ARGV: the window in ms.
const HIT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {n, redis.call('PTTL', KEYS[1])}
";

impl RedisStore {
    /// A `RATE_LIMIT` counter in this Redis, so that every instance sharing
    /// it shares each client's budget. [`crate::cache::set_store`] installs
    /// it with the store; a Redis outage lets requests through (fails
    /// open) and says so in the log once per outage.
    pub fn counter(&self) -> RedisCounter {
        RedisCounter {
            link: self.link.clone(),
            prefix: format!("{}rate:", self.prefix),
            hit: Script::new(HIT),
            down: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// `RATE_LIMIT` counts in Redis: made by [`RedisStore::counter`].
#[derive(Clone)]
pub struct RedisCounter {
    link: Arc<Link>,
    prefix: String,
    hit: Script,
    /// Whether the last count failed: the outage is logged once.
    down: Arc<AtomicBool>,
}

impl fmt::Debug for RedisCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCounter")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RateCounter for RedisCounter {
    fn hit(&self, key: RateKey, window: Duration) -> Hit {
        let counter = self.clone();
        let redis_key = format!("{}{}:{}", self.prefix, key.route, key.client);
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        Hit::Later(Box::pin(async move {
            let counted = async {
                let mut call = counter.hit.key(&redis_key);
                call.arg(window_ms);
                let (requests, ttl_ms): (u64, i64) = counter.link.script(&call).await?;
                Ok::<_, Error>(Count {
                    requests,
                    resets_in: Duration::from_millis(ttl_ms.max(0).unsigned_abs()),
                })
            };
            match counted.await {
                Ok(count) => {
                    if counter.down.swap(false, Ordering::Relaxed) {
                        tracing::warn!(target: "approute", "rate limits count in Redis again");
                    }
                    Some(count)
                }
                Err(e) => {
                    if !counter.down.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            target: "approute",
                            "rate limits cannot count in Redis ({e}); requests go through until it is back"
                        );
                    }
                    None
                }
            }
        }))
    }
}
