//! Writes the generated module: one `#[path]` module per route file (so
//! rustc reports errors in handlers at their own file and line, and rebuilds
//! when one changes), the route table, the `public/` files (each embedded
//! with `include_bytes!`, which also makes cargo rebuild when one changes),
//! and the `router()` function. [`emit_stub`] writes the stand-in for that
//! module when the tree has mistakes.
//!
//! Written as text rather than with `quote`: the macro hands rustc a string
//! in the end, and building thousands of token trees only to print them
//! took most of the macro's time in unoptimized builds (proc macros build at
//! opt-level 0 by default).

mod href;
mod openapi;
mod tables;

use std::collections::BTreeSet;
use std::fmt::Write;

use quote::ToTokens;

use crate::model::{Method, RouteFile, RouteTree, TrailingSlash};
use crate::parse::ANY_METHOD_HANDLER;
use crate::patterns::{registrations, Registrations, RouteRef, Target};
pub use tables::allow_header;
use tables::{emit_public_file, emit_route_info};

/// What the user passed to `approute::app!`, as far as emitting cares.
#[derive(Clone, Debug, Default)]
pub struct EmitOptions {
    /// The router's state type; `None` for `()`.
    pub state: Option<StateType>,
    pub trailing_slash: TrailingSlash,
    /// Name of the generated module.
    pub module: Option<String>,
    /// Emit `openapi()` (`approute`'s `openapi` feature).
    pub openapi: bool,
}

/// Rust source of a type, known to parse as one: checked when it is made,
/// so that emitting cannot fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateType(String);

impl StateType {
    /// A type the macro has already parsed.
    pub fn new(ty: &syn::Type) -> StateType {
        StateType(ty.to_token_stream().to_string())
    }

