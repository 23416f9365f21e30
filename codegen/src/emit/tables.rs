//! The constants the runtime reads: each route's `RouteInfo` (with its
//! `RouteConfig` and `Allow` header) and each public file's `PublicFile`.

use std::fmt::Write;

use super::{lit, push_joined};
use crate::config::{self, Value};
use crate::model::{Method, PublicFile, Route, RouteConfig, UrlSegment};
use crate::patterns::public_url;
use crate::public::http_date;

/// `id` is `route.route_id()`, which the emitter has made already.
pub(super) fn emit_route_info(out: &mut String, route: &Route, id: &str) {
    let _ = write!(
        out,
        "::approute::RouteInfo::__new({}, {}, &[",
        lit(id),
        lit(&route.file.display_path)
    );
    for m in route_methods(route) {
        let _ = write!(out, "{},", lit(m.as_str()));
    }
    out.push_str("], &[");
    for s in &route.url {
        let (kind, param) = match s {
            UrlSegment::Static(_) => ("Static", None),
            UrlSegment::Dynamic(n) => ("Dynamic", Some(n)),
            UrlSegment::CatchAll(n) => ("CatchAll", Some(n)),
            UrlSegment::OptionalCatchAll(n) => ("OptionalCatchAll", Some(n)),
        };
        let _ = match param {
            Some(n) => write!(out, "::approute::UrlSegment::{kind}({}),", lit(n)),
            None => write!(out, "::approute::UrlSegment::{kind},"),
        };
    }
    let _ = write!(out, "], {}, ", lit(&allow_header(route)));
    emit_route_config(out, &route.config);
    out.push(')');
}

pub(super) fn emit_public_file(out: &mut String, file: &PublicFile) {
    let last_modified = match file.modified {
        Some(seconds) => format!(
            "::core::option::Option::Some(({}, {seconds}))",
            lit(&http_date(seconds))
        ),
        None => "::core::option::Option::None".to_string(),
    };
    let _ = write!(
        out,
        "::approute::PublicFile::__new({}, {}, ::core::include_bytes!({}), {}, {}, {last_modified}, &[",
        lit(&public_url(file)),
        lit(&file.display_path),
        lit(&file.abs_path.to_string_lossy()),
        lit(file.content_type),
        lit(&file.etag),
    );
    for variant in &file.variants {
        let _ = write!(
            out,
            "::approute::PublicVariant::__new(::approute::compress::Encoding::{}, ::core::include_bytes!({}), {}),",
            variant.encoding,
            lit(&variant.path.to_string_lossy()),
            lit(&variant.etag),
        );
    }
    out.push_str("]),\n");
}

/// The runtime's `RouteConfig`, one field per [`config::CONSTANTS`] entry.
fn emit_route_config(out: &mut String, config: &RouteConfig) {
    if *config == RouteConfig::default() {
        out.push_str("::approute::RouteConfig::NONE");
        return;
    }
    let fields: Vec<String> = config::CONSTANTS
        .iter()
        .map(|c| {
            let value = match (c.value)(config) {
                Value::Number(Some(n)) => format!("::core::option::Option::Some({n})"),
                Value::Number(None) | Value::Pair(None) => {
                    "::core::option::Option::None".to_string()
                }
                Value::Bool(b) => b.to_string(),
                Value::Strs(strs) => {
                    let strs: Vec<String> = strs.iter().map(|t| lit(t).to_string()).collect();
                    format!("&[{}]", strs.join(", "))
                }
                Value::Pair(Some((a, b))) => format!("::core::option::Option::Some(({a}, {b}))"),
            };
            format!("{}: {value}", c.field)
        })
        .collect();
    let _ = write!(out, "::approute::RouteConfig {{ {} }}", fields.join(", "));
}

/// The `Allow` value for the route: what it exports, `HEAD` where `GET`
/// answers it, and `OPTIONS`, which is always answered, sorted by name as
/// Next.js sorts them (`DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT`).
pub fn allow_header(route: &Route) -> String {
    let mut methods: Vec<&str> = route_methods(route).iter().map(|m| m.as_str()).collect();
    if methods.contains(&"GET") {
        methods.push("HEAD");
    }
    methods.push("OPTIONS");
    // A handful of names: sorting them beats a `BTreeSet` at opt-level 0.
    methods.sort_unstable();
    methods.dedup();
    let mut header = String::with_capacity(8 * methods.len());
    push_joined(&mut header, &methods);
    header
}

/// What the route answers itself: every method for a `handler`.
fn route_methods(route: &Route) -> Vec<Method> {
    if route.any_method {
        Method::ALL.to_vec()
    } else {
        route.methods()
    }
}
