//! Writes the generated module: one `#[path]` module per route file (so
//! rustc reports errors in handlers at their own file and line, and rebuilds
//! when one changes), the route table, the `public/` files (each embedded
//! with `include_bytes!`, which also makes cargo rebuild when one changes),
//! and the `router()` function.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::model::{Method, Route, RouteFile, RouteTree, Segment, TrailingSlash};
use crate::patterns::{registrations, Target};

/// What the user passed to `approute::app!`, as far as emitting cares.
#[derive(Clone, Debug, Default)]
pub struct EmitOptions {
    /// Rust source of the router's state type; `None` for `()`.
    pub state: Option<String>,
    pub trailing_slash: TrailingSlash,
    /// Name of the generated module.
    pub module: Option<String>,
}

/// Rust source (unformatted) of the generated module.
///
/// Written as text rather than with `quote`: the macro hands rustc a string
/// in the end, and building thousands of token trees only to print them
/// took most of the macro's time in unoptimized builds (proc macros build at
/// opt-level 0 by default).
pub fn emit(tree: &RouteTree, options: &EmitOptions) -> Result<String, String> {
    let routes = &tree.routes;
    let modules = module_names("route", routes.iter().map(|r| &r.file));
    let mw_modules = module_names("middleware", tree.middleware.iter().map(|m| &m.file));
    let module = options.module.as_deref().unwrap_or("app");
    let state = match &options.state {
        Some(s) => {
            syn::parse_str::<syn::Type>(s)
                .map_err(|e| format!("`state = {s}` is not a type: {e}"))?;
            s.as_str()
        }
        None => "()",
    };
    let slash = match options.trailing_slash {
        TrailingSlash::Redirect => "Redirect",
        TrailingSlash::Add => "Add",
        TrailingSlash::Both => "Both",
    };
    let public = &tree.public;
    let regs = registrations(routes, public, options.trailing_slash);
    // Each route's patterns, found in one pass: a search per route made
    // emitting quadratic in the number of routes.
    let mut patterns: Vec<Vec<&str>> = vec![Vec::new(); routes.len()];
    for r in regs.iter().filter(|r| !r.public) {
        if let Target::Route(i) = r.target {
            patterns[i].push(&r.pattern);
        }
    }

    let mut out = String::with_capacity(2048 * (routes.len() + 1));
    let _ = writeln!(
        out,
        "#[doc = {}] pub mod {module} {{",
        lit(&format!(
            " The {} route(s) approute found under the app folder and the {} public file(s), as an axum `Router`.",
            routes.len(),
            public.len()
        ))
    );
    if options.state.is_some() {
        out.push_str("#[allow(unused_imports)] use super::*;\n");
    }
    let files = routes.iter().map(|r| (&r.file, r.pattern())).chain(
        tree.middleware
            .iter()
            .map(|m| (&m.file, "middleware".to_string())),
    );
    for ((file, what), name) in files.zip(modules.iter().chain(&mw_modules)) {
        let _ = writeln!(
            out,
            "#[doc = {}] #[allow(non_snake_case)] #[path = {}] pub mod {name};",
            lit(&format!(" `{what}` from `{}`", file.display_path)),
            lit(&file.abs_path.to_string_lossy()),
        );
    }

    out.push_str("use ::approute::__private as rt;\n");
    // Every per-route item is named after the route's module, not its
    // position: adding a route then leaves the others' items unchanged, so
    // rustc's incremental cache reuses them.
    let infos: Vec<String> = modules.iter().map(|m| m.to_ascii_uppercase()).collect();
    for (route, info) in routes.iter().zip(&infos) {
        let _ = write!(out, "const {info}: ::approute::RouteInfo = ");
        route_info(&mut out, route);
        out.push_str(";\n");
    }
    out.push_str("/// Every route, in the order Next.js ranks them.\n#[allow(dead_code)] pub static ROUTES: &[::approute::RouteInfo] = &[");
    out.push_str(&infos.join(", "));
    out.push_str("];\n/// Every file served from the public folder, sorted by path.\n#[allow(dead_code)] pub static PUBLIC_FILES: &[::approute::PublicFile] = &[\n");
    for file in public {
        public_info(&mut out, file);
    }
    out.push_str("];\n");
    for (i, (route, module)) in routes.iter().zip(&modules).enumerate() {
        let names = RouteNames {
            module,
            info: &infos[i],
            mark: names_other_params(route, &patterns[i]),
        };
        build_route(&mut out, route, &names, tree, &mw_modules, state, slash);
    }
    let _ = writeln!(
        out,
        "/// The router serving every route file under the app folder and\n/// every file in the public folder.\n\
         pub fn router() -> ::approute::__private::Router<{state}> {{"
    );

    out.push_str("#[allow(unused_mut)] let mut router = ");
    if public.is_empty() {
        let _ = writeln!(out, "rt::Router::<{state}>::new();");
    } else {
        // The public files' patterns go in as a table and one loop, not a
        // chain of calls: a `public/` folder may hold thousands of files.
        let _ = writeln!(out, "rt::public_routes(rt::Router::<{state}>::new(), &[");
        for r in regs.iter().filter(|r| r.public) {
            let target = match r.target {
                Target::Public(i) => format!("File({i})"),
                Target::RedirectStrip => "RedirectStrip".to_string(),
                Target::RedirectAdd => "RedirectAdd".to_string(),
                Target::Route(_) => unreachable!("routes are not registered as public"),
            };
            let _ = writeln!(out, "({}, rt::PublicRoute::{target}),", lit(&r.pattern));
        }
        let serve = wrap(
            "rt::public_file(file)".to_string(),
            &tree.public_middleware,
            tree,
            &mw_modules,
        );
        let _ = writeln!(
            out,
            "], PUBLIC_FILES, |file: &'static ::approute::PublicFile| -> rt::MethodRouter<{state}> {{ rt::any({serve}) }});"
        );
    }

    // Each route is registered right after it is built: with every route
    // bound first and registered after, 1,000 live `MethodRouter`s (and the
    // unwind paths dropping them) made release builds of large apps take
    // tens of minutes in LLVM.
    for (module, patterns) in modules.iter().zip(&patterns) {
        match patterns.split_last() {
            // A route whose only URL is a public file's is never reached
            // (Next.js serves the file); its function is still type-checked.
            None => {}
            Some((last, [])) => {
                let _ = writeln!(
                    out,
                    "router = router.route({}, build_{module}());",
                    lit(last)
                );
            }
            Some((last, rest)) => {
                let _ = writeln!(out, "{{\nlet route = build_{module}();");
                for pattern in rest {
                    let _ = writeln!(
                        out,
                        "router = router.route({}, route.clone());",
                        lit(pattern)
                    );
                }
                let _ = writeln!(out, "router = router.route({}, route);\n}}", lit(last));
            }
        }
    }
    for r in regs.iter().filter(|r| !r.public) {
        let redirect = match r.target {
            Target::Route(_) => continue,
            Target::RedirectStrip => "redirect_without_slash",
            Target::RedirectAdd => "redirect_with_slash",
            Target::Public(_) => unreachable!("public files are registered by the loop"),
        };
        let _ = writeln!(
            out,
            "router = router.route({}, rt::{redirect}::<{state}>());",
            lit(&r.pattern)
        );
    }
    out.push_str("router\n}\n}\n");
    Ok(out)
}

