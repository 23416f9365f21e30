//! Wrong passwords per account: after `SIGNIN_MAX_FAILURES` in a row, the
//! account's sign-ins are refused (`429` with `Retry-After`) for
//! `SIGNIN_LOCKOUT_SECS`, whoever sends them; a right password clears the
//! count. Counted per email whether or not it has an account, so the
//! refusal does not tell which emails exist.
//!
//! The counts are in the database, so every instance of a fleet sees the
//! same ones: through a load balancer, N instances must not give a guesser
//! N times the tries. Each attempt is one `INSERT .. ON CONFLICT DO UPDATE`,
//! atomic in SQLite and PostgreSQL alike.
//!
//! An attempt counts as a failure from the moment it starts, so a burst of
//! parallel guesses cannot all slip in before the first one fails. Rows
//! hold the email's SHA-256, not the email, and are deleted a while after
//! their last failure, so the table holds at most the emails tried in that
//! while (which `RATE_LIMIT` bounds per client).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::db::Db;
use crate::util::now_millis;

/// A count is forgotten this long after its last failure (or lock end).
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);

/// Forgotten counts are deleted on every this many attempts.
const PRUNE_EVERY: u64 = 256;

/// Counts one attempt for `$1`, unless it is locked: a new row, a count
/// started again after `FORGET_AFTER` (`$3` is now minus that), or one
/// more; locked from the `$4`th for `$5` ms. `$6` marks the row as this
/// attempt's, so a refused attempt (the row left as it was) is told apart.
const COUNT: &str = "
INSERT INTO signin_failures (account, failures, last_ms, locked_until_ms, attempt)
VALUES ($1, 1, $2, CASE WHEN 1 >= $4 THEN $2 + $5 ELSE 0 END, $6)
ON CONFLICT (account) DO UPDATE SET
    failures = CASE
        WHEN signin_failures.locked_until_ms > $2 THEN signin_failures.failures
        WHEN signin_failures.last_ms < $3 AND signin_failures.locked_until_ms < $3 THEN 1
        ELSE signin_failures.failures + 1 END,
    locked_until_ms = CASE
        WHEN signin_failures.locked_until_ms > $2 THEN signin_failures.locked_until_ms
        WHEN (CASE
            WHEN signin_failures.last_ms < $3 AND signin_failures.locked_until_ms < $3 THEN 1
            ELSE signin_failures.failures + 1 END) >= $4 THEN $2 + $5
        ELSE 0 END,
    last_ms = CASE
        WHEN signin_failures.locked_until_ms > $2 THEN signin_failures.last_ms
        ELSE $2 END,
    attempt = CASE
        WHEN signin_failures.locked_until_ms > $2 THEN signin_failures.attempt
        ELSE $6 END
RETURNING failures, locked_until_ms, attempt";

/// Takes back one attempt of `$1`; the lock goes with it below `$2`.
const TAKE_BACK: &str = "
UPDATE signin_failures SET
    failures = failures - 1,
    locked_until_ms = CASE WHEN failures - 1 < $2 THEN 0 ELSE locked_until_ms END
WHERE account = $1 AND failures > 0";

/// The counts, in the database.
pub struct Lockout {
    db: Db,
    max_failures: u32,
    lock_for: Duration,
    attempts: AtomicU64,
}

impl Lockout {
    pub fn new(config: &Config, db: Db) -> Lockout {
        Lockout {
            db,
            max_failures: config.signin_max_failures.max(1),
            lock_for: config.signin_lockout,
            attempts: AtomicU64::new(0),
        }
    }

