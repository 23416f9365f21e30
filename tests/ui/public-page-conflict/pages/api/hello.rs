pub async fn handler() -> &'static str {
    "pages hello"
}
