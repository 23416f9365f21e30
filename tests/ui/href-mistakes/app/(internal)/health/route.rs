pub async fn GET() {}
