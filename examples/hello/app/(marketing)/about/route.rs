//! `/about`: `(marketing)` is a route group, left out of the URL.

pub async fn GET() -> &'static str {
    "about us\n"
}
