//! How a type in a handler's signature becomes part of its operation,
//! without naming the type: the generated code only has the handler
//! (`route_api_notes::GET`), so `sig3(&route_api_notes::GET)` returns a
//! [`Probe`] per argument and one for the return type, each a
//! `PhantomData` of the type rustc inferred.
//!
//! A probe is then asked through "autoref specialization": the generated
//! code calls `(&&&probe).input(&mut op)`, and method resolution takes the
//! first of these that applies (it tries the receiver as written, then
//! with one `&` fewer, ...), all in concrete types, so none of them is a
//! compile error:
//! 1. `&&Probe<T>` where `T: DescribeInput` (or `DescribeOutput`,
//!    `ErrorResponses`): described;
//! 2. `&Probe<Json<T>>` and the like, `T` without `JsonSchema`: the body or
//!    parameters with an open schema, and a note;
//! 3. `Probe<T>`: anything else (`State`, `HeaderMap`, an `impl
//!    IntoResponse`): no parameters, or an open response, and a note.

use std::any::type_name;
use std::future::Future;
use std::marker::PhantomData;

use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::{DescribeInput, DescribeOutput, ErrorResponses, Operation};

/// A type, as a value: what the signature helpers return.
pub struct Probe<T>(PhantomData<fn() -> T>);

impl<T> Probe<T> {
    fn new() -> Probe<T> {
        Probe(PhantomData)
    }
}

impl<T, E> Probe<Result<T, E>> {
    /// The success and error types of a `Result` return type.
    pub fn split_result(&self) -> (Probe<T>, Probe<E>) {
        (Probe::new(), Probe::new())
    }
}

/// `sigN(&handler)`: a probe per argument and one for the output of an
/// `N`-argument handler.
macro_rules! signatures {
    ($($name:ident($($arg:ident),*);)*) => {$(
        #[allow(clippy::type_complexity)]
        pub fn $name<F, Fut, $($arg),*>(_: &F) -> (($(Probe<$arg>,)*), Probe<Fut::Output>)
        where
            F: FnOnce($($arg),*) -> Fut,
            Fut: Future,
        {
            (($(Probe::<$arg>::new(),)*), Probe::new())
        }
    )*};
}

signatures! {
    sig0();
    sig1(A0);
    sig2(A0, A1);
    sig3(A0, A1, A2);
    sig4(A0, A1, A2, A3);
    sig5(A0, A1, A2, A3, A4);
    sig6(A0, A1, A2, A3, A4, A5);
    sig7(A0, A1, A2, A3, A4, A5, A6);
    sig8(A0, A1, A2, A3, A4, A5, A6, A7);
    sig9(A0, A1, A2, A3, A4, A5, A6, A7, A8);
    sig10(A0, A1, A2, A3, A4, A5, A6, A7, A8, A9);
    sig11(A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);
    sig12(A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11);
    sig13(A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12);
    sig14(A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13);
    sig15(A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14);
    sig16(A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15);
}

