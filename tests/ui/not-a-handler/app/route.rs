pub async fn GET(x: u32) -> &'static str {
    ""
}
