//! Wrong passwords per account: after `SIGNIN_MAX_FAILURES` in a row, the
//! account's sign-ins are refused (`429` with `Retry-After`) for
//! `SIGNIN_LOCKOUT_SECS`, whoever sends them; a right password clears the
//! count. Counted per email whether or not it has an account, so the
//! refusal does not tell which emails exist.
//!
//! An attempt counts as a failure from the moment it starts, so a burst of
//! parallel guesses cannot all slip in before the first one fails.
//! Memory is bounded: at most [`MAX_ACCOUNTS`] entries of fixed size (the
//! email's SHA-256, not the email), forgotten a while after their last
//! failure.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::config::Config;

/// How many accounts' counts are kept at most (about 100 bytes each).
pub const MAX_ACCOUNTS: usize = 10_000;

/// A count is forgotten this long after its last failure (or lock end).
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

impl Failures {
    fn locked_at(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .and_then(|until| until.checked_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    fn stale_at(&self, now: Instant) -> bool {
        let since = self
            .locked_until
            .map_or(self.last, |until| until.max(self.last));
        now.saturating_duration_since(since) > FORGET_AFTER
    }
}

/// The counts, one per recently failing email.
pub struct Lockout {
    max_failures: u32,
    lock_for: Duration,
    accounts: Mutex<HashMap<[u8; 32], Failures>>,
}

impl Lockout {
    pub fn new(config: &Config) -> Lockout {
        Lockout {
            max_failures: config.signin_max_failures.max(1),
            lock_for: config.signin_lockout,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// Before checking a password for `email`: `Err(time left)` while the
    /// account is locked; otherwise the attempt, counted as a failure until
    /// it is settled. Dropped unsettled (the check did not run: busy, an
    /// error, the client hung up) it is taken back.
    pub fn begin(&self, email: &str) -> Result<Attempt<'_>, Duration> {
        let key = key(email);
        let now = Instant::now();
        let mut accounts = self.lock();
        if let Some(left) = accounts.get(&key).and_then(|f| f.locked_at(now)) {
            return Err(left);
        }
        if !accounts.contains_key(&key) && accounts.len() >= MAX_ACCOUNTS {
            make_room(&mut accounts, now);
        }
        if !accounts.contains_key(&key) && accounts.len() >= MAX_ACCOUNTS {
            // Every entry is a locked account: this one goes uncounted
            // rather than unlocking another.
            tracing::warn!("sign-in lockout table full ({MAX_ACCOUNTS} locked accounts)");
            return Ok(Attempt {
                lockout: self,
                key: None,
            });
        }
        let failures = accounts.entry(key).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: None,
        });
        if failures.stale_at(now) {
            *failures = Failures {
                count: 0,
                last: now,
                locked_until: None,
            };
        }
        failures.count = failures.count.saturating_add(1);
        failures.last = now;
        if failures.count >= self.max_failures {
            failures.locked_until = Some(now + self.lock_for);
        }
        Ok(Attempt {
            lockout: self,
            key: Some(key),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Failures>> {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many accounts have a count (for tests).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One sign-in attempt, counted as a failure until settled.
pub struct Attempt<'a> {
    lockout: &'a Lockout,
    /// `None` when the table was full of locked accounts.
    key: Option<[u8; 32]>,
}

impl Attempt<'_> {
    /// The password was wrong: the failure stays counted.
    pub fn failed(mut self) -> u32 {
        let key = self.key.take();
        key.and_then(|key| self.lockout.lock().get(&key).map(|f| f.count))
            .unwrap_or(0)
    }

    /// The password was right: the account's count starts again.
    pub fn succeeded(mut self) {
        if let Some(key) = self.key.take() {
            self.lockout.lock().remove(&key);
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut accounts = self.lockout.lock();
        let Some(failures) = accounts.get_mut(&key) else {
            return;
        };
        failures.count = failures.count.saturating_sub(1);
        if failures.count < self.lockout.max_failures {
            failures.locked_until = None;
        }
        if failures.count == 0 {
            accounts.remove(&key);
        }
    }
}

fn key(email: &str) -> [u8; 32] {
    Sha256::digest(email.as_bytes()).into()
}

/// Forgets stale counts; if none were, the oldest unlocked one.
fn make_room(accounts: &mut HashMap<[u8; 32], Failures>, now: Instant) {
    accounts.retain(|_, failures| !failures.stale_at(now));
    if accounts.len() < MAX_ACCOUNTS {
        return;
    }
    let oldest = accounts
        .iter()
        .filter(|(_, failures)| failures.locked_at(now).is_none())
        .min_by_key(|(_, failures)| failures.last)
        .map(|(key, _)| *key);
    if let Some(key) = oldest {
        accounts.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lockout(max_failures: u32) -> Lockout {
        Lockout::new(&Config {
            signin_max_failures: max_failures,
            signin_lockout: Duration::from_secs(60),
            ..Config::default()
        })
    }

    #[test]
    fn locks_after_the_limit_and_a_success_clears_the_count() {
        let lockout = lockout(3);
        assert_eq!(lockout.begin("a@b.io").unwrap().failed(), 1);
        assert_eq!(lockout.begin("a@b.io").unwrap().failed(), 2);
        lockout.begin("a@b.io").unwrap().succeeded();
        assert!(lockout.is_empty());
        for n in 1..=3 {
            assert_eq!(lockout.begin("a@b.io").unwrap().failed(), n);
        }
        let left = lockout.begin("a@b.io").err().unwrap();
        assert!(left > Duration::from_secs(59) && left <= Duration::from_secs(60));
        // Another account is not affected.
        lockout.begin("c@d.io").unwrap().failed();
    }

    #[test]
    fn parallel_attempts_count_at_once_and_unsettled_ones_are_taken_back() {
        let lockout = lockout(3);
        let first = lockout.begin("a@b.io").unwrap();
        let second = lockout.begin("a@b.io").unwrap();
        let third = lockout.begin("a@b.io").unwrap();
        // Three in flight: a fourth waits for the lock to pass.
        assert!(lockout.begin("a@b.io").is_err());
        drop(third); // never checked (say the hashing queue was full)
        second.failed();
        first.failed();
        let fourth = lockout.begin("a@b.io").unwrap();
        drop(fourth);
        assert_eq!(lockout.begin("a@b.io").unwrap().failed(), 3);
    }

    #[test]
    fn memory_is_bounded() {
        let lockout = lockout(1);
        // Every entry locked: new emails go uncounted, none is unlocked.
        for n in 0..MAX_ACCOUNTS + 50 {
            lockout.begin(&format!("user{n}@b.io")).unwrap().failed();
        }
        assert_eq!(lockout.len(), MAX_ACCOUNTS);
        assert!(lockout.begin("user0@b.io").is_err(), "still locked");
    }

    #[test]
    fn the_oldest_unlocked_count_makes_room() {
        let lockout = lockout(5);
        for n in 0..MAX_ACCOUNTS + 1 {
            lockout.begin(&format!("user{n}@b.io")).unwrap().failed();
        }
        assert_eq!(lockout.len(), MAX_ACCOUNTS);
        assert!(!lockout.is_empty());
    }
}
