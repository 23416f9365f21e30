//! `/cached/notes?q=word`: the same handler, its answer kept for an hour.

pub const REVALIDATE: u64 = 3600;

pub use crate::recent_notes as GET;
