//! `/notes?q=word`: the handler alone, SQLite on every request.

pub use crate::recent_notes as GET;