    /// Checks that `source` is a type, and keeps it as written.
    pub fn parse(source: &str) -> Result<StateType, String> {
        syn::parse_str::<syn::Type>(source)
            .map(|_| StateType(source.to_string()))
            .map_err(|e| format!("`state = {source}` is not a type: {e}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl EmitOptions {
    fn module(&self) -> &str {
        self.module.as_deref().unwrap_or("app")
    }

    fn state(&self) -> &str {
        self.state.as_ref().map_or("()", StateType::as_str)
    }

    /// `use super::*;`, so that the state type can be named as at the call
    /// site.
    fn glob_import(&self) -> &'static str {
        if self.state.is_some() {
            "#[allow(unused_imports)] use super::*;\n"
        } else {
            ""
        }
    }
}

/// Rust source (unformatted) of the generated module.
pub fn emit(tree: &RouteTree, options: &EmitOptions) -> String {
    let emitter = Emitter::new(tree, options);
    let mut out = String::with_capacity(2048 * (tree.routes.len() + 1));
    emitter.emit_modules(&mut out);
    emitter.emit_tables(&mut out);
    for index in 0..tree.routes.len() {
        emitter.emit_handler_check(&mut out, index);
        emitter.emit_build_route(&mut out, index);
    }
    emitter.emit_router(&mut out);
    href::emit_href(&mut out, &emitter.route_ids, options);
    if options.openapi {
        emitter.emit_openapi(&mut out);
    }
    out.push_str("}\n");
    out
}

/// Rust source of the stand-in for the generated module, for the macro to
/// put after its `compile_error!`s: the same public items, empty, so the
/// rest of the crate still type-checks and the user sees only the real
/// errors. `router()` keeps its real signature: a generic one would leave
/// `let r = app::router();` with a type to infer, one more error.
pub fn emit_stub(options: &EmitOptions) -> String {
    let mut out = format!(
        "#[allow(dead_code)] pub mod {} {{\n{}\
         pub static ROUTES: &[::approute::RouteInfo] = &[];\n\
         pub static PUBLIC_FILES: &[::approute::PublicFile] = &[];\n\
         {} {{ ::approute::__private::Router::new() }}\n",
        options.module(),
        options.glob_import(),
        router_signature(options.state()),
    );
    href::emit_href_stub(&mut out, options.module());
    if options.openapi {
        out.push_str("pub fn openapi() -> ::approute::openapi::OpenApi { ::approute::__private::openapi::Document::new(\"\", \"\").finish() }\n");
    }
    out.push_str("}\n");
    out
}

fn router_signature(state: &str) -> String {
    format!("pub fn router() -> ::approute::__private::Router<{state}>")
}

/// What every part of the module needs to know, worked out once.
struct Emitter<'a> {
    tree: &'a RouteTree,
    options: &'a EmitOptions,
    state: &'a str,
    /// `rt::TrailingSlash`'s variant.
    slash: &'static str,
    /// Each route's `#[path]` module, `route_api_users_id`.
    route_modules: Vec<String>,
    /// Each route's `RouteInfo` constant, `ROUTE_API_USERS_ID`.
    infos: Vec<String>,
    /// Each route's id, `/api/users/[id]`: made once, written three times.
    route_ids: Vec<String>,
    middleware_modules: Vec<String>,
    registrations: Registrations,
    /// Each route's patterns, as indices into `registrations.routes`.
    route_patterns: Vec<Vec<usize>>,
    /// Whether each route has fill-in patterns, so that each request must
    /// tell `Params` which route it reached.
    fill_in: Vec<bool>,
}

impl<'a> Emitter<'a> {
    fn new(tree: &'a RouteTree, options: &'a EmitOptions) -> Emitter<'a> {
        let routes = &tree.routes;
        let route_modules = module_names("route", routes.iter().map(|r| &r.file));
        // Every per-route item is named after the route's module, not its
        // position: adding a route then leaves the others' items unchanged,
        // so rustc's incremental cache reuses them.
        let infos = route_modules
            .iter()
            .map(|m| m.to_ascii_uppercase())
            .collect();
        let registrations = registrations(routes, &tree.public, options.trailing_slash);
        // Each route's patterns, found in one pass: a search per route made
        // emitting quadratic in the number of routes.
        let mut route_patterns = vec![Vec::new(); routes.len()];
        let mut fill_in = vec![false; routes.len()];
        for (i, r) in registrations.routes.iter().enumerate() {
            if let Target::Serve(route) = r.target {
                route_patterns[route.index].push(i);
                fill_in[route.index] |= route.fill_in;
            }
        }
        Emitter {
            tree,
            options,
            state: options.state(),
            slash: match options.trailing_slash {
                TrailingSlash::Redirect => "Redirect",
                TrailingSlash::Add => "Add",
                TrailingSlash::Both => "Both",
            },
            route_modules,
            infos,
            route_ids: routes.iter().map(|r| r.route_id()).collect(),
            middleware_modules: module_names("middleware", tree.middleware.iter().map(|m| &m.file)),
            registrations,
            route_patterns,
            fill_in,
        }
    }

    /// The module's head: its doc, and a `#[path]` module per file.
    fn emit_modules(&self, out: &mut String) {
        let tree = self.tree;
        let _ = writeln!(
            out,
            "#[doc = {}] pub mod {} {{",
            lit(&format!(
                " The {} route(s) approute found under the app folder and the {} public file(s), as an axum `Router`.",
                tree.routes.len(),
                tree.public.len()
            )),
            self.options.module()
        );
        out.push_str(self.options.glob_import());
        let files = tree
            .routes
            .iter()
            .map(|r| &r.file)
            .zip(self.route_ids.iter().map(String::as_str))
            .chain(tree.middleware.iter().map(|m| (&m.file, "middleware")));
        let names = self.route_modules.iter().chain(&self.middleware_modules);
        for ((file, what), name) in files.zip(names) {
            let _ = writeln!(
                out,
                "#[doc = {}] #[allow(non_snake_case)] #[path = {}] pub mod {name};",
                lit(&format!(" `{what}` from `{}`", file.display_path)),
                lit(&file.abs_path.to_string_lossy()),
            );
        }
        out.push_str("use ::approute::__private as rt;\n");
    }

