//! The compression bench (issue 15, `bench/compression.py`): the notes page
//! (`examples/notes/public/index.html`, compressed at build time), a JSON
//! list of notes made on every request at `/api/notes`, and the same list
//! cached (`REVALIDATE`) at `/cached/notes`.
//!
//! Environment: `PORT` (default 3000, on 127.0.0.1); `COMPRESSION=off`
//! serves everything uncompressed; logging is off (`RUST_LOG` unset), so
//! the rows compare compression, not log lines.

use approute::compress::Compression;

approute::app!(public = "../../examples/notes/public");

/// 60 notes, about 9 KiB of JSON: a page of a notes app's list.
pub fn notes() -> serde_json::Value {
    (0..60)
        .map(|i| {
            serde_json::json!({
                "id": i,
                "title": format!("Note number {i}"),
                "body": "Remember to water the plants, buy milk and call home before the weekend.",
                "created_at": 1_790_000_000 + i * 3600,
                "done": i % 3 == 0,
            })
        })
        .collect()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let compression = match std::env::var("COMPRESSION").as_deref() {
        Ok("off") => Compression::off(),
        _ => Compression::default(),
    };
    approute::serve(app::router())
        .compression(compression)
        .await
}
