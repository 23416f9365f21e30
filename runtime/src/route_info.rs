//! What the generated code knows about each route, kept for the request
//! path (params, checks) and for people (start-up logs, tooling).

use std::fmt;

/// One URL segment of a route, as the folder named it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlSegment {
    /// A literal segment.
    Static,
    /// `[name]`
    Dynamic(&'static str),
    /// `[...name]`
    CatchAll(&'static str),
    /// `[[...name]]`
    OptionalCatchAll(&'static str),
}

/// A route of the generated router: `app::ROUTES` lists them all.
#[derive(Debug)]
pub struct RouteInfo {
    pattern: &'static str,
    file: &'static str,
    methods: &'static [&'static str],
    segments: &'static [UrlSegment],
    allow: &'static str,
}

impl RouteInfo {
    #[doc(hidden)]
    pub const fn __new(
        pattern: &'static str,
        file: &'static str,
        methods: &'static [&'static str],
        segments: &'static [UrlSegment],
        allow: &'static str,
    ) -> RouteInfo {
        RouteInfo {
            pattern,
            file,
            methods,
            segments,
            allow,
        }
    }

    /// The URL pattern in Next.js notation: `/api/users/[id]`.
    pub fn pattern(&self) -> &'static str {
        self.pattern
    }

    /// The route file, relative to the crate: `app/api/users/[id]/route.rs`.
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The methods the file exports, in `Allow` order.
    pub fn methods(&self) -> &'static [&'static str] {
        self.methods
    }

    /// Every method the route answers: what `OPTIONS` sends in `Allow`.
    pub fn allow(&self) -> &'static str {
        self.allow
    }

    pub(crate) fn segments(&self) -> &'static [UrlSegment] {
        self.segments
    }

    pub(crate) fn has_params(&self) -> bool {
        self.segments.iter().any(|s| *s != UrlSegment::Static)
    }
}

/// `GET, DELETE  /api/users/[id]  app/api/users/[id]/route.rs`: one line
/// for a start-up log.
impl fmt::Display for RouteInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let methods = self.methods.join(",");
        write!(f, "{methods:<22} {:<32} {}", self.pattern, self.file)
    }
}