    /// The `RouteInfo` constants, `ROUTES` and `PUBLIC_FILES`.
    fn emit_tables(&self, out: &mut String) {
        for ((route, info), id) in self
            .tree
            .routes
            .iter()
            .zip(&self.infos)
            .zip(&self.route_ids)
        {
            let _ = write!(out, "const {info}: ::approute::RouteInfo = ");
            emit_route_info(out, route, id);
            out.push_str(";\n");
        }
        out.push_str("/// Every route, in the order Next.js ranks them.\n#[allow(dead_code)] pub static ROUTES: &[::approute::RouteInfo] = &[");
        push_joined(out, &self.infos);
        out.push_str("];\n/// Every file served from the public folder, sorted by path.\n#[allow(dead_code)] pub static PUBLIC_FILES: &[::approute::PublicFile] = &[\n");
        for file in &self.tree.public {
            emit_public_file(out, file);
        }
        out.push_str("];\n");
    }

    /// A function that passes a handler through but whose bound, when
    /// unmet, makes rustc name the route file instead of generated code.
    fn emit_handler_check(&self, out: &mut String, index: usize) {
        let module = &self.route_modules[index];
        let file = &self.tree.routes[index].file.display_path;
        let state = self.state;
        let message = format!("`{{F}}` in `{file}` is not an axum handler");
        let label = format!("a handler exported by `{file}`");
        let (message, label) = (lit(&message), lit(&label));
        let _ = writeln!(
            out,
            "#[diagnostic::on_unimplemented(message = {message}, label = {label}, \
             note = \"every argument must be an extractor (the last may consume the body: `Json<T>`, `String`, `Bytes`, `Form<T>`), at most 16 of them, and the return type must implement `IntoResponse`\", \
             note = \"a `State<T>` extractor needs `approute::app!(state = T)`\")]\n\
             #[allow(non_camel_case_types)]\n\
             trait IsHandlerIn_{module}<T, S, F> {{}}\n\
             impl<H: rt::Handler<T, S>, T, S, F> IsHandlerIn_{module}<T, S, F> for H {{}}\n\
             // Checks the wrapped handler, so that `.get(..)` then needs exactly\n\
             // what failed here and rustc reports one error; `F` is the exported\n\
             // function, for the message.\n\
             fn is_handler_{module}<H: IsHandlerIn_{module}<T, {state}, F>, T, F>(_: &F, handler: H) -> H {{ handler }}"
        );
    }

    /// `fn build_<module>()`: the route's `MethodRouter`, each handler
    /// behind the route's checks, its middleware and its cache. A function
    /// of its own per route keeps rustc's type check and LLVM working on
    /// small bodies.
    fn emit_build_route(&self, out: &mut String, index: usize) {
        let route = &self.tree.routes[index];
        let module = &self.route_modules[index];
        let info = &self.infos[index];
        let fill_in = self.fill_in[index];
        let state = self.state;
        let methods = route.methods();
        // A route without parameters or limits passes every check of
        // `rt::Check` (its other trailing-slash form is registered apart),
        // so its handlers go unwrapped: less code for rustc, as by hand.
        let checked = fill_in
            || route.url.iter().any(|s| s.param().is_some())
            || route.config.body_limit.is_some()
            || route.config.max_duration.is_some();
        // The route's checks run first, then the middleware, then the
        // cache, which so sits behind an auth guard (as Next.js runs
        // middleware.ts before its cache).
        let guarded_by = |check: &str, handler: String| {
            let handler = self.with_middleware(handler, &route.middleware);
            if checked {
                format!("{check}.handler({handler})")
            } else {
                handler
            }
        };
        let guarded = |handler: String| guarded_by("check", handler);
        let cached = |handler: String| match route.config.revalidate {
            Some(_) => format!("rt::with_layer(rt::cache_layer(&{info}), {handler})"),
            None => handler,
        };
        // Inside the middleware (a guard may exempt a request), outside the
        // cache (a cached answer counts too); only the route's own handlers
        // count, not the automatic OPTIONS and 405 answers.
        let limited = |handler: String| match route.config.rate_limit {
            Some(_) => format!("rt::rate_limited(|| &{info}, {handler})"),
            None => handler,
        };
        let _ = writeln!(
            out,
            "// `#[deprecated]` marks the API document, not the build.\n#[allow(dead_code, deprecated)]\nfn build_{module}() -> rt::MethodRouter<{state}> {{"
        );
        if checked {
            let _ = writeln!(
                out,
                "let check = rt::Check::<{state}, _>::new(|| (&{info}, rt::TrailingSlash::{}, {fill_in}));",
                self.slash
            );
            // The automatic OPTIONS and 405 answers share one check type.
            let shares = !methods.contains(&Method::Options) || !methods.contains(&Method::Query);
            if !route.any_method && shares {
                out.push_str("let shared = check.shared();\n");
            }
        }
        let _ = write!(out, "rt::route(&{info}, ");
        if route.any_method {
            let handler = format!("{module}::{ANY_METHOD_HANDLER}");
            let _ = write!(
                out,
                "rt::any(is_handler_{module}(&{handler}, {}))",
                guarded(limited(cached(handler.clone())))
            );
        } else {
            let _ = write!(out, "rt::MethodRouter::<{state}>::new()");
            // axum's method router has no filter for QUERY: it goes
            // through the fallback (below).
            for e in route.exports.iter().filter(|e| e.method != Method::Query) {
                let handler = format!("{module}::{}", e.method.as_str());
                let mut wrapped = handler.clone();
                if e.method == Method::Get {
                    wrapped = cached(wrapped);
                }
                wrapped = limited(wrapped);
                let method = e.method.as_lowercase();
                let _ = write!(
                    out,
                    ".{method}(is_handler_{module}(&{handler}, {}))",
                    guarded(wrapped)
                );
            }
            if !methods.contains(&Method::Options) {
                let _ = write!(
                    out,
                    ".options({})",
                    guarded_by("shared", format!("rt::auto_options(&{info})"))
                );
            }
            // Ours rather than axum's 405: middleware wrap it, and its
            // `Allow` reads like the one `OPTIONS` sends.
            let fallback = if methods.contains(&Method::Query) {
                let handler = format!("{module}::QUERY");
                let query = format!(
                    "rt::method_not_allowed(&{info}).or_query({})",
                    limited(handler.clone())
                );
                format!("is_handler_{module}(&{handler}, {})", guarded(query))
            } else {
                guarded_by("shared", format!("rt::method_not_allowed(&{info})"))
            };
            let _ = write!(out, ".fallback({fallback})");
        }
        out.push_str(")\n}\n");
    }

