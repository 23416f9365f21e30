//! The default store: in this process's memory, bounded by bytes, least
//! recently used answers evicted first.
//!
//! The bound counts what an entry really takes (see `cost.rs`): the
//! answer, its key, its slots in the four tables below and in each index
//! set, and each index set it creates. A store of 8 MiB filled with 100k
//! one-byte answers grows the process by about 8 MiB, not 36.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::answer::CachedAnswer;
use super::cost::{btree_slot, heap, table_slot};
use super::error::Error;
use super::key::CacheKey;
use super::store::{BoxFuture, CacheStore, Purge, PutOutcome};

/// The size of the default [`MemoryStore`]: 64 MiB.
pub const DEFAULT_MEMORY_BYTES: usize = 64 * 1024 * 1024;

/// Cached answers in this process's memory, at most `max_bytes` of them
/// (everything an entry takes: body, headers, key, bookkeeping and the
/// allocator's rounding); the least recently used go first. Each server
/// instance has its own: a purge is seen by this process only.
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

type Index = HashMap<String, HashSet<Arc<str>>>;

struct Lru {
    max_bytes: usize,
    /// Every entry's `size`, plus each index set's own cost.
    bytes: usize,
    tick: u64,
    entries: HashMap<Arc<str>, Slot>,
    /// Least recently used first.
    order: BTreeMap<u64, Arc<str>>,
    by_path: Index,
    by_tag: Index,
    /// The purge epoch: every purge and mark-stale moves it, under the
    /// same lock as the writes that check it.
    purges: u64,
}

struct Slot {
    answer: CachedAnswer,
    tick: u64,
    size: usize,
}

/// One key in an index set.
const INDEX_MEMBER: usize = table_slot(size_of::<Arc<str>>());

/// An index set for `name`: the name, its slot in the index, and the
/// smallest table hashbrown allocates (4 buckets and 16 control bytes).
fn index_set_cost(name: &str) -> usize {
    let slot = size_of::<(String, HashSet<Arc<str>>)>();
    heap(name.len()) + table_slot(slot) + heap(4 * size_of::<Arc<str>>() + 4 + 16)
}

/// What an entry takes, its index sets aside.
fn entry_cost(key: &str, answer: &CachedAnswer) -> usize {
    heap(size_of::<[usize; 2]>() + key.len())
        + table_slot(size_of::<(Arc<str>, Slot)>())
        + btree_slot(size_of::<(u64, Arc<str>)>())
        + (1 + answer.tags().len()) * INDEX_MEMBER
        + answer.size()
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
                purges: 0,
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
        self.get_with_epoch_now(key).0
    }

    fn get_with_epoch_now(&self, key: &str) -> (Option<CachedAnswer>, u64) {
        let mut lru = self.lock();
        let epoch = lru.purges;
        (lru.get(key), epoch)
    }

    fn put_now(&self, key: &str, answer: CachedAnswer) {
        self.lock().put(key, answer);
    }

    /// Keeps `answer` unless a purge moved the epoch from `epoch`; in one
    /// lock, so no purge comes between the check and the write.
    fn put_unless_purged_now(&self, key: &str, answer: CachedAnswer, epoch: u64) -> PutOutcome {
        let mut lru = self.lock();
        if lru.purges != epoch {
            return PutOutcome::Purged;
        }
        lru.put(key, answer);
        PutOutcome::Stored
    }

    fn purge_now(&self, purge: &Purge) {
        let mut lru = self.lock();
        lru.purges += 1;
        let (index, name) = match purge {
            Purge::Path(path) => (&mut lru.by_path, path),
            Purge::Tag(tag) => (&mut lru.by_tag, tag),
        };
        let Some(keys) = index.remove(name) else {
            return;
        };
        lru.bytes -= index_set_cost(name);
        for key in keys {
            lru.remove(&key);
        }
    }

    fn mark_stale_now(&self, purge: &Purge) {
        let mut lru = self.lock();
        lru.purges += 1;
        let Lru {
            entries,
            by_path,
            by_tag,
            ..
        } = &mut *lru;
        let keys = match purge {
            Purge::Path(path) => by_path.get(path),
            Purge::Tag(tag) => by_tag.get(tag),
        };
        for key in keys.into_iter().flatten() {
            if let Some(slot) = entries.get_mut(key) {
                // Same size: only its time changes.
                slot.answer = slot.answer.marked_stale();
            }
        }
    }
}

