pub async fn GET() -> &'static str {
    "app"
}
