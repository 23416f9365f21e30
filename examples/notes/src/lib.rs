//! A multi-user notes service built with approute: every folder under
//! `app/` is a route, every `route.rs` exports its handlers. This crate is a
//! library so the integration tests can start the very same router on a
//! socket; `src/main.rs` only reads the environment and serves it.
//!
//! - [`AppState`]: the database pool, the live-update channel, the HTTP
//!   client for the legacy API and the configuration, shared by every
//!   handler and middleware (`approute::app!(state = AppState)`).
//! - [`app`]: the router, with the state given.

pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod feed_cache;
pub mod forms;
pub mod legacy;
pub mod lockout;
pub mod notes;
pub mod passwords;
pub mod proxy;
pub mod util;
pub mod webhooks;

use std::sync::Arc;

use approute::axum::Router;
use tokio::sync::{broadcast, watch};

pub use config::Config;
pub use db::{Backend, Db};
pub use error::ApiError;
pub use events::NoteEvent;

// Defines `mod app` with `app::router()` (a `Router<AppState>`) and
// `app::ROUTES` from the route files under `app/`.
approute::app!(state = AppState);

/// Every route, for a start-up log (`approute::serve(..).routes(ROUTES)`).
pub use app::ROUTES;

/// What every handler and middleware can reach through `State<AppState>`.
/// Cloning it is cheap: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    /// The database: SQLite or PostgreSQL, decided by the URL.
    pub db: Db,
    /// Settings read at start-up.
    pub config: Arc<Config>,
    /// Note changes, for the server-sent events stream.
    pub events: broadcast::Sender<NoteEvent>,
    /// A pooled HTTP client for the legacy API.
    pub legacy: legacy::Client,
    /// The answers cached for routes with `REVALIDATE` (the feed) and the
    /// values of `cached` (the public note pages).
    pub cache: approute::cache::Cache,
    /// Password hashing, a bounded number at a time.
    pub passwords: Arc<passwords::Passwords>,
    /// Wrong-password counts per account, for sign-in (in the database).
    pub lockout: Arc<lockout::Lockout>,
    /// Flipped to `true` to end every open event stream (at shutdown).
    closing: Arc<watch::Sender<bool>>,
}

impl AppState {
    /// Connects to `url` (a SQLite path or `sqlite:`/`postgres:` URL), runs
    /// the migrations, and takes every other setting from the environment.
    pub async fn connect(url: &str) -> Result<AppState, sqlx::Error> {
        let mut config = Config::from_env().map_err(|e| sqlx::Error::Configuration(e.into()))?;
        config.database_url = url.to_string();
        AppState::with_config(config).await
    }

    /// Connects to `config.database_url` and runs the migrations.
    pub async fn with_config(config: Config) -> Result<AppState, sqlx::Error> {
        let passwords =
            passwords::Passwords::new(&config).map_err(|e| sqlx::Error::Configuration(e.into()))?;
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        let cache = feed_cache::new(config.redis_url.as_deref())
            .await
            .map_err(|e| sqlx::Error::Configuration(e.into()))?;
        let (events, _) = broadcast::channel(1024);
        let (closing, _) = watch::channel(false);
        let lockout = Arc::new(lockout::Lockout::new(&config, db.clone()));
        Ok(AppState {
            db,
            lockout,
            legacy: legacy::Client::new(),
            passwords: Arc::new(passwords),

            config: Arc::new(config),
            events,
            cache,
            closing: Arc::new(closing),
        })
    }

    /// Ends every open event stream, so a graceful shutdown need not wait
    /// for browsers to hang up.
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`AppState::close_streams`] has been called.
    pub(crate) fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closing.subscribe();
        async move {
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }
}

/// The whole service as a plain axum `Router`, ready to serve.
pub fn app(state: AppState) -> Router {
    let cache = state.cache.layer();
    app::router().with_state(state).layer(cache)
}
