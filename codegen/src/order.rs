//! The order of the route table: Next.js's ranking. Only `ROUTES` and the
//! generated code's layout depend on it; which route a request reaches is
//! the router's matching precedence, not this order.

use crate::model::{Route, UrlSegment};

/// Static before dynamic before catch-all before optional catch-all,
/// segment by segment, as Next.js orders its routes; ties by file path.
pub fn sort_for_matching(routes: &mut Vec<Route>) {
    // Each route's rank as one byte string, compared with `memcmp`: the
    // comparator over segment iterators it replaces ran unoptimized in the
    // macro, about a thousand instructions a comparison.
    let mut keyed: Vec<(Vec<u8>, usize)> = routes
        .iter()
        .enumerate()
        .map(|(i, route)| (sort_key(route), i))
        .collect();
    keyed.sort_unstable();
    let mut slots: Vec<Option<Route>> = routes.drain(..).map(Some).collect();
    routes.extend(
        keyed
            .iter()
            .map(|&(_, i)| slots[i].take().expect("each route once")),
    );
}

/// A byte string that sorts as the route does: per segment its kind
/// (1 static, 2 `[x]`, 3 `[...x]`, 4 `[[...x]]`), its text and a 0 byte;
/// then 0 and the file path. Text bytes 0 and 1 are escaped as 1 1 and 1 2,
/// so a text sorts before every longer one it begins, as `str` does, and a
/// URL before every longer one it begins (0 is below every kind).
fn sort_key(route: &Route) -> Vec<u8> {
    fn push_text(key: &mut Vec<u8>, text: &str) {
        for &b in text.as_bytes() {
            match b {
                0 | 1 => key.extend_from_slice(&[1, b + 1]),
                _ => key.push(b),
            }
        }
        key.push(0);
    }
    let mut key = Vec::new();
    for segment in &route.url {
        let (kind, text) = match segment {
            UrlSegment::Static(s) => (1, s),
            UrlSegment::Dynamic(n) => (2, n),
            UrlSegment::CatchAll(n) => (3, n),
            UrlSegment::OptionalCatchAll(n) => (4, n),
        };
        key.push(kind);
        push_text(&mut key, text);
    }
    key.push(0);
    push_text(&mut key, &route.file.display_path);
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::build_routes;

    /// The ranking as first written, over segment iterators.
    fn by_segments(a: &Route, b: &Route) -> std::cmp::Ordering {
        fn rank(s: &UrlSegment) -> (u8, &str) {
            match s {
                UrlSegment::Static(s) => (0, s),
                UrlSegment::Dynamic(n) => (1, n),
                UrlSegment::CatchAll(n) => (2, n),
                UrlSegment::OptionalCatchAll(n) => (3, n),
            }
        }
        a.url
            .iter()
            .map(rank)
            .cmp(b.url.iter().map(rank))
            .then_with(|| a.file.display_path.cmp(&b.file.display_path))
    }

    #[test]
    fn the_byte_keys_sort_as_the_segments_do() {
        let mut routes = build_routes(&[
            "a",
            "a/b",
            "ab",
            "a/[id]",
            "a/[...x]",
            "a/[[...x]]",
            "[id]",
            "[id]/a",
            "[x]",
            "[...rest]",
            "(g)/a",
            "b",
            "a%00",
            "a%01",
            "a%00b",
            "a%02",
            "",
            "a/b/c",
            "%5Fa",
        ]);
        routes.reverse();
        let mut want = routes.clone();
        want.sort_by(by_segments);
        sort_for_matching(&mut routes);
        let paths = |routes: &[Route]| -> Vec<String> {
            routes.iter().map(|r| r.file.display_path.clone()).collect()
        };
        assert_eq!(paths(&routes), paths(&want));
    }

    #[test]
    fn static_then_dynamic_then_catch_alls_then_by_path() {
        let mut routes = build_routes(&[
            "a/[[...rest]]",
            "a/[...rest]",
            "a/[id]",
            "a/b",
            "(y)/c",
            "(x)/c",
            "",
        ]);
        sort_for_matching(&mut routes);
        let got: Vec<&str> = routes
            .iter()
            .map(|r| r.file.display_path.as_str())
            .collect();
        assert_eq!(
            got,
            [
                "app/route.rs",
                "app/a/b/route.rs",
                "app/a/[id]/route.rs",
                "app/a/[...rest]/route.rs",
                "app/a/[[...rest]]/route.rs",
                "app/(x)/c/route.rs",
                "app/(y)/c/route.rs",
            ]
        );
    }
}
