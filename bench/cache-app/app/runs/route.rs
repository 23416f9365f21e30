//! `/runs`: how many times `recent_notes` has run, so the bench can tell a
//! cached run that served hits from one that kept running the handler.

pub use crate::runs as GET;
