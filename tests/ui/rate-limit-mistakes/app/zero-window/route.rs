pub const RATE_LIMIT: (u32, u64) = (10, 0);

pub async fn POST() {}
