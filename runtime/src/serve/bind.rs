//! Where the server listens, and how it shows itself in `{:?}`.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use super::{Server, DEFAULT_HOST, DEFAULT_PORT};

pub(super) enum Bind {
    Env,
    Addr(SocketAddr),
    Listener(TcpListener),
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bind = match &self.bind {
            Bind::Env => "$HOST:$PORT".to_string(),
            Bind::Addr(addr) => addr.to_string(),
            Bind::Listener(l) => format!("listener {:?}", l.local_addr().ok()),
        };
        f.debug_struct("Server")
            .field("bind", &bind)
            .field("routes", &self.routes.len())
            .field("body_limit", &self.body_limit)
            .field("timeout", &self.timeout)
            .field("timeout_status", &self.timeout_status)
            .field("grace_period", &self.grace_period)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("header_limit", &self.header_limit)
            .field("write_timeout", &self.write_timeout)
            .field("max_connections", &self.max_connections)
            .field("trust_proxies", &self.proxies)
            .field("custom_shutdown", &self.shutdown.is_some())
            .finish_non_exhaustive()
    }
}

pub(super) fn env_addr() -> io::Result<(String, u16)> {
    let port = match std::env::var("PORT") {
        Ok(port) if !port.trim().is_empty() => port.trim().parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("PORT={port:?} is not a port number"),
            )
        })?,
        _ => DEFAULT_PORT,
    };
    let host = match std::env::var("HOST") {
        Ok(host) if !host.trim().is_empty() => host.trim().to_string(),
        _ => DEFAULT_HOST.to_string(),
    };
    Ok((host, port))
}
