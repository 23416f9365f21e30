pub async fn Get() {}
