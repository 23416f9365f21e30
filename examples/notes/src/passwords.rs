//! Password hashing with argon2id, a few at a time. Each hash takes
//! `ARGON2_MEMORY_KIB` (19 MiB by default) for tens of milliseconds of CPU,
//! on purpose; unbounded, 64 sign-ins at once took the process past 1 GiB.
//! So `ARGON2_CONCURRENCY` threads of their own do the hashing (one per
//! core by default), a short queue waits for them, and the rest are told to
//! come back: `503` with `Retry-After`.
//!
//! Threads of their own rather than tokio's blocking pool, each reusing
//! one memory block ([`reused_memory`]): the memory hashing takes is then
//! the threads times the cost, however many pool threads there are.

mod reused_memory;

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use argon2::Params;
use tokio::sync::{oneshot, OnceCell, OwnedSemaphorePermit, Semaphore};

use crate::config::Config;
use crate::error::ApiError;
use crate::util::random_token;

/// When a client turned away by a full queue should try again, in seconds.
const RETRY_AFTER_SECS: u64 = 1;

/// A hashing job for the workers.
type Job = Box<dyn FnOnce() + Send>;

/// The app's argon2 settings and the threads that use them.
pub struct Passwords {
    params: Params,
    /// One permit per hash running or waiting to run.
    admitted: Arc<Semaphore>,
    /// To the worker threads; they end when this is dropped.
    jobs: mpsc::Sender<Job>,
    /// A hash of a random password with this app's cost, checked when the
    /// email has no account so that the answer takes as long.
    dummy: OnceCell<String>,
}

impl Passwords {
    pub fn new(config: &Config) -> std::io::Result<Passwords> {
        let params = Params::new(config.argon2_memory_kib, config.argon2_iterations, 1, None)
            .map_err(|e| std::io::Error::other(format!("argon2: {e}")))?;
        let workers = config.argon2_concurrency.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..workers {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || loop {
                    // The lock is held only while taking a job, not while
                    // running it.
                    let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    match job {
                        // A panicking job must not take its thread along:
                        // its asker gets a 500, the next job a thread.
                        Ok(job) => drop(std::panic::catch_unwind(AssertUnwindSafe(job))),
                        Err(mpsc::RecvError) => return,
                    }
                })?;
        }
        Ok(Passwords {
            params,
            admitted: Arc::new(Semaphore::new(workers + config.argon2_queue)),
            jobs,
            dummy: OnceCell::new(),
        })
    }

    /// The PHC string (`$argon2id$v=19$m=...`) for `password`, with a fresh
    /// random salt.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let params = self.params.clone();
        self.on_worker(move || {
            reused_memory::hash(&params, password.as_bytes()).map_err(ApiError::internal)
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
        self.on_worker(move || reused_memory::verify(&hash, password.as_bytes()))
            .await
    }

    /// Runs `work` on a hashing thread once one is free; `503` at once
    /// when the queue is full.
    async fn on_worker<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let Ok(turn) = self.admitted.clone().try_acquire_owned() else {
            return Err(ApiError::busy(
                "too many sign-ins at once; try again shortly",
                RETRY_AFTER_SECS,
            ));
        };
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The job holds the turn: a client that hangs up does not stop
            // the work, so the turn ends when the work does, just before
            // the answer goes back (so the asker's next job finds it free).
            let answer = work();
            drop::<OwnedSemaphorePermit>(turn);
            let _ = done.send(answer);
        });
        let sent = self.jobs.send(job);
        sent.map_err(|_| ApiError::internal("the hashing threads have stopped"))?;
        result
            .await
            .map_err(|_| ApiError::internal("a hashing job ended without an answer"))
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
