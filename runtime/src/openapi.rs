//! `app::openapi()`: an OpenAPI 3.1 document of the routes, written by
//! `app!` from the tree and the handlers' signatures, with no annotations.
//!
//! The macro knows the URLs, methods, parameters, config constants and doc
//! comments; the types it cannot name (they are imported in each route
//! file) are reached through the handler functions themselves: each
//! argument and the return type become a `Probe<T>`, and a trait chosen by
//! method resolution (see [`probe`]) says what `T` adds to the operation:
//! parameters, a body, responses. Schemas come from [`schemars`] (JSON
//! Schema 2020-12, the dialect of OpenAPI 3.1); a type without
//! `JsonSchema`, an `impl IntoResponse` or a re-exported handler is no
//! compile error, it gets an open schema and a line in
//! `x-approute-left-open`.
//!
//! An error type says once which statuses it answers with by implementing
//! [`ErrorResponses`]; a custom extractor or response type can implement
//! [`DescribeInput`] or [`DescribeOutput`].

mod impls;
mod operation;
mod probe;

use serde::Serialize;
use serde_json::{json, Map, Value};

pub use operation::Operation;
pub use schemars;
use schemars::{Schema, SchemaGenerator};

/// The OpenAPI 3.1 document `app::openapi()` returns: serialize it with
/// serde (`serde_json::to_string(&app::openapi())`).
#[derive(Clone, Debug, PartialEq)]
pub struct OpenApi {
    document: Value,
}

impl OpenApi {
    /// The document as JSON, e.g. to set `info.title` or `servers`.
    pub fn json_mut(&mut self) -> &mut Value {
        &mut self.document
    }

    pub fn as_json(&self) -> &Value {
        &self.document
    }

    pub fn into_json(self) -> Value {
        self.document
    }

    /// Indented JSON with a final newline: the form to commit.
    pub fn to_pretty_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.document).expect("JSON values serialize");
        text.push('\n');
        text
    }

    /// What was left open (an `impl IntoResponse`, a type without
    /// `JsonSchema`, a re-exported handler), one line each.
    pub fn left_open(&self) -> Vec<&str> {
        self.document[LEFT_OPEN]
            .as_array()
            .map(|notes| notes.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}

impl Serialize for OpenApi {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.document.serialize(serializer)
    }
}

/// So that a route serving the document (`Json<OpenApi>`) is described too.
impl schemars::JsonSchema for OpenApi {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "OpenApi".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "An OpenAPI 3.1 document",
            "required": ["openapi", "info"],
        })
    }
}

/// The extension listing what the document leaves open.
pub const LEFT_OPEN: &str = "x-approute-left-open";

/// What an error type answers with, said once for every handler returning
/// `Result<_, ThisError>`; without it such handlers get a `default`
/// response.
///
/// ```
/// use approute::openapi::{schemars, ErrorResponses};
///
/// struct ApiError;
/// impl ErrorResponses for ApiError {
///     const STATUSES: &'static [(u16, &'static str)] = &[(404, "not found"), (500, "internal error")];
///     fn body_schema(generator: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
///         Some(generator.subschema_for::<String>())
///     }
/// }
/// ```
pub trait ErrorResponses {
    /// Each status and what it means.
    const STATUSES: &'static [(u16, &'static str)];
    /// The JSON body's schema (`application/json`); `None` for none.
    fn body_schema(_generator: &mut SchemaGenerator) -> Option<Schema> {
        None
    }
}

/// What an extractor adds to an operation: parameters, a request body,
/// the statuses its rejection answers with. approute implements it for
/// axum's `Path`, `Query`, `Json`, `Form`, `String` and `Bytes` (and
/// `Option`/`Result` of them); implement it for an extractor of your own.
pub trait DescribeInput {
    fn describe_input(operation: &mut Operation<'_>);
}

/// What a response type adds to an operation. `statuses` are those the
/// handler's returned expressions name (`StatusCode::CREATED`), empty when
/// they name none.
pub trait DescribeOutput {
    fn describe_output(operation: &mut Operation<'_>, statuses: &[u16]);
}

/// Used by the code `app!` generates; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use super::operation::{Document, PathParam};
    pub use super::probe::*;
}

/// What the whole document shares while it is written: the schema
/// generator (one, so each type is one entry under `components/schemas`)
/// and the notes on what was left open.
struct Context {
    generator: SchemaGenerator,
    left_open: Vec<String>,
}

impl Context {
    fn new() -> Context {
        let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        });
        Context {
            generator: settings.into_generator(),
            left_open: Vec::new(),
        }
    }

    fn finish(mut self, title: &str, version: &str, paths: Map<String, Value>) -> OpenApi {
        let schemas = self.generator.take_definitions(true);
        let mut document = json!({
            "openapi": "3.1.0",
            "info": { "title": title, "version": version },
            "paths": paths,
        });
        if !schemas.is_empty() {
            document["components"] = json!({ "schemas": schemas });
        }
        if !self.left_open.is_empty() {
            self.left_open.sort();
            self.left_open.dedup();
            document[LEFT_OPEN] = json!(self.left_open);
        }
        OpenApi { document }
    }
}

#[cfg(test)]
mod tests;
