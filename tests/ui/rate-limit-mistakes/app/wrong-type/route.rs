/// Requests per minute.
pub const RATE_LIMIT: u32 = 10;

pub async fn POST() {}
