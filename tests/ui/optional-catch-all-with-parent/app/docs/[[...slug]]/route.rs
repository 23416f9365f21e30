pub async fn GET() -> &'static str {
    "ok"
}
