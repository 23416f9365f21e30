//! The cache's one error type, and how a failure met while serving is
//! reported (logged, never sent to the client).

use std::fmt;

/// A failed cache operation (a store that cannot be reached, or an entry
/// that does not decode).
///
/// Lookups and writes that fail while serving a request are logged and the
/// request is served as if nothing were cached; purges return the error.
///
/// ```
/// let e = approute::cache::Error::new("redis is down");
/// assert_eq!(e.to_string(), "approute cache: redis is down");
/// ```
#[derive(Debug)]
pub struct Error(Box<dyn std::error::Error + Send + Sync>);

impl Error {
    /// Wraps any error (or message) a store meets.
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error(error.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "approute cache: {}", self.0)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Logs a store failure met while serving (the request goes on uncached).
pub(crate) fn report(what: &str, error: &Error) {
    #[cfg(any(feature = "serve", feature = "redis"))]
    tracing::warn!(%error, "approute cache: {what} failed; serving uncached");
    #[cfg(not(any(feature = "serve", feature = "redis")))]
    let _ = (what, error);
}
