//! Password hashing with argon2id, a few at a time. Each hash takes
//! `ARGON2_MEMORY_KIB` (19 MiB by default) for tens of milliseconds of CPU,
//! on purpose; unbounded, 64 sign-ins at once took the process past 1 GiB.
//! So at most `ARGON2_CONCURRENCY` run at once (the cores), a short queue
//! waits for a turn, and the rest are told to come back: `503` with
//! `Retry-After`.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

use crate::config::Config;
use crate::error::ApiError;
use crate::util::random_token;

/// When a client turned away by a full queue should try again, in seconds.
const RETRY_AFTER_SECS: u64 = 1;

/// The app's argon2 settings and the turns for using them.
pub struct Passwords {
    argon2: Argon2<'static>,
    /// One permit per hash running or waiting to run.
    admitted: Arc<Semaphore>,
    /// One permit per hash running.
    running: Arc<Semaphore>,
    /// A hash of a random password with this app's cost, checked when the
    /// email has no account so that the answer takes as long.
    dummy: OnceCell<String>,
}

/// Both permits, held by the hashing job itself: a client that hangs up
/// does not stop the thread, so its turn ends when the work does.
struct Turn {
    _admitted: OwnedSemaphorePermit,
    _running: OwnedSemaphorePermit,
}

impl Passwords {
    pub fn new(config: &Config) -> Result<Passwords, argon2::Error> {
        let params = Params::new(config.argon2_memory_kib, config.argon2_iterations, 1, None)?;
        let running = config.argon2_concurrency.max(1);
        Ok(Passwords {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            admitted: Arc::new(Semaphore::new(running + config.argon2_queue)),
            running: Arc::new(Semaphore::new(running)),
            dummy: OnceCell::new(),
        })
    }

    /// The PHC string (`$argon2id$v=19$m=...`) for `password`, with a fresh
    /// random salt.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let argon2 = self.argon2.clone();
        self.on_blocking_pool(move || {
            argon2
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(ApiError::internal)
        })
        .await?
    }

    /// Whether `password` matches the PHC string `hash` (whose own
    /// parameters are used). With no hash (no such user) it checks against
    /// a dummy one, so the answer takes as long either way and does not
    /// tell which emails exist.
    pub async fn verify(&self, hash: Option<String>, password: String) -> Result<bool, ApiError> {
        let hash = match hash {
            Some(hash) => hash,
            None => self
                .dummy
                .get_or_try_init(|| self.hash(random_token()))
                .await?
                .clone(),
        };
        let argon2 = self.argon2.clone();
        self.on_blocking_pool(move || {
            argon2
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        })
        .await
    }

    /// Runs `work` on the blocking pool once a turn is free; `503` at once
    /// when the queue is full too.
    async fn on_blocking_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let Ok(admitted) = self.admitted.clone().try_acquire_owned() else {
            return Err(ApiError::busy(
                "too many sign-ins at once; try again shortly",
                RETRY_AFTER_SECS,
            ));
        };
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        let turn = Turn {
            _admitted: admitted,
            _running: running,
        };
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            work()
        })
        .await
        .map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap(concurrency: usize, queue: usize) -> Passwords {
        Passwords::new(&Config {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            argon2_concurrency: concurrency,
            argon2_queue: queue,
            ..Config::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn hashes_verify() {
        let passwords = cheap(1, 0);
        let hash = passwords.hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{hash}");
        assert!(passwords
            .verify(Some(hash.clone()), "correct horse".into())
            .await
            .unwrap());
        assert!(!passwords
            .verify(Some(hash), "wrong horse".into())
            .await
            .unwrap());
        assert!(!passwords
            .verify(None, "correct horse".into())
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_answers_503_with_retry_after() {
        let passwords = cheap(1, 1);
        // Both turns taken (one running, one waiting): the next is refused.
        let _held = passwords
            .admitted
            .clone()
            .try_acquire_many_owned(2)
            .unwrap();
        let err = passwords.hash("correct horse".into()).await.unwrap_err();
        assert_eq!(err.status.as_u16(), 503);
        assert_eq!(err.retry_after, Some(RETRY_AFTER_SECS));
    }
}