/// A Rust string literal holding `s` (`Debug` escapes what must be).
fn lit(s: &str) -> String {
    format!("{s:?}")
}

/// `handler` wrapped in `chain`, the innermost middleware applied first so
/// the outermost runs first; a folder's layer runs outside its function.
fn wrap(handler: String, chain: &[usize], tree: &RouteTree, modules: &[String]) -> String {
    chain.iter().rev().fold(handler, |inner, &i| {
        let module = &modules[i];
        let m = &tree.middleware[i];
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

/// The stable names of one route's generated items.
struct RouteNames<'a> {
    /// Its `#[path]` module, `route_api_users_id`.
    module: &'a str,
    /// Its `RouteInfo` constant, `ROUTE_API_USERS_ID`.
    info: &'a str,
    /// Whether each request must carry the route for `Params`.
    mark: bool,
}

/// Whether one of the route's patterns has a parameter where the route's
/// URL has none of that name: a catch-all's fill-in patterns under a
/// dynamic sibling's `{id}`. Elsewhere `Params` reads the parameters from
/// the matched pattern, position by position.
fn names_other_params(route: &Route, patterns: &[&str]) -> bool {
    let own: Vec<Option<&str>> = route
        .url
        .iter()
        .filter(|s| !matches!(s, Segment::Group(_)))
        .map(Segment::param)
        .collect();
    patterns.iter().any(|p| {
        p.split('/')
            .filter(|part| !part.is_empty())
            .enumerate()
            .any(|(i, part)| {
                let Some(name) = part.strip_prefix('{').and_then(|n| n.strip_suffix('}')) else {
                    return false;
                };
                own.get(i).copied().flatten() != Some(name.trim_start_matches('*'))
            })
    })
}

/// `fn build_<module>()`: the route's `MethodRouter`, each handler behind
/// the route's checks, its middleware and its cache. A function of its own
/// per route keeps rustc's type check and LLVM working on small bodies.
fn build_route(
    out: &mut String,
    route: &Route,
    names: &RouteNames,
    tree: &RouteTree,
    mw_modules: &[String],
    state: &str,
    slash: &str,
) {
    let RouteNames { module, info, mark } = names;
    handler_check(out, module, &route.file.display_path, state);
    // A route without parameters or limits passes every check of
    // `rt::Check` (its other trailing-slash form is registered apart), so
    // its handlers go unwrapped: less code for rustc, as by hand.
    let checked = *mark
        || route.url.iter().any(|s| s.param().is_some())
        || route.config.body_limit.is_some()
        || route.config.max_duration.is_some();
    // The route's checks run first, then the middleware, then the cache,
    // which so sits behind an auth guard (as Next.js runs middleware.ts
    // before its cache).
    let wrap_with = |check: &str, handler: String| {
        let handler = wrap(handler, &route.middleware, tree, mw_modules);
        if checked {
            format!("{check}.handler({handler})")
        } else {
            handler
        }
    };
    let wrap = |handler: String| wrap_with("check", handler);
    let cached = |handler: String| match route.config.revalidate {
        Some(_) => format!("rt::with_layer(rt::cache_layer(&{info}), {handler})"),
        None => handler,
    };
    let _ = writeln!(
        out,
        "#[allow(dead_code)]\nfn build_{module}() -> rt::MethodRouter<{state}> {{"
    );
    if checked {
        let _ = writeln!(
            out,
            "let check = rt::Check::<{state}, _>::new(|| (&{info}, rt::TrailingSlash::{slash}, {mark}));"
        );
        if !route.any_method {
            out.push_str("let shared = check.shared();\n");
        }
    }
    let _ = write!(out, "rt::route(&{info}, ");
    if route.any_method {
        let handler = format!("{module}::{}", crate::parse::ANY_METHOD_HANDLER);
        let _ = write!(
            out,
            "rt::any(is_handler_{module}(&{handler}, {}))",
            wrap(cached(handler.clone()))
        );
    } else {
        let _ = write!(out, "rt::MethodRouter::<{state}>::new()");
        for e in &route.exports {
            let handler = format!("{module}::{}", e.method.as_str());
            let mut wrapped = handler.clone();
            if e.method == Method::Get {
                wrapped = cached(wrapped);
            }
            let method = e.method.as_str().to_ascii_lowercase();
            let _ = write!(
                out,
                ".{method}(is_handler_{module}(&{handler}, {}))",
                wrap(wrapped)
            );
        }
        if !route.methods().contains(&Method::Options) {
            let _ = write!(
                out,
                ".options({})",
                wrap_with("shared", format!("rt::auto_options(&{info})"))
            );
        }
        // Ours rather than axum's 405: middleware wrap it, and its `Allow`
        // reads like the one `OPTIONS` sends.
        let _ = write!(
            out,
            ".fallback({})",
            wrap_with("shared", format!("rt::method_not_allowed(&{info})"))
        );
    }
    out.push_str(")\n}\n");
}

/// A function that passes a handler through but whose bound, when unmet,
/// makes rustc name the route file instead of generated code.
fn handler_check(out: &mut String, module: &str, file: &str, state: &str) {
    let message = lit(&format!("`{{F}}` in `{file}` is not an axum handler"));
    let label = lit(&format!("a handler exported by `{file}`"));
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

fn route_info(out: &mut String, route: &Route) {
    let _ = write!(
        out,
        "::approute::RouteInfo::__new({}, {}, &[",
        lit(&route.pattern()),
        lit(&route.file.display_path)
    );
    for m in route_methods(route) {
        let _ = write!(out, "{},", lit(m.as_str()));
    }
    out.push_str("], &[");
    for s in &route.url {
        let _ = match s {
            Segment::Static(_) | Segment::Group(_) => {
                write!(out, "::approute::UrlSegment::Static,")
            }
            Segment::Dynamic(n) => write!(out, "::approute::UrlSegment::Dynamic({}),", lit(n)),
            Segment::CatchAll(n) => write!(out, "::approute::UrlSegment::CatchAll({}),", lit(n)),
            Segment::OptionalCatchAll(n) => {
                write!(out, "::approute::UrlSegment::OptionalCatchAll({}),", lit(n))
            }
        };
    }
    let _ = write!(out, "], {}, ", lit(&allow_header(route)));
    route_config(out, &route.config);
    out.push(')');
}

fn public_info(out: &mut String, file: &crate::public::PublicFile) {
    let last_modified = match (file.last_modified(), file.modified) {
        (Some(date), Some(seconds)) => {
            format!("::core::option::Option::Some(({}, {seconds}))", lit(&date))
        }
        _ => "::core::option::Option::None".to_string(),
    };
    let _ = writeln!(
        out,
        "::approute::PublicFile::__new({}, {}, ::core::include_bytes!({}), {}, {}, {last_modified}),",
        lit(&file.url()),
        lit(&file.display_path),
        lit(&file.abs_path.to_string_lossy()),
        lit(file.content_type),
        lit(&file.etag),
    );
}

fn route_config(out: &mut String, config: &crate::config::RouteConfig) {
    if *config == crate::config::RouteConfig::default() {
        out.push_str("::approute::RouteConfig::NONE");
        return;
    }
    let option = |v: Option<u64>| match v {
        Some(n) => format!("::core::option::Option::Some({n})"),
        None => "::core::option::Option::None".to_string(),
    };
    let tags: Vec<String> = config.cache_tags.iter().map(|t| lit(t)).collect();
    let _ = write!(
        out,
        "::approute::RouteConfig {{ revalidate: {}, cache_tags: &[{}], cache_credentialed: {}, body_limit: {}, max_duration: {} }}",
        option(config.revalidate),
        tags.join(", "),
        config.cache_credentialed,
        option(config.body_limit),
        option(config.max_duration),
    );
}

/// The `Allow` value for the route: what it exports, `HEAD` where `GET`
/// answers it, and `OPTIONS`, which is always answered.
pub fn allow_header(route: &Route) -> String {
    let mut methods: BTreeSet<Method> = route_methods(route).into_iter().collect();
    if methods.contains(&Method::Get) {
        methods.insert(Method::Head);
    }
    methods.insert(Method::Options);
    methods
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the route answers itself: every method for a `handler`.
fn route_methods(route: &Route) -> Vec<Method> {
    if route.any_method {
        Method::ALL.to_vec()
    } else {
        route.methods()
    }
}

/// `route_api_users_id` for `app/api/users/[id]`: readable in error
/// messages, unique, never a keyword.
fn module_names<'a>(prefix: &str, files: impl Iterator<Item = &'a RouteFile>) -> Vec<String> {
    let mut used = BTreeSet::new();
    files
        .map(|file| {
            let mut base = String::from(prefix);
            for folder in &file.folders {
                let word: String = folder
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() {
                            c.to_ascii_lowercase()
                        } else {
                            '_'
                        }
                    })
                    .collect();
                let word = word.trim_matches('_');
                if !word.is_empty() {
                    base.push('_');
                    base.push_str(word);
                }
            }
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
