pub async fn Get() -> &'static str {
    "get"
}

pub async fn post() -> &'static str {
    "post"
}

pub fn POSTS() {}
