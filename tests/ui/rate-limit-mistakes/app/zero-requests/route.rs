pub const RATE_LIMIT: (u32, u64) = (0, 60);

pub async fn POST() {}
