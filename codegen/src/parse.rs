//! Reads a `route.rs` and finds the method handlers it exports.

use crate::error::{Diagnostic, Location};
use crate::items::{top_items, Name};
use crate::model::{Convention, Export, Method, RouteConfig, RouteFile, Signature};
use crate::suggest;

/// What a route file exports.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Exports {
    /// Method handlers, sorted by method.
    pub methods: Vec<Export>,
    /// A `pages/api` file's `pub fn handler`, answering every method.
    pub any_method: bool,
    /// Its config constants.
    pub config: RouteConfig,
    /// What each handler's signature says, sorted like `methods`.
    pub signatures: Vec<Signature>,
}

/// The name of the one-handler form of a `pages/api` file, after Next.js's
/// default export `handler(req, res)`.
pub const ANY_METHOD_HANDLER: &str = "handler";

/// The handlers `source` exports and every mistake seen.
///
/// A handler is a `pub fn GET` (any method name) or a `pub use path as GET;`;
/// in `pages/api` files also one `pub fn handler` for every method.
/// Lines come from proc-macro2's `span-locations`; in a proc macro the caller
/// must force proc-macro2's fallback so spans are positions in `source`.
pub fn parse_route_file(
    path: &str,
    source: &str,
    convention: Convention,
) -> (Exports, Vec<Diagnostic>) {
    let items = match top_items(source) {
        Ok(items) => items,
        Err(e) => return (Exports::default(), vec![syntax_error(path, source, &e)]),
    };

    let mut found = Found {
        convention,
        ..Found::default()
    };
    for f in &items.fns {
        found.name(&f.name, f.public, "fn");
    }
    for u in items.uses.iter().filter(|u| u.public) {
        for name in &u.names {
            found.name(name, true, "use");
        }
        found.globs.extend(&u.globs);
    }

    let (config, mut problems) = crate::config::read_config(path, source, &items.consts);
    for (ident, what) in found.private {
        let (line, col) = (ident.line, ident.column);
        problems.push(
            Diagnostic::new(
                format!("approute: `{what} {ident}` in `{path}` is private, so it cannot be the route's {ident} handler"),
                format!("make it public: add `pub` before `{what} {ident}`"),
            )
            .at(Location::at(path, source, line, col)),
        );
    }
    for (ident, method) in found.near_misses {
        let (line, col) = (ident.line, ident.column);
        problems.push(
            Diagnostic::new(
                format!("approute: `{ident}` in `{path}` is not an HTTP method, so it is not a handler"),
                format!("did you mean `{method}`? Handlers are named after their method in capitals: {}", Method::list()),
            )
            .at(Location::at(path, source, line, col)),
        );
    }
    for (line, col) in found.globs {
        problems.push(
            Diagnostic::new(
                format!(
                    "approute: `{path}` re-exports with `*`, which hides which handlers it has"
                ),
                "re-export each handler by name, e.g. `pub use crate::handlers::list as GET;`",
            )
            .at(Location::at(path, source, line, col)),
        );
    }

    let mut methods = found.exports;
    methods.sort_by_key(|e| e.method);
    methods.dedup_by_key(|e| e.method);
    if let (Some(handler), Some(first)) = (&found.any_method, methods.first()) {
        let (line, col) = (handler.line, handler.column);
        problems.push(
            Diagnostic::new(
                format!("approute: `{path}` exports both `{ANY_METHOD_HANDLER}` and method handlers"),
                format!("keep one form: `{ANY_METHOD_HANDLER}` answers every method itself, or split it into method functions like `{}`", first.method),
            )
            .at(Location::at(path, source, line, col))
            .at(Location::at(path, source, first.line, 0)),
        );
    }
    if methods.is_empty() && found.any_method.is_none() && problems.is_empty() {
        let also = match convention {
            Convention::App => "",
            Convention::Pages => ", or one `pub async fn handler` for every method",
        };
        problems.push(
            Diagnostic::new(
                format!("approute: `{path}` exports no handler"),
                format!("add one, e.g. `pub async fn GET() -> &'static str {{ \"ok\" }}`; a route file needs at least one of {}{also}", Method::list()),
            )
            .at(Location::file(path)),
        );
    }
    let exports = Exports {
        signatures: Vec::new(),
        methods,
        any_method: found.any_method.is_some(),
        config,
    };
    (exports, problems)
}

