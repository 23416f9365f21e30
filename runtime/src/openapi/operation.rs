//! One operation (a method at a path) while `app::openapi()` writes it,
//! and the document it goes into.

use std::collections::BTreeMap;

use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::{Context, OpenApi};

/// The document while the generated `openapi()` fills it.
pub struct Document {
    cx: Context,
    title: &'static str,
    version: &'static str,
    paths: Map<String, Value>,
}

/// A path parameter as the tree names it: `[id]`, or `[...path]` (a
/// catch-all, whose one value may hold `/`).
#[derive(Clone, Copy, Debug)]
pub struct PathParam {
    pub name: &'static str,
    pub catch_all: bool,
}

impl Document {
    pub fn new(title: &'static str, version: &'static str) -> Document {
        Document {
            cx: Context::new(),
            title,
            version,
            paths: Map::new(),
        }
    }

    /// An operation of `route` (the route id, for notes) answering
    /// `method` at each of `paths` (two for an optional catch-all).
    pub fn operation<'d>(
        &'d mut self,
        route: &'static str,
        method: &'static str,
        paths: &[(&'static str, &'static [PathParam])],
    ) -> Operation<'d> {
        Operation {
            doc: self,
            route,
            method,
            paths: paths.to_vec(),
            fields: Map::new(),
            query: Vec::new(),
            path_schema: None,
            body: None,
            responses: BTreeMap::new(),
            to_default: false,
        }
    }

    pub fn finish(self) -> OpenApi {
        self.cx.finish(self.title, self.version, self.paths)
    }
}

/// One operation being described; what [`super::DescribeInput`] and
/// [`super::DescribeOutput`] implementations add to.
pub struct Operation<'d> {
    doc: &'d mut Document,
    route: &'static str,
    method: &'static str,
    paths: Vec<(&'static str, &'static [PathParam])>,
    fields: Map<String, Value>,
    query: Vec<Value>,
    path_schema: Option<Value>,
    body: Option<(Map<String, Value>, bool)>,
    /// By status (`"200"`, `"default"`), sorted.
    responses: BTreeMap<String, Value>,
    /// Responses go to `default` (an error type's own response type).
    to_default: bool,
}

