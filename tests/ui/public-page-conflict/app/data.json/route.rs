pub async fn GET() -> &'static str {
    "no conflict: the public file wins, as in Next.js"
}
