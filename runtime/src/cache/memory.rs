//! The default store: in this process's memory, bounded by bytes, least
//! recently used answers evicted first.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::answer::CachedAnswer;
use super::error::Error;
use super::store::{BoxFuture, CacheStore};

/// The size of the default [`MemoryStore`]: 64 MiB.
pub const DEFAULT_MEMORY_BYTES: usize = 64 * 1024 * 1024;

/// Cached answers in this process's memory, at most `max_bytes` of them
/// (bodies, headers and bookkeeping, roughly); the least recently used go
/// first. Each server instance has its own: a purge is seen by this
/// process only.
///
/// ```
/// use approute::cache::MemoryStore;
///
/// let store = MemoryStore::new(128 * 1024 * 1024);
/// assert!(store.is_empty());
/// approute::cache::set_store(store);
/// ```
pub struct MemoryStore {
    lru: Mutex<Lru>,
}

struct Lru {
    max_bytes: usize,
    bytes: usize,
    tick: u64,
    entries: HashMap<Arc<str>, Slot>,
    /// Least recently used first.
    order: BTreeMap<u64, Arc<str>>,
    by_path: HashMap<String, HashSet<Arc<str>>>,
    by_tag: HashMap<String, HashSet<Arc<str>>>,
}

struct Slot {
    answer: CachedAnswer,
    tick: u64,
    size: usize,
}

impl MemoryStore {
    /// A store that keeps at most `max_bytes`. An answer larger than that
    /// is not kept.
    pub fn new(max_bytes: usize) -> MemoryStore {
        MemoryStore {
            lru: Mutex::new(Lru {
                max_bytes,
                bytes: 0,
                tick: 0,
                entries: HashMap::new(),
                order: BTreeMap::new(),
                by_path: HashMap::new(),
                by_tag: HashMap::new(),
            }),
        }
    }

    /// How many answers it holds.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes its answers take, as counted against `max_bytes`.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> MutexGuard<'_, Lru> {
        self.lru.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get_now(&self, key: &str) -> Option<CachedAnswer> {
        let mut lru = self.lock();
        lru.tick += 1;
        let tick = lru.tick;
        let Lru { entries, order, .. } = &mut *lru;
        let slot = entries.get_mut(key)?;
        if let Some(name) = order.remove(&slot.tick) {
            order.insert(tick, name);
        }
        slot.tick = tick;
        Some(slot.answer.clone())
    }

    fn put_now(&self, key: &str, answer: CachedAnswer) {
        let mut lru = self.lock();
        lru.remove(key);
        let size = key.len() + answer.size();
        if size > lru.max_bytes {
            return;
        }
        while lru.bytes + size > lru.max_bytes {
            let Some((_, oldest)) = lru.order.pop_first() else {
                break;
            };
            lru.remove(&oldest);
        }
        lru.tick += 1;
        let tick = lru.tick;
        let key: Arc<str> = Arc::from(key);
        lru.by_path
            .entry(answer.path().to_string())
            .or_default()
            .insert(key.clone());
        for tag in answer.tags() {
            lru.by_tag
                .entry(tag.clone())
                .or_default()
                .insert(key.clone());
        }
        lru.order.insert(tick, key.clone());
        lru.bytes += size;
        lru.entries.insert(key, Slot { answer, tick, size });
    }

    fn purge_now(&self, index: impl Fn(&mut Lru) -> Option<HashSet<Arc<str>>>) {
        let mut lru = self.lock();
        for key in index(&mut lru).unwrap_or_default() {
            lru.remove(&key);
        }
    }
}

impl Lru {
    fn remove(&mut self, key: &str) {
        let Some(slot) = self.entries.remove(key) else {
            return;
        };
        self.order.remove(&slot.tick);
        self.bytes -= slot.size;
        let answer = &slot.answer;
        unindex(&mut self.by_path, answer.path(), key);
        for tag in answer.tags() {
            unindex(&mut self.by_tag, tag, key);
        }
    }
}

fn unindex(index: &mut HashMap<String, HashSet<Arc<str>>>, name: &str, key: &str) {
    if let Some(keys) = index.get_mut(name) {
        keys.remove(key);
        if keys.is_empty() {
            index.remove(name);
        }
    }
}

