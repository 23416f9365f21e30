//! The plain-data model every stage shares: no syn nodes, no spans, only
//! strings, numbers and paths, so each stage can be tested on its own.

use std::fmt;
use std::path::PathBuf;

/// Declares [`Method`] from one list, so adding a method is one line.
macro_rules! methods {
    ($($variant:ident => ($token:literal, $lower:literal),)*) => {
        /// An HTTP method a route file can export.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Method {
            $($variant,)*
        }

        impl Method {
            /// Every method a route file can export.
            pub const ALL: &'static [Method] = &[$(Method::$variant,)*];

            /// The exported name, which is also the HTTP method token.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Method::$variant => $token,)*
                }
            }

            /// [`Method::as_str`] lowercased, as axum's `MethodRouter`
            /// names its methods and OpenAPI its operations.
            pub fn as_lowercase(self) -> &'static str {
                match self {
                    $(Method::$variant => $lower,)*
                }
            }
        }
    };
}

methods! {
    Get => ("GET", "get"),
    Head => ("HEAD", "head"),
    Post => ("POST", "post"),
    Put => ("PUT", "put"),
    Patch => ("PATCH", "patch"),
    Delete => ("DELETE", "delete"),
    Options => ("OPTIONS", "options"),
    // The HTTP QUERY method (safe, idempotent, with a body; IETF httpbis).
    Query => ("QUERY", "query"),
}

impl Method {
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.iter().copied().find(|m| m.as_str() == name)
    }

    /// `GET, HEAD, POST, ...`: every method, for messages.
    pub fn list() -> String {
        let names: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
        names.join(", ")
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
    /// A part of the URL.
    Url(UrlSegment),
    /// `(name)`: organises files, adds nothing to the URL.
    Group(String),
}

/// One segment of a route's URL: what a folder adds to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlSegment {
    /// A literal URL segment, already unescaped (`%5Fname` is `_name`).
    Static(String),
    /// `[name]`: exactly one segment.
    Dynamic(String),
    /// `[...name]`: one or more segments.
    CatchAll(String),
    /// `[[...name]]`: zero or more segments.
    OptionalCatchAll(String),
}

impl UrlSegment {
    /// The parameter this segment binds, if any.
    pub fn param(&self) -> Option<&str> {
        match self {
            UrlSegment::Static(_) => None,
            UrlSegment::Dynamic(n) | UrlSegment::CatchAll(n) | UrlSegment::OptionalCatchAll(n) => {
                Some(n)
            }
        }
    }

    pub fn is_catch_all(&self) -> bool {
        matches!(
            self,
            UrlSegment::CatchAll(_) | UrlSegment::OptionalCatchAll(_)
        )
    }

    /// The segment as Next.js writes it in a route id (`[id]`, `[...slug]`).
    pub fn display(&self) -> String {
        let (open, name, close) = self.written();
        [open, name, close].concat()
    }

    /// [`Self::display`] in three pieces: the brackets around the name.
    fn written(&self) -> (&'static str, &str, &'static str) {
        match self {
            UrlSegment::Static(s) => ("", s, ""),
            UrlSegment::Dynamic(n) => ("[", n, "]"),
            UrlSegment::CatchAll(n) => ("[...", n, "]"),
            UrlSegment::OptionalCatchAll(n) => ("[[...", n, "]]"),
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
    /// The URL's segments (route groups add none).
    pub url: Vec<UrlSegment>,
    /// True when some folder on the way is a `(group)`.
    pub in_group: bool,
    /// Sorted by method, one per method.
    pub exports: Vec<Export>,
    /// A `pages/api` file's `pub fn handler`, which answers every method.
    pub any_method: bool,
    /// Its config constants (`REVALIDATE`, `BODY_LIMIT`, ...).
    pub config: RouteConfig,
    /// Indices into [`RouteTree::middleware`] of the middleware wrapping
    /// this route, outermost (closest to `app/`) first.
    pub middleware: Vec<usize>,
    /// What each handler's signature and body say, for `app::openapi()`;
    /// sorted like `exports` (a `pages/api` file's `handler` alone).
    pub signatures: Vec<Signature>,
}

/// What the OpenAPI document takes from one handler (`signature.rs`
/// reads it): everything the file shows, nothing rustc must resolve.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signature {
    /// The exported name: `GET`, or `handler` in a `pages/api` file.
    pub name: String,
    /// The number of arguments; `None` for a re-export (`pub use x as
    /// GET`), whose signature is in another file.
    pub arity: Option<usize>,
    /// The return type as written, for notes: `Result<Json<Note>, ApiError>`.
    pub return_type: String,
    /// The return type is a `Result<T, E>`: `T` answers, `E` describes
    /// its errors.
    pub returns_result: bool,
    /// The statuses the returned expressions name (`Ok((StatusCode::CREATED,
    /// ..))`, `Redirect::temporary(..)`), in order, once each.
    pub statuses: Vec<Status>,
    /// The doc comment's first paragraph, one line.
    pub summary: String,
    /// The rest of the doc comment.
    pub description: String,
    /// `#[deprecated]`.
    pub deprecated: bool,
}

/// A status a handler's returned expression names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// `StatusCode::CREATED`: the constant's name, for rustc to resolve.
    Constant(String),
    /// What a constructor implies: `Redirect::temporary` is 307.
    Code(u16),
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
    pub public: Vec<PublicFile>,
    /// Indices into [`RouteTree::middleware`] wrapping the public files:
    /// `app/middleware.rs` only, as Next.js runs its one `middleware.ts`
    /// for public files too.
    pub public_middleware: Vec<usize>,
}

