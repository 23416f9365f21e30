//! The notes service: `cargo run -p notes`, then open http://127.0.0.1:3000.
//!
//! Reads `DATABASE_URL` (default `notes.db`, created on first run; or
//! `postgres://...`), `HOST`/`PORT`, `NOTES_PUBLIC_URL`,
//! `NOTES_TRUSTED_PROXIES`, `LEGACY_API_URL`, `WEBHOOK_SECRET_*`: see
//! `notes::Config`. Migrations run at start-up.

use notes::{AppState, Config};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let _logs = approute::serve::init_logging();
    let config = Config::from_env().map_err(std::io::Error::other)?;
    tracing::info!(
        "public URL {}; X-Forwarded-* believed from {}",
        config.public_url,
        if config.trusted_proxies.is_empty() {
            "no one (NOTES_TRUSTED_PROXIES is empty)"
        } else {
            "NOTES_TRUSTED_PROXIES"
        }
    );
    let state = AppState::with_config(config)
        .await
        .map_err(|e| std::io::Error::other(format!("database: {e}")))?;
    tracing::info!("database: {}", state.db.backend.name());

    // On SIGINT/SIGTERM `approute::serve` stops accepting and waits for
    // open requests; end the event streams so it need not wait for them.
    let streams = state.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        streams.close_streams();
    });

    let db = state.db.clone();
    approute::serve(notes::app(state))
        .routes(notes::ROUTES)
        .await?;
    // Every request is done: close the pool, which for SQLite checkpoints
    // the write-ahead log and removes the -wal and -shm files.
    db.pool.close().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
