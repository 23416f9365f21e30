//! Turns the checked routes into the path patterns axum's router (matchit)
//! is given, including what matchit cannot express directly:
//!
//! - `[[...x]]` serves its folder's own URL too, so it gets two patterns.
//! - matchit refuses `/a/{id}` beside `/a/{*rest}`, which Next.js allows (the
//!   dynamic route wins where it matches). There the catch-all gets "fill-in"
//!   patterns under `{id}` that catch whatever the dynamic routes leave, so
//!   matchit's static > param > catch-all backtracking gives Next.js's answer.
//! - the trailing-slash variants, which redirect or serve per [`TrailingSlash`].
//! - the files under `public/`, registered before every route: Next.js
//!   looks in `public/` before it routes, so a file beats a route at the
//!   same URL (a route's identical pattern is dropped), and its static
//!   pattern beats `{param}` and `{*rest}` in matchit as well.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{PublicFile, Route, TrailingSlash, UrlSegment, WELL_KNOWN};

/// What a registered pattern leads to; `T` names what it serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<T> {
    Serve(T),
    /// 308 to the same path without its trailing slash.
    RedirectStrip,
    /// 308 to the same path with a trailing slash.
    RedirectAdd,
}

/// The route a pattern serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteRef {
    /// Its index in the routes list.
    pub index: usize,
    /// The pattern is a catch-all's fill-in under a dynamic sibling's
    /// `{param}`: its parameters are not the route's own, so `Params` must
    /// be told which route matched.
    pub fill_in: bool,
}

/// One matchit pattern and what it leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration<T> {
    /// The matchit (and axum) pattern: `/api/users/{id}`.
    pub pattern: String,
    pub target: Target<T>,
}

/// Every pattern to register, no pattern twice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registrations {
    /// The public files' patterns, which win every clash; `Serve` holds
    /// the file's index in the public files list.
    pub public: Vec<Registration<usize>>,
    pub routes: Vec<Registration<RouteRef>>,
}

/// The catch-all route at a trie node.
struct CatchAll {
    param: String,
    route: usize,
    optional: bool,
}

#[derive(Default)]
struct Node {
    route: Option<usize>,
    statics: BTreeMap<String, Node>,
    dynamic: Option<(String, Box<Node>)>,
    catch_all: Option<CatchAll>,
}

fn build_trie(routes: &[Route]) -> Node {
    let mut root = Node::default();
    for (index, route) in routes.iter().enumerate() {
        let mut node = &mut root;
        for seg in &route.url {
            node = match seg {
                UrlSegment::Static(s) => node.statics.entry(s.clone()).or_default(),
                UrlSegment::Dynamic(n) => {
                    &mut node
                        .dynamic
                        .get_or_insert_with(|| (n.clone(), Box::default()))
                        .1
                }
                UrlSegment::CatchAll(n) | UrlSegment::OptionalCatchAll(n) => {
                    node.catch_all = Some(CatchAll {
                        param: n.clone(),
                        route: index,
                        optional: matches!(seg, UrlSegment::OptionalCatchAll(_)),
                    });
                    break;
                }
            };
        }
        if !route.url.last().is_some_and(UrlSegment::is_catch_all) {
            node.route = Some(index);
        }
    }
    root
}

