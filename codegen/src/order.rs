//! The order of the route table: Next.js's ranking. Only `ROUTES` and the
//! generated code's layout depend on it; which route a request reaches is
//! the router's matching precedence, not this order.

use crate::model::{Route, UrlSegment};

/// Static before dynamic before catch-all before optional catch-all,
/// segment by segment, as Next.js orders its routes; ties by file path.
pub fn sort_for_matching(routes: &mut [Route]) {
    fn rank(s: &UrlSegment) -> (u8, &str) {
        match s {
            UrlSegment::Static(s) => (0, s),
            UrlSegment::Dynamic(n) => (1, n),
            UrlSegment::CatchAll(n) => (2, n),
            UrlSegment::OptionalCatchAll(n) => (3, n),
        }
    }
    routes.sort_by(|a, b| {
        a.url
            .iter()
            .map(rank)
            .cmp(b.url.iter().map(rank))
            .then_with(|| a.file.display_path.cmp(&b.file.display_path))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::build_routes;

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
