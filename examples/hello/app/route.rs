//! `/`: a plain-text greeting.

pub async fn GET() -> &'static str {
    "Hello from approute. Try /api/hello, /api/users/42, /api/files/a/b, /api/docs, /about\n"
}
