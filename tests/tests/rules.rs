//! Table-driven, in-process checks of every routing rule over the fixture
//! tree in `fixtures/rules/app`, served in each trailing-slash mode.

mod support;

use approute::axum::Router;
use approute_tests::{rules, rules_add, rules_both, stateful, Counter};
use support::call;

/// What a request must get: the status, then the route that answered (its
/// `x-route`) or the `Location` of a redirect, then the params as JSON.
struct Case {
    request: &'static str,
    status: u16,
    route_or_location: &'static str,
    params: &'static str,
}

const fn case(
    request: &'static str,
    status: u16,
    route_or_location: &'static str,
    params: &'static str,
) -> Case {
    Case {
        request,
        status,
        route_or_location,
        params,
    }
}

async fn run(router: Router, cases: &[Case]) {
    let mut failures = Vec::new();
    for c in cases {
        let (method, target) = c.request.split_once(' ').unwrap();
        let answer = call(&router, method, target).await;
        let seen = if (300..400).contains(&answer.status) {
            answer.header("location").unwrap_or("")
        } else {
            answer.header("x-route").unwrap_or("")
        };
        let params =
            if answer.status == 200 && answer.header("x-route").is_some() && method != "HEAD" {
                answer.json()["params"].to_string()
            } else {
                String::new()
            };
        if (answer.status, seen, params.as_str()) != (c.status, c.route_or_location, c.params) {
            failures.push(format!(
                "{}: want {} {:?} {:?}, got {} {:?} {:?}",
                c.request, c.status, c.route_or_location, c.params, answer.status, seen, params
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[tokio::test]
async fn dynamic_beside_catch_all_matches_like_nextjs() {
    run(
        rules::router(),
        &[
            case("GET /x/1", 200, "x/[id]", r#"{"id":"1"}"#),
            case("GET /x/me", 200, "x/me", "{}"),
            case(
                "GET /x/1/posts/2",
                200,
                "x/[id]/posts/[postId]",
                r#"{"id":"1","postId":"2"}"#,
            ),
            case(
                "GET /x/me/posts/2",
                200,
                "x/[id]/posts/[postId]",
                r#"{"id":"me","postId":"2"}"#,
            ),
            case(
                "GET /x/1/posts",
                200,
                "x/[...rest]",
                r#"{"rest":["1","posts"]}"#,
            ),
            case(
                "GET /x/1/2/3",
                200,
                "x/[...rest]",
                r#"{"rest":["1","2","3"]}"#,
            ),
            case(
                "GET /x/a%2Fb/c%20d",
                200,
                "x/[...rest]",
                r#"{"rest":["a/b","c d"]}"#,
            ),
            case("GET /x", 404, "", ""),
            case("DELETE /x/1", 200, "x/[id]", r#"{"id":"1"}"#),
            case("DELETE /x/1/2", 405, "", ""),
            case("GET /z", 200, "z/[[...rest]]", "{}"),
            case("GET /z/1", 200, "z/[[...rest]]", r#"{"rest":["1"]}"#),
            case("GET /z/1/a", 200, "z/[id]/a", r#"{"id":"1"}"#),
            case("GET /z/1/b", 200, "z/[[...rest]]", r#"{"rest":["1","b"]}"#),
        ],
    )
    .await;
}

#[tokio::test]
async fn folders_map_to_urls_as_in_nextjs() {
    run(
        rules::router(),
        &[
            case("GET /", 200, "/", "{}"),
            case("GET /_hidden", 200, "%5Fhidden", "{}"),
            case("GET /%5Fhidden", 404, "", ""),
            case("GET /_private/secret", 404, "", ""),
            case("GET /private/secret", 404, "", ""),
            case("GET /grouped", 200, "(group)/grouped", "{}"),
            case("GET /(group)/grouped", 404, "", ""),
            case("POST /deep", 200, "(group)/(inner)/deep/[[...all]]", "{}"),
            case(
                "POST /deep/a/b",
                200,
                "(group)/(inner)/deep/[[...all]]",
                r#"{"all":["a","b"]}"#,
            ),
            case("GET /caf%C3%A9", 200, "café", "{}"),
            case("GET /rss.xml", 200, "rss.xml", "{}"),
            case("GET /RSS.xml", 404, "", ""),
            case("GET /api/_lib/helpers", 404, "", ""),
        ],
    )
    .await;
}

#[tokio::test]
async fn malformed_percent_encoding_in_a_param_is_400() {
    run(
        rules::router(),
        &[
            case("GET /x/%zz", 400, "", ""),
            case("GET /x/%E2%9C", 400, "", ""),
            case("GET /x/ok/%FF", 400, "", ""),
            case("GET /x/%", 400, "", ""),
            case("GET /x/a+b", 200, "x/[id]", r#"{"id":"a+b"}"#),
        ],
    )
    .await;
}

#[tokio::test]
async fn trailing_slash_redirect_mode_is_the_default() {
    run(
        rules::router(),
        &[
            case("GET /grouped/", 308, "/grouped", ""),
            case("GET /grouped/?a=1&b=2", 308, "/grouped?a=1&b=2", ""),
            case("POST /x/1/", 308, "/x/1", ""),
            case("GET /x/1/2/", 308, "/x/1/2", ""),
            case("GET /z/", 308, "/z", ""),
            case("GET /x/", 308, "/x", ""),
            case("GET /", 200, "/", "{}"),
        ],
    )
    .await;
}

#[tokio::test]
async fn trailing_slash_add_mode_is_nextjs_trailing_slash_true() {
    run(
        rules_add::router(),
        &[
            case("GET /grouped", 308, "/grouped/", ""),
            case("GET /grouped?q=1", 308, "/grouped/?q=1", ""),
            case("GET /grouped/", 200, "(group)/grouped", "{}"),
            case("GET /x/1/", 200, "x/[id]", r#"{"id":"1"}"#),
            case("GET /x/1/2", 308, "/x/1/2/", ""),
            case("GET /x/1/2/", 200, "x/[...rest]", r#"{"rest":["1","2"]}"#),
            case("GET /z/", 200, "z/[[...rest]]", "{}"),
            case("GET /", 200, "/", "{}"),
        ],
    )
    .await;
}

#[tokio::test]
async fn trailing_slash_both_mode_serves_both_forms() {
    run(
        rules_both::router(),
        &[
            case("GET /grouped", 200, "(group)/grouped", "{}"),
            case("GET /grouped/", 200, "(group)/grouped", "{}"),
            case("GET /x/1/", 200, "x/[id]", r#"{"id":"1"}"#),
            case("GET /x/1/2/", 200, "x/[...rest]", r#"{"rest":["1","2"]}"#),
            case("GET /z/", 200, "z/[[...rest]]", "{}"),
        ],
    )
    .await;
}

#[tokio::test]
async fn redirects_never_leave_the_site() {
    // `//evil.example/` stripped of its slash must not become a
    // protocol-relative Location.
    let answer = call(&rules::router(), "GET", "/x//evil.example/").await;
    assert_eq!(answer.status, 308);
    let location = answer.header("location").unwrap();
    assert!(!location.starts_with("//"), "{location}");
}

#[tokio::test]
async fn head_and_options_defaults_and_explicit_exports() {
    let router = rules::router();
    let head = call(&router, "HEAD", "/x/1").await;
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.header("x-method"), Some("GET"), "HEAD runs GET");

    let options = call(&router, "OPTIONS", "/x/1").await;
    assert_eq!(options.status, 204);
    assert_eq!(options.header("allow"), Some("DELETE, GET, HEAD, OPTIONS"));

    let explicit_head = call(&router, "HEAD", "/explicit").await;
    assert_eq!(explicit_head.header("x-head"), Some("explicit"));
    let explicit_options = call(&router, "OPTIONS", "/explicit").await;
    assert_eq!(explicit_options.status, 200);
    assert_eq!(
        explicit_options.header("allow"),
        Some("GET, HEAD, OPTIONS, TRACE")
    );

    let not_allowed = call(&router, "PUT", "/explicit").await;
    assert_eq!(not_allowed.status, 405);
    assert_eq!(not_allowed.header("allow"), Some("GET, HEAD, OPTIONS"));
}

#[tokio::test]
async fn pub_use_reexports_are_handlers() {
    let router = rules::router();
    assert_eq!(call(&router, "GET", "/reexport").await.text(), "list");
    assert_eq!(call(&router, "POST", "/reexport").await.status, 201);
}

#[tokio::test]
async fn typed_path_extraction_still_works() {
    let router = rules::router();
    assert_eq!(call(&router, "GET", "/typed/42").await.text(), "id=42");
    assert_eq!(call(&router, "GET", "/typed/abc").await.status, 400);
}

#[tokio::test]
async fn matched_path_is_the_registered_pattern() {
    use approute::axum::extract::MatchedPath;
    use approute::axum::middleware::{self, Next};
    use approute::axum::response::Response;

    async fn tag(path: MatchedPath, req: approute::axum::extract::Request, next: Next) -> Response {
        let mut res = next.run(req).await;
        res.headers_mut()
            .insert("x-matched", path.as_str().parse().unwrap());
        res
    }
    let router = rules::router().route_layer(middleware::from_fn(tag));
    let answer = call(&router, "GET", "/x/1/posts/2").await;
    assert_eq!(answer.header("x-matched"), Some("/x/{id}/posts/{postId}"));
}

#[tokio::test]
async fn router_merges_and_nests_like_any_axum_router() {
    let app = Router::new()
        .nest("/v1", rules::router())
        .merge(Router::new().route("/health", approute::axum::routing::get(|| async { "ok" })));
    assert_eq!(call(&app, "GET", "/health").await.text(), "ok");
    let answer = call(&app, "GET", "/v1/x/1").await;
    assert_eq!(answer.header("x-route"), Some("x/[id]"));
    assert_eq!(answer.json()["params"], serde_json::json!({"id": "1"}));
    let redirect = call(&app, "GET", "/v1/grouped/").await;
    assert_eq!(redirect.header("location"), Some("/v1/grouped"));
}

#[tokio::test]
async fn shared_state_reaches_handlers() {
    let router = stateful::router().with_state(Counter::default());
    assert_eq!(call(&router, "POST", "/count").await.text(), "1");
    assert_eq!(call(&router, "POST", "/count").await.text(), "2");
    assert_eq!(call(&router, "GET", "/count").await.text(), "2");
}

#[test]
fn route_table_lists_every_route_with_file_and_methods() {
    let lines: Vec<String> = rules::ROUTES
        .iter()
        .map(|r| format!("{} {} {}", r.methods().join(","), r.pattern(), r.file()))
        .collect();
    assert!(
        lines.contains(&"GET,DELETE /x/[id] fixtures/rules/app/x/[id]/route.rs".to_string()),
        "{lines:#?}"
    );
    assert!(lines.contains(&"GET,POST /reexport fixtures/rules/app/reexport/route.rs".to_string()));
    assert!(!lines
        .iter()
        .any(|l| l.contains("_private") || l.contains("_lib")));
    // static before dynamic before catch-all, as Next.js orders them
    let x: Vec<&str> = rules::ROUTES
        .iter()
        .map(|r| r.pattern())
        .filter(|p| p.starts_with("/x"))
        .collect();
    assert_eq!(
        x,
        ["/x/me", "/x/[id]", "/x/[id]/posts/[postId]", "/x/[...rest]"]
    );
}

/// `Params` reads most routes' parameters from the pattern axum matched
/// (marking each request with its route would cost an allocation or two):
/// the same answers nested under a prefix with parameters of its own, and
/// in hand-written routes too.
#[tokio::test]
async fn params_from_the_matched_pattern() {
    use approute::axum::routing::get;
    async fn show(params: approute::Params) -> String {
        serde_json::to_string(&params).unwrap()
    }
    let app = Router::new()
        .merge(rules::router())
        .nest("/t/{tenant}", rules::router())
        .route("/hand", get(show))
        .route("/hand/{id}/{*rest}", get(show));
    let json = |answer: support::Answer| answer.json()["params"].clone();
    assert_eq!(
        json(call(&app, "GET", "/grouped").await),
        serde_json::json!({})
    );
    assert_eq!(
        json(call(&app, "GET", "/t/acme/grouped").await),
        serde_json::json!({})
    );
    // Only the route's own parameters, as in Next.js: not the nest prefix's.
    assert_eq!(
        json(call(&app, "GET", "/t/acme/x/a%2Fb").await),
        serde_json::json!({"id": "a/b"})
    );
    // A catch-all beside a dynamic folder is matched by fill-in patterns
    // naming `{id}`, so its requests carry the route instead.
    assert_eq!(
        json(call(&app, "GET", "/t/acme/x/1/2").await),
        serde_json::json!({"rest": ["1", "2"]})
    );
    assert_eq!(call(&app, "GET", "/hand").await.text(), "{}");
    assert_eq!(
        call(&app, "GET", "/hand/7/a%20b/c").await.text(),
        r#"{"id":"7","rest":["a b","c"]}"#
    );
}
