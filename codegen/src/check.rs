//! Rules that involve the whole tree: what Next.js refuses at build time,
//! and what would make the router ambiguous.
//!
//! Groups are gone by now (a [`Route`]'s URL has none), so two routes
//! collide exactly when their URLs have the same shape.

use std::collections::BTreeMap;

use crate::error::{Diagnostic, Location};
use crate::model::{route_id, Convention, Method, PublicFile, Route, UrlSegment};

/// Every conflict in `routes` and between them and the `public` files,
/// each naming all the files involved.
pub fn check(routes: &[Route], public: &[PublicFile]) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for route in routes {
        check_one(route, &mut problems);
    }
    same_url(routes, &mut problems);
    same_position(routes, &mut problems);
    public_conflicts(public, routes, &mut problems);
    problems
}

fn file(route: &Route) -> Location {
    Location::file(route.file.display_path.clone())
}

fn check_one(route: &Route, problems: &mut Vec<Diagnostic>) {
    if route.config.revalidate.is_some()
        && !route.any_method
        && !route.methods().contains(&Method::Get)
    {
        problems.push(
            Diagnostic::new(
                format!(
                    "approute: `{}` sets REVALIDATE but exports no GET",
                    route.file.display_path
                ),
                "only GET answers are cached; export a GET handler, or remove REVALIDATE",
            )
            .at(file(route)),
        );
    }
    let last = route.url.len().saturating_sub(1);
    for (i, seg) in route.url.iter().enumerate() {
        if seg.is_catch_all() && i != last {
            problems.push(
                Diagnostic::new(
                    format!(
                        "approute: catch-all `{}` must be the last segment of the URL, but `{}` continues after it",
                        seg.display(),
                        route.route_id()
                    ),
                    format!(
                        "a catch-all takes every remaining segment; move this route.rs into the `{}` folder, or use `[{}]` for one segment",
                        seg.display(),
                        seg.param().unwrap_or_default()
                    ),
                )
                .at(file(route)),
            );
        }
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for seg in &route.url {
        if let Some(name) = seg.param() {
            *seen.entry(name).or_default() += 1;
        }
    }
    for (name, count) in seen {
        if count > 1 {
            problems.push(
                Diagnostic::new(
                    format!(
                        "approute: parameter `{name}` appears {count} times in `{}`",
                        route.route_id()
                    ),
                    "each parameter of a route needs its own name, e.g. `[userId]/posts/[postId]`",
                )
                .at(file(route)),
            );
        }
    }
}

/// The URL shape with parameter names erased: two routes with the same key
/// answer exactly the same requests. One string (each part's length, `:`,
/// the part), not a `Vec<String>`: the maps below compare their keys in
/// unoptimized code in the macro, where a string is one `memcmp`.
fn shape(url: &[UrlSegment]) -> String {
    let mut key = String::new();
    for segment in url {
        push_shape(&mut key, segment);
    }
    key
}

fn push_shape(key: &mut String, segment: &UrlSegment) {
    let part = erased(segment);
    push_decimal(key, part.len());
    key.push(':');
    key.push_str(part);
}

/// `n.to_string()` pushed without the formatting machinery, which costs
/// ~1,000 instructions a call in the macro's unoptimised build.
fn push_decimal(key: &mut String, n: usize) {
    if n >= 10 {
        push_decimal(key, n / 10);
    }
    key.push(char::from(b'0' + (n % 10) as u8));
}

/// A segment with its parameter name erased.
fn erased(segment: &UrlSegment) -> &str {
    match segment {
        UrlSegment::Static(s) => s,
        UrlSegment::Dynamic(_) => "[]",
        UrlSegment::CatchAll(_) => "[...]",
        UrlSegment::OptionalCatchAll(_) => "[[...]]",
    }
}

fn same_url(routes: &[Route], problems: &mut Vec<Diagnostic>) {
    let mut by_shape: BTreeMap<String, Vec<&Route>> = BTreeMap::new();
    for route in routes {
        by_shape.entry(shape(&route.url)).or_default().push(route);
    }
    for group in by_shape.values().filter(|g| g.len() > 1) {
        let url = group[0].route_id();
        let from = |c| group.iter().any(|r| r.file.convention == c);
        let (headline, help) = if from(Convention::App) && from(Convention::Pages) {
            (
                format!("approute: conflicting app and page files serve the URL `{url}`"),
                "Next.js refuses this too (\"Conflicting app and page file was found\"); once the route.rs answers, delete the pages/api file",
            )
        } else if from(Convention::Pages) {
            (
                format!("approute: {} pages/api files serve the same URL `{url}`", group.len()),
                "`name.rs` and `name/index.rs` are the same URL (Next.js: \"Duplicate page detected\"); keep one",
            )
        } else if group.iter().any(|r| r.in_group) {
            (
                format!("approute: {} route files serve the same URL `{url}`", group.len()),
                "route groups like `(name)` are left out of the URL, so these folders collide; keep one route.rs for this URL, or rename a folder to change the URL",
            )
        } else if group.iter().all(|r| r.url == group[0].url) {
            (
                format!("approute: {} route files serve the same URL `{url}`", group.len()),
                "folder names are matched in the encoded form a client sends, so `a b` and `a%20b` (or `_x` and `%5Fx`) are one URL, as in Next.js; keep one folder",
            )
        } else {
            (
                format!("approute: {} route files serve the same URL `{url}`", group.len()),
                "dynamic folders at the same place match the same requests whatever they are named; keep one of them",
            )
        };
        let mut d = Diagnostic::new(headline, help);
        for route in group {
            d = d.at(file(route));
        }
        problems.push(d);
    }

    // `a/[[...x]]` also answers `a` itself, so it clashes with `a/route.rs`.
    for route in routes {
        let Some(UrlSegment::OptionalCatchAll(_)) = route.url.last() else {
            continue;
        };
        let parent = shape(&route.url[..route.url.len() - 1]);
        for other in by_shape.get(&parent).into_iter().flatten() {
            problems.push(
                Diagnostic::new(
                    format!(
                        "approute: `{}` and `{}` both answer `{}`",
                        route.route_id(),
                        other.route_id(),
                        other.route_id()
                    ),
                    format!(
                        "an optional catch-all also matches its parent URL; delete `{}` and handle the empty case in the catch-all, or make it a required catch-all `{}`",
                        other.file.display_path,
                        route
                            .url
                            .last()
                            .map(|s| format!("[...{}]", s.param().unwrap_or_default()))
                            .unwrap_or_default()
                    ),
                )
                .at(file(route))
                .at(file(other)),
            );
        }
    }
}

/// Which parameter kinds may share a position: one name per kind, and a
/// required catch-all never beside an optional one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Dynamic,
    CatchAll,
}

