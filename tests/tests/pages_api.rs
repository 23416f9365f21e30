//! `pages/api`, Next.js's older API Routes, served beside `app/`: file
//! names as URLs, the one-handler form and the method form.

mod support;

use approute_tests::mixed;
use support::{call, oneshot};

#[tokio::test]
async fn pages_api_files_serve_their_urls() {
    let router = mixed::router();
    // (request, status, x-route, x-method, params)
    let table = [
        ("GET /api/modern", 200, "app/api/modern", "GET", "{}"),
        ("GET /api/hello", 200, "pages/api/hello", "GET", "{}"),
        ("POST /api/hello", 200, "pages/api/hello", "POST", "{}"),
        ("DELETE /api/hello", 200, "pages/api/hello", "OTHER", "{}"),
        ("GET /api/users", 200, "pages/api/users/index", "GET", "{}"),
        (
            "POST /api/users",
            200,
            "pages/api/users/index",
            "POST",
            "{}",
        ),
        ("DELETE /api/users", 405, "", "", ""),
        (
            "GET /api/users/index",
            200,
            "pages/api/users/[id]",
            "ANY",
            r#"{"id":"index"}"#,
        ),
        (
            "PUT /api/users/7",
            200,
            "pages/api/users/[id]",
            "ANY",
            r#"{"id":"7"}"#,
        ),
        (
            "GET /api/files/a/b",
            200,
            "pages/api/files/[...slug]",
            "GET",
            r#"{"slug":["a","b"]}"#,
        ),
        ("GET /api/files", 404, "", "", ""),
        (
            "GET /api/docs",
            200,
            "pages/api/docs/[[...slug]]",
            "ANY",
            "{}",
        ),
        (
            "GET /api/docs/x",
            200,
            "pages/api/docs/[[...slug]]",
            "ANY",
            r#"{"slug":["x"]}"#,
        ),
        ("GET /api/_helpers", 404, "", "", ""),
        ("GET /api/helpers", 404, "", "", ""),
        ("GET /api/_lib/db", 404, "", "", ""),
    ];
    let mut failures = Vec::new();
    for (request, status, route, method, params) in table {
        let (m, target) = request.split_once(' ').unwrap();
        let a = call(&router, m, target).await;
        let got_params = if a.status == 200 {
            a.json()["params"].to_string()
        } else {
            String::new()
        };
        let got = (
            a.status,
            a.header("x-route").unwrap_or(""),
            a.header("x-method").unwrap_or(""),
            got_params.as_str(),
        );
        if got != (status, route, method, params) {
            failures.push(format!(
                "{request}: want {:?} got {got:?}",
                (status, route, method, params)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[tokio::test]
async fn method_form_gets_head_options_and_405_like_route_rs() {
    let router = mixed::router();
    let options = call(&router, "OPTIONS", "/api/users").await;
    assert_eq!(
        (options.status, options.header("allow")),
        (204, Some("GET, HEAD, OPTIONS, POST"))
    );
    let head = call(&router, "HEAD", "/api/users").await;
    assert_eq!((head.status, head.header("x-method")), (200, Some("GET")));
    let not_allowed = call(&router, "PATCH", "/api/users").await;
    assert_eq!(
        not_allowed.header("allow"),
        Some("GET, HEAD, OPTIONS, POST")
    );
}

#[tokio::test]
async fn one_handler_form_sees_every_method_itself() {
    let router = mixed::router();
    let options = call(&router, "OPTIONS", "/api/hello").await;
    assert_eq!(
        (options.status, options.header("x-method")),
        (200, Some("OPTIONS"))
    );
    let trailing = call(&router, "GET", "/api/hello/").await;
    assert_eq!(
        (trailing.status, trailing.header("location")),
        (308, Some("/api/hello"))
    );
}

#[test]
fn route_table_names_pages_files() {
    let files: Vec<&str> = mixed::ROUTES.iter().map(|r| r.file()).collect();
    assert!(
        files.contains(&"fixtures/mixed/pages/api/users/[id].rs"),
        "{files:?}"
    );
    assert!(files.contains(&"fixtures/mixed/app/api/modern/route.rs"));
    assert_eq!(files.len(), 7);
}

#[tokio::test]
async fn readme_porting_example_answers_like_the_nextjs_original() {
    use approute::axum::body::Body;
    use approute::axum::http::Request;

    let router = mixed::router();
    let get = call(&router, "GET", "/api/ported/7?verbose=yes").await;
    assert_eq!(get.json(), serde_json::json!({"id": "7", "verbose": "yes"}));
    let request = Request::patch("/api/ported/7")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"name":"ann"}"#))
        .unwrap();
    let patch = oneshot(&router, request).await;
    assert_eq!(patch.status, 200);
    assert_eq!(
        patch.json(),
        serde_json::json!({"id": "7", "updated": {"name": "ann"}})
    );
    assert_eq!(call(&router, "DELETE", "/api/ported/7").await.status, 405);
}
