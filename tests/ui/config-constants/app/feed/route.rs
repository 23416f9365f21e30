pub const REVALIDATES: u64 = 60;
pub const MAX_DURATION: u64 = 60 * 60;

pub async fn GET() -> &'static str {
    "feed"
}