impl Route {
    /// The route id as Next.js prints it: `/api/users/[id]`, `/` for the root.
    pub fn route_id(&self) -> String {
        route_id(&self.url)
    }

    pub fn methods(&self) -> Vec<Method> {
        self.exports.iter().map(|e| e.method).collect()
    }
}

/// The route id of a URL: its segments as Next.js writes them, `/`-joined.
pub fn route_id(url: &[UrlSegment]) -> String {
    if url.is_empty() {
        return "/".to_string();
    }
    // Pushed piece by piece: `format!` per segment was a tenth of `emit`,
    // which asks for every route's id three times, unoptimized.
    let mut id = String::new();
    for segment in url {
        let (open, name, close) = segment.written();
        id.push('/');
        id.push_str(open);
        id.push_str(name);
        id.push_str(close);
    }
    id
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

/// What a route file's config constants ask for (`config.rs` reads them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteConfig {
    pub revalidate: Option<u64>,
    pub cache_tags: Vec<String>,
    pub cache_credentialed: bool,
    pub body_limit: Option<u64>,
    pub max_duration: Option<u64>,
    /// `RATE_LIMIT`: (requests, seconds) per client.
    pub rate_limit: Option<(u64, u64)>,
}

/// The one hidden folder under `public/` that is served: RFC 8615
/// well-known URIs (`security.txt`, ACME challenges) live there.
pub const WELL_KNOWN: &str = ".well-known";

/// A file under `public/`, with what its answers need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicFile {
    /// Path shown to the user, relative to the crate: `public/img/a b.txt`.
    pub display_path: String,
    /// Absolute path, for `include_bytes!`.
    pub abs_path: PathBuf,
    /// The names below `public/`: `["img", "a b.txt"]`.
    pub segments: Vec<String>,
    /// `Content-Type`, from the extension.
    pub content_type: &'static str,
    /// A strong `ETag`, quoted: the length and a 64-bit FNV-1a hash of the
    /// bytes, in hex.
    pub etag: String,
    /// Seconds since the Unix epoch of the file's modification time, when
    /// the file system has one.
    pub modified: Option<u64>,
    /// Size in bytes.
    pub len: u64,
    /// Its compressed forms, made at build time ([`crate::precompress`]).
    pub variants: Vec<PublicVariant>,
}

/// A public file compressed at build time, cached in the target folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicVariant {
    /// The runtime's `approute::compress::Encoding` variant: `Brotli`, `Gzip`.
    pub encoding: &'static str,
    /// The cached compressed bytes, for `include_bytes!`.
    pub path: PathBuf,
    /// The compressed bytes' strong `ETag`, quoted.
    pub etag: String,
}

impl PublicFile {
    /// The path as Next.js compares it with page names: `/img/a b.txt`.
    pub fn next_path(&self) -> String {
        self.segments.iter().map(|s| format!("/{s}")).collect()
    }
}
