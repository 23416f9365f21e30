//! Writes the generated module: one `#[path]` module per route file (so
//! rustc reports errors in handlers at their own file and line, and rebuilds
//! when one changes), the route table, the `public/` files (each embedded
//! with `include_bytes!`, which also makes cargo rebuild when one changes),
//! and the `router()` function.

use std::collections::BTreeSet;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

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

/// Rust source (not yet formatted) of the generated module.
pub fn emit(tree: &RouteTree, options: &EmitOptions) -> Result<TokenStream, String> {
    let routes = &tree.routes;
    let modules = module_names("route", routes.iter().map(|r| &r.file));
    let mw_modules = module_names("middleware", tree.middleware.iter().map(|m| &m.file));
    let module = format_ident!("{}", options.module.as_deref().unwrap_or("app"));
    let state: TokenStream = match &options.state {
        Some(s) => s
            .parse()
            .map_err(|e| format!("`state = {s}` is not a type: {e}"))?,
        None => quote!(()),
    };
    let glob = options.state.as_ref().map(|_| {
        quote!(
            #[allow(unused_imports)]
            use super::*;
        )
    });

    let files = routes.iter().map(|r| (&r.file, r.pattern())).chain(
        tree.middleware
            .iter()
            .map(|m| (&m.file, "middleware".to_string())),
    );
    let mods = files
        .zip(modules.iter().chain(&mw_modules))
        .map(|((file, what), name)| {
            let path = file.abs_path.to_string_lossy().into_owned();
            let doc = format!(" `{what}` from `{}`", file.display_path);
            quote! {
                #[doc = #doc]
                #[allow(non_snake_case)]
                #[path = #path]
                pub mod #name;
            }
        });

    let infos = routes.iter().map(route_info);
    let count = routes.len();

    let slash = match options.trailing_slash {
        TrailingSlash::Redirect => quote!(Redirect),
        TrailingSlash::Add => quote!(Add),
        TrailingSlash::Both => quote!(Both),
    };
    let mut checks = Vec::new();
    let method_routers = routes
        .iter()
        .zip(&modules)
        .enumerate()
        .map(|(i, (route, module))| {
            // Each handler goes through a check whose error names its file,
            // since rustc can only point at the `app!` call.
            let check = format_ident!("is_handler_{}", i);
            checks.push(handler_check(&check, &route.file.display_path, &state));
            // The route's checks run first, then the middleware, then the
            // cache, which so sits behind an auth guard (as Next.js runs
            // middleware.ts before its cache).
            let wrap = |handler: TokenStream| {
                let handler = wrap(handler, &route.middleware, tree, &mw_modules);
                quote!(check.handler(#handler))
            };
            let cached = |handler: TokenStream| match route.config.revalidate {
                Some(_) => quote!(rt::with_layer(rt::cache_layer(&ROUTES[#i]), #handler)),
                None => handler,
            };
            let methods = if route.any_method {
                let handler = format_ident!("{}", crate::parse::ANY_METHOD_HANDLER);
                let handler = wrap(cached(quote!(#check(#module::#handler))));
                quote!(rt::any(#handler))
            } else {
                let calls = route.exports.iter().map(|e| {
                    let method = format_ident!("{}", e.method.as_str().to_ascii_lowercase());
                    let handler = format_ident!("{}", e.method.as_str());
                    let mut handler = quote!(#check(#module::#handler));
                    if e.method == Method::Get {
                        handler = cached(handler);
                    }
                    let handler = wrap(handler);
                    quote!(.#method(#handler))
                });
                let options = (!route.methods().contains(&Method::Options)).then(|| {
                    let handler = wrap(quote!(rt::auto_options(&ROUTES[#i])));
                    quote!(.options(#handler))
                });
                // Ours rather than axum's 405: middleware wrap it, and its
                // `Allow` reads like the one `OPTIONS` sends.
                let fallback = {
                    let handler = wrap(quote!(rt::method_not_allowed(&ROUTES[#i])));
                    quote!(.fallback(#handler))
                };
                quote!(rt::MethodRouter::<#state>::new() #(#calls)* #options #fallback)
            };
            quote! {
                let check = rt::Check::<#state, _>::new(|| (&ROUTES[#i], rt::TrailingSlash::#slash));
                let route: rt::MethodRouter<#state> = rt::route(&ROUTES[#i], #methods);
            }
        })
        .collect::<Vec<_>>();

    let public = &tree.public;
    let regs = registrations(routes, public, options.trailing_slash);
    // Each route is registered right after it is built, in a block of its
    // own: with every route bound first and registered after, 1,000 live
    // `MethodRouter`s (and the unwind paths dropping them) made release
    // builds of large apps take tens of minutes in LLVM.
    let route_blocks = method_routers.iter().enumerate().map(|(i, build)| {
        let patterns: Vec<&String> = regs
            .iter()
            .filter(|r| !r.public && r.target == Target::Route(i))
            .map(|r| &r.pattern)
            .collect();
        // A route whose only URL is a public file's is never reached
        // (Next.js serves the file); it is still built, so its handlers
        // are checked.
        let register = match patterns.split_last() {
            None => quote!(let _ = route;),
            Some((last, rest)) => quote! {
                #(router = router.route(#rest, route.clone());)*
                router = router.route(#last, route);
            },
        };
        quote!({ #build #register })
    });
    let public_infos = public.iter().map(public_info);
    // The public files' patterns go in as a table and one loop, not a
    // chain of calls: a `public/` folder may hold thousands of files.
    let public_table = regs.iter().filter(|r| r.public).map(|r| {
        let pattern = &r.pattern;
        let target = match r.target {
            Target::Public(i) => quote!(rt::PublicRoute::File(#i)),
            Target::RedirectStrip => quote!(rt::PublicRoute::RedirectStrip),
            Target::RedirectAdd => quote!(rt::PublicRoute::RedirectAdd),
            Target::Route(_) => unreachable!("routes are not registered as public"),
        };
        quote!((#pattern, #target))
    });
    let serve_public = wrap(
        quote!(rt::public_file(file)),
        &tree.public_middleware,
        tree,
        &mw_modules,
    );
    let router = if public.is_empty() {
        quote!(rt::Router::<#state>::new())
    } else {
        quote! {
            rt::public_routes(
                rt::Router::<#state>::new(),
                &[#(#public_table),*],
                PUBLIC_FILES,
                |file: &'static ::approute::PublicFile| -> rt::MethodRouter<#state> {
                    rt::any(#serve_public)
                },
            )
        }
    };
    let redirects = regs.iter().filter(|r| !r.public).filter_map(|r| {
        let pattern = &r.pattern;
        match r.target {
            Target::Route(_) => None,
            Target::RedirectStrip => Some(
                quote!(router = router.route(#pattern, rt::redirect_without_slash::<#state>());),
            ),
            Target::RedirectAdd => {
                Some(quote!(router = router.route(#pattern, rt::redirect_with_slash::<#state>());))
            }
            Target::Public(_) => unreachable!("public files are registered by the loop"),
        }
    });
    let doc = format!(
        " The {count} route(s) approute found under the app folder and the {} public file(s), as an axum `Router`.",
        public.len()
    );

    Ok(quote! {
        #[doc = #doc]
        pub mod #module {
            #glob
            #(#mods)*

            /// Every route, in the order Next.js ranks them.
            #[allow(dead_code)]
            pub static ROUTES: &[::approute::RouteInfo] = &[#(#infos),*];

            /// Every file served from the public folder, sorted by path.
            #[allow(dead_code)]
            pub static PUBLIC_FILES: &[::approute::PublicFile] = &[#(#public_infos),*];

            /// The router serving every route file under the app folder and
            /// every file in the public folder.
            pub fn router() -> ::approute::__private::Router<#state> {
                use ::approute::__private as rt;
                #(#checks)*
                #[allow(unused_mut)]
                let mut router = #router;
                #(#route_blocks)*
                #(#redirects)*
                router
            }
        }
    })
}

/// `handler` wrapped in `chain`, the innermost middleware applied first so
/// the outermost runs first; a folder's layer runs outside its function.
fn wrap(handler: TokenStream, chain: &[usize], tree: &RouteTree, modules: &[Ident]) -> TokenStream {
    chain.iter().rev().fold(handler, |inner, &i| {
        let module = &modules[i];
        let m = &tree.middleware[i];
        let inner = if m.function {
            quote!(rt::with_middleware(#module::middleware, #inner))
        } else {
            inner
        };
        if m.layer {
            quote!(rt::with_layer(#module::layer(), #inner))
        } else {
            inner
        }
    })
}

/// A function that passes a handler through unchanged but whose bound, when
/// unmet, makes rustc name the route file instead of generated code.
fn handler_check(name: &Ident, file: &str, state: &TokenStream) -> TokenStream {
    let trait_name = format_ident!(
        "IsHandlerIn{}",
        name.to_string().trim_start_matches("is_handler_")
    );
    let message = format!("`{{Self}}` in `{file}` is not an axum handler");
    let label = format!("a handler exported by `{file}`");
    quote! {
        #[diagnostic::on_unimplemented(
            message = #message,
            label = #label,
            note = "every argument must be an extractor (the last may consume the body: `Json<T>`, `String`, `Bytes`, `Form<T>`), at most 16 of them, and the return type must implement `IntoResponse`",
            note = "a `State<T>` extractor needs `approute::app!(state = T)`"
        )]
        trait #trait_name<T, S>: rt::Handler<T, S> {}
        impl<H: rt::Handler<T, S>, T, S> #trait_name<T, S> for H {}
        // Opaque, so that what wraps a handler that failed the check sees
        // a handler still, and rustc reports the one error above.
        fn #name<H: #trait_name<T, #state>, T: 'static>(handler: H) -> impl rt::Handler<T, #state> {
            handler
        }
    }
}

fn route_info(route: &Route) -> TokenStream {
    let pattern = route.pattern();
    let file = &route.file.display_path;
    let methods: Vec<&str> = route_methods(route).iter().map(|m| m.as_str()).collect();
    let segments = route.url.iter().map(|s| match s {
        Segment::Static(_) | Segment::Group(_) => quote!(::approute::UrlSegment::Static),
        Segment::Dynamic(n) => quote!(::approute::UrlSegment::Dynamic(#n)),
        Segment::CatchAll(n) => quote!(::approute::UrlSegment::CatchAll(#n)),
        Segment::OptionalCatchAll(n) => quote!(::approute::UrlSegment::OptionalCatchAll(#n)),
    });
    let allow = allow_header(route);
    let config = route_config(&route.config);
    quote! {
        ::approute::RouteInfo::__new(#pattern, #file, &[#(#methods),*], &[#(#segments),*], #allow, #config)
    }
}

fn public_info(file: &crate::public::PublicFile) -> TokenStream {
    let url = file.url();
    let shown = &file.display_path;
    let path = file.abs_path.to_string_lossy().into_owned();
    let content_type = file.content_type;
    let etag = &file.etag;
    let last_modified = match (file.last_modified(), file.modified) {
        (Some(date), Some(seconds)) => {
            quote!(::core::option::Option::Some((#date, #seconds)))
        }
        _ => quote!(::core::option::Option::None),
    };
    quote! {
        ::approute::PublicFile::__new(#url, #shown, ::core::include_bytes!(#path), #content_type, #etag, #last_modified)
    }
}

fn route_config(config: &crate::config::RouteConfig) -> TokenStream {
    if *config == crate::config::RouteConfig::default() {
        return quote!(::approute::RouteConfig::NONE);
    }
    let option = |v: Option<u64>| match v {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let revalidate = option(config.revalidate);
    let max_duration = option(config.max_duration);
    let body_limit = match config.body_limit {
        Some(n) => {
            let n = n as usize;
            quote!(::core::option::Option::Some(#n))
        }
        None => quote!(::core::option::Option::None),
    };
    let tags = &config.cache_tags;
    let credentialed = config.cache_credentialed;
    quote! {
        ::approute::RouteConfig {
            revalidate: #revalidate,
            cache_tags: &[#(#tags),*],
            cache_credentialed: #credentialed,
            body_limit: #body_limit,
            max_duration: #max_duration,
        }
    }
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
fn module_names<'a>(prefix: &str, files: impl Iterator<Item = &'a RouteFile>) -> Vec<Ident> {
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
            Ident::new(&name, Span::call_site())
        })
        .collect()
}