/// First choice: an extractor that describes itself.
pub trait InputDescribed {
    fn input(&self, op: &mut Operation<'_>);
}
impl<T: DescribeInput> InputDescribed for &&Probe<T> {
    fn input(&self, op: &mut Operation<'_>) {
        T::describe_input(op)
    }
}

/// Second choice: a known extractor whose type has no schema.
pub trait InputOpen {
    fn input(&self, op: &mut Operation<'_>);
}
impl<T> InputOpen for &Probe<Json<T>> {
    fn input(&self, op: &mut Operation<'_>) {
        op.request_body("application/json", json!({}));
        json_rejections(op);
        op.leave_open(&no_schema::<T>("the JSON body"));
    }
}
impl<T> InputOpen for &Probe<Form<T>> {
    fn input(&self, op: &mut Operation<'_>) {
        op.request_body("application/x-www-form-urlencoded", json!({}));
        form_rejections(op);
        op.leave_open(&no_schema::<T>("the form body"));
    }
}
impl<T> InputOpen for &Probe<Query<T>> {
    fn input(&self, op: &mut Operation<'_>) {
        op.also_answers(400, "the query string does not fit the parameters");
        op.leave_open(&no_schema::<T>("the query"));
    }
}
impl<T> InputOpen for &Probe<Path<T>> {
    fn input(&self, op: &mut Operation<'_>) {
        op.also_answers(400, "a path parameter does not fit its type");
        op.leave_open(&no_schema::<T>("the path parameters"));
    }
}

/// Last choice: anything else adds nothing (`State`, `HeaderMap`, a user's own
/// extractor such as a signed-in user).
pub trait InputNone {
    fn input(&self, op: &mut Operation<'_>);
}
impl<T> InputNone for Probe<T> {
    fn input(&self, _: &mut Operation<'_>) {}
}

/// First choice: a response type that describes itself.
pub trait OutputDescribed {
    fn output(&self, op: &mut Operation<'_>, statuses: &[u16], written: &str);
}
impl<T: DescribeOutput> OutputDescribed for &&Probe<T> {
    fn output(&self, op: &mut Operation<'_>, statuses: &[u16], _: &str) {
        T::describe_output(op, statuses)
    }
}

/// Second choice: `Json<T>` whose `T` has no schema.
pub trait OutputOpen {
    fn output(&self, op: &mut Operation<'_>, statuses: &[u16], written: &str);
}
impl<T> OutputOpen for &Probe<Json<T>> {
    fn output(&self, op: &mut Operation<'_>, statuses: &[u16], _: &str) {
        for &status in or_ok(statuses) {
            op.response(status, Some(("application/json", json!({}))));
        }
        op.leave_open(&no_schema::<T>("the JSON response"));
    }
}

/// Last choice: anything else (`impl IntoResponse`, `Response`): the statuses the
/// handler names, or `default`, with no content described.
pub trait OutputNone {
    fn output(&self, op: &mut Operation<'_>, statuses: &[u16], written: &str);
}
impl<T> OutputNone for Probe<T> {
    fn output(&self, op: &mut Operation<'_>, statuses: &[u16], written: &str) {
        if statuses.is_empty() {
            op.default_response(None);
        }
        for &status in statuses {
            op.response(status, None);
        }
        op.leave_open(&format!("the response (`{written}`) is not described"));
    }
}

/// First choice: an error type with its statuses.
pub trait ErrorDescribed {
    fn error(&self, op: &mut Operation<'_>);
}
impl<E: ErrorResponses> ErrorDescribed for &&Probe<E> {
    fn error(&self, op: &mut Operation<'_>) {
        let body = E::body_schema(op.generator()).map(|s| s.to_value());
        for &(status, description) in E::STATUSES {
            op.also_answers(status, description);
            if let Some(body) = &body {
                op.response(status, Some(("application/json", body.clone())));
            }
        }
    }
}

/// Second choice: an error that is a response type (`(StatusCode, Html<String>)`):
/// its content under `default`.
pub trait ErrorAsOutput {
    fn error(&self, op: &mut Operation<'_>);
}
impl<E: DescribeOutput> ErrorAsOutput for &Probe<E> {
    fn error(&self, op: &mut Operation<'_>) {
        op.as_default(|op| E::describe_output(op, &[]));
    }
}

/// Last choice: any other error: a `default` response.
pub trait ErrorOpen {
    fn error(&self, op: &mut Operation<'_>);
}
impl<E> ErrorOpen for Probe<E> {
    fn error(&self, op: &mut Operation<'_>) {
        op.default_response(None);
        op.leave_open(&format!(
            "the error `{}` does not implement `approute::openapi::ErrorResponses`",
            type_name::<E>()
        ));
    }
}

/// The statuses named, or `200`.
pub(super) fn or_ok(statuses: &[u16]) -> &[u16] {
    if statuses.is_empty() {
        &[200]
    } else {
        statuses
    }
}

fn no_schema<T>(what: &str) -> String {
    format!(
        "{what} `{}` does not implement `schemars::JsonSchema`",
        type_name::<T>()
    )
}

/// What axum's `Json` rejection answers with.
pub(super) fn json_rejections(op: &mut Operation<'_>) {
    op.also_answers(400, "the body is not valid JSON");
    op.also_answers(413, "the body is over the size limit");
    op.also_answers(415, "the body is not `application/json`");
    op.also_answers(422, "the JSON does not fit the expected type");
}

/// What axum's `Form` rejection answers with.
pub(super) fn form_rejections(op: &mut Operation<'_>) {
    op.also_answers(413, "the body is over the size limit");
    op.also_answers(415, "the body is not `application/x-www-form-urlencoded`");
    op.also_answers(422, "the form does not fit the expected type");
}

/// Statuses the framework answers from the route's config constants.
pub fn framework_statuses(
    op: &mut Operation<'_>,
    has_params: bool,
    body_limit: Option<u64>,
    rate_limit: Option<(u64, u64)>,
    max_duration: Option<u64>,
) {
    if has_params {
        op.also_answers(400, "a path parameter is malformed");
    }
    op.also_answers(405, "the method is not one the route answers (see `Allow`)");
    if let Some(limit) = body_limit {
        op.also_answers(413, "the body is over the route's `BODY_LIMIT`");
        op.extension("body-limit", limit.into());
    }
    if let Some((requests, seconds)) = rate_limit {
        op.also_answers(429, "over the route's `RATE_LIMIT`; see `Retry-After`");
        op.extension(
            "rate-limit",
            json!({ "requests": requests, "seconds": seconds }),
        );
    }
    if let Some(seconds) = max_duration {
        op.also_answers(504, "the handler ran past the route's `MAX_DURATION`");
        op.extension("max-duration", Value::from(seconds));
    }
}

/// A status constant's code, for the generated code.
pub fn status(code: StatusCode) -> u16 {
    code.as_u16()
}
