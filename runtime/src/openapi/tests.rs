//! The probes over real handler functions, as the generated code calls
//! them.
// The borrows choose the impl (see `probe.rs`).
#![allow(clippy::needless_borrow)]

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::__private::*;
use super::schemars::{self, JsonSchema};
use super::ErrorResponses;

struct Described(#[allow(dead_code)] u32);
impl JsonSchema for Described {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Described".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "object", "properties": { "q": { "type": "string" } }, "required": ["q"] })
    }
}
struct Plain;
struct AppError;
impl ErrorResponses for AppError {
    const STATUSES: &'static [(u16, &'static str)] = &[(404, "no such thing")];
}

async fn listed(
    _: State<()>,
    _: Query<Described>,
    _: HeaderMap,
) -> Result<Json<Vec<u64>>, AppError> {
    Ok(Json(vec![]))
}
async fn opaque(_: Json<Plain>, _: Path<u64>) -> impl IntoResponse {
    StatusCode::CREATED
}
async fn untyped_error() -> Result<(StatusCode, Json<Value>), Plain> {
    Ok((StatusCode::CREATED, Json(json!({}))))
}

fn document() -> Value {
    const ID: &[PathParam] = &[PathParam {
        name: "id",
        catch_all: false,
    }];
    let mut doc = Document::new("t", "1");
    {
        let mut op = doc.operation("/a", "get", &[("/a", &[])]);
        let ((a0, a1, a2), out) = sig3(&listed);
        (&&&a0).input(&mut op);
        (&&&a1).input(&mut op);
        (&&&a2).input(&mut op);
        let (ok, err) = out.split_result();
        (&&&ok).output(&mut op, &[], "Json<Vec<u64>>");
        (&&&err).error(&mut op);
        op.finish();
    }
    {
        let mut op = doc.operation("/b/[id]", "post", &[("/b/{id}", ID)]);
        let ((a0, a1), out) = sig2(&opaque);
        (&&&a0).input(&mut op);
        (&&&a1).input(&mut op);
        (&&&out).output(&mut op, &[201], "impl IntoResponse");
        op.finish();
    }
    {
        let mut op = doc.operation("/c", "put", &[("/c", &[])]);
        let ((), out) = sig0(&untyped_error);
        let (ok, err) = out.split_result();
        (&&&ok).output(&mut op, &[201], "");
        (&&&err).error(&mut op);
        op.finish();
    }
    doc.finish().into_json()
}

#[test]
fn described_types_give_parameters_bodies_and_responses() {
    let doc = document();
    let get = &doc["paths"]["/a"]["get"];
    assert_eq!(get["parameters"][0]["name"], "q");
    assert_eq!(get["parameters"][0]["in"], "query");
    assert_eq!(get["parameters"][0]["required"], true);
    assert_eq!(get["parameters"].as_array().unwrap().len(), 1, "{get:#}");
    let ok = &get["responses"]["200"]["content"]["application/json"]["schema"];
    assert_eq!(ok["type"], "array");
    assert_eq!(get["responses"]["404"]["description"], "no such thing");
    assert!(get["requestBody"].is_null());
}

#[test]
fn open_types_are_no_errors_and_are_noted() {
    let doc = document();
    let post = &doc["paths"]["/b/{id}"]["post"];
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"],
        json!({})
    );
    assert_eq!(
        post["parameters"][0]["schema"]["type"], "integer",
        "{post:#}"
    );
    assert_eq!(
        post["responses"]["201"],
        json!({ "description": "Created" })
    );
    let notes: Vec<&str> = doc["x-approute-left-open"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(|n| n.starts_with(
            "POST /b/[id]: the JSON body `approute::openapi::tests::Plain` does not implement"
        )),
        "{notes:#?}"
    );
    assert!(
        notes.contains(&"POST /b/[id]: the response (`impl IntoResponse`) is not described"),
        "{notes:#?}"
    );
    assert!(notes.iter().any(|n| n.starts_with("PUT /c: the error `approute::openapi::tests::Plain` does not implement `approute::openapi::ErrorResponses`")), "{notes:#?}");
    let put = &doc["paths"]["/c"]["put"];
    assert_eq!(
        put["responses"]["201"]["content"]["application/json"]["schema"],
        json!(true)
    );
    assert_eq!(
        put["responses"]["default"]["description"],
        "any other answer"
    );
}

async fn two_params(_: Path<(String, u32)>) -> &'static str {
    ""
}

#[test]
fn a_tuple_path_gives_each_parameter_its_schema_in_order() {
    const PARAMS: &[PathParam] = &[
        PathParam {
            name: "slug",
            catch_all: false,
        },
        PathParam {
            name: "n",
            catch_all: true,
        },
    ];
    let mut doc = Document::new("t", "1");
    let mut op = doc.operation("/[slug]/[...n]", "get", &[("/{slug}/{n}", PARAMS)]);
    let ((a0,), out) = sig1(&two_params);
    (&&&a0).input(&mut op);
    (&&&out).output(&mut op, &[], "&'static str");
    op.finish();
    let doc = doc.finish().into_json();
    let params = &doc["paths"]["/{slug}/{n}"]["get"]["parameters"];
    assert_eq!(params[0]["schema"]["type"], "string");
    assert_eq!(params[1]["schema"]["type"], "integer");
    assert_eq!(params[1]["x-approute-catch-all"], true);
}
