//! [`DescribeInput`] and [`DescribeOutput`] for axum's extractors and
//! response types.

use axum::body::Bytes;
use axum::extract::{Form, Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, Redirect};
use axum::Json;
use schemars::JsonSchema;
use serde_json::json;

use super::probe::{form_rejections, json_rejections, or_ok};
use super::{DescribeInput, DescribeOutput, ErrorResponses, Operation};

impl<T: JsonSchema> DescribeInput for Json<T> {
    fn describe_input(op: &mut Operation<'_>) {
        let schema = op.schema_for::<T>();
        op.request_body("application/json", schema);
        json_rejections(op);
    }
}

impl<T: JsonSchema> DescribeInput for Form<T> {
    fn describe_input(op: &mut Operation<'_>) {
        let schema = op.schema_for::<T>();
        op.request_body("application/x-www-form-urlencoded", schema);
        form_rejections(op);
    }
}

impl<T: JsonSchema> DescribeInput for Query<T> {
    fn describe_input(op: &mut Operation<'_>) {
        let schema = op.inline_schema_for::<T>();
        op.query_parameters(schema);
        op.also_answers(400, "the query string does not fit the parameters");
    }
}

impl<T: JsonSchema> DescribeInput for Path<T> {
    fn describe_input(op: &mut Operation<'_>) {
        let schema = op.inline_schema_for::<T>();
        op.path_parameters(schema);
        op.also_answers(400, "a path parameter does not fit its type");
    }
}

impl DescribeInput for String {
    fn describe_input(op: &mut Operation<'_>) {
        op.request_body("text/plain", json!({ "type": "string" }));
        op.also_answers(400, "the body is not UTF-8");
        op.also_answers(413, "the body is over the size limit");
    }
}

impl DescribeInput for Bytes {
    fn describe_input(op: &mut Operation<'_>) {
        let schema = json!({ "type": "string", "contentMediaType": "application/octet-stream" });
        op.request_body("application/octet-stream", schema);
        op.also_answers(413, "the body is over the size limit");
    }
}

impl<T: DescribeInput> DescribeInput for Option<T> {
    fn describe_input(op: &mut Operation<'_>) {
        T::describe_input(op);
        op.body_optional();
    }
}

/// `Result<Json<T>, JsonRejection>`: the handler answers the rejection
/// itself, usually with the same statuses.
impl<T: DescribeInput, E> DescribeInput for Result<T, E> {
    fn describe_input(op: &mut Operation<'_>) {
        T::describe_input(op);
    }
}

impl<T: JsonSchema> DescribeOutput for Json<T> {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        let schema = op.schema_for::<T>();
        for &status in or_ok(statuses) {
            op.response(status, Some(("application/json", schema.clone())));
        }
    }
}

/// A body of `content_type` at each status named, or 200.
fn text(op: &mut Operation<'_>, statuses: &[u16], content_type: &str) {
    for &status in or_ok(statuses) {
        op.response(status, Some((content_type, json!({ "type": "string" }))));
    }
}

impl DescribeOutput for String {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        text(op, statuses, "text/plain");
    }
}

impl DescribeOutput for &'static str {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        text(op, statuses, "text/plain");
    }
}

impl<T> DescribeOutput for Html<T> {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        text(op, statuses, "text/html");
    }
}

impl DescribeOutput for Bytes {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        text(op, statuses, "application/octet-stream");
    }
}

impl DescribeOutput for () {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        for &status in or_ok(statuses) {
            op.response(status, None);
        }
    }
}

/// `Redirect::to` is `303 See Other`; the handler's `Redirect::temporary`
/// (307) or `permanent` (308) is read from its body.
impl DescribeOutput for Redirect {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        let statuses = if statuses.is_empty() {
            &[303]
        } else {
            statuses
        };
        for &status in statuses {
            op.response(status, None);
        }
    }
}

/// A status alone: those the handler names, else whatever it decides.
impl DescribeOutput for StatusCode {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        if statuses.is_empty() {
            op.default_response(None);
        }
        for &status in statuses {
            op.response(status, None);
        }
    }
}

/// `(StatusCode, T)`: at the statuses the handler names, else at
/// `default` (the status is decided at run time).
impl<T: DescribeOutput> DescribeOutput for (StatusCode, T) {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        with_status(op, statuses, T::describe_output);
    }
}

impl<T: DescribeOutput> DescribeOutput for (StatusCode, HeaderMap, T) {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        with_status(op, statuses, T::describe_output);
    }
}

impl<K, V, const N: usize, T: DescribeOutput> DescribeOutput for (StatusCode, [(K, V); N], T) {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        with_status(op, statuses, T::describe_output);
    }
}

/// A status with headers and no body (`204` with `Set-Cookie`).
impl<K, V, const N: usize> DescribeOutput for (StatusCode, [(K, V); N]) {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        StatusCode::describe_output(op, statuses);
    }
}

/// Headers in front of a body leave its status as it was.
impl<K, V, const N: usize, T: DescribeOutput> DescribeOutput for ([(K, V); N], T) {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        T::describe_output(op, statuses);
    }
}

impl<T: DescribeOutput> DescribeOutput for (HeaderMap, T) {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        T::describe_output(op, statuses);
    }
}

/// A `Result` the macro did not split (a type alias of one).
impl<T: DescribeOutput, E: ErrorResponses> DescribeOutput for Result<T, E> {
    fn describe_output(op: &mut Operation<'_>, statuses: &[u16]) {
        T::describe_output(op, statuses);
        for &(status, description) in E::STATUSES {
            op.also_answers(status, description);
        }
    }
}

fn with_status(op: &mut Operation<'_>, statuses: &[u16], describe: fn(&mut Operation<'_>, &[u16])) {
    if statuses.is_empty() {
        op.as_default(|op| describe(op, &[]));
    } else {
        describe(op, statuses);
    }
}
