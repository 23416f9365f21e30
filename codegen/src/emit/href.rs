//! `app::href!`: a `macro_rules!` that hands the `href` proc macro the
//! tree's route ids with the call, so links are checked when the crate
//! compiles (see `crate::href`).

use std::fmt::Write;

use super::{lit, push_joined, EmitOptions};
use crate::model::TrailingSlash;

const DOC: &str = "/// A link to a route, checked against the tree when the crate compiles:\n\
/// `href!(\"/api/users/[id]\", id = 42)` is `\"/api/users/42\"`, a `String`;\n\
/// a catch-all takes any iterator (`path = [\"a b\", \"c\"]` is `a%20b/c`);\n\
/// each value is percent-encoded as one path segment.\n";

/// The macro with every route id of the tree.
pub(super) fn emit_href(out: &mut String, route_ids: &[String], options: &EmitOptions) {
    let slash = match options.trailing_slash {
        TrailingSlash::Add => "add",
        TrailingSlash::Redirect | TrailingSlash::Both => "strip",
    };
    let mut ids: Vec<String> = route_ids.iter().map(|id| lit(id).to_string()).collect();
    ids.sort();
    ids.dedup();
    let mut body = String::from("::approute::__private::href!([");
    push_joined(&mut body, &ids);
    let _ = write!(body, "] {slash}; $($args)*)");
    write_macro(out, options.module(), &body);
}

/// The stand-in's macro: any call is a `String`, so a broken tree shows
/// only its own errors.
pub(super) fn emit_href_stub(out: &mut String, module: &str) {
    write_macro(
        out,
        module,
        "{ let _ = ::core::stringify!($($args)*); ::std::string::String::new() }",
    );
}

/// Exported (under a name unique to the module) so that other crates, such
/// as the app's integration tests, can call `app::href!` too.
fn write_macro(out: &mut String, module: &str, body: &str) {
    let name = format!("__approute_href_{module}");
    let _ = write!(
        out,
        "#[doc(hidden)] #[macro_export] macro_rules! {name} {{ ($($args:tt)*) => {{ {body} }}; }}\n\
         {DOC}#[allow(unused_imports)] pub use {name} as href;\n"
    );
}