    /// Before checking a password for `email`: `Err(time left)` while the
    /// account is locked; otherwise the attempt, counted as a failure until
    /// it is settled. Dropped unsettled (the check did not run: busy, an
    /// error, the client hung up) it is taken back.
    pub async fn begin(&self, email: &str) -> Result<Result<Attempt, Duration>, sqlx::Error> {
        if self
            .attempts
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PRUNE_EVERY)
        {
            self.prune().await?;
        }
        let account = key(email);
        let now = now_millis();
        let forget_before = now.saturating_sub(millis(FORGET_AFTER));
        let mut mark = [0u8; 8];
        getrandom::fill(&mut mark).expect("the operating system's random source");
        let mark = i64::from_ne_bytes(mark);
        let (failures, locked_until, attempt): (i64, i64, i64) = sqlx::query_as(COUNT)
            .bind(&account)
            .bind(now)
            .bind(forget_before)
            .bind(i64::from(self.max_failures))
            .bind(millis(self.lock_for))
            .bind(mark)
            .fetch_one(&self.db.pool)
            .await?;
        if attempt != mark {
            let left = u64::try_from(locked_until.saturating_sub(now)).unwrap_or(0);
            return Ok(Err(Duration::from_millis(left)));
        }
        Ok(Ok(Attempt {
            db: self.db.clone(),
            account: Some(account),
            failures: u32::try_from(failures).unwrap_or(u32::MAX),
            max_failures: self.max_failures,
        }))
    }

    /// Deletes the counts forgotten by now.
    async fn prune(&self) -> Result<(), sqlx::Error> {
        let before = now_millis().saturating_sub(millis(FORGET_AFTER));
        sqlx::query("DELETE FROM signin_failures WHERE last_ms < $1 AND locked_until_ms < $1")
            .bind(before)
            .execute(&self.db.pool)
            .await
            .map(drop)
    }

    /// How many accounts have a count.
    #[cfg(test)]
    async fn counted(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM signin_failures")
            .fetch_one(&self.db.pool)
            .await
    }
}

/// One sign-in attempt, counted as a failure until settled.
pub struct Attempt {
    db: Db,
    /// `None` once settled.
    account: Option<String>,
    failures: u32,
    max_failures: u32,
}

impl Attempt {
    /// The password was wrong: the failure stays counted. Returns the
    /// account's count with it.
    pub fn failed(mut self) -> u32 {
        self.account = None;
        self.failures
    }

    /// The password was right: the account's count starts again.
    pub async fn succeeded(mut self) -> Result<(), sqlx::Error> {
        let Some(account) = self.account.take() else {
            return Ok(());
        };
        sqlx::query("DELETE FROM signin_failures WHERE account = $1")
            .bind(account)
            .execute(&self.db.pool)
            .await
            .map(drop)
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        let Some(account) = self.account.take() else {
            return;
        };
        let db = self.db.clone();
        let max_failures = i64::from(self.max_failures);
        // Dropped in a handler that was cancelled: the take-back must not
        // be, so it runs on its own.
        tokio::spawn(async move {
            let taken = sqlx::query(TAKE_BACK)
                .bind(account)
                .bind(max_failures)
                .execute(&db.pool)
                .await;
            if let Err(e) = taken {
                tracing::warn!("sign-in lockout: an unchecked attempt was not taken back: {e}");
            }
        });
    }
}

