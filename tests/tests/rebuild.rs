//! A plain `cargo build` picks up changes to the `app/` tree: the build
//! script's `rerun-if-changed=app` re-runs the macro when route files come,
//! go or move, and the `#[path]` modules make rustc rebuild when one is
//! edited. Each test asks the rebuilt binary's router, not only its route
//! table, so a stale router cannot pass.

mod scratch;

use scratch::Scratch;

/// Prints the route table, then answers each `METHOD /path` argument
/// through `app::router()`: `METHOD /path -> status body`.
const MAIN: &str = r#"approute::app!();

use approute::axum::body::{to_bytes, Body};
use approute::axum::http::Request;
use tower::ServiceExt;

#[tokio::main]
async fn main() {
    for r in app::ROUTES {
        println!("{} {}", r.methods().join(","), r.route_id());
    }
    for arg in std::env::args().skip(1) {
        let (method, path) = arg.split_once(' ').expect("METHOD /path");
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let response = app::router().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let line = format!("{arg} -> {status} {}", String::from_utf8_lossy(&body));
        println!("{}", line.trim_end());
    }
}
"#;

fn get(body: &str) -> String {
    format!("pub async fn GET() -> &'static str {{\n    {body:?}\n}}\n")
}

/// A scratch app with `MAIN` and a `GET` route file (answering its own
/// folder) in each of `folders`, built once.
fn app(name: &str, folders: &[&str]) -> Scratch {
    let routes: Vec<(String, String)> = folders
        .iter()
        .map(|f| (format!("app/{f}/route.rs"), get(f)))
        .collect();
    let mut files = vec![("src/main.rs", MAIN)];
    files.extend(routes.iter().map(|(p, c)| (p.as_str(), c.as_str())));
    let app = Scratch::new(name, &files);
    app.build_ok();
    app
}

fn lines(text: &[&str]) -> String {
    text.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn adding_a_route_file_in_new_folders() {
    let app = app("rebuild-add", &["api", "api/x"]);
    let requests = ["GET /api/deep/nested/7", "GET /api/x"];
    assert_eq!(
        app.run(&requests),
        lines(&[
            "GET /api",
            "GET /api/x",
            "GET /api/deep/nested/7 -> 404",
            "GET /api/x -> 200 api/x",
        ])
    );

    app.write(
        "app/api/deep/nested/[id]/route.rs",
        "pub async fn GET(params: approute::Params) -> String {\n    format!(\"nested {}\", params.get(\"id\").unwrap())\n}\n",
    );
    app.build_ok();
    assert_eq!(
        app.run(&requests),
        lines(&[
            "GET /api",
            "GET /api/deep/nested/[id]",
            "GET /api/x",
            "GET /api/deep/nested/7 -> 200 nested 7",
            "GET /api/x -> 200 api/x",
        ])
    );
}

#[test]
fn removing_a_route_file() {
    let app = app("rebuild-remove", &["api/x", "api/y"]);
    let requests = ["GET /api/x", "GET /api/y"];
    assert_eq!(
        app.run(&requests),
        lines(&[
            "GET /api/x",
            "GET /api/y",
            "GET /api/x -> 200 api/x",
            "GET /api/y -> 200 api/y",
        ])
    );

    app.remove("app/api/y/route.rs");
    app.build_ok();
    assert_eq!(
        app.run(&requests),
        lines(&["GET /api/x", "GET /api/x -> 200 api/x", "GET /api/y -> 404",])
    );
}

#[test]
fn renaming_a_folder() {
    let app = app("rebuild-rename", &["api/old", "api/keep"]);
    let requests = ["GET /api/old", "GET /api/new"];
    assert_eq!(
        app.run(&requests),
        lines(&[
            "GET /api/keep",
            "GET /api/old",
            "GET /api/old -> 200 api/old",
            "GET /api/new -> 404",
        ])
    );

    app.rename("app/api/old", "app/api/new");
    app.build_ok();
    assert_eq!(
        app.run(&requests),
        lines(&[
            "GET /api/keep",
            "GET /api/new",
            "GET /api/old -> 404",
            // the file moved unchanged, so it still answers with its old text
            "GET /api/new -> 200 api/old",
        ])
    );
}

#[test]
fn adding_a_method_to_a_route_file() {
    let app = app("rebuild-method", &["api/x"]);
    let requests = ["GET /api/x", "POST /api/x"];
    assert_eq!(
        app.run(&requests),
        lines(&[
            "GET /api/x",
            "GET /api/x -> 200 api/x",
            "POST /api/x -> 405",
        ])
    );

    app.write(
        "app/api/x/route.rs",
        &format!(
            "{}\npub async fn POST() -> &'static str {{\n    \"posted\"\n}}\n",
            get("api/x")
        ),
    );
    app.build_ok();
    assert_eq!(
        app.run(&requests),
        lines(&[
            "GET,POST /api/x",
            "GET /api/x -> 200 api/x",
            "POST /api/x -> 200 posted",
        ])
    );
}
