pub async fn GET() -> &'static str {
    "api"
}
