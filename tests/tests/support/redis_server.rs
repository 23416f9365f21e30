//! A throwaway `redis-server` on a free port for the tests that use the
//! Redis store (`tests/cache.rs`, `tests/cache_fleet.rs`).
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server`, stopped on drop.
pub struct RedisServer {
    pub child: Child,
    pub port: u16,
    pub url: String,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `None` (after saying why) when `redis-server` is not installed.
pub async fn start_redis() -> Option<RedisServer> {
    start_redis_with(&[]).await
}

/// [`start_redis`] with more `redis-server` arguments
/// (`["--maxmemory", "4mb"]`).
pub async fn start_redis_with(args: &[&str]) -> Option<RedisServer> {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    start_redis_on(port, args).await
}

pub async fn start_redis_on(port: u16, args: &[&str]) -> Option<RedisServer> {
    let spawned = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .args(args)
        .stdout(Stdio::null())
        .spawn();
    let child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "SKIPPED the Redis cache test: `redis-server` is not on PATH \
                 (apt-get install -y redis-server)"
            );
            return None;
        }
        Err(e) => panic!("starting redis-server: {e}"),
    };
    let server = RedisServer {
        child,
        port,
        url: format!("redis://127.0.0.1:{port}/"),
    };
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "redis-server did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Some(server)
}

/// A connection for the test's own commands.
pub async fn connection(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url.as_str())
        .unwrap()
        .get_multiplexed_tokio_connection()
        .await
        .unwrap()
}
