//! A server process for `tests/cache_memory.rs` to fill and weigh: the
//! cache fixture app behind `approute::serve`, its answers in a
//! `MemoryStore` of `$CACHE_BYTES` (default 8 MiB). `GET /fixture/store`
//! says how full the store is (`answers bytes`). Prints
//! `listening on ADDR` once it accepts connections on a free port.

use std::sync::Arc;

use approute::axum::routing::get;
use approute::axum::Router;
use approute::cache::{Cache, MemoryStore};
use approute_tests::{cache_app, Counter};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let bytes = std::env::var("CACHE_BYTES")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(8 * 1024 * 1024);
    let store = Arc::new(MemoryStore::new(bytes));
    let cache = Cache::new(store.clone());
    let router = Router::new()
        .route(
            "/fixture/store",
            get(move || async move { format!("{} {}", store.len(), store.bytes()) }),
        )
        .merge(
            cache_app::router()
                .with_state(Counter::default())
                .layer(cache.layer()),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?);
    approute::serve(router).listener(listener).run().await
}
