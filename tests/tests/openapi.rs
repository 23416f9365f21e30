//! `app::openapi()` of the `fixtures/openapi` tree, compiled with its real
//! types: what each shape of handler becomes in the document, and
//! `app::href!`'s links.

mod support;

use approute_tests::openapi_app;
use serde_json::{json, Value};

fn document() -> Value {
    openapi_app::openapi().into_json()
}

fn operation(path: &str, method: &str) -> Value {
    let doc = document();
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "no {method} {path} in {:#}", doc["paths"]);
    op.clone()
}

fn statuses(op: &Value) -> Vec<String> {
    op["responses"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn every_route_and_method_in_openapi_form_without_the_automatic_ones() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "approute-tests");
    let mut listed: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            listed.push(format!("{method} {path}"));
        }
    }
    assert_eq!(
        listed,
        [
            "get /api/files/{path}",
            "get /api/legacy",
            "post /api/opaque",
            "x-approute-query /api/search",
            "get /api/users",
            "post /api/users",
            "delete /api/users/{id}",
            "get /api/users/{id}",
            "patch /api/users/{id}",
            "get /docs",
            "get /docs/{slug}",
            "post /form",
            // `(internal)` is a group: no part of the URL
            "get /health",
            "get /openapi.json",
        ]
    );
}

#[test]
fn path_parameters_take_their_schema_from_path_t() {
    let get = operation("/api/users/{id}", "get");
    assert_eq!(
        get["parameters"],
        json!([{ "name": "id", "in": "path", "required": true,
                 "schema": { "type": "integer", "format": "uint64", "minimum": 0 } }])
    );
    let files = operation("/api/files/{path}", "get");
    let path = &files["parameters"][0];
    assert_eq!(path["x-approute-catch-all"], true);
    assert!(path["description"]
        .as_str()
        .unwrap()
        .contains("may hold `/`"));
    // an optional catch-all is two paths, with it and without
    assert!(operation("/docs", "get")["parameters"].is_null());
    assert_eq!(
        operation("/docs/{slug}", "get")["parameters"][0]["name"],
        "slug"
    );
}

#[test]
fn query_and_bodies_come_from_the_extractors_types() {
    let list = operation("/api/users", "get");
    let params: Vec<(String, bool)> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["required"] == true,
            )
        })
        .collect();
    assert_eq!(
        params,
        [("limit".to_string(), false), ("q".to_string(), true)]
    );
    assert_eq!(list["parameters"][0]["description"], "At most this many.");
    let post = operation("/api/users", "post");
    assert_eq!(
        post["requestBody"],
        json!({ "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewUser" } } } })
    );
    let form = operation("/form", "post");
    assert!(form["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object());
    let doc = document();
    assert_eq!(
        doc["components"]["schemas"]["NewUser"]["properties"]["name"]["description"],
        "What to call them."
    );
}

#[test]
fn responses_from_the_return_type_and_the_returned_status() {
    let created = operation("/api/users", "post");
    assert_eq!(
        created["responses"]["201"]["content"]["application/json"]["schema"],
        json!({ "$ref": "#/components/schemas/User" })
    );
    assert!(created["responses"]["200"].is_null(), "{created:#}");
    // Result<Json<User>, ApiError>: 200, and the error type's statuses
    let get = operation("/api/users/{id}", "get");
    assert_eq!(get["responses"]["404"]["description"], "no such user");
    assert_eq!(
        get["responses"]["404"]["content"]["application/json"]["schema"],
        json!({ "$ref": "#/components/schemas/ErrorBody" })
    );
    assert!(get["responses"]["200"]["content"]["application/json"].is_object());
    assert_eq!(
        statuses(&operation("/api/users/{id}", "delete")),
        ["204", "400", "405"]
    );
    assert_eq!(
        statuses(&operation("/form", "post")),
        ["303", "405", "413", "415", "422"]
    );
    let health = operation("/health", "get");
    assert!(health["responses"]["200"]["content"]["text/plain"].is_object());
    assert!(operation("/docs", "get")["responses"]["200"]["content"]["text/html"].is_object());
}

#[test]
fn docs_deprecated_and_config_constants() {
    let get = operation("/api/users/{id}", "get");
    assert_eq!(get["summary"], "One user, by id.");
    assert_eq!(get["description"], "`404` when there is none.");
    assert_eq!(operation("/api/users/{id}", "delete")["deprecated"], true);
    assert!(get["deprecated"].is_null());
    let post = operation("/api/users", "post");
    assert_eq!(post["x-approute-body-limit"], 4096);
    assert_eq!(
        post["x-approute-rate-limit"],
        json!({ "requests": 100, "seconds": 60 })
    );
    assert!(statuses(&post).contains(&"413".to_string()));
    assert!(statuses(&post).contains(&"429".to_string()));
    let search = operation("/api/search", "x-approute-query");
    assert_eq!(search["x-approute-max-duration"], 5);
    assert!(statuses(&search).contains(&"504".to_string()));
}

#[test]
fn what_cannot_be_described_is_left_open_and_listed() {
    let doc = document();
    assert_eq!(
        doc["x-approute-left-open"],
        json!([
            "GET /api/legacy: `GET` is re-exported (`pub use .. as GET`), so its signature is not in the route file",
            "POST /api/opaque: the JSON body `approute_tests::openapi_types::NoSchema` does not implement `schemars::JsonSchema`",
            "POST /api/opaque: the response (`impl IntoResponse`) is not described",
        ])
    );
    let opaque = operation("/api/opaque", "post");
    assert_eq!(
        opaque["requestBody"]["content"]["application/json"]["schema"],
        json!({})
    );
    assert_eq!(
        opaque["responses"]["202"],
        json!({ "description": "Accepted" })
    );
    assert_eq!(
        statuses(&operation("/api/legacy", "get")),
        ["405", "default"]
    );
}

#[tokio::test]
async fn one_route_file_serves_the_document() {
    let answer = support::call(&openapi_app::router(), "GET", "/openapi.json").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), document());
}

#[tokio::test]
async fn href_builds_links_the_router_serves() {
    assert_eq!(
        openapi_app::href!("/api/users/[id]", id = 42),
        "/api/users/42"
    );
    assert_eq!(
        openapi_app::href!("/api/files/[...path]", path = ["a b", "c"]),
        "/api/files/a%20b/c"
    );
    assert_eq!(openapi_app::href!("/health"), "/health");
    assert_eq!(openapi_app::href!("/docs/[[...slug]]"), "/docs");
    let slug: Vec<String> = vec!["x/y".into(), "100%".into()];
    let docs = openapi_app::href!("/docs/[[...slug]]", slug = slug.iter());
    assert_eq!(docs, "/docs/x%2Fy/100%25");

    let router = openapi_app::router();
    let file = support::call(
        &router,
        "GET",
        &openapi_app::href!("/api/files/[...path]", path = ["a b", "c?d"]),
    )
    .await;
    assert_eq!(file.text(), "a b/c?d", "each item comes back as it was");
    let form = support::send(
        &router,
        "POST",
        "/form",
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await;
    assert_eq!(form.status, 422, "no name");
}