fn same_position(routes: &[Route], problems: &mut Vec<Diagnostic>) {
    // (URL shape before the segment, kind) -> the segment's index and the
    // first route seen with each name
    type ByName<'a> = (usize, BTreeMap<String, &'a Route>);
    let mut names: BTreeMap<(String, Kind), ByName> = BTreeMap::new();
    let mut catch_alls: BTreeMap<String, BTreeMap<bool, &Route>> = BTreeMap::new();
    for route in routes {
        let mut prefix = String::new();
        for (i, seg) in route.url.iter().enumerate() {
            let param = match seg {
                UrlSegment::Dynamic(n) => Some((Kind::Dynamic, n)),
                UrlSegment::CatchAll(n) | UrlSegment::OptionalCatchAll(n) => {
                    Some((Kind::CatchAll, n))
                }
                UrlSegment::Static(_) => None,
            };
            if let Some((kind, name)) = param {
                if kind == Kind::CatchAll {
                    let optional = matches!(seg, UrlSegment::OptionalCatchAll(_));
                    catch_alls
                        .entry(prefix.clone())
                        .or_default()
                        .entry(optional)
                        .or_insert(route);
                }
                names
                    .entry((prefix.clone(), kind))
                    .or_insert_with(|| (i, BTreeMap::new()))
                    .1
                    .entry(name.clone())
                    .or_insert(route);
            }
            push_shape(&mut prefix, seg);
        }
    }
    for (at, by_name) in names.values() {
        if by_name.len() < 2 {
            continue;
        }
        let list: Vec<String> = by_name.keys().map(|n| format!("`{n}`")).collect();
        // Every route here has the same shape up to `at`.
        let first = by_name.values().next().expect("a name");
        let position = route_id(
            &first.url[..*at]
                .iter()
                .map(|s| UrlSegment::Static(erased(s).to_string()))
                .collect::<Vec<_>>(),
        );
        let mut d = Diagnostic::new(
            format!(
                "approute: different parameter names {} for the same dynamic segment after `{position}`",
                list.join(" and ")
            ),
            "requests to that position cannot tell the names apart, so Next.js and approute need one name; rename the folders to the same name",
        );
        for route in by_name.values() {
            d = d.at(file(route));
        }
        problems.push(d);
    }
    for both in catch_alls.values().filter(|m| m.len() == 2) {
        problems.push(
            Diagnostic::new(
                format!(
                    "approute: a required catch-all `{}` and an optional catch-all `{}` at the same level",
                    both[&false].url.last().map(UrlSegment::display).unwrap_or_default(),
                    both[&true].url.last().map(UrlSegment::display).unwrap_or_default(),
                ),
                "they match the same requests; keep one (the optional one if the bare URL needs an answer)",
            )
            .at(file(both[&false]))
            .at(file(both[&true])),
        );
    }
}