impl Operation<'_> {
    /// The generator every schema of the document comes from.
    pub fn generator(&mut self) -> &mut SchemaGenerator {
        &mut self.doc.cx.generator
    }

    /// `T`'s schema, a `$ref` into `components/schemas` for named types.
    pub fn schema_for<T: JsonSchema>(&mut self) -> Value {
        self.generator().subschema_for::<T>().to_value()
    }

    /// `T`'s own schema, inline (for query and path parameters, which need
    /// its properties).
    pub fn inline_schema_for<T: JsonSchema>(&mut self) -> Value {
        T::json_schema(self.generator()).to_value()
    }

    /// A request body of `content_type`; a second call adds another type.
    pub fn request_body(&mut self, content_type: &str, schema: Value) {
        let (content, _) = self.body.get_or_insert_with(|| (Map::new(), true));
        content.insert(content_type.to_string(), json!({ "schema": schema }));
    }

    /// The body may be left out (an `Option<Json<T>>`).
    pub fn body_optional(&mut self) {
        if let Some((_, required)) = &mut self.body {
            *required = false;
        }
    }

    /// One query parameter per property of an object schema (a
    /// `Query<T>`'s `T`).
    pub fn query_parameters(&mut self, schema: Value) {
        let schema = self.resolve(schema);
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(properties) = schema["properties"].as_object() else {
            return;
        };
        for (name, property) in properties {
            let mut parameter = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "schema": property,
            });
            if let Some(description) = property.get("description") {
                parameter["description"] = description.clone();
            }
            self.query.push(parameter);
        }
    }

    /// The path parameters' schemas from a `Path<T>`'s `T`: a tuple's
    /// items in order, a struct's properties by name, or one value for a
    /// route with one parameter.
    pub fn path_parameters(&mut self, schema: Value) {
        self.path_schema = Some(self.resolve(schema));
    }

    /// A response; a second call at one status adds a content type.
    pub fn response(&mut self, status: u16, content: Option<(&str, Value)>) {
        let key = if self.to_default {
            "default".to_string()
        } else {
            status.to_string()
        };
        let description = match self.to_default {
            true => "any other answer".to_string(),
            false => reason(status),
        };
        self.add_response(key, description, content);
    }

    /// A response whose status the handler decides at run time.
    pub fn default_response(&mut self, content: Option<(&str, Value)>) {
        self.add_response("default".into(), "any other answer".into(), content);
    }

    /// A status answered for a reason other than the handler's (the
    /// framework's limits, an extractor's rejection), unless described.
    pub fn also_answers(&mut self, status: u16, description: &str) {
        self.responses
            .entry(status.to_string())
            .or_insert_with(|| json!({ "description": description }));
    }

    /// Records in `x-approute-left-open` that `what` is not described.
    pub fn leave_open(&mut self, what: &str) {
        let note = format!("{} {}: {what}", self.method.to_uppercase(), self.route);
        self.doc.cx.left_open.push(note);
    }

    /// Writes the responses `describe` adds under `default`.
    pub fn as_default(&mut self, describe: impl FnOnce(&mut Self)) {
        self.to_default = true;
        describe(self);
        self.to_default = false;
    }

    fn add_response(&mut self, key: String, description: String, content: Option<(&str, Value)>) {
        let response = self
            .responses
            .entry(key)
            .or_insert_with(|| json!({ "description": description }));
        if let Some((content_type, schema)) = content {
            response["content"][content_type] = json!({ "schema": schema });
        }
    }

    /// A `$ref` into `components/schemas`, replaced by what it names.
    fn resolve(&mut self, schema: Value) -> Value {
        let name = schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"));
        match name.and_then(|n| self.doc.cx.generator.definitions().get(n)) {
            Some(found) => found.clone(),
            None => schema,
        }
    }

    #[doc(hidden)]
    pub fn docs(&mut self, summary: &str, description: &str) {
        if !summary.is_empty() {
            self.fields.insert("summary".into(), summary.into());
        }
        if !description.is_empty() {
            self.fields.insert("description".into(), description.into());
        }
    }

    #[doc(hidden)]
    pub fn extension(&mut self, name: &str, value: Value) {
        self.fields.insert(format!("x-approute-{name}"), value);
    }

    #[doc(hidden)]
    pub fn deprecated(&mut self) {
        self.fields.insert("deprecated".into(), true.into());
    }

    /// Writes the operation at each of its paths.
    #[doc(hidden)]
    pub fn finish(mut self) {
        if self.responses.is_empty() {
            self.default_response(None);
        }
        let mut fields = std::mem::take(&mut self.fields);
        if let Some((content, required)) = self.body.take() {
            fields.insert(
                "requestBody".into(),
                json!({ "required": required, "content": content }),
            );
        }
        fields.insert(
            "responses".into(),
            Value::Object(std::mem::take(&mut self.responses).into_iter().collect()),
        );
        // QUERY has no field in a 3.1 path item.
        let key = match self.method {
            "query" => "x-approute-query".to_string(),
            method => method.to_string(),
        };
        for (path, params) in &self.paths {
            let mut fields = fields.clone();
            let mut parameters: Vec<Value> = params
                .iter()
                .enumerate()
                .map(|(i, p)| path_parameter(p, self.path_schema.as_ref(), i, params.len()))
                .collect();
            parameters.extend(self.query.iter().cloned());
            if !parameters.is_empty() {
                fields.insert("parameters".into(), parameters.into());
            }
            let item = self.doc.paths.entry(path.to_string()).or_insert(json!({}));
            item[&key] = Value::Object(fields);
        }
    }
}

/// A path parameter, its schema taken from `Path<T>`'s when there is one.
fn path_parameter(param: &PathParam, schema: Option<&Value>, index: usize, count: usize) -> Value {
    let from_path = schema.and_then(|s| {
        if let Some(items) = s["prefixItems"].as_array() {
            return items.get(index).cloned();
        }
        if let Some(property) = s["properties"].get(param.name) {
            return Some(property.clone());
        }
        let scalar = s.get("properties").is_none() && s.get("items").is_none();
        (count == 1 && scalar).then(|| s.clone())
    });
    // A URL segment is never empty.
    let schema = from_path.unwrap_or_else(|| json!({ "type": "string", "minLength": 1 }));
    let mut parameter = json!({
        "name": param.name,
        "in": "path",
        "required": true,
        "schema": schema,
    });
    if param.catch_all {
        parameter["description"] =
            json!("the rest of the path: one or more segments, so the value may hold `/`");
        parameter["x-approute-catch-all"] = json!(true);
    }
    parameter
}

/// `Created` for 201: what a response's required description says.
fn reason(status: u16) -> String {
    axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("answer")
        .to_string()
}
