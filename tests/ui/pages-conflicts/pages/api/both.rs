pub async fn handler() -> &'static str {
    "any"
}

pub async fn GET() -> &'static str {
    "get"
}