impl Default for MemoryStore {
    /// 64 MiB, the size of the process-wide default.
    fn default() -> MemoryStore {
        MemoryStore::new(DEFAULT_MEMORY_BYTES)
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lru = self.lock();
        f.debug_struct("MemoryStore")
            .field("max_bytes", &lru.max_bytes)
            .field("bytes", &lru.bytes)
            .field("answers", &lru.entries.len())
            .finish()
    }
}

impl CacheStore for MemoryStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<CachedAnswer>, Error>> {
        let answer = self.get_now(key);
        Box::pin(async move { Ok(answer) })
    }

    fn put<'a>(&'a self, key: &'a str, answer: CachedAnswer) -> BoxFuture<'a, Result<(), Error>> {
        self.put_now(key, answer);
        Box::pin(async { Ok(()) })
    }

    fn purge_path<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        self.purge_now(|lru| lru.by_path.remove(path));
        Box::pin(async { Ok(()) })
    }

    fn purge_tag<'a>(&'a self, tag: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        self.purge_now(|lru| lru.by_tag.remove(tag));
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::answer::Answer;
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};

    fn answer(path: &str, tags: &[&str], body: usize) -> CachedAnswer {
        CachedAnswer::new(Answer {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from(vec![b'x'; body]),
            path: path.to_string(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            vary: Vec::new(),
            stored_at: 0,
            revalidate: 60,
        })
    }

    #[test]
    fn evicts_least_recently_used_by_bytes() {
        let one = "/a".len() + answer("/a", &[], 1000).size();
        let store = MemoryStore::new(3 * one);
        store.put_now("/a", answer("/a", &[], 1000));
        store.put_now("/b", answer("/b", &[], 1000));
        store.put_now("/c", answer("/c", &[], 1000));
        assert_eq!(store.len(), 3);
        assert!(store.get_now("/a").is_some()); // now /b is the oldest
        store.put_now("/d", answer("/d", &[], 1000));
        assert!(store.get_now("/b").is_none());
        assert!(store.get_now("/a").is_some());
        assert!(store.get_now("/c").is_some());
        assert!(store.get_now("/d").is_some());
        assert!(store.bytes() <= 3 * one);

        // a larger answer evicts as many as it needs; one over the limit is not kept
        store.put_now("/e", answer("/e", &[], 2500));
        assert_eq!(store.len(), 1);
        store.put_now("/f", answer("/f", &[], 10_000));
        assert!(store.get_now("/f").is_none());
        assert!(store.get_now("/e").is_some());
    }

    #[test]
    fn replacing_keeps_the_count_right() {
        let store = MemoryStore::new(1 << 20);
        store.put_now("/a?x=1", answer("/a", &["t"], 10));
        store.put_now("/a?x=1", answer("/a", &["t"], 20));
        assert_eq!(store.len(), 1);
        assert_eq!(
            store.bytes(),
            "/a?x=1".len() + answer("/a", &["t"], 20).size()
        );
        store.purge_now(|lru| lru.by_tag.remove("t"));
        assert_eq!((store.len(), store.bytes()), (0, 0));
    }

    #[test]
    fn purges_by_path_and_tag() {
        let store = MemoryStore::new(1 << 20);
        store.put_now("/a", answer("/a", &["t"], 1));
        store.put_now("/a?x=1", answer("/a", &["t"], 1));
        store.put_now("/ab", answer("/ab", &[], 1));
        store.put_now("/b", answer("/b", &["t", "u"], 1));
        store.purge_now(|lru| lru.by_path.remove("/a"));
        assert!(store.get_now("/a").is_none() && store.get_now("/a?x=1").is_none());
        assert!(store.get_now("/ab").is_some() && store.get_now("/b").is_some());
        store.purge_now(|lru| lru.by_tag.remove("u"));
        assert!(store.get_now("/b").is_none());
        assert_eq!(store.len(), 1);
        let lru = store.lock();
        assert!(lru.by_tag.is_empty(), "indexes emptied with their answers");
        assert_eq!(lru.by_path.len(), 1);
    }
}
