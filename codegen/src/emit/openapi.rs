//! `pub fn openapi()` (with the `openapi` feature): one block per
//! operation, asking the runtime's probes what each handler's argument
//! and return types add (see `approute::openapi`'s docs for why the types
//! are reached through the handler). What only the file shows (docs,
//! returned statuses, config constants) is written here as literals.

use std::fmt::Write;

use super::{lit, Emitter};
use crate::model::{Method, Route, Signature, Status, TrailingSlash, UrlSegment};
use crate::parse::ANY_METHOD_HANDLER;

/// The methods a `pages/api` `handler` is listed under.
const ANY_METHOD: &[Method] = &[
    Method::Get,
    Method::Post,
    Method::Put,
    Method::Patch,
    Method::Delete,
];

impl Emitter<'_> {
    pub(super) fn emit_openapi(&self, out: &mut String) {
        out.push_str(
            "/// The routes as an OpenAPI 3.1 document, from the tree and the handlers' signatures.\n\
             #[allow(deprecated, unused_imports, unused_mut, unused_variables, clippy::needless_borrow)]\n\
             pub fn openapi() -> ::approute::openapi::OpenApi {\n\
             use ::approute::__private::openapi::*;\n\
             let mut doc = Document::new(::core::env!(\"CARGO_PKG_NAME\"), ::core::env!(\"CARGO_PKG_VERSION\"));\n",
        );
        for (index, route) in self.tree.routes.iter().enumerate() {
            // Shadowed by a public file: never served.
            if self.route_patterns[index].is_empty() {
                continue;
            }
            let params = format!("P{index}");
            let _ = write!(out, "const {params}: &[PathParam] = &[");
            for s in &route.url {
                if let Some(name) = s.param() {
                    let _ = write!(
                        out,
                        "PathParam {{ name: {}, catch_all: {} }},",
                        lit(name),
                        s.is_catch_all()
                    );
                }
            }
            out.push_str("];\n");
            let paths = self.openapi_paths(route, &params);
            for signature in &route.signatures {
                let methods: Vec<Method> = if signature.name == ANY_METHOD_HANDLER {
                    ANY_METHOD.to_vec()
                } else {
                    Method::from_name(&signature.name).into_iter().collect()
                };
                for method in methods {
                    self.emit_operation(out, index, method, signature, &paths);
                }
            }
        }
        out.push_str("doc.finish()\n}\n");
    }

    /// `&[("/docs", &[]), ("/docs/{slug}", P3)]`: the OpenAPI paths of a
    /// route, two for an optional catch-all (with it and without).
    fn openapi_paths(&self, route: &Route, params: &str) -> String {
        let mut with = String::new();
        let mut without = None;
        for s in &route.url {
            match s {
                UrlSegment::Static(text) => {
                    with.push('/');
                    with.push_str(text);
                }
                UrlSegment::OptionalCatchAll(name) => {
                    without = Some(with.clone());
                    let _ = write!(with, "/{{{name}}}");
                }
                UrlSegment::Dynamic(name) | UrlSegment::CatchAll(name) => {
                    let _ = write!(with, "/{{{name}}}");
                }
            }
        }
        let slashed = |mut path: String| {
            if path.is_empty() {
                "/".to_string()
            } else {
                if self.options.trailing_slash == TrailingSlash::Add {
                    path.push('/');
                }
                path
            }
        };
        let mut paths = String::from("&[");
        if let Some(without) = without {
            // the parameters before the optional catch-all
            let before = route.url.iter().filter(|s| s.param().is_some()).count() - 1;
            let _ = write!(
                paths,
                "({}, &{params}[..{before}]), ",
                lit(&slashed(without))
            );
        }
        let _ = write!(paths, "({}, {params})]", lit(&slashed(with)));
        paths
    }

    fn emit_operation(
        &self,
        out: &mut String,
        index: usize,
        method: Method,
        signature: &Signature,
        paths: &str,
    ) {
        let route = &self.tree.routes[index];
        let module = &self.route_modules[index];
        let _ = writeln!(
            out,
            "{{\nlet mut op = doc.operation({}, {}, {paths});",
            lit(&self.route_ids[index]),
            lit(method.as_lowercase())
        );
        if !signature.summary.is_empty() || !signature.description.is_empty() {
            let _ = writeln!(
                out,
                "op.docs({}, {});",
                lit(&signature.summary),
                lit(&signature.description)
            );
        }
        if signature.deprecated {
            out.push_str("op.deprecated();\n");
        }
        match signature.arity {
            None => {
                let _ = writeln!(
                    out,
                    "op.default_response(None);\nop.leave_open({});",
                    lit(&format!("`{}` is re-exported (`pub use .. as {}`), so its signature is not in the route file", signature.name, signature.name))
                );
            }
            Some(arity) => {
                let args: Vec<String> = (0..arity).map(|i| format!("a{i}")).collect();
                let _ = writeln!(
                    out,
                    "let (({}), out) = sig{arity}(&{module}::{});",
                    args.iter().map(|a| format!("{a},")).collect::<String>(),
                    signature.name
                );
                for a in &args {
                    let _ = writeln!(out, "(&&&{a}).input(&mut op);");
                }
                let statuses: Vec<String> = signature
                    .statuses
                    .iter()
                    .map(|s| match s {
                        Status::Constant(c) => {
                            format!("status(::approute::axum::http::StatusCode::{c})")
                        }
                        Status::Code(code) => code.to_string(),
                    })
                    .collect();
                let statuses = format!("&[{}]", statuses.join(", "));
                let written = lit(&signature.return_type);
                if signature.returns_result {
                    let _ = writeln!(
                        out,
                        "let (ok, err) = out.split_result();\n(&&&ok).output(&mut op, {statuses}, {written});\n(&&&err).error(&mut op);"
                    );
                } else {
                    let _ = writeln!(out, "(&&&out).output(&mut op, {statuses}, {written});");
                }
            }
        }
        let config = &route.config;
        let option = |v: Option<String>| v.map_or("None".to_string(), |v| format!("Some({v})"));
        let _ = writeln!(
            out,
            "framework_statuses(&mut op, {}, {}, {}, {});",
            route.url.iter().any(|s| s.param().is_some()),
            option(config.body_limit.map(|n| n.to_string())),
            option(config.rate_limit.map(|(r, s)| format!("({r}, {s})"))),
            option(config.max_duration.map(|n| n.to_string())),
        );
        if let Some(seconds) = config.revalidate {
            let _ = writeln!(out, "op.extension(\"revalidate\", {seconds}u64.into());");
        }
        out.push_str("op.finish();\n}\n");
    }
}
