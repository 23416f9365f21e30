//! A real server process for `tests/serve.rs` to start and stop with
//! SIGTERM: the Next.js reference tree served by `approute::serve`, plus
//! `GET /fixture/slow[?ms=N]`, which says on stderr when it starts and
//! answers after N ms (500 by default). Binds `$HOST:$PORT` (the test sets
//! `PORT=0`).

use std::time::Duration;

use approute::axum::http::Uri;
use approute::axum::routing::get;
use approute_tests::next14;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    approute::serve::init_logging();
    let router = next14::router().route("/fixture/slow", get(slow));
    approute::serve(router)
        .routes(next14::ROUTES)
        .grace_period(Duration::from_secs(10))
        .await
}

async fn slow(uri: Uri) -> &'static str {
    let ms = uri
        .query()
        .and_then(|q| q.strip_prefix("ms="))
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(500);
    eprintln!("fixture: slow request started");
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "slow done"
}
