//! Notes: the model, its validation, and every query on it. Each query
//! that touches one user's notes takes the user's id and filters on it, so
//! another user's note is simply not found (`404`), never "forbidden".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::ApiError;
use crate::events::{NoteEvent, NoteEventKind};
use crate::util::now_millis;
use crate::AppState;

/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest body, in characters.
pub const MAX_BODY: usize = 100_000;
/// Largest page of a list.
pub const MAX_LIMIT: i64 = 100;
/// Page size when `?limit=` is not given.
pub const DEFAULT_LIMIT: i64 = 20;

/// A note as the API shows it. Times are milliseconds since the epoch.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Note {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub public: bool,
    /// Goes up by one with every change; send it back in a PATCH to make
    /// the change only if nobody else changed the note in between.
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, title, body, public, version, created_at, updated_at";

impl Note {
    fn from_row(row: &AnyRow) -> Result<Note, sqlx::Error> {
        Ok(Note {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            body: row.try_get("body")?,
            public: row.try_get::<i64, _>("public")? != 0,
            version: row.try_get("version")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// A new note, from JSON, a form or an upload.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub public: bool,
}

/// A change to a note: only the fields given change.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotePatch {
    pub title: Option<String>,
    pub body: Option<String>,
    pub public: Option<bool>,
    /// The version the client last saw: the change is refused with `409`
    /// if the note has moved on since.
    pub version: Option<i64>,
}

fn check_title(title: &str, fields: &mut BTreeMap<&'static str, String>) {
    if title.trim().is_empty() {
        fields.insert("title", "must not be empty".into());
    } else if title.chars().count() > MAX_TITLE {
        fields.insert("title", format!("must be at most {MAX_TITLE} characters"));
    }
}

fn check_body(body: &str, fields: &mut BTreeMap<&'static str, String>) {
    if body.chars().count() > MAX_BODY {
        fields.insert("body", format!("must be at most {MAX_BODY} characters"));
    }
}

impl NewNote {
    /// `422` naming each field that is wrong; the title comes back trimmed.
    pub fn validate(mut self) -> Result<NewNote, ApiError> {
        let mut fields = BTreeMap::new();
        check_title(&self.title, &mut fields);
        check_body(&self.body, &mut fields);
        if !fields.is_empty() {
            return Err(ApiError::invalid(fields));
        }
        self.title = self.title.trim().to_string();
        Ok(self)
    }
}

impl NotePatch {
    /// `422` naming each field that is wrong, or when nothing would change.
    pub fn validate(mut self) -> Result<NotePatch, ApiError> {
        let mut fields = BTreeMap::new();
        if let Some(title) = &self.title {
            check_title(title, &mut fields);
        }
        if let Some(body) = &self.body {
            check_body(body, &mut fields);
        }
        if self.title.is_none() && self.body.is_none() && self.public.is_none() {
            fields.insert("title", "give at least one of title, body, public".into());
        }
        if !fields.is_empty() {
            return Err(ApiError::invalid(fields));
        }
        self.title = self.title.map(|t| t.trim().to_string());
        Ok(self)
    }
}

/// One page of a user's notes.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Page {
    pub notes: Vec<Note>,
    /// How many notes match, over all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    /// The `offset` of the next page, `null` on the last.
    pub next_offset: Option<i64>,
}

/// `%q%` for LIKE, with `%`, `_` and `\` in `q` matching themselves.
fn like_pattern(q: &str) -> String {
    let mut pattern = String::from("%");
    for c in q.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The user's notes, newest first, whose title or body contains `q`
/// (case-insensitively), `limit` from `offset`.
pub async fn list(
    state: &AppState,
    user_id: i64,
    q: &str,
    limit: i64,
    offset: i64,
) -> Result<Page, ApiError> {
    let pattern = like_pattern(q);
    const FILTER: &str =
        "user_id = $1 AND (LOWER(title) LIKE $2 ESCAPE '\\' OR LOWER(body) LIKE $2 ESCAPE '\\')";
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM notes WHERE {FILTER}"
    )))
    .bind(user_id)
    .bind(&pattern)
    .fetch_one(&state.db.pool)
    .await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM notes WHERE {FILTER} ORDER BY id DESC LIMIT $3 OFFSET $4"
    )))
    .bind(user_id)
    .bind(&pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(&state.db.pool)
    .await?;
    let notes = rows
        .iter()
        .map(Note::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let next = offset + notes.len() as i64;
    Ok(Page {
        next_offset: (next < total && !notes.is_empty()).then_some(next),
        notes,
        total,
        limit,
        offset,
    })
}

/// One of the user's notes.
pub async fn get(state: &AppState, user_id: i64, id: i64) -> Result<Note, ApiError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM notes WHERE id = $1 AND user_id = $2"
    )))
    .bind(id)
    .bind(user_id)
    .fetch_optional(&state.db.pool)
    .await?;
    match row {
        Some(row) => Ok(Note::from_row(&row)?),
        None => Err(ApiError::not_found("note")),
    }
}