/// The account's key: the email's SHA-256, in hex.
fn key(email: &str) -> String {
    Sha256::digest(email.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lockout on a fresh SQLite file (removed when dropped).
    struct Fixture {
        lockout: Lockout,
        file: std::path::PathBuf,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.file.display()));
            }
        }
    }

    async fn lockout(max_failures: u32) -> Fixture {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let file =
            std::env::temp_dir().join(format!("notes-lockout-{}-{n}.db", std::process::id()));
        let db = Db::connect(file.to_str().unwrap()).await.unwrap();
        db.migrate().await.unwrap();
        let config = Config {
            signin_max_failures: max_failures,
            signin_lockout: Duration::from_secs(60),
            ..Config::default()
        };
        Fixture {
            lockout: Lockout::new(&config, db),
            file,
        }
    }

    async fn begin(lockout: &Lockout, email: &str) -> Result<Attempt, Duration> {
        lockout.begin(email).await.unwrap()
    }

    #[tokio::test]
    async fn locks_after_the_limit_and_a_success_clears_the_count() {
        let fixture = lockout(3).await;
        let lockout = &fixture.lockout;
        assert_eq!(begin(lockout, "a@b.io").await.unwrap().failed(), 1);
        assert_eq!(begin(lockout, "a@b.io").await.unwrap().failed(), 2);
        let right = begin(lockout, "a@b.io").await.unwrap();
        right.succeeded().await.unwrap();
        assert_eq!(lockout.counted().await.unwrap(), 0);
        for n in 1..=3 {
            assert_eq!(begin(lockout, "a@b.io").await.unwrap().failed(), n);
        }
        let left = begin(lockout, "a@b.io").await.err().unwrap();
        assert!(left > Duration::from_secs(59) && left <= Duration::from_secs(60));
        // Refused attempts do not count or move the lock.
        let again = begin(lockout, "a@b.io").await.err().unwrap();
        assert!(again <= left);
        // Another account is not affected.
        assert_eq!(begin(lockout, "c@d.io").await.unwrap().failed(), 1);
    }

    #[tokio::test]
    async fn parallel_attempts_count_at_once_and_unsettled_ones_are_taken_back() {
        let fixture = lockout(3).await;
        let lockout = &fixture.lockout;
        let first = begin(lockout, "a@b.io").await.unwrap();
        let second = begin(lockout, "a@b.io").await.unwrap();
        let third = begin(lockout, "a@b.io").await.unwrap();
        // Three in flight: a fourth waits for the lock to pass.
        assert!(begin(lockout, "a@b.io").await.is_err());
        drop(third); // never checked (say the hashing queue was full)
        second.failed();
        first.failed();
        // The take-back runs on its own task.
        let fourth = loop {
            match begin(lockout, "a@b.io").await {
                Ok(attempt) => break attempt,
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        };
        assert_eq!(fourth.failures, 3);
        drop(fourth);
        let fifth = loop {
            match begin(lockout, "a@b.io").await {
                Ok(attempt) => break attempt,
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        };
        assert_eq!(fifth.failed(), 3);
        assert!(begin(lockout, "a@b.io").await.is_err());
    }

    /// Two instances on one database share the counts.
    #[tokio::test]
    async fn instances_on_one_database_share_the_counts() {
        let fixture = lockout(2).await;
        let other = Lockout::new(
            &Config {
                signin_max_failures: 2,
                signin_lockout: Duration::from_secs(60),
                ..Config::default()
            },
            fixture.lockout.db.clone(),
        );
        assert_eq!(begin(&fixture.lockout, "a@b.io").await.unwrap().failed(), 1);
        assert_eq!(begin(&other, "a@b.io").await.unwrap().failed(), 2);
        assert!(begin(&fixture.lockout, "a@b.io").await.is_err());
        assert!(begin(&other, "a@b.io").await.is_err());
    }

    #[tokio::test]
    async fn forgotten_counts_start_again_and_are_deleted() {
        let fixture = lockout(5).await;
        let lockout = &fixture.lockout;
        begin(lockout, "a@b.io").await.unwrap().failed();
        begin(lockout, "c@d.io").await.unwrap().failed();
        // As if the last failures were over FORGET_AFTER ago.
        let long_ago = now_millis() - millis(FORGET_AFTER) - 1_000;
        sqlx::query("UPDATE signin_failures SET last_ms = $1")
            .bind(long_ago)
            .execute(&lockout.db.pool)
            .await
            .unwrap();
        assert_eq!(begin(lockout, "a@b.io").await.unwrap().failed(), 1);
        lockout.prune().await.unwrap();
        assert_eq!(
            lockout.counted().await.unwrap(),
            1,
            "c@d.io's count is gone"
        );
    }
}
