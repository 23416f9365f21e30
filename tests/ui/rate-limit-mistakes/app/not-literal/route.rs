const PER_MINUTE: u32 = 10;
pub const RATE_LIMIT: (u32, u64) = (PER_MINUTE, 60);

pub async fn POST() {}
