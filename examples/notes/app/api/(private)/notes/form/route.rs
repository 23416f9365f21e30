//! `POST /api/notes/form`: a plain HTML form (`application/x-www-form-urlencoded`,
//! no JavaScript needed) that creates a note and answers `303 See Other` to
//! `/?created=<id>`, as a Next.js server action redirects after a mutation.
//! A validation error redirects to `/?error=...`.
//!
//! ```html
//! <form method="post" action="/api/notes/form">
//!   <input name="title"> <textarea name="body"></textarea>
//!   <input type="checkbox" name="public"> <button>Save</button>
//! </form>
//! ```

use approute::axum::extract::rejection::FormRejection;
use approute::axum::extract::State;
use approute::axum::http::HeaderMap;
use approute::axum::response::Response;
use approute::axum::Form;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::forms;
use crate::notes::{self, NewNote};
use crate::AppState;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct NoteForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    /// A checkbox: present (`on`) when ticked, absent otherwise.
    public: Option<String>,
}

/// Creates a note from an HTML form, then back to the page (`303`).
pub async fn POST(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    form: Result<Form<NoteForm>, FormRejection>,
) -> Response {
    let result = async {
        let Form(form) = form.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        let new = NewNote {
            title: form.title,
            body: form.body.replace("\r\n", "\n"),
            public: form.public.is_some(),
        }
        .validate()?;
        notes::create(&state, user.id, new).await
    }
    .await;
    match result {
        Ok(note) => forms::created(&headers, note),
        Err(error) => forms::failed(&headers, error),
    }
}