impl Lru {
    fn get(&mut self, key: &str) -> Option<CachedAnswer> {
        self.tick += 1;
        let tick = self.tick;
        let Lru { entries, order, .. } = self;
        let slot = entries.get_mut(key)?;
        if let Some(name) = order.remove(&slot.tick) {
            order.insert(tick, name);
        }
        slot.tick = tick;
        Some(slot.answer.clone())
    }

    fn put(&mut self, key: &str, answer: CachedAnswer) {
        self.remove(key);
        let size = entry_cost(key, &answer);
        // As if every index set were new: evicting may drop the one it joins.
        let worst = size
            + index_set_cost(answer.path())
            + answer
                .tags()
                .iter()
                .map(|t| index_set_cost(t))
                .sum::<usize>();
        if worst > self.max_bytes {
            return;
        }
        while self.bytes + worst > self.max_bytes {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.remove(&oldest);
        }
        self.tick += 1;
        let tick = self.tick;
        let key: Arc<str> = Arc::from(key);
        let Lru {
            by_path,
            by_tag,
            bytes,
            ..
        } = self;
        *bytes += index(by_path, answer.path(), &key);
        for tag in answer.tags() {
            *bytes += index(by_tag, tag, &key);
        }
        self.order.insert(tick, key.clone());
        self.bytes += size;
        self.entries.insert(key, Slot { answer, tick, size });
    }

    fn remove(&mut self, key: &str) {
        let Some(slot) = self.entries.remove(key) else {
            return;
        };
        self.order.remove(&slot.tick);
        self.bytes -= slot.size;
        let answer = &slot.answer;
        self.bytes -= unindex(&mut self.by_path, answer.path(), key);
        for tag in answer.tags() {
            self.bytes -= unindex(&mut self.by_tag, tag, key);
        }
        shrink_if_sparse(&mut self.entries);
    }
}

/// Adds `key` to the set of `name`; gives back the cost of a new set.
fn index(index: &mut Index, name: &str, key: &Arc<str>) -> usize {
    if let Some(keys) = index.get_mut(name) {
        keys.insert(key.clone());
        return 0;
    }
    index.insert(name.to_string(), HashSet::from([key.clone()]));
    index_set_cost(name)
}

/// Takes `key` out of the set of `name`; gives back the cost of the set if
/// that emptied it.
fn unindex(index: &mut Index, name: &str, key: &str) -> usize {
    let Some(keys) = index.get_mut(name) else {
        return 0;
    };
    keys.remove(key);
    if !keys.is_empty() {
        shrink_if_sparse(keys);
        return 0;
    }
    index.remove(name);
    shrink_if_sparse(index);
    index_set_cost(name)
}

/// A table keeps its buckets when items leave; hand most of them back once
/// it is three quarters empty, so an entry's charge (16/7 buckets) holds.
trait Sparse {
    fn sparse(&self) -> bool;
    fn halve(&mut self);
}

fn shrink_if_sparse(table: &mut impl Sparse) {
    if table.sparse() {
        table.halve();
    }
}

impl<K: std::hash::Hash + Eq, V> Sparse for HashMap<K, V> {
    fn sparse(&self) -> bool {
        self.capacity() > 64 && self.capacity() / 4 > self.len()
    }
    fn halve(&mut self) {
        self.shrink_to(self.len() * 2);
    }
}

impl<K: std::hash::Hash + Eq> Sparse for HashSet<K> {
    fn sparse(&self) -> bool {
        self.capacity() > 3 && self.capacity() / 4 > self.len()
    }
    fn halve(&mut self) {
        self.shrink_to(self.len() * 2);
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
    fn get<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<Option<CachedAnswer>, Error>> {
        let answer = self.get_now(key.as_str());
        Box::pin(async move { Ok(answer) })
    }

    fn put<'a>(
        &'a self,
        key: &'a CacheKey,
        answer: CachedAnswer,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.put_now(key.as_str(), answer);
        Box::pin(async { Ok(()) })
    }