    /// `fn router()`: the public files, then each route, then the
    /// trailing-slash redirects.
    fn emit_router(&self, out: &mut String) {
        let state = self.state;
        let _ = writeln!(
            out,
            "/// The router serving every route file under the app folder and\n/// every file in the public folder.\n{} {{",
            router_signature(state)
        );
        out.push_str("#[allow(unused_mut)] let mut router = ");
        if self.tree.public.is_empty() {
            let _ = writeln!(out, "rt::Router::<{state}>::new();");
        } else {
            self.emit_public_routes(out);
        }
        // Each route is registered right after it is built: with every
        // route bound first and registered after, 1,000 live
        // `MethodRouter`s (and the unwind paths dropping them) made release
        // builds of large apps take tens of minutes in LLVM.
        for (module, patterns) in self.route_modules.iter().zip(&self.route_patterns) {
            let pattern = |i: &usize| lit(&self.registrations.routes[*i].pattern);
            match patterns.split_last() {
                // A route whose only URL is a public file's is never
                // reached (Next.js serves the file); its function is still
                // type-checked.
                None => {}
                Some((last, [])) => {
                    let _ = writeln!(
                        out,
                        "router = router.route({}, build_{module}());",
                        pattern(last)
                    );
                }
                Some((last, rest)) => {
                    let _ = writeln!(out, "{{\nlet route = build_{module}();");
                    for p in rest {
                        let _ =
                            writeln!(out, "router = router.route({}, route.clone());", pattern(p));
                    }
                    let _ = writeln!(out, "router = router.route({}, route);\n}}", pattern(last));
                }
            }
        }
        for r in &self.registrations.routes {
            let redirect = match r.target {
                Target::Serve(RouteRef { .. }) => continue, // registered above
                Target::RedirectStrip => "redirect_without_slash",
                Target::RedirectAdd => "redirect_with_slash",
            };
            let _ = writeln!(
                out,
                "router = router.route({}, rt::{redirect}::<{state}>());",
                lit(&r.pattern)
            );
        }
        out.push_str("router\n}\n");
    }