/// A route file's exports and its problems, or why it could not be read.
pub type Parsed = Result<(Exports, Vec<Diagnostic>), Diagnostic>;

/// Reads and parses every route file, in order. Parsing is most of the
/// macro's time and each file stands alone, so large trees are split over
/// the machine's cores (an incremental build leaves them idle while the one
/// crate that changed recompiles).
///
/// With `signatures` (for `app::openapi()`) it also reads what each
/// handler's signature says, which parses the handlers' bodies.
pub fn parse_route_files(files: &[RouteFile], signatures: bool) -> Vec<Parsed> {
    let one = |file: &RouteFile| -> Parsed {
        let source = read(file)?;
        let (mut exports, problems) =
            parse_route_file(&file.display_path, &source, file.convention);
        if signatures {
            let mut names: Vec<&str> = exports.methods.iter().map(|e| e.method.as_str()).collect();
            if exports.any_method {
                names.push(ANY_METHOD_HANDLER);
            }
            exports.signatures = crate::signature::read(&source, &names);
        }
        Ok((exports, problems))
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    // Below this, starting threads costs more than it saves.
    const FILES_PER_THREAD: usize = 64;
    if threads < 2 || files.len() < 2 * FILES_PER_THREAD {
        return files.iter().map(one).collect();
    }
    let chunk = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|chunk| scope.spawn(move || chunk.iter().map(one).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// The first syntax error anywhere in the file, function bodies included
/// (see [`Options::check_bodies`](crate::Options::check_bodies)).
pub fn body_syntax_problem(file: &RouteFile) -> Option<Diagnostic> {
    let source = read(file).ok()?;
    let e = syn::parse_file(&source).err()?;
    Some(syntax_error(&file.display_path, &source, &e))
}

/// The text of a route or middleware file.
pub fn read(file: &RouteFile) -> Result<String, Diagnostic> {
    read_text(&file.abs_path).map_err(|e| {
        Diagnostic::new(
            format!("approute: cannot read `{}`: {e}", file.display_path),
            "make the file readable UTF-8 text",
        )
        .at(Location::file(file.display_path.clone()))
    })
}

/// `fs::read_to_string` without its size query: that is one system call
/// in four for a small file, and the macro reads every route file on
/// every build. Fails as it does on text that is not UTF-8.
fn read_text(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    // Through `Take`, which reads to the end without asking for the size;
    // `File`'s own `read_to_end` asks first.
    let mut bytes = Vec::with_capacity(8 * 1024);
    (&file).take(u64::MAX).read_to_end(&mut bytes)?;
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// The name of a middleware function, after axum's `from_fn` examples.
pub const MIDDLEWARE_FN: &str = "middleware";
/// The name of a function returning a tower `Layer`.
pub const LAYER_FN: &str = "layer";

/// What a `middleware.rs` exports.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MiddlewareExports {
    pub function: bool,
    pub layer: bool,
}

/// Reads a `middleware.rs`: it must export `pub fn middleware`, `pub fn
/// layer`, or both.
pub fn parse_middleware_file(path: &str, source: &str) -> (MiddlewareExports, Vec<Diagnostic>) {
    let items = match top_items(source) {
        Ok(items) => items,
        Err(e) => {
            return (
                MiddlewareExports::default(),
                vec![syntax_error(path, source, &e)],
            )
        }
    };
    let mut names: Vec<(&Name, bool)> = Vec::new();
    for f in &items.fns {
        names.push((&f.name, f.public));
    }
    for u in items.uses.iter().filter(|u| u.public) {
        names.extend(u.names.iter().map(|name| (name, true)));
    }
    let mut exports = MiddlewareExports::default();
    let mut problems = Vec::new();
    for (ident, public) in names {
        let name = &ident.text;
        let (line, col) = (ident.line, ident.column);
        let known = name == MIDDLEWARE_FN || name == LAYER_FN;
        if known && public {
            exports.function |= name == MIDDLEWARE_FN;
            exports.layer |= name == LAYER_FN;
        } else if known {
            problems.push(
                Diagnostic::new(
                    format!("approute: `fn {name}` in `{path}` is private, so it cannot wrap the routes"),
                    format!("make it public: add `pub` before `fn {name}`"),
                )
                .at(Location::at(path, source, line, col)),
            );
        } else if let Some(meant) = public
            .then(|| suggest::export(name, &[MIDDLEWARE_FN, LAYER_FN]))
            .flatten()
        {
            problems.push(
                Diagnostic::new(
                    format!("approute: `{name}` in `{path}` is not a middleware export"),
                    format!("did you mean `{meant}`? A middleware.rs exports `pub async fn middleware(req, next)` and/or `pub fn layer()`"),
                )
                .at(Location::at(path, source, line, col)),
            );
        }
    }
    if !exports.function && !exports.layer && problems.is_empty() {
        problems.push(
            Diagnostic::new(
                format!("approute: `{path}` exports no middleware"),
                "add `pub async fn middleware(req: Request, next: approute::middleware::Next) -> Response`, or `pub fn layer()` returning a tower Layer",
            )
            .at(Location::file(path)),
        );
    }
    (exports, problems)
}

fn syntax_error(path: &str, source: &str, e: &syn::Error) -> Diagnostic {
    let start = e.span().start();
    Diagnostic::new(
        format!("approute: `{path}` does not parse: {e}"),
        "fix the syntax error; rustc shows the same spot once the file parses",
    )
    .at(Location::at(path, source, start.line, start.column + 1))
}

#[derive(Default)]
struct Found {
    convention: Convention,
    exports: Vec<Export>,
    any_method: Option<Name>,
    private: Vec<(Name, &'static str)>,
    near_misses: Vec<(Name, Method)>,
    globs: Vec<(usize, usize)>,
}

impl Found {
    fn name(&mut self, ident: &Name, public: bool, what: &'static str) {
        let name = &ident.text;
        if self.convention == Convention::Pages && name == ANY_METHOD_HANDLER && public {
            self.any_method = Some(ident.clone());
            return;
        }
        match Method::from_name(name) {
            Some(method) if public => self.exports.push(Export {
                method,
                line: ident.line,
            }),
            Some(_) => self.private.push((ident.clone(), what)),
            None if public => {
                if let Some(method) = suggest::method(name) {
                    self.near_misses.push((ident.clone(), method));
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_read_as_fs_read_to_string_reads_them() {
        let dir = std::env::temp_dir().join(format!("approute-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big: String = "pub async fn GET() {}\n".repeat(2_000); // over one read's chunk
        for (name, bytes) in [
            ("empty", &b""[..]),
            ("small", "caf\u{e9}\n".as_bytes()),
            ("big", big.as_bytes()),
            ("latin1", &b"caf\xe9"[..]),
            ("missing", &b"-"[..]),
        ] {
            let path = dir.join(name);
            if name != "missing" {
                std::fs::write(&path, bytes).unwrap();
            }
            let ours = read_text(&path).map_err(|e| e.to_string());
            let std = std::fs::read_to_string(&path).map_err(|e| e.to_string());
            assert_eq!(ours, std, "{name}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn methods(source: &str) -> Vec<&'static str> {
        let (exports, problems) = parse_route_file("app/route.rs", source, Convention::App);
        assert!(problems.is_empty(), "{problems:#?}");
        exports.methods.iter().map(|e| e.method.as_str()).collect()
    }

    fn problems(source: &str) -> Vec<String> {
        parse_route_file("app/route.rs", source, Convention::App)
            .1
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn finds_pub_fns_and_pub_use_renames() {
        let source = r#"
            use axum::Json;
            pub async fn POST() {}
            pub async fn GET() {}
            pub(crate) fn DELETE() {}
            pub use crate::handlers::{update as PATCH, other::HEAD};
            pub use crate::handlers::opts as OPTIONS;
            fn helper() {}
            pub fn get_user() {}
            pub fn path() {}
        "#;
        assert_eq!(
            methods(source),
            ["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"]
        );
    }

    #[test]
    fn export_lines_are_file_lines() {
        let (exports, _) = parse_route_file("r", "\n\npub async fn GET() {}\n", Convention::App);
        assert_eq!(exports.methods[0].line, 3);
    }

    #[test]
    fn near_misses_are_named_with_the_fix() {
        let p = problems("pub async fn GET() {}\npub async fn Post() {}\npub fn POSTS() {}\npub use a::b as delete;\n");
        assert_eq!(p.len(), 3, "{p:#?}");
        assert!(p[0].contains("`Post` in `app/route.rs` is not an HTTP method"));
        assert!(p[0].contains("app/route.rs:2:14"), "{}", p[0]);
        assert!(p[0].contains("did you mean `POST`?"));
        assert!(p[1].contains("did you mean `POST`?"));
        assert!(p[2].contains("did you mean `DELETE`?"));
    }

    #[test]
    fn private_handler_is_an_error() {
        let p = problems("async fn GET() {}\n");
        assert_eq!(p.len(), 1);
        assert!(
            p[0].contains("make it public: add `pub` before `fn GET`"),
            "{}",
            p[0]
        );
    }

    #[test]
    fn no_handler_is_an_error() {
        let p = problems("pub fn helper() {}\n");
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("exports no handler"));
        assert!(p[0].contains("--> app/route.rs\n"));
    }

    #[test]
    fn glob_reexport_is_an_error() {
        let p = problems("pub use crate::handlers::*;\n");
        assert!(p[0].contains("re-exports with `*`"), "{p:?}");
    }

    #[test]
    fn syntax_error_points_at_line() {
        let p = problems("pub async fn GET() {}\npub const REVALIDATE: u64 = ;\n");
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("does not parse"), "{}", p[0]);
        assert!(p[0].contains("app/route.rs:2:"), "{}", p[0]);
        let p = problems("pub async fn GET() {\n    let x = (;\n}\n");
        assert!(p[0].contains("does not parse"), "{}", p[0]);
    }

    #[test]
    fn a_syntax_error_inside_a_body_is_left_to_rustc() {
        // rustc parses the file again and says what is wrong there.
        assert_eq!(methods("pub async fn GET() {\n    let x = ;\n}\n"), ["GET"]);
    }

    #[test]
    fn pages_handler_answers_every_method() {
        let (exports, problems) = parse_route_file(
            "pages/api/a.rs",
            "pub async fn handler() {}",
            Convention::Pages,
        );
        assert!(problems.is_empty());
        assert!(exports.any_method);
        assert!(exports.methods.is_empty());
        // in app/ a `handler` is just a helper, so the file has no handler
        let (exports, problems) =
            parse_route_file("app/route.rs", "pub async fn handler() {}", Convention::App);
        assert!(!exports.any_method);
        assert!(problems[0].message.contains("exports no handler"));
    }

    #[test]
    fn pages_handler_and_methods_together_is_an_error() {
        let source = "pub async fn handler() {}\npub async fn GET() {}\n";
        let (_, problems) = parse_route_file("pages/api/a.rs", source, Convention::Pages);
        assert_eq!(problems.len(), 1);
        let text = problems[0].to_string();
        assert!(
            text.contains("exports both `handler` and method handlers"),
            "{text}"
        );
        assert!(text.contains("pages/api/a.rs:1:14"), "{text}");
        assert!(text.contains("pages/api/a.rs:2"), "{text}");
    }

    #[test]
    fn middleware_files() {
        let parse = |src| parse_middleware_file("app/middleware.rs", src);
        let (e, p) = parse("pub async fn middleware() {}\npub fn layer() {}\n");
        assert_eq!((e.function, e.layer, p.len()), (true, true, 0));
        let (e, p) = parse("pub use crate::auth::check as middleware;\n");
        assert_eq!((e.function, e.layer, p.len()), (true, false, 0));
        let (_, p) = parse("pub async fn midleware() {}\n");
        assert!(
            p[0].to_string().contains("did you mean `middleware`?"),
            "{p:?}"
        );
        let (_, p) = parse("pub fn Layer() {}\n");
        assert!(p[0].to_string().contains("did you mean `layer`?"));
        let (_, p) = parse("async fn middleware() {}\n");
        assert!(p[0].to_string().contains("is private"));
        let (_, p) = parse("pub fn helper() {}\n");
        assert!(p[0].to_string().contains("exports no middleware"));
        let (_, p) = parse("pub fn middleware( {}\n");
        assert!(p[0].to_string().contains("does not parse"));
    }
}
