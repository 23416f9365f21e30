//! An answer made while a purge ran is not stored, since the purge may
//! have been for the data the handler read: the purges are noted before
//! the run, and the write after it happens only if none ran since.
//!
//! Two counts say whether one ran: this process's own purges (an atomic,
//! free to read), and the store's purge epoch, which every instance that
//! shares the store moves. The epoch is read with the lookup that comes
//! just before the run ([`get_with_epoch`]) and checked by the write
//! itself ([`put_unless_purged`]): with Redis, one script
//! each, so a miss costs no extra round trip and no purge slips in between
//! the check and the write.
//!
//! [`get_with_epoch`]: super::CacheStore::get_with_epoch
//! [`put_unless_purged`]: super::CacheStore::put_unless_purged

use std::sync::atomic::Ordering;

use super::answer::CachedAnswer;
use super::error::Error;
use super::key::CacheKey;
use super::store::PutOutcome;
use super::Cache;

/// Where purges stood before a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PurgeMark {
    /// This process's purges.
    local: u64,
    /// The store's epoch; `None` when the lookup failed (then nothing is
    /// stored: a purge could have gone unseen).
    epoch: Option<u64>,
}

impl Cache {
    /// The answer under `key` and where purges stand, for a lookup just
    /// before a handler runs.
    pub(crate) async fn get_before_run(
        &self,
        key: &CacheKey,
    ) -> (Result<Option<CachedAnswer>, Error>, PurgeMark) {
        // Read first: a purge of this process between the two reads is
        // then counted as one during the run.
        let local = self.shared.purges.load(Ordering::SeqCst);
        match self.store().get_with_epoch(key).await {
            Ok((answer, epoch)) => {
                let epoch = Some(epoch);
                (Ok(answer), PurgeMark { local, epoch })
            }
            Err(e) => (Err(e), PurgeMark { local, epoch: None }),
        }
    }

    /// Keeps `answer` under `key` unless a purge ran since `mark`.
    pub(crate) async fn put_unless_purged(
        &self,
        key: &CacheKey,
        answer: CachedAnswer,
        mark: PurgeMark,
    ) -> Result<PutOutcome, Error> {
        let Some(epoch) = mark.epoch else {
            return Ok(PutOutcome::Purged);
        };
        if self.shared.purges.load(Ordering::SeqCst) != mark.local {
            return Ok(PutOutcome::Purged);
        }
        self.store().put_unless_purged(key, answer, epoch).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};

    use super::*;
    use crate::cache::answer::Answer;
    use crate::cache::store::{BoxFuture, Purge};
    use crate::cache::{CacheStore, MemoryStore};

    /// A store with the trait's defaults: its purge epoch never moves, so
    /// only the process's own count sees a purge.
    struct Plain(Arc<MemoryStore>);

    impl CacheStore for Plain {
        fn get<'a>(
            &'a self,
            key: &'a CacheKey,
        ) -> BoxFuture<'a, Result<Option<CachedAnswer>, Error>> {
            self.0.get(key)
        }
        fn put<'a>(
            &'a self,
            key: &'a CacheKey,
            a: CachedAnswer,
        ) -> BoxFuture<'a, Result<(), Error>> {
            self.0.put(key, a)
        }
        fn purge<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, Result<(), Error>> {
            self.0.purge(purge)
        }
    }

    fn answer() -> CachedAnswer {
        CachedAnswer::new(Answer {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"x"),
            path: "/a".to_string(),
            tags: Vec::new(),
            vary: Vec::new(),
            stored_at: 0,
            revalidate: 60,
            variants: Vec::new(),
        })
    }

    #[tokio::test]
    async fn a_purge_of_this_process_during_a_run_keeps_the_answer_out() {
        let memory = Arc::new(MemoryStore::new(1 << 20));
        let cache = Cache::new(Plain(memory.clone()));
        let key = CacheKey::new("h", "/a", None);
        let (_, mark) = cache.get_before_run(&key).await;
        cache.revalidate_tag("elsewhere").await.unwrap();
        let late = cache.put_unless_purged(&key, answer(), mark).await;
        assert_eq!(late.unwrap(), PutOutcome::Purged);
        assert!(memory.is_empty());

        let (_, mark) = cache.get_before_run(&key).await;
        let in_time = cache.put_unless_purged(&key, answer(), mark).await;
        assert_eq!(in_time.unwrap(), PutOutcome::Stored);
        assert_eq!(memory.len(), 1);
    }

    #[tokio::test]
    async fn nothing_is_stored_after_a_lookup_that_failed() {
        let cache = Cache::new(MemoryStore::new(1 << 20));
        let key = CacheKey::new("h", "/a", None);
        let unknown = PurgeMark {
            local: 0,
            epoch: None,
        };
        let put = cache.put_unless_purged(&key, answer(), unknown).await;
        assert_eq!(put.unwrap(), PutOutcome::Purged);
    }
}
