//! `/api/docs` and `/api/docs/a/b`: an optional catch-all.

use approute::Params;

pub async fn GET(params: Params) -> String {
    match params.get_all("slug") {
        Some(slug) => format!("docs page {}\n", slug.join(" > ")),
        None => "docs index\n".to_string(),
    }
}
