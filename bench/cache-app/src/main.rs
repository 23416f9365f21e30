//! The caching bench (issue 7, `bench/run.py cache`): one handler that reads
//! SQLite, served at `/notes` (every request runs it) and at `/cached/notes`
//! (`REVALIDATE = 3600`: after the first request, answered from the cache).
//!
//! Environment:
//! - `PORT` (default 3000): listens on 127.0.0.1.
//! - `CACHE_REDIS_URL`: keep cached answers in this Redis (under a prefix of
//!   this process's own, so every start begins empty); unset, the default
//!   in-memory store.
//! - `DATABASE`: the SQLite file, deleted and seeded with [`NOTES`] notes at
//!   start-up (default: one in the temporary directory, removed on SIGTERM).

use std::sync::atomic::{AtomicU64, Ordering};

use approute::axum::extract::{Query, State};
use approute::axum::http::StatusCode;
use approute::axum::Json;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::Row;

approute::app!(state = Db);

/// The notes seeded at start-up.
pub const NOTES: u64 = 10_000;

/// The page size: the 20 most recent matches.
const PAGE: i64 = 20;

const WORDS: &[&str] = &[
    "rust", "tokio", "axum", "sqlite", "redis", "cache", "route", "tower", "hyper", "serde",
    "macro", "build", "bench", "query", "index", "notes", "page", "json", "server", "client",
];

/// Handler runs of [`recent_notes`], read at `/runs`.
static RUNS: AtomicU64 = AtomicU64::new(0);

#[derive(Clone)]
pub struct Db(SqlitePool);

#[derive(Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
}

#[derive(Serialize)]
pub struct Note {
    id: i64,
    title: String,
    body: String,
    created_at: i64,
}

/// The 20 most recent notes whose title contains `q`, as JSON: an indexed
/// `ORDER BY created_at DESC` walked until 20 titles match the `LIKE`.
pub async fn recent_notes(
    State(Db(pool)): State<Db>,
    Query(search): Query<Search>,
) -> Result<Json<Vec<Note>>, (StatusCode, String)> {
    RUNS.fetch_add(1, Ordering::Relaxed);
    let rows = sqlx::query(
        "SELECT id, title, body, created_at FROM notes WHERE title LIKE ?1 \
         ORDER BY created_at DESC LIMIT ?2",
    )
    .bind(format!("%{}%", search.q))
    .bind(PAGE)
    .fetch_all(&pool)
    .await
    .map_err(internal)?;
    let notes = rows
        .iter()
        .map(|row| {
            Ok(Note {
                id: row.try_get("id")?,
                title: row.try_get("title")?,
                body: row.try_get("body")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(internal)?;
    Ok(Json(notes))
}

pub async fn runs() -> String {
    RUNS.load(Ordering::Relaxed).to_string()
}

fn internal(e: sqlx::Error) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// A fixed pseudo-random sequence (a 64-bit LCG), so every start seeds the
/// same rows and every variant gives the same answers.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }

    fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| WORDS[self.next(WORDS.len() as u64) as usize])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

async fn seed(path: &std::path::Path) -> Result<SqlitePool, sqlx::Error> {
    for suffix in ["", "-journal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    sqlx::query(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, \
         created_at INTEGER NOT NULL)",
    )
    .execute(&pool)
    .await?;
    sqlx::query("CREATE INDEX notes_created_at ON notes (created_at)")
        .execute(&pool)
        .await?;
    let mut rng = Lcg(7);
    let mut tx = pool.begin().await?;
    for _ in 0..NOTES {
        // Creation times an hour apart on average, not in id order.
        let created_at = 1_700_000_000_000 + rng.next(NOTES * 3_600_000) as i64;
        sqlx::query("INSERT INTO notes (title, body, created_at) VALUES (?1, ?2, ?3)")
            .bind(rng.words(4))
            .bind(rng.words(30))
            .bind(created_at)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    Ok(pool)
}

#[tokio::main]
async fn main() {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_string());
    let database = std::env::var_os("DATABASE").map_or_else(
        || std::env::temp_dir().join(format!("approute-cache-bench-{}.db", std::process::id())),
        std::path::PathBuf::from,
    );
    if let Ok(url) = std::env::var("CACHE_REDIS_URL") {
        let store = approute::cache::RedisStore::connect(&url)
            .await
            .expect("connect to CACHE_REDIS_URL");
        approute::cache::set_store(store.prefix(format!("cache-bench:{}:", std::process::id())));
    }
    let pool = seed(&database).await.expect("seed the SQLite database");
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("bind");
    approute::axum::serve(listener, app::router().with_state(Db(pool.clone())))
        .with_graceful_shutdown(terminated())
        .await
        .expect("serve");
    pool.close().await;
    let _ = std::fs::remove_file(&database);
}

/// SIGTERM (what bench/run.py sends) or Ctrl-C.
async fn terminated() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
