pub async fn GET() -> &'static str {
    let greeting = "hello";
    let count = ;
    greeting
}