/// Escapes a static segment for matchit and for the wire: braces are
/// matchit syntax, and anything outside RFC 3986 `pchar` arrives
/// percent-encoded, which is what matchit compares against.
pub fn escape_static(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        match b {
            b'{' => out.push_str("{{"),
            b'}' => out.push_str("}}"),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => out.push(b as char),
            b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+'
            | b',' | b';' | b'=' | b':' | b'@' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The matchit pattern of a URL.
fn url_pattern(url: &[UrlSegment]) -> String {
    url.iter()
        .map(|s| match s {
            UrlSegment::Static(s) => format!("/{}", escape_static(s)),
            UrlSegment::Dynamic(n) => format!("/{{{n}}}"),
            UrlSegment::CatchAll(n) | UrlSegment::OptionalCatchAll(n) => format!("/{{*{n}}}"),
        })
        .collect()
}

/// The matchit pattern serving a public file: each name percent-encoded as
/// a client sends it (`/img/a%20b.txt`).
pub fn public_pattern(file: &PublicFile) -> String {
    file.segments
        .iter()
        .map(|s| format!("/{}", escape_static(s)))
        .collect()
}

/// A public file's URL as a client writes it (the pattern without
/// matchit's doubled braces).
pub fn public_url(file: &PublicFile) -> String {
    public_pattern(file).replace("{{", "{").replace("}}", "}")
}

/// A route's pattern before its trailing-slash variants.
struct Served {
    pattern: String,
    route: usize,
    fill_in: bool,
}

fn own_url(prefix: &str) -> String {
    if prefix.is_empty() {
        "/".to_string()
    } else {
        prefix.to_string()
    }
}

/// The patterns serving each route, before trailing-slash variants.
fn route_patterns(node: &Node, prefix: &str, out: &mut Vec<Served>) {
    let own = |route| Served {
        pattern: own_url(prefix),
        route,
        fill_in: false,
    };
    if let Some(route) = node.route {
        out.push(own(route));
    }
    for (name, child) in &node.statics {
        route_patterns(child, &format!("{prefix}/{}", escape_static(name)), out);
    }
    if let Some((param, child)) = &node.dynamic {
        route_patterns(child, &format!("{prefix}/{{{param}}}"), out);
    }
    if let Some(catch_all) = &node.catch_all {
        if catch_all.optional {
            out.push(own(catch_all.route));
        }
        match &node.dynamic {
            None => out.push(Served {
                pattern: format!("{prefix}/{{*{}}}", catch_all.param),
                route: catch_all.route,
                fill_in: false,
            }),
            Some((param, child)) => fill(child, &format!("{prefix}/{{{param}}}"), catch_all, out),
        }
    }
}

/// Gives the catch-all every request under `node` (a dynamic sibling's
/// subtree) that no route of that subtree answers.
fn fill(node: &Node, prefix: &str, catch_all: &CatchAll, out: &mut Vec<Served>) {
    let mut push = |pattern| {
        out.push(Served {
            pattern,
            route: catch_all.route,
            fill_in: true,
        })
    };
    let own_url_taken = node.route.is_some() || node.catch_all.as_ref().is_some_and(|c| c.optional);
    if !own_url_taken {
        push(prefix.to_string());
    }
    if node.catch_all.is_some() {
        return; // a deeper catch-all already takes everything below
    }
    match &node.dynamic {
        Some((param, child)) => fill(child, &format!("{prefix}/{{{param}}}"), catch_all, out),
        None => push(format!("{prefix}/{{*{}}}", catch_all.param)),
    }
}

/// Every pattern to register: the public files with their trailing-slash
/// variants first (they win every clash, as in Next.js), then the served
/// routes, then the routes' trailing-slash variants that do not collide.
pub fn registrations(
    routes: &[Route],
    public: &[PublicFile],
    slash: TrailingSlash,
) -> Registrations {
    let mut serving = Vec::new();
    route_patterns(&build_trie(routes), "", &mut serving);

    let mut out = Registrations::default();
    let mut taken = BTreeSet::new();
    for (i, file) in public.iter().enumerate() {
        let pattern = public_pattern(file);
        let with_slash = format!("{pattern}/");
        let target = Target::Serve(i);
        let (served, other) = match public_slash(file, slash) {
            PublicSlash::Strip => (pattern, (with_slash, Target::RedirectStrip)),
            PublicSlash::Add => (with_slash, (pattern, Target::RedirectAdd)),
            PublicSlash::Both => (pattern, (with_slash, target)),
        };
        register(&mut taken, &mut out.public, served, target);
        register(&mut taken, &mut out.public, other.0, other.1);
    }
    let mut push = |pattern: String, target| register(&mut taken, &mut out.routes, pattern, target);
    let mut variants = Vec::new();
    for Served {
        pattern,
        route,
        fill_in,
    } in serving
    {
        let target = Target::Serve(RouteRef {
            index: route,
            fill_in,
        });
        // The route's own check handles slashes on catch-all requests.
        if pattern.contains("{*") || pattern == "/" {
            push(pattern, target);
            continue;
        }
        let with_slash = format!("{pattern}/");
        match slash {
            TrailingSlash::Redirect => {
                variants.push((with_slash, Target::RedirectStrip));
                push(pattern, target);
            }
            TrailingSlash::Add => {
                variants.push((pattern, Target::RedirectAdd));
                push(with_slash, target);
            }
            TrailingSlash::Both => {
                push(pattern, target);
                push(with_slash, target);
            }
        }
    }
    // Next.js redirects `/files/` to `/files` even where only
    // `/files/[...path]` exists (and the redirect then leads to a 404).
    if slash == TrailingSlash::Redirect {
        for route in routes {
            if let Some(UrlSegment::CatchAll(_)) = route.url.last() {
                let parent = &route.url[..route.url.len() - 1];
                if !parent.is_empty() {
                    variants.push((format!("{}/", url_pattern(parent)), Target::RedirectStrip));
                }
            }
        }
    }
    for (pattern, target) in variants {
        push(pattern, target);
    }
    out
}

/// Adds `pattern` unless an earlier registration has it.
fn register<T>(
    taken: &mut BTreeSet<String>,
    out: &mut Vec<Registration<T>>,
    pattern: String,
    target: Target<T>,
) {
    if taken.insert(pattern.clone()) {
        out.push(Registration { pattern, target });
    }
}

/// How a public file's URL treats a trailing slash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PublicSlash {
    /// Served without the slash; with it, 308 to without.
    Strip,
    /// Served with the slash; without it, 308 to with.
    Add,
    /// Served both ways.
    Both,
}

/// Next.js 14.2.35's rules, measured: by default every `/path/` is a 308 to
/// `/path` (`/logo.png/` too). With `trailingSlash: true` it has two
/// redirects, neither for `.well-known/`: a name ending in `.ext` (`\.\w+`)
/// loses the slash, a name without a dot gains one, and any other name
/// (`a.b-c`) is served with and without (its file system lookup ignores a
/// trailing slash).
fn public_slash(file: &PublicFile, slash: TrailingSlash) -> PublicSlash {
    match slash {
        TrailingSlash::Redirect => PublicSlash::Strip,
        TrailingSlash::Both => PublicSlash::Both,
        TrailingSlash::Add => {
            let name = file.segments.last().map_or("", String::as_str);
            let has_extension = name.rsplit_once('.').is_some_and(|(stem, ext)| {
                !stem.is_empty()
                    && !ext.is_empty()
                    && ext.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if file.segments.first().is_some_and(|s| s == WELL_KNOWN) {
                PublicSlash::Both
            } else if has_extension {
                PublicSlash::Strip
            } else if !name.contains('.') {
                PublicSlash::Add
            } else {
                PublicSlash::Both
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::build_routes;

    /// Registers like axum would and answers which route id a path reaches.
    struct Matcher {
        routes: Vec<Route>,
        public: Vec<PublicFile>,
        router: matchit::Router<Hit>,
    }

    /// What a path reaches.
    #[derive(Clone, Copy)]
    enum Hit {
        Public(usize),
        Route(usize),
        Redirect(&'static str),
    }

    fn hit<T>(target: Target<T>, serve: impl Fn(T) -> Hit) -> Hit {
        match target {
            Target::Serve(t) => serve(t),
            Target::RedirectStrip => Hit::Redirect("308 strip"),
            Target::RedirectAdd => Hit::Redirect("308 add"),
        }
    }

    /// A public file at `path` below `public/`, for pattern tests.
    fn public_file(path: &str) -> PublicFile {
        PublicFile {
            display_path: format!("public/{path}"),
            abs_path: format!("/public/{path}").into(),
            segments: path.split('/').map(String::from).collect(),
            content_type: "text/plain",
            etag: "\"0\"".into(),
            modified: None,
            len: 0,
            variants: Vec::new(),
        }
    }

    impl Matcher {
        fn new(paths: &[&str], slash: TrailingSlash) -> Matcher {
            Matcher::with_public(paths, &[], slash)
        }

        fn with_public(paths: &[&str], public: &[&str], slash: TrailingSlash) -> Matcher {
            let routes = build_routes(paths);
            let public: Vec<PublicFile> = public.iter().map(|p| public_file(p)).collect();
            let mut router = matchit::Router::new();
            let regs = registrations(&routes, &public, slash);
            let public_hits = regs
                .public
                .iter()
                .map(|r| (&r.pattern, hit(r.target, Hit::Public)));
            let route_hits = regs
                .routes
                .iter()
                .map(|r| (&r.pattern, hit(r.target, |route| Hit::Route(route.index))));
            for (pattern, hit) in public_hits.chain(route_hits) {
                router
                    .insert(pattern.clone(), hit)
                    .unwrap_or_else(|e| panic!("matchit refused {pattern}: {e}"));
            }
            Matcher {
                routes,
                public,
                router,
            }
        }

        fn at(&self, path: &str) -> String {
            match self.router.at(path).map(|m| *m.value) {
                Ok(Hit::Public(i)) => self.public[i].display_path.clone(),
                Ok(Hit::Route(i)) => self.routes[i].route_id(),
                Ok(Hit::Redirect(what)) => what.into(),
                Err(_) => "404".into(),
            }
        }
    }

    #[test]
    fn plain_tree_patterns() {
        let routes = build_routes(&[
            "",
            "api/[id]",
            "docs/[[...slug]]",
            "files/[...path]",
            "x/[id]",
            "x/[...rest]",
        ]);
        let got: Vec<_> = registrations(&routes, &[], TrailingSlash::Redirect)
            .routes
            .into_iter()
            .map(|r| match r.target {
                Target::Serve(RouteRef { index, fill_in }) => {
                    format!(
                        "{} Route({index}){}",
                        r.pattern,
                        if fill_in { " fill-in" } else { "" }
                    )
                }
                target => format!("{} {target:?}", r.pattern),
            })
            .collect();
        assert_eq!(
            got,
            [
                "/ Route(0)",
                "/api/{id} Route(1)",
                "/docs Route(2)",
                "/docs/{*slug} Route(2)",
                "/files/{*path} Route(3)",
                "/x/{id} Route(4)",
                "/x/{id}/{*rest} Route(5) fill-in",
                "/api/{id}/ RedirectStrip",
                "/docs/ RedirectStrip",
                "/x/{id}/ RedirectStrip",
                "/files/ RedirectStrip",
                "/x/ RedirectStrip",
            ]
        );
    }

    #[test]
    fn escapes_static_segments() {
        assert_eq!(escape_static("rss.xml"), "rss.xml");
        assert_eq!(escape_static("a b"), "a%20b");
        assert_eq!(escape_static("{x}"), "{{x}}");
        assert_eq!(escape_static("café"), "caf%C3%A9");
    }

    #[test]
    fn dynamic_beside_catch_all_follows_nextjs() {
        let tree = [
            "x/[id]",
            "x/[id]/posts/[postId]",
            "x/[...rest]",
            "x/me",
            "y/[id]/[sub]",
            "y/[...rest]",
            "z/[id]/a",
            "z/[[...rest]]",
            "w/[id]/[...more]",
            "w/[...rest]",
        ];
        for slash in [
            TrailingSlash::Redirect,
            TrailingSlash::Add,
            TrailingSlash::Both,
        ] {
            let m = Matcher::new(&tree, slash);
            if slash == TrailingSlash::Add {
                continue; // only checks that registration succeeds
            }
            let cases = [
                ("/x/1", "/x/[id]"),
                ("/x/me", "/x/me"),
                ("/x/1/posts/2", "/x/[id]/posts/[postId]"),
                ("/x/me/posts/2", "/x/[id]/posts/[postId]"),
                ("/x/1/posts", "/x/[...rest]"),
                ("/x/1/posts/2/3", "/x/[...rest]"),
                ("/x/1/other", "/x/[...rest]"),
                ("/x/me/other", "/x/[...rest]"),
                ("/x", "404"),
                ("/y/1", "/y/[...rest]"),
                ("/y/1/2", "/y/[id]/[sub]"),
                ("/y/1/2/3", "/y/[...rest]"),
                ("/z", "/z/[[...rest]]"),
                ("/z/1", "/z/[[...rest]]"),
                ("/z/1/a", "/z/[id]/a"),
                ("/z/1/b", "/z/[[...rest]]"),
                ("/w/1", "/w/[...rest]"),
                ("/w/1/2/3", "/w/[id]/[...more]"),
            ];
            for (path, want) in cases {
                assert_eq!(m.at(path), want, "{path} with {slash:?}");
            }
        }
    }

    #[test]
    fn trailing_slash_modes() {
        let tree = ["", "a", "b/[id]", "c/[...x]", "d/[[...x]]"];
        let m = Matcher::new(&tree, TrailingSlash::Redirect);
        assert_eq!(m.at("/a"), "/a");
        assert_eq!(m.at("/a/"), "308 strip");
        assert_eq!(m.at("/b/1/"), "308 strip");
        assert_eq!(m.at("/c/"), "308 strip");
        assert_eq!(m.at("/d/"), "308 strip");
        assert_eq!(m.at("/"), "/");
        let m = Matcher::new(&["x/[id]", "x/[...rest]"], TrailingSlash::Redirect);
        assert_eq!(m.at("/x/"), "308 strip");

        let m = Matcher::new(&tree, TrailingSlash::Add);
        assert_eq!(m.at("/a"), "308 add");
        assert_eq!(m.at("/a/"), "/a");
        assert_eq!(m.at("/b/1"), "308 add");
        assert_eq!(m.at("/d"), "308 add");
        assert_eq!(m.at("/d/"), "/d/[[...x]]");
        assert_eq!(m.at("/"), "/");

        let m = Matcher::new(&tree, TrailingSlash::Both);
        assert_eq!(m.at("/a"), "/a");
        assert_eq!(m.at("/a/"), "/a");
        assert_eq!(m.at("/b/1/"), "/b/[id]");
    }

    #[test]
    fn public_files_beat_routes_at_the_same_url_as_in_nextjs() {
        let routes = [
            "data.json",
            "dyn/[x]",
            "cat/[...rest]",
            "docs/[[...slug]]",
            "w/[id]",
            "w/[...rest]",
        ];
        let public = [
            "data.json",
            "dyn/file.txt",
            "cat/file.txt",
            "docs",
            "w/a/b.txt",
            "img/a b.txt",
        ];
        let m = Matcher::with_public(&routes, &public, TrailingSlash::Redirect);
        let cases = [
            ("/data.json", "public/data.json"),
            ("/data.json/", "308 strip"),
            ("/dyn/file.txt", "public/dyn/file.txt"),
            ("/dyn/other", "/dyn/[x]"),
            ("/cat/file.txt", "public/cat/file.txt"),
            ("/cat/a/b", "/cat/[...rest]"),
            ("/docs", "public/docs"),
            ("/docs/a", "/docs/[[...slug]]"),
            ("/w/a/b.txt", "public/w/a/b.txt"),
            ("/w/a", "/w/[id]"),
            ("/w/a/c", "/w/[...rest]"),
            ("/w/a/b.txt/c", "/w/[...rest]"),
            ("/img/a%20b.txt", "public/img/a b.txt"),
            ("/img/a b.txt", "404"),
            ("/img/a%20b.txt/", "308 strip"),
            ("/img/../data.json", "404"),
            ("/img/%2e%2e/data.json", "404"),
            ("/%2e%2e/Cargo.toml", "404"),
        ];
        for (path, want) in cases {
            assert_eq!(m.at(path), want, "{path}");
        }
        // the route at /data.json is shadowed: it has no pattern left
        let regs = registrations(
            &build_routes(&routes),
            &public.map(public_file),
            TrailingSlash::Redirect,
        );
        assert!(
            !regs
                .routes
                .iter()
                .any(|r| matches!(r.target, Target::Serve(RouteRef { index: 0, .. }))),
            "{regs:?}"
        );
    }

    #[test]
    fn public_trailing_slashes_follow_nextjs() {
        let public = [
            "logo.png",
            "api/noext",
            "odd.b-c",
            ".well-known/acme-challenge/tok",
            ".well-known/security.txt",
        ];
        let m = Matcher::with_public(&["api/route"], &public, TrailingSlash::Redirect);
        assert_eq!(m.at("/logo.png"), "public/logo.png");
        assert_eq!(m.at("/logo.png/"), "308 strip");
        assert_eq!(m.at("/api/noext/"), "308 strip");
        assert_eq!(m.at("/.well-known/security.txt/"), "308 strip");

        let m = Matcher::with_public(&["api/route"], &public, TrailingSlash::Add);
        assert_eq!(m.at("/logo.png"), "public/logo.png");
        assert_eq!(m.at("/logo.png/"), "308 strip");
        assert_eq!(m.at("/api/noext"), "308 add");
        assert_eq!(m.at("/api/noext/"), "public/api/noext");
        assert_eq!(m.at("/odd.b-c"), "public/odd.b-c");
        assert_eq!(m.at("/odd.b-c/"), "public/odd.b-c");
        let tok = "public/.well-known/acme-challenge/tok";
        assert_eq!(m.at("/.well-known/acme-challenge/tok"), tok);
        assert_eq!(m.at("/.well-known/acme-challenge/tok/"), tok);
        assert_eq!(m.at("/api/route"), "308 add");

        let m = Matcher::with_public(&[], &public, TrailingSlash::Both);
        assert_eq!(m.at("/logo.png"), "public/logo.png");
        assert_eq!(m.at("/logo.png/"), "public/logo.png");
    }
}
