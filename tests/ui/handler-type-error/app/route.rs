pub async fn GET() -> String {
    42
}
