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

/// A route's config constants (`pub const REVALIDATE: u64 = 60;` and the
/// like in its file), as literals read at compile time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteConfig {
    /// `REVALIDATE`: cache successful GET answers for this many seconds.
    pub revalidate: Option<u64>,
    /// `CACHE_TAGS`: names to purge the cached answers by.
    pub cache_tags: &'static [&'static str],
    /// `CACHE_CREDENTIALED`: also cache requests with `Authorization` or
    /// `Cookie` (off by default: those answers are usually per user).
    pub cache_credentialed: bool,
    /// `BODY_LIMIT`: largest request body in bytes (413 over it).
    pub body_limit: Option<usize>,
    /// `MAX_DURATION`: seconds before the handler is cancelled (504).
    pub max_duration: Option<u64>,
    /// `RATE_LIMIT`: at most this many requests per this many seconds from
    /// one client (429 over it).
    pub rate_limit: Option<(u32, u64)>,
}

impl RouteConfig {
    /// No constants set.
    pub const NONE: RouteConfig = RouteConfig {
        revalidate: None,
        cache_tags: &[],
        cache_credentialed: false,
        body_limit: None,
        max_duration: None,
        rate_limit: None,
    };
}

/// A route of the generated router: `app::ROUTES` lists them all.
#[derive(Debug)]
pub struct RouteInfo {
    route_id: &'static str,
    file: &'static str,
    methods: &'static [&'static str],
    segments: &'static [UrlSegment],
    allow: &'static str,
    config: RouteConfig,
}

impl RouteInfo {
    #[doc(hidden)]
    pub const fn __new(
        route_id: &'static str,
        file: &'static str,
        methods: &'static [&'static str],
        segments: &'static [UrlSegment],
        allow: &'static str,
        config: RouteConfig,
    ) -> RouteInfo {
        RouteInfo {
            route_id,
            file,
            methods,
            segments,
            allow,
            config,
        }
    }

    /// The route's config constants.
    pub fn config(&self) -> &RouteConfig {
        &self.config
    }

    /// The route as Next.js names it, from its folders: `/api/users/[id]`
    /// (groups left out). axum's pattern for it is `MatchedPath`.
    pub fn route_id(&self) -> &'static str {
        self.route_id
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

/// The route a request matched, set by its checks for [`crate::Params`]
/// where the pattern axum matched does not tell the route's parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatchedRoute(pub(crate) &'static RouteInfo);

/// `GET, DELETE  /api/users/[id]  app/api/users/[id]/route.rs`: one line
/// for a start-up log.
impl fmt::Display for RouteInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let methods = self.methods.join(",");
        write!(f, "{methods:<22} {:<32} {}", self.route_id, self.file)?;
        if let Some(seconds) = self.config.revalidate {
            write!(f, "  [cache: revalidate {seconds}s")?;
            if !self.config.cache_tags.is_empty() {
                write!(f, ", tags {}", self.config.cache_tags.join(","))?;
            }
            write!(f, "]")?;
        }
        if let Some((requests, seconds)) = self.config.rate_limit {
            write!(f, "  [rate limit: {requests} per {seconds}s]")?;
        }
        Ok(())
    }
}
