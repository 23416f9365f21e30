//! Turns the checked routes into the path patterns axum's router (matchit)
//! is given, including what matchit cannot express directly:
//!
//! - `[[...x]]` serves its folder's own URL too, so it gets two patterns.
//! - matchit refuses `/a/{id}` beside `/a/{*rest}`, which Next.js allows (the
//!   dynamic route wins where it matches). There the catch-all gets "fill-in"
//!   patterns under `{id}` that catch whatever the dynamic routes leave, so
//!   matchit's static > param > catch-all backtracking gives Next.js's answer.
//! - the trailing-slash variants, which redirect or serve per [`TrailingSlash`].

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Route, Segment, TrailingSlash};

/// What a registered pattern leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The route at this index in the routes list.
    Route(usize),
    /// 308 to the same path without its trailing slash.
    RedirectStrip,
    /// 308 to the same path with a trailing slash.
    RedirectAdd,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub pattern: String,
    pub target: Target,
}

#[derive(Default)]
struct Node {
    route: Option<usize>,
    statics: BTreeMap<String, Node>,
    dynamic: Option<(String, Box<Node>)>,
    /// (parameter name, route index, optional)
    catch_all: Option<(String, usize, bool)>,
}

fn build_trie(routes: &[Route]) -> Node {
    let mut root = Node::default();
    for (index, route) in routes.iter().enumerate() {
        let mut node = &mut root;
        for seg in &route.url {
            node = match seg {
                Segment::Static(s) => node.statics.entry(s.clone()).or_default(),
                Segment::Dynamic(n) => {
                    &mut node
                        .dynamic
                        .get_or_insert_with(|| (n.clone(), Box::default()))
                        .1
                }
                Segment::CatchAll(n) | Segment::OptionalCatchAll(n) => {
                    let optional = matches!(seg, Segment::OptionalCatchAll(_));
                    node.catch_all = Some((n.clone(), index, optional));
                    break;
                }
                Segment::Group(_) => continue,
            };
        }
        if !route.url.last().is_some_and(Segment::is_catch_all) {
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

/// The matchit pattern of a URL without catch-alls.
fn matchit_pattern(url: &[Segment]) -> String {
    url.iter()
        .map(|s| match s {
            Segment::Static(s) => format!("/{}", escape_static(s)),
            Segment::Group(_) => String::new(),
            Segment::Dynamic(n) => format!("/{{{n}}}"),
            Segment::CatchAll(n) | Segment::OptionalCatchAll(n) => format!("/{{*{n}}}"),
        })
        .collect()
}

fn served(prefix: &str) -> String {
    if prefix.is_empty() {
        "/".to_string()
    } else {
        prefix.to_string()
    }
}

/// The patterns serving each route, before trailing-slash variants.
fn serve(node: &Node, prefix: &str, out: &mut Vec<(String, usize)>) {
    if let Some(route) = node.route {
        out.push((served(prefix), route));
    }
    for (name, child) in &node.statics {
        serve(child, &format!("{prefix}/{}", escape_static(name)), out);
    }
    if let Some((name, child)) = &node.dynamic {
        serve(child, &format!("{prefix}/{{{name}}}"), out);
    }
    if let Some((name, route, optional)) = &node.catch_all {
        if *optional {
            out.push((served(prefix), *route));
        }
        match &node.dynamic {
            None => out.push((format!("{prefix}/{{*{name}}}"), *route)),
            Some((param, child)) => {
                fill(child, &format!("{prefix}/{{{param}}}"), name, *route, out)
            }
        }
    }
}

/// Gives the catch-all `route` every request under `node` (a dynamic
/// sibling's subtree) that no route of that subtree answers.
fn fill(node: &Node, prefix: &str, name: &str, route: usize, out: &mut Vec<(String, usize)>) {
    let own_url_taken =
        node.route.is_some() || matches!(node.catch_all, Some((_, _, optional)) if optional);
    if !own_url_taken {
        out.push((prefix.to_string(), route));
    }
    if node.catch_all.is_some() {
        return; // a deeper catch-all already takes everything below
    }
    match &node.dynamic {
        Some((param, child)) => fill(child, &format!("{prefix}/{{{param}}}"), name, route, out),
        None => out.push((format!("{prefix}/{{*{name}}}"), route)),
    }
}

/// Every pattern to register, served routes first, then the trailing-slash
/// variants that do not collide with them.
pub fn registrations(routes: &[Route], slash: TrailingSlash) -> Vec<Registration> {
    let mut serving = Vec::new();
    serve(&build_trie(routes), "", &mut serving);

    let mut out: Vec<Registration> = Vec::new();
    let mut taken = BTreeSet::new();
    let mut push = |out: &mut Vec<Registration>, pattern: String, target| {
        if taken.insert(pattern.clone()) {
            out.push(Registration { pattern, target });
        }
    };
    let mut variants = Vec::new();
    for (pattern, route) in serving {
        // The route's own check handles slashes on catch-all requests.
        if pattern.contains("{*") || pattern == "/" {
            push(&mut out, pattern, Target::Route(route));
            continue;
        }
        let with_slash = format!("{pattern}/");
        match slash {
            TrailingSlash::Redirect => {
                variants.push((with_slash, Target::RedirectStrip));
                push(&mut out, pattern, Target::Route(route));
            }
            TrailingSlash::Add => {
                variants.push((pattern, Target::RedirectAdd));
                push(&mut out, with_slash, Target::Route(route));
            }
            TrailingSlash::Both => {
                push(&mut out, pattern, Target::Route(route));
                push(&mut out, with_slash, Target::Route(route));
            }
        }
    }
    // Next.js redirects `/files/` to `/files` even where only
    // `/files/[...path]` exists (and the redirect then leads to a 404).
    if slash == TrailingSlash::Redirect {
        for route in routes {
            if let Some(Segment::CatchAll(_)) = route.url.last() {
                let parent = &route.url[..route.url.len() - 1];
                if !parent.is_empty() {
                    variants.push((
                        format!("{}/", matchit_pattern(parent)),
                        Target::RedirectStrip,
                    ));
                }
            }
        }
    }
    for (pattern, target) in variants {
        push(&mut out, pattern, target);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build_routes;

    /// Registers like axum would and answers which route id a path reaches.
    struct Matcher {
        routes: Vec<Route>,
        router: matchit::Router<Target>,
    }

    impl Matcher {
        fn new(paths: &[&str], slash: TrailingSlash) -> Matcher {
            let routes = build_routes(paths);
            let mut router = matchit::Router::new();
            for r in registrations(&routes, slash) {
                router
                    .insert(r.pattern.clone(), r.target)
                    .unwrap_or_else(|e| panic!("matchit refused {}: {e}", r.pattern));
            }
            Matcher { routes, router }
        }

        fn at(&self, path: &str) -> String {
            match self.router.at(path).map(|m| *m.value) {
                Ok(Target::Route(i)) => self.routes[i].pattern(),
                Ok(Target::RedirectStrip) => "308 strip".into(),
                Ok(Target::RedirectAdd) => "308 add".into(),
                Err(_) => "404".into(),
            }
        }
    }

    #[test]
    fn plain_tree_patterns() {
        let routes = build_routes(&["", "api/[id]", "docs/[[...slug]]", "files/[...path]"]);
        let got: Vec<_> = registrations(&routes, TrailingSlash::Redirect)
            .into_iter()
            .map(|r| format!("{} {:?}", r.pattern, r.target))
            .collect();
        assert_eq!(
            got,
            [
                "/ Route(0)",
                "/api/{id} Route(1)",
                "/docs Route(2)",
                "/docs/{*slug} Route(2)",
                "/files/{*path} Route(3)",
                "/api/{id}/ RedirectStrip",
                "/docs/ RedirectStrip",
                "/files/ RedirectStrip",
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
}
