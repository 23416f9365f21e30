//! `POST /api/notes/import`: a file upload (`multipart/form-data`) that
//! turns a text or Markdown file into a note and answers `303 See Other`
//! to `/?created=<id>`. Fields: `file` (required, UTF-8 text), `title`
//! (default: the file name without its extension), `public` (a checkbox).
//!
//! `BODY_LIMIT` lets uploads of up to 1 MiB through, where the server's
//! default limit would apply otherwise; a bigger one gets `413`.

use approute::axum::extract::multipart::{Multipart, MultipartRejection};
use approute::axum::extract::State;
use approute::axum::http::HeaderMap;
use approute::axum::response::Response;

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::forms;
use crate::notes::{self, NewNote};
use crate::AppState;

pub const BODY_LIMIT: usize = 1_048_576;

/// Creates a note from an uploaded text file, then back to the page.
pub async fn POST(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let result = async {
        let mut multipart = multipart.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        let new = read_upload(&mut multipart).await?.validate()?;
        notes::create(&state, user.id, new).await
    }
    .await;
    match result {
        Ok(note) => forms::created(&headers, note),
        Err(error) => forms::failed(&headers, error),
    }
}

async fn read_upload(multipart: &mut Multipart) -> Result<NewNote, ApiError> {
    let mut title = None;
    let mut file = None;
    let mut public = false;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::new(e.status(), e.body_text()))?
    {
        match field.name() {
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_string();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
                let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                    ApiError::invalid([("file", "must be UTF-8 text".to_string())].into())
                })?;
                file = Some((name, text));
            }
            Some("title") => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
                title = Some(text).filter(|t| !t.trim().is_empty());
            }
            Some("public") => public = true,
            _ => {} // ignore what we do not know
        }
    }
    let Some((name, text)) = file else {
        return Err(ApiError::invalid(
            [("file", "choose a file to import".to_string())].into(),
        ));
    };
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => name,
    };
    Ok(NewNote {
        title: title.unwrap_or(stem),
        body: text.replace("\r\n", "\n"),
        public,
    })
}
