use super::*;

const ROUTES: &[&str] = &[
    "/",
    "/health",
    "/api/users/[id]",
    "/api/users/[id]/posts/[post]",
    "/api/files/[...path]",
    "/docs/[[...slug]]",
    "/a b",
];

fn ok(route: &str, given: &[&str]) -> Vec<Piece> {
    plan(ROUTES, false, route, given).unwrap()
}

fn err(route: &str, given: &[&str]) -> HrefError {
    plan(ROUTES, false, route, given).unwrap_err()
}

fn text(s: &str) -> Piece {
    Piece::Text(s.to_string())
}

#[test]
fn routes_become_pieces() {
    assert_eq!(ok("/", &[]), []);
    assert_eq!(ok("/health", &[]), [text("/health")]);
    assert_eq!(ok("/a b", &[]), [text("/a%20b")]);
    assert_eq!(
        ok("/api/users/[id]", &["id"]),
        [text("/api/users"), Piece::Segment(0)]
    );
    assert_eq!(
        ok("/api/users/[id]/posts/[post]", &["post", "id"]),
        [
            text("/api/users"),
            Piece::Segment(1),
            text("/posts"),
            Piece::Segment(0)
        ]
    );
    assert_eq!(
        ok("/api/files/[...path]", &["path"]),
        [text("/api/files"), Piece::Rest(0)]
    );
    assert_eq!(ok("/docs/[[...slug]]", &[]), [text("/docs")]);
    assert_eq!(
        ok("/docs/[[...slug]]", &["slug"]),
        [text("/docs"), Piece::Rest(0)]
    );
}

#[test]
fn trailing_slash_add_ends_every_url_but_the_root_with_a_slash() {
    let add = |route, given: &[&str]| plan(ROUTES, true, route, given).unwrap();
    assert_eq!(add("/", &[]), []);
    assert_eq!(add("/health", &[]), [text("/health/")]);
    assert_eq!(
        add("/api/users/[id]", &["id"]),
        [text("/api/users"), Piece::Segment(0), text("/")]
    );
}

#[test]
fn an_unknown_route_names_the_closest() {
    let e = err("/api/user/[id]", &["id"]);
    assert_eq!(e.argument, None);
    assert_eq!(
        e.message,
        "approute: no route `/api/user/[id]` in the app folder\n  = help: did you mean `/api/users/[id]`?"
    );
    // a URL, not a route id: the route serving it comes first
    let e = err("/api/users/42", &[]);
    assert!(
        e.message.ends_with("did you mean `/api/users/[id]`?"),
        "{}",
        e.message
    );
    let e = err("/api/files/a/b", &[]);
    assert!(
        e.message.contains("`/api/files/[...path]`"),
        "{}",
        e.message
    );
    let e = err("/completely/elsewhere/entirely", &[]);
    assert!(
        e.message.contains("as `app::ROUTES` lists it"),
        "{}",
        e.message
    );
    // a group folder is no part of the route
    let e = err("/(internal)/health", &[]);
    assert!(
        e.message.contains("did you mean `/health`?"),
        "{}",
        e.message
    );
}

#[test]
fn missing_and_extra_parameters_name_the_routes_parameters() {
    assert_eq!(
        err("/api/users/[id]/posts/[post]", &["id"]).message,
        "approute: the route `/api/users/[id]/posts/[post]` needs the parameter `post`; its parameters: `id`, `post`"
    );
    assert_eq!(
        err("/api/users/[id]/posts/[post]", &[]).message,
        "approute: the route `/api/users/[id]/posts/[post]` needs the parameters `id`, `post`; its parameters: `id`, `post`"
    );
    let e = err("/api/users/[id]", &["id", "name"]);
    assert_eq!(e.argument, Some(1));
    assert_eq!(
        e.message,
        "approute: the route `/api/users/[id]` has no parameter `name`; its parameters: `id`"
    );
    assert_eq!(
        err("/health", &["id"]).message,
        "approute: the route `/health` has no parameter `id`; it has no parameters"
    );
    assert_eq!(err("/api/users/[id]", &["id", "id"]).argument, Some(1));
}
