//! Cached data, not only whole answers: [`cached`] keeps the result of any
//! async computation (a database query, an upstream call) in the cache's
//! store, as Next.js's `unstable_cache` (and `use cache` with
//! `cacheTag`) does, with the answers' rules: fresh for `revalidate`, then
//! served stale while one refresh runs, one computation at a time per key
//! (across the fleet with the Redis store), purged by tag.
//!
//! A value is kept as JSON in a [`CachedAnswer`] whose key no request can
//! have (its host holds a space), with no path: path purges never touch it.

use std::future::Future;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::answer::{Answer, CachedAnswer};
use super::error::{report, Error};
use super::fleet::{Across, DEFAULT_FLEET_WAIT};
use super::flight::{wait, Ended, Flight, Turn};
use super::key::CacheKey;
use super::purge_check::PurgeMark;
use super::Cache;

/// How [`cached`] keeps a value: how long it is fresh and its tags.
///
/// ```
/// use approute::cache::CacheOptions;
///
/// let options = CacheOptions::revalidate(60).tag("notes");
/// ```
#[derive(Clone, Debug)]
pub struct CacheOptions {
    revalidate: u64,
    tags: Vec<String>,
}

impl CacheOptions {
    /// Fresh for `seconds`; then the next call gets the kept value at once
    /// and starts one refresh in the background (Next.js's `revalidate`).
    pub fn revalidate(seconds: u64) -> CacheOptions {
        CacheOptions {
            revalidate: seconds,
            tags: Vec::new(),
        }
    }

    /// A tag that [`revalidate_tag`](super::revalidate_tag) and
    /// [`mark_tag_stale`](super::mark_tag_stale) purge it by (Next.js's
    /// `tags`, `cacheTag`).
    pub fn tag(mut self, tag: impl Into<String>) -> CacheOptions {
        self.tags.push(tag.into());
        self
    }
}

/// The value of `compute`, kept under `key` in the current cache (the
/// router's, else the process's: see [`Cache`]) as `options` say.
///
/// - Fresh: the kept value, without running `compute`.
/// - Stale (older than `revalidate`, or marked stale): the kept value at
///   once, and `compute` runs in the background to replace it, once per
///   key across the fleet.
/// - Missing: `compute` runs; concurrent calls for `key` (on every
///   instance, with the Redis store) wait for that one run.
///
/// `key` names the computation and its inputs (`"notes:count"`,
/// `format!("user:{id}:notes")`): two computations under one key share a
/// value. An `Err` is returned and not kept; a call waiting on a run that
/// failed runs its own `compute`. A store that fails is logged and `compute`
/// runs as if nothing were kept.
///
/// ```
/// use approute::cache::{cached, CacheOptions};
///
/// # async fn page() -> Result<u64, std::io::Error> {
/// let count: u64 = cached("notes:count", CacheOptions::revalidate(60).tag("notes"), async {
///     // an expensive query
///     Ok::<_, std::io::Error>(42)
/// })
/// .await?;
/// # Ok(count) }
/// ```
pub async fn cached<T, E, F>(key: &str, options: CacheOptions, compute: F) -> Result<T, E>
where
    T: Serialize + DeserializeOwned + Send + 'static,
    E: Send + 'static,
    F: Future<Output = Result<T, E>> + Send + 'static,
{
    let cache = Cache::current();
    let key = CacheKey::new("approute data", &format!("/{key}"), None);
    let made = || async { get::<T>(&cache, &key).await };
    loop {
        if let Some((answer, value)) = made().await {
            if !answer.is_fresh(cache.now_ms(), options.revalidate) {
                if let Turn::Lead(flight) = cache.flight(key.as_str()) {
                    let stale_since = answer.stored_at_ms();
                    let run = Run {
                        cache: cache.clone(),
                        key: key.clone(),
                        options,
                    };
                    tokio::spawn(cache.scope(run.refresh(compute, flight, stale_since)));
                }
            }
            return Ok(value);
        }
        match cache.flight(key.as_str()) {
            Turn::Wait(outcome) => match wait(outcome).await {
                Some(Ended::Answered(Some(answer))) => {
                    if let Some(value) = decode(&answer) {
                        return Ok(value);
                    }
                    return compute.await;
                }
                Some(_) => return compute.await,
                // The run was cancelled: look again.
                None => continue,
            },
            Turn::Lead(mut flight) => {
                let found = || async { made().await.map(|(answer, _)| answer) };
                if let Across::Made(answer) =
                    flight.across_fleet(&cache, DEFAULT_FLEET_WAIT, found).await
                {
                    if let Some(value) = decode(&answer) {
                        flight.finish(Some(answer));
                        return Ok(value);
                    }
                }
                // It may have been stored since the lookup above.
                let (found, purges) = get_before_run::<T>(&cache, &key).await;
                if let Some((answer, value)) = found {
                    flight.finish(Some(answer));
                    return Ok(value);
                }
                let run = Run {
                    cache: cache.clone(),
                    key: key.clone(),
                    options,
                };
                return run.compute(compute, flight, purges).await;
            }
        }
    }
}

/// One computation for a key, and where its value goes.
struct Run {
    cache: Cache,
    key: CacheKey,
    options: CacheOptions,
}