/// Public files that Next.js refuses beside the routes: one at the URL of
/// a `pages/api` route ("Conflicting public and page file was found"). Like
/// Next.js, this compares the page's name (`/api/hello`, `/api/[id]`) with
/// the file's path literally. A public file at the URL of an `app/` route
/// is not a conflict: Next.js builds it and serves the file.
fn public_conflicts(files: &[PublicFile], routes: &[Route], problems: &mut Vec<Diagnostic>) {
    for route in routes
        .iter()
        .filter(|r| r.file.convention == Convention::Pages)
    {
        let page = route.route_id();
        for file in files.iter().filter(|f| f.next_path() == page) {
            problems.push(
                Diagnostic::new(
                    format!(
                        "approute: conflicting public and page files serve the URL `{page}`"
                    ),
                    format!(
                        "Next.js refuses this too (\"Conflicting public and page file was found\"): only one of them can answer; rename or delete `{}` or `{}`",
                        file.display_path, route.file.display_path
                    ),
                )
                .at(Location::file(file.display_path.clone()))
                .at(Location::file(route.file.display_path.clone())),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::build_routes;

    fn problems(paths: &[&str]) -> Vec<String> {
        let routes = build_routes(paths);
        check(&routes, &[]).iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn push_decimal_writes_what_to_string_does() {
        for n in [0, 7, 9, 10, 42, 100, 1234, usize::MAX] {
            let mut key = String::from("k");
            push_decimal(&mut key, n);
            assert_eq!(key, format!("k{n}"));
        }
    }

    #[test]
    fn a_good_tree_passes() {
        let p = problems(&[
            "",
            "api/users/[id]",
            "api/users/me",
            "api/files/[...path]",
            "api/files/[id]",
            "api/docs/[[...slug]]",
            "(a)/about",
            "(b)/team/[member]",
            "[x]/[...rest]",
        ]);
        assert!(p.is_empty(), "{p:#?}");
    }

    #[test]
    fn two_groups_same_url() {
        let p = problems(&["(a)/about", "(b)/about"]);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(p[0].contains("2 route files serve the same URL `/about`"));
        assert!(p[0].contains("--> app/(a)/about/route.rs"));
        assert!(p[0].contains("--> app/(b)/about/route.rs"));
        assert!(p[0].contains("route groups like `(name)` are left out of the URL"));
    }

    #[test]
    fn folders_that_encode_to_one_url_conflict() {
        let p = problems(&["api/a b", "api/a%20b"]);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(
            p[0].contains("2 route files serve the same URL"),
            "{}",
            p[0]
        );
        assert!(p[0].contains("--> app/api/a b/route.rs"), "{}", p[0]);
        assert!(p[0].contains("--> app/api/a%20b/route.rs"), "{}", p[0]);
        assert!(p[0].contains("matched in the encoded form a client sends"));
    }

    #[test]
    fn same_shape_different_names_is_one_error() {
        let p = problems(&["a/[id]", "a/[slug]"]);
        assert!(
            p.iter().any(|m| m.contains("serve the same URL `/a/[id]`")),
            "{p:#?}"
        );
        assert!(p
            .iter()
            .any(|m| m.contains("different parameter names `id` and `slug`")));
    }

    #[test]
    fn different_names_at_one_position() {
        let p = problems(&["users/[id]", "users/[userId]/posts"]);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(p[0].contains("`id` and `userId` for the same dynamic segment after `/users`"));
        assert!(p[0].contains("app/users/[id]/route.rs"));
        assert!(p[0].contains("app/users/[userId]/posts/route.rs"));
    }

    #[test]
    fn catch_all_must_be_last() {
        let p = problems(&["files/[...path]/meta"]);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].contains("catch-all `[...path]` must be the last segment"),
            "{}",
            p[0]
        );
    }

    #[test]
    fn optional_catch_all_beside_parent_route() {
        let p = problems(&["docs", "docs/[[...slug]]"]);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(p[0].contains("`/docs/[[...slug]]` and `/docs` both answer `/docs`"));
        assert!(p[0].contains("app/docs/route.rs"));
        // the parent may sit in a group: it still has the same URL
        let p = problems(&["(x)/docs", "docs/[[...slug]]"]);
        assert_eq!(p.len(), 1, "{p:#?}");
    }

    #[test]
    fn required_beside_optional_catch_all() {
        let p = problems(&["(a)/d/[...x]", "(b)/d/[[...x]]"]);
        assert!(
            p.iter()
                .any(|m| m
                    .contains("required catch-all `[...x]` and an optional catch-all `[[...x]]`")),
            "{p:#?}"
        );
    }

    #[test]
    fn app_and_pages_serving_one_url() {
        let mut routes = build_routes(&["api/hello", "api/users"]);
        let mut pages = build_routes(&["api/hello", "api/users/[id]"]);
        for r in &mut pages {
            r.file.convention = Convention::Pages;
            r.file.display_path = format!("pages/{}.rs", r.file.folders.join("/"));
        }
        routes.append(&mut pages);
        let p: Vec<String> = check(&routes, &[]).iter().map(|d| d.to_string()).collect();
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(p[0].contains("conflicting app and page files serve the URL `/api/hello`"));
        assert!(p[0].contains("--> app/api/hello/route.rs"));
        assert!(p[0].contains("--> pages/api/hello.rs"));
    }

    #[test]
    fn revalidate_needs_get() {
        let mut routes = build_routes(&["a"]);
        routes[0].config.revalidate = Some(60);
        assert!(check(&routes, &[]).is_empty());
        routes[0].exports[0].method = crate::model::Method::Post;
        let p: Vec<String> = check(&routes, &[]).iter().map(|d| d.to_string()).collect();
        assert!(p[0].contains("sets REVALIDATE but exports no GET"), "{p:?}");
    }

    #[test]
    fn repeated_param_name() {
        let p = problems(&["[id]/x/[id]"]);
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("parameter `id` appears 2 times"));
    }

    #[test]
    fn pages_routes_conflict_with_public_files_literally() {
        let dir = crate::testkit::public_tree(&[
            "api/hello",
            "api/[id]",
            "api/users",
            "api/ok.txt",
            "app.txt",
        ]);
        let (files, _) = crate::scan::scan_public(&dir.path().join("public"), "public");
        let mut routes = crate::testkit::build_routes(&["api/hello", "api/[id]", "app.txt"]);
        for r in &mut routes[..2] {
            r.file.convention = Convention::Pages;
            r.file.display_path = format!("pages/{}.rs", r.file.folders.join("/"));
        }
        let mut index = crate::testkit::build_routes(&["api/users"]);
        index[0].file.convention = Convention::Pages;
        index[0].file.display_path = "pages/api/users/index.rs".into();
        routes.append(&mut index);

        let p: Vec<String> = check(&routes, &files)
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(
            p,
            [
                "approute: conflicting public and page files serve the URL `/api/hello`\n  --> public/api/hello\n  --> pages/api/hello.rs\n   = help: Next.js refuses this too (\"Conflicting public and page file was found\"): only one of them can answer; rename or delete `public/api/hello` or `pages/api/hello.rs`",
                "approute: conflicting public and page files serve the URL `/api/[id]`\n  --> public/api/[id]\n  --> pages/api/[id].rs\n   = help: Next.js refuses this too (\"Conflicting public and page file was found\"): only one of them can answer; rename or delete `public/api/[id]` or `pages/api/[id].rs`",
                "approute: conflicting public and page files serve the URL `/api/users`\n  --> public/api/users\n  --> pages/api/users/index.rs\n   = help: Next.js refuses this too (\"Conflicting public and page file was found\"): only one of them can answer; rename or delete `public/api/users` or `pages/api/users/index.rs`",
            ],
            "the app route at /app.txt is no conflict: the file wins"
        );
    }
}
