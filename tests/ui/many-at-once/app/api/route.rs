pub async fn Get() -> &'static str {
    "get"
}
