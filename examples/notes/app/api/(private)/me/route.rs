//! `GET /api/me`: who is signed in (`401` if nobody): what the page asks
//! first to choose between the sign-in form and the notes.

use approute::axum::Json;

use crate::auth::CurrentUser;

/// Who is signed in.
pub async fn GET(user: CurrentUser) -> Json<CurrentUser> {
    Json(user)
}