    fn purge<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, Result<(), Error>> {
        self.purge_now(purge);
        Box::pin(async { Ok(()) })
    }

    fn mark_stale<'a>(&'a self, purge: &'a Purge) -> BoxFuture<'a, Result<(), Error>> {
        self.mark_stale_now(purge);
        Box::pin(async { Ok(()) })
    }

    fn purge_epoch(&self) -> BoxFuture<'_, Result<u64, Error>> {
        let epoch = self.lock().purges;
        Box::pin(async move { Ok(epoch) })
    }

    fn get_with_epoch<'a>(
        &'a self,
        key: &'a CacheKey,
    ) -> BoxFuture<'a, Result<(Option<CachedAnswer>, u64), Error>> {
        let found = self.get_with_epoch_now(key.as_str());
        Box::pin(async move { Ok(found) })
    }

    fn put_unless_purged<'a>(
        &'a self,
        key: &'a CacheKey,
        answer: CachedAnswer,
        epoch: u64,
    ) -> BoxFuture<'a, Result<PutOutcome, Error>> {
        let outcome = self.put_unless_purged_now(key.as_str(), answer, epoch);
        Box::pin(async move { Ok(outcome) })
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
            variants: Vec::new(),
        })
    }

    #[test]
    fn evicts_least_recently_used_by_bytes() {
        let one = entry_cost("/a", &answer("/a", &[], 1000)) + index_set_cost("/a");
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
        store.put_now("/e", answer("/e", &[], 2 * one));
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
            entry_cost("/a?x=1", &answer("/a", &["t"], 20))
                + index_set_cost("/a")
                + index_set_cost("t")
        );
        store.purge_now(&Purge::Tag("t".into()));
        assert_eq!((store.len(), store.bytes()), (0, 0));
    }

    #[test]
    fn a_write_is_skipped_when_a_purge_moved_the_epoch() {
        let store = MemoryStore::new(1 << 20);
        let (_, before) = store.get_with_epoch_now("/a");
        // Any purge moves it, whatever it names: it may be for data /a read.
        store.purge_now(&Purge::Tag("elsewhere".into()));
        let late = store.put_unless_purged_now("/a", answer("/a", &[], 1), before);
        assert_eq!(late, PutOutcome::Purged);
        assert!(store.get_now("/a").is_none());

        let (_, before) = store.get_with_epoch_now("/a");
        store.mark_stale_now(&Purge::Path("/b".into()));
        let late = store.put_unless_purged_now("/a", answer("/a", &[], 1), before);
        assert_eq!(late, PutOutcome::Purged);

        let (_, before) = store.get_with_epoch_now("/a");
        let in_time = store.put_unless_purged_now("/a", answer("/a", &[], 1), before);
        assert_eq!(in_time, PutOutcome::Stored);
        assert!(store.get_now("/a").is_some());
    }

    #[test]
    fn purges_by_path_and_tag() {
        let store = MemoryStore::new(1 << 20);
        store.put_now("/a", answer("/a", &["t"], 1));
        store.put_now("/a?x=1", answer("/a", &["t"], 1));
        store.put_now("/ab", answer("/ab", &[], 1));
        store.put_now("/b", answer("/b", &["t", "u"], 1));
        store.purge_now(&Purge::Path("/a".into()));
        assert!(store.get_now("/a").is_none() && store.get_now("/a?x=1").is_none());
        assert!(store.get_now("/ab").is_some() && store.get_now("/b").is_some());
        store.purge_now(&Purge::Tag("u".into()));
        assert!(store.get_now("/b").is_none());
        assert_eq!(store.len(), 1);
        let lru = store.lock();
        assert!(lru.by_tag.is_empty(), "indexes emptied with their answers");
        assert_eq!(lru.by_path.len(), 1);
    }
}
