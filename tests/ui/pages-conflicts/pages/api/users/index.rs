pub async fn GET() -> &'static str {
    "users index"
}
