async fn GET() {}
