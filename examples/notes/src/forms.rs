//! What an HTML form post gets back, as a Next.js server action would give
//! it: `303 See Other` to the page, so reloading it does not post again.
//! An API client that asks for JSON (`Accept: application/json`) gets the
//! note or the error as JSON instead.

use approute::axum::http::{header, HeaderMap, StatusCode};
use approute::axum::response::{IntoResponse, Redirect, Response};
use approute::axum::Json;

use crate::error::ApiError;
use crate::notes::Note;
use crate::util::{url_encode, wants_json};

/// `303` to `/?created=<id>`, or `201` with the note for a JSON client.
pub fn created(headers: &HeaderMap, note: Note) -> Response {
    if wants_json(headers) {
        let location = crate::app::href!("/api/notes/[id]", id = note.id);
        return (
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            Json(note),
        )
            .into_response();
    }
    Redirect::to(&format!("{}?created={}", crate::app::href!("/"), note.id)).into_response()
}

/// `303` to `/?error=<message>`, or the JSON error for a JSON client.
pub fn failed(headers: &HeaderMap, error: ApiError) -> Response {
    if wants_json(headers) || error.status.is_server_error() {
        return error.into_response();
    }
    let message = if error.fields.is_empty() {
        error.message.clone()
    } else {
        let problems: Vec<String> = error
            .fields
            .iter()
            .map(|(field, problem)| format!("{field} {problem}"))
            .collect();
        problems.join("; ")
    };
    Redirect::to(&format!(
        "{}?error={}",
        crate::app::href!("/"),
        url_encode(&message)
    ))
    .into_response()
}