    /// The public files' patterns, as a table and one loop rather than a
    /// chain of calls: a `public/` folder may hold thousands of files.
    fn emit_public_routes(&self, out: &mut String) {
        let state = self.state;
        let _ = writeln!(out, "rt::public_routes(rt::Router::<{state}>::new(), &[");
        for r in &self.registrations.public {
            let target = match r.target {
                Target::Serve(i) => format!("File({i})"),
                Target::RedirectStrip => "RedirectStrip".to_string(),
                Target::RedirectAdd => "RedirectAdd".to_string(),
            };
            let _ = writeln!(out, "({}, rt::PublicRoute::{target}),", lit(&r.pattern));
        }
        let file_handler = self.with_middleware(
            "rt::public_file(file)".to_string(),
            &self.tree.public_middleware,
        );
        let _ = writeln!(
            out,
            "], PUBLIC_FILES, |file: &'static ::approute::PublicFile| -> rt::MethodRouter<{state}> {{ rt::any({file_handler}) }});"
        );
    }

    /// `handler` wrapped in `chain`, the innermost middleware applied first
    /// so the outermost runs first; a folder's layer runs outside its
    /// function.
    fn with_middleware(&self, handler: String, chain: &[usize]) -> String {
        chain.iter().rev().fold(handler, |inner, &i| {
            let module = &self.middleware_modules[i];
            let m = &self.tree.middleware[i];
            let inner = if m.function {
                format!("rt::with_middleware({module}::middleware, {inner})")
            } else {
                inner
            };
            if m.layer {
                format!("rt::with_layer({module}::layer(), {inner})")
            } else {
                inner
            }
        })
    }
}

/// A Rust string literal holding `s` (`Debug` escapes what must be).
pub(crate) fn lit(s: &str) -> Lit<'_> {
    Lit(s)
}

/// A string literal written straight into the output: `format!("{s:?}")`
/// for each one made and copied a `String` (12,000 of them for 1,000
/// routes).
#[derive(Clone, Copy)]
pub(crate) struct Lit<'a>(&'a str);

impl std::fmt::Display for Lit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.0, f)
    }
}

/// `items.join(", ")` pushed onto `out`: `join` is generic, and so
/// unoptimised in the macro, and makes a `String` of its own.
pub(crate) fn push_joined<S: AsRef<str>>(out: &mut String, items: &[S]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(item.as_ref());
    }
}

/// `route_api_users_id` for `app/api/users/[id]`: readable in error
/// messages, unique, never a keyword.
fn module_names<'a>(prefix: &str, files: impl Iterator<Item = &'a RouteFile>) -> Vec<String> {
    let mut used = BTreeSet::new();
    files
        .map(|file| {
            let mut bytes = prefix.as_bytes().to_vec();
            for folder in &file.folders {
                push_name_word(&mut bytes, folder);
            }
            let mut base = String::from_utf8(bytes).expect("ASCII");
            if base == prefix {
                base.push_str("_root");
            }
            let mut name = base.clone();
            let mut n = 2;
            while !used.insert(name.clone()) {
                name = format!("{base}_{n}");
                n += 1;
            }
            name
        })
        .collect()
}

/// Appends `_word` to `name`: `word` is `folder` lowercased, each char
/// not ASCII alphanumeric a `_`, without `_`s at its ends; nothing if that
/// leaves it empty.
fn push_name_word(name: &mut Vec<u8>, folder: &str) {
    // A byte loop into `name` itself: the macro runs unoptimised, where a
    // `chars()` chain, or a word of its own then trimmed, costs far more. A
    // non-ASCII char becomes one `_`, from its first byte (UTF-8
    // continuation bytes are 0b10xx_xxxx).
    let separator = name.len();
    name.reserve(folder.len() + 1);
    name.push(b'_');
    for &b in folder.as_bytes() {
        if b.is_ascii_alphanumeric() {
            name.push(b.to_ascii_lowercase());
        } else if b & 0xC0 != 0x80 && name.len() > separator + 1 {
            name.push(b'_');
        }
    }
    while name.len() > separator + 1 && name[name.len() - 1] == b'_' {
        name.pop();
    }
    if name.len() == separator + 1 {
        name.truncate(separator);
    }
}

#[cfg(test)]
mod tests;
