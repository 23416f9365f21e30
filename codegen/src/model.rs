//! The plain-data model every stage shares: no syn nodes, no spans, only
//! strings, numbers and paths, so each stage can be tested on its own.

use std::fmt;
use std::path::PathBuf;

/// An HTTP method a route file can export, in the order `Allow` lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

impl Method {
    pub const ALL: [Method; 7] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
    ];

    /// The exported name, which is also the HTTP method token.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }

    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one folder name under `app/` means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A literal URL segment, already unescaped (`%5Fname` is `_name`).
    Static(String),
    /// `(name)`: organises files, adds nothing to the URL.
    Group(String),
    /// `[name]`: exactly one segment.
    Dynamic(String),
    /// `[...name]`: one or more segments.
    CatchAll(String),
    /// `[[...name]]`: zero or more segments.
    OptionalCatchAll(String),
}

impl Segment {
    /// The parameter this segment binds, if any.
    pub fn param(&self) -> Option<&str> {
        match self {
            Segment::Dynamic(n) | Segment::CatchAll(n) | Segment::OptionalCatchAll(n) => Some(n),
            Segment::Static(_) | Segment::Group(_) => None,
        }
    }

    pub fn is_catch_all(&self) -> bool {
        matches!(self, Segment::CatchAll(_) | Segment::OptionalCatchAll(_))
    }

    /// The segment as Next.js writes it in a route id (`[id]`, `[...slug]`).
    pub fn display(&self) -> String {
        match self {
            Segment::Static(s) => s.clone(),
            Segment::Group(n) => format!("({n})"),
            Segment::Dynamic(n) => format!("[{n}]"),
            Segment::CatchAll(n) => format!("[...{n}]"),
            Segment::OptionalCatchAll(n) => format!("[[...{n}]]"),
        }
    }
}

/// Which Next.js convention a route file follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Convention {
    /// `app/**/route.rs`: the App Router's route handlers.
    #[default]
    App,
    /// `pages/api/**/*.rs`: the older API Routes, one file per URL.
    Pages,
}

/// A route file found by the scanner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteFile {
    pub convention: Convention,
    /// Path shown to the user, relative to the crate: `app/api/[id]/route.rs`.
    pub display_path: String,
    /// Absolute path, for reading the file and for `#[path]` in the output.
    pub abs_path: PathBuf,
    /// Names that make the URL, in order: folders from `app/` down to the
    /// file's folder, or for `pages/` the folders and the file stem (none
    /// for `index.rs`).
    pub folders: Vec<String>,
}

/// A method handler exported by a route file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Export {
    pub method: Method,
    pub line: usize,
}

/// A route file after every stage has read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub file: RouteFile,
    /// The URL-bearing segments, route groups left out.
    pub url: Vec<Segment>,
    /// True when some folder on the way is a `(group)`.
    pub in_group: bool,
    /// Sorted by method, one per method.
    pub exports: Vec<Export>,
    /// A `pages/api` file's `pub fn handler`, which answers every method.
    pub any_method: bool,
    /// Its config constants (`REVALIDATE`, `BODY_LIMIT`, ...).
    pub config: crate::config::RouteConfig,
    /// Indices into [`RouteTree::middleware`] of the middleware wrapping
    /// this route, outermost (closest to `app/`) first.
    pub middleware: Vec<usize>,
}

/// A `middleware.rs`: wraps every route in its folder and below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Middleware {
    pub file: RouteFile,
    /// It exports `pub fn middleware` (a `from_fn`-style function).
    pub function: bool,
    /// It exports `pub fn layer()` returning a tower `Layer`.
    pub layer: bool,
}

/// Everything the emitter needs: checked routes in match order and the
/// middleware they use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteTree {
    pub routes: Vec<Route>,
    pub middleware: Vec<Middleware>,
    /// The files under `public/`, sorted by path.
    pub public: Vec<crate::public::PublicFile>,
    /// Indices into [`RouteTree::middleware`] wrapping the public files:
    /// `app/middleware.rs` only, as Next.js runs its one `middleware.ts`
    /// for public files too.
    pub public_middleware: Vec<usize>,
}

impl Route {
    /// The route id as Next.js prints it: `/api/users/[id]`, `/` for the root.
    pub fn pattern(&self) -> String {
        url_pattern(&self.url)
    }

    pub fn methods(&self) -> Vec<Method> {
        self.exports.iter().map(|e| e.method).collect()
    }
}

/// `/`-joined display form of URL segments.
pub fn url_pattern(url: &[Segment]) -> String {
    if url.is_empty() {
        return "/".to_string();
    }
    url.iter().map(|s| format!("/{}", s.display())).collect()
}

/// How a path with a trailing slash is answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrailingSlash {
    /// Next.js's default: `/a/` redirects (308) to `/a`.
    #[default]
    Redirect,
    /// Next.js's `trailingSlash: true`: `/a` redirects (308) to `/a/`.
    Add,
    /// Serve `/a` and `/a/` alike (for clients that do not follow redirects).
    Both,
}
