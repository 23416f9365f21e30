//! The Redis store's connection: one multiplexed connection, made again
//! after it fails, with a timeout on every command.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue, RedisError, ScriptInvocation};

use super::error::Error;

/// How long a Redis command (or a connect) may take before the request
/// goes on without the cache.
const TIMEOUT: Duration = Duration::from_secs(2);
/// After a failed connect, commands fail at once for this long.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// One multiplexed connection, made again after it fails.
pub(crate) struct Link {
    client: Client,
    state: Mutex<LinkState>,
    /// One connect at a time: 200 requests after an outage make one.
    connecting: tokio::sync::Mutex<()>,
}

struct LinkState {
    conn: Option<MultiplexedConnection>,
    retry_at: Option<Instant>,
}

impl Link {
    fn state(&self) -> std::sync::MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection, if there is one or one can be made.
    fn ready(&self) -> Option<Result<MultiplexedConnection, Error>> {
        let state = self.state();
        if let Some(conn) = &state.conn {
            return Some(Ok(conn.clone()));
        }
        match state.retry_at {
            Some(at) if Instant::now() < at => {
                Some(Err(Error::new("Redis is unreachable; reconnecting soon")))
            }
            _ => None,
        }
    }

    pub(crate) async fn conn(&self) -> Result<MultiplexedConnection, Error> {
        if let Some(ready) = self.ready() {
            return ready;
        }
        let _one = self.connecting.lock().await;
        if let Some(ready) = self.ready() {
            return ready;
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(TIMEOUT)
            .set_response_timeout(TIMEOUT);
        match self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(conn) => {
                *self.state() = LinkState {
                    conn: Some(conn.clone()),
                    retry_at: None,
                };
                Ok(conn)
            }
            Err(e) => {
                self.state().retry_at = Some(Instant::now() + RECONNECT_AFTER);
                Err(Error::new(e))
            }
        }
    }

    /// Drops a connection that failed, so the next command makes another.
    pub(crate) fn failed(&self, e: RedisError) -> Error {
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_timeout()
            || e.is_unrecoverable_error()
        {
            self.state().conn = None;
        }
        Error::new(e)
    }
}

impl Link {
    /// A link to the Redis at `url`, connected now.
    pub(crate) async fn open(url: &str) -> Result<Link, Error> {
        let link = Link {
            client: Client::open(url).map_err(Error::new)?,
            state: Mutex::new(LinkState {
                conn: None,
                retry_at: None,
            }),
            connecting: tokio::sync::Mutex::new(()),
        };
        link.conn().await?;
        Ok(link)
    }
}

impl Link {
    /// Runs one command.
    pub(crate) async fn cmd<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, Error> {
        let mut conn = self.conn().await?;
        cmd.query_async(&mut conn).await.map_err(|e| self.failed(e))
    }

    /// Runs one script (sent by hash, loaded when Redis does not have it).
    pub(crate) async fn script<T: FromRedisValue>(
        &self,
        call: &ScriptInvocation<'_>,
    ) -> Result<T, Error> {
        let mut conn = self.conn().await?;
        call.invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed(e))
    }
}
