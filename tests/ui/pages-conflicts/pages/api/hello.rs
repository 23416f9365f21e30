pub async fn GET() -> &'static str {
    "pages"
}