/// A public note, anyone's.
pub async fn get_public(state: &AppState, id: i64) -> Result<Option<Note>, ApiError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM notes WHERE id = $1 AND public = 1"
    )))
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?;
    Ok(row.as_ref().map(Note::from_row).transpose()?)
}

/// The newest public notes, for the feed.
pub async fn latest_public(state: &AppState, limit: i64) -> Result<Vec<Note>, ApiError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM notes WHERE public = 1 ORDER BY id DESC LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(Note::from_row)
        .collect::<Result<Vec<_>, _>>()?)
}

/// Inserts a checked note for the user and tells the live streams.
pub async fn create(state: &AppState, user_id: i64, new: NewNote) -> Result<Note, ApiError> {
    let note = insert(&state.db.pool, user_id, &new).await?;
    state
        .changed(user_id, NoteEventKind::Created, &note, false)
        .await;
    Ok(note)
}

/// The insert itself, on any executor (a transaction, in the webhook).
pub async fn insert<'e, E>(executor: E, user_id: i64, new: &NewNote) -> Result<Note, ApiError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let now = now_millis();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO notes (user_id, title, body, public, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING {COLUMNS}"
    )))
    .bind(user_id)
    .bind(&new.title)
    .bind(&new.body)
    .bind(i64::from(new.public))
    .bind(now)
    .fetch_one(executor)
    .await?;
    Ok(Note::from_row(&row)?)
}

/// Applies a checked patch in one `UPDATE`, so concurrent patches to
/// different fields all land; with `version` given, only if the note is
/// still at that version (else `409` with the current note).
pub async fn update(
    state: &AppState,
    user_id: i64,
    id: i64,
    patch: NotePatch,
) -> Result<Note, ApiError> {
    let mut sql = String::from(
        "UPDATE notes SET title = COALESCE($1, title), body = COALESCE($2, body),
         public = COALESCE($3, public), version = version + 1, updated_at = $4
         WHERE id = $5 AND user_id = $6",
    );
    if patch.version.is_some() {
        sql.push_str(" AND version = $7");
    }
    sql.push_str(&format!(" RETURNING {COLUMNS}"));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(patch.title)
        .bind(patch.body)
        .bind(patch.public.map(i64::from))
        .bind(now_millis())
        .bind(id)
        .bind(user_id);
    if let Some(version) = patch.version {
        query = query.bind(version);
    }
    // A note made private leaves the feed: purge it then too.
    let visibility_changed = patch.public.is_some();
    match query.fetch_optional(&state.db.pool).await? {
        Some(row) => {
            let note = Note::from_row(&row)?;
            state
                .changed(user_id, NoteEventKind::Updated, &note, visibility_changed)
                .await;
            Ok(note)
        }
        // Either not the user's note, or someone else changed it first.
        None => {
            let current = get(state, user_id, id).await?;
            Err(ApiError::conflict(format!(
                "the note changed since version {}; it is at version {} now",
                patch.version.unwrap_or_default(),
                current.version
            ))
            .with_extra(serde_json::json!({ "current": current })))
        }
    }
}

/// Deletes one of the user's notes.
pub async fn delete(state: &AppState, user_id: i64, id: i64) -> Result<(), ApiError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM notes WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(user_id)
    .fetch_optional(&state.db.pool)
    .await?;
    match row {
        Some(row) => {
            let note = Note::from_row(&row)?;
            state
                .changed(user_id, NoteEventKind::Deleted, &note, false)
                .await;
            Ok(())
        }
        None => Err(ApiError::not_found("note")),
    }
}

impl AppState {
    /// After a change: tells the user's open event streams (nobody
    /// listening is fine), and drops the cached feed if the change shows
    /// there (a public note, or one whose visibility changed).
    pub async fn changed(
        &self,
        user_id: i64,
        kind: NoteEventKind,
        note: &Note,
        visibility_changed: bool,
    ) {
        let _ = self.events.send(NoteEvent {
            user_id,
            kind,
            note: note.clone(),
        });
        if note.public || visibility_changed {
            crate::feed_cache::purge_feed(&self.cache).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(like_pattern(" Ab "), "%ab%");
        assert_eq!(like_pattern("50%_\\"), "%50\\%\\_\\\\%");
    }

    #[test]
    fn validation() {
        let bad = NewNote {
            title: "  ".into(),
            body: String::new(),
            public: false,
        };
        let err = bad.validate().unwrap_err();
        assert_eq!(err.status.as_u16(), 422);
        assert!(err.fields.contains_key("title"));
        let empty = NotePatch::default().validate().unwrap_err();
        assert_eq!(empty.status.as_u16(), 422);
    }
}