impl Run {
    /// Runs `compute` and keeps its value, unless a purge ran since
    /// `purges` were noted.
    async fn compute<T, E, F>(self, compute: F, flight: Flight, purges: PurgeMark) -> Result<T, E>
    where
        T: Serialize,
        F: Future<Output = Result<T, E>>,
    {
        let value = match compute.await {
            Ok(value) => value,
            Err(e) => {
                flight.finish(None);
                return Err(e);
            }
        };
        let answer = match serde_json::to_vec(&value) {
            Ok(json) => Some(self.answer(json)),
            Err(e) => {
                report("encoding a cached value", &Error::new(e));
                None
            }
        };
        if let Some(answer) = &answer {
            let stored = self
                .cache
                .put_unless_purged(&self.key, answer.clone(), purges);
            if let Err(e) = stored.await {
                report("store", &e);
            }
        }
        flight.finish(answer);
        Ok(value)
    }

    /// Replaces a stale value in the background, unless another instance
    /// does.
    async fn refresh<T, E, F>(self, compute: F, mut flight: Flight, stale_since: u64)
    where
        T: Serialize + DeserializeOwned,
        F: Future<Output = Result<T, E>>,
    {
        let newer = || async {
            let found = get::<T>(&self.cache, &self.key).await;
            found
                .map(|(answer, _)| answer)
                .filter(|answer| answer.stored_at_ms() > stale_since)
        };
        match flight
            .across_fleet(&self.cache, DEFAULT_FLEET_WAIT, newer)
            .await
        {
            Across::Run => {}
            Across::Made(answer) => return flight.finish(Some(answer)),
            Across::Panicked => return flight.panicked(),
        }
        // Another refresh stored a value after the stale read that started
        // this one: this one's work is done (if that value is stale by now,
        // the next call starts its own refresh).
        let (found, purges) = get_before_run::<T>(&self.cache, &self.key).await;
        if let Some((answer, _)) = found {
            if answer.stored_at_ms() > stale_since {
                return flight.finish(Some(answer));
            }
        }
        // A failed refresh keeps the stale value.
        let _ = self.compute(compute, flight, purges).await;
    }

    fn answer(&self, json: Vec<u8>) -> CachedAnswer {
        CachedAnswer::new(Answer {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from(json),
            path: String::new(),
            tags: self.options.tags.clone(),
            vary: Vec::new(),
            stored_at: self.cache.now_ms(),
            revalidate: self.options.revalidate,
            // A value, never sent as an answer: kept in one form.
            variants: Vec::new(),
        })
    }
}

/// The kept answer under `key` and its value, if it decodes as a `T`.
async fn get<T: DeserializeOwned>(cache: &Cache, key: &CacheKey) -> Option<(CachedAnswer, T)> {
    let answer = match cache.store().get(key).await {
        Ok(answer) => answer?,
        Err(e) => {
            report("lookup", &e);
            return None;
        }
    };
    let value = decode(&answer)?;
    Some((answer, value))
}

/// [`get`] just before `compute` runs: notes where purges stand, in the
/// same read as the value.
async fn get_before_run<T: DeserializeOwned>(
    cache: &Cache,
    key: &CacheKey,
) -> (Option<(CachedAnswer, T)>, PurgeMark) {
    let (answer, purges) = cache.get_before_run(key).await;
    let answer = answer.unwrap_or_else(|e| {
        report("lookup", &e);
        None
    });
    let found = answer.and_then(|answer| decode(&answer).map(|value| (answer, value)));
    (found, purges)
}

/// A kept value as a `T`; `None` (logged) when it is not one, as after a
/// deploy that changed the type: then it is computed again.
fn decode<T: DeserializeOwned>(answer: &CachedAnswer) -> Option<T> {
    serde_json::from_slice(answer.body())
        .map_err(|e| report("decoding a cached value", &Error::new(e)))
        .ok()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::cache::{ManualClock, MemoryStore};

    /// A refresh whose turn comes after another refresh stored a newer
    /// value keeps that value and does not compute again.
    #[tokio::test]
    async fn a_refresh_after_another_one_stored_does_not_run_again() {
        let clock = ManualClock::default();
        let cache = Cache::new(MemoryStore::new(1 << 20)).__with_clock(clock.clone());
        let key = CacheKey::new("approute data", "/k", None);
        let run = |options: CacheOptions| Run {
            cache: cache.clone(),
            key: key.clone(),
            options,
        };
        let runs = Arc::new(AtomicU64::new(0));
        let compute = |value: u64| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok::<u64, ()>(value)
            }
        };
        let lead = |cache: &Cache| match cache.flight(key.as_str()) {
            Turn::Lead(flight) => flight,
            Turn::Wait(_) => panic!("no run in progress"),
        };
        let options = CacheOptions::revalidate(60);
        let (_, purges) = cache.get_before_run(&key).await;
        run(options.clone())
            .compute(compute(1), lead(&cache), purges)
            .await
            .unwrap();
        let stale_since = get::<u64>(&cache, &key).await.unwrap().0.stored_at_ms();
        clock.advance(std::time::Duration::from_secs(61));
        // The first refresh stores 2 ...
        run(options.clone())
            .refresh(compute(2), lead(&cache), stale_since)
            .await;
        // ... and one started from the same stale read finds it.
        run(options)
            .refresh(compute(3), lead(&cache), stale_since)
            .await;
        assert_eq!(get::<u64>(&cache, &key).await.unwrap().1, 2);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}
