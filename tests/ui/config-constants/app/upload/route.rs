pub const REVALIDATE: u64 = 30;
pub const BODY_LIMIT: u32 = 1024;

pub async fn POST(body: String) -> String {
    body
}
