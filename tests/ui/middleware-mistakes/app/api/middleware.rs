use approute::axum::{extract::Request, response::Response};
use approute::middleware::Next;

pub async fn midleware(req: Request, next: Next) -> Response {
    next.run(req).await
}
