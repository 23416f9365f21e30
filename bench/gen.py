#!/usr/bin/env python3
"""Writes the bench route trees, each as an approute app and as its
hand-written equivalents. Everything it writes is ignored by git and can be
deleted; rerun it to get the same files back (the output is deterministic).

    python3 bench/gen.py            # every crate and tree (a second or two)

Writes:
  bench/apps/gen-N/    approute app: app/**/route.rs + build.rs + approute::app!()
  bench/apps/hand-N/   the same handlers, routed by hand: Router::new().route(..)
  bench/apps/hyper-N/  the same answers from hyper 1.x and a plain `match`
                       (the ceiling: no framework at all)
  bench/apps/serve-N/  gen-N's app/ tree, served by `approute::serve` (default
                       features, `init_logging`), or by `axum::serve` when
                       its first argument is `axum`: one binary, one router
  bench/routing/trees/rN/  route trees for the criterion bench (N = 10, 100, 1000)
  bench/routing/src/hand_N.rs  the hand-written routers for it
  bench/next/app/      the 50-route tree as Next.js 14 route handlers

The tree of N routes takes the first N routes of resources res0, res1, ...
under /api, each resource giving six routes, one per segment kind:

  api/resK                        static
  api/resK/[id]                   dynamic
  api/resK/[id]/items/[item]      nested dynamic
  api/resK/files/[...path]        catch-all
  api/resK/docs/[[...slug]]       optional catch-all (serves api/resK/docs too)
  api/(gK%4)/resK/about           route group (URL /api/resK/about)
"""

import os
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
APP_SIZES = [10, 50, 1000]
ROUTING_SIZES = [10, 100, 1000]
NEXT_SIZE = 50
KINDS = ["static", "dynamic", "nested", "catchall", "optional", "group"]

# The axum features and tokio features every crate uses, so that one build of
# each dependency serves every crate (the workspace's own, see ../Cargo.toml).
AXUM = ('axum = { version = "0.8.4", default-features = false, features = '
        '["http1", "tokio", "json", "query", "matched-path", "original-uri"] }')
TOKIO = 'tokio = { version = "1", features = ["rt-multi-thread", "macros", "net"] }'


class Route:
    def __init__(self, k, kind):
        self.k = k
        self.kind = kind
        r = f"res{k}"
        self.name = r
        if kind == "static":
            self.folders = ["api", r]
        elif kind == "dynamic":
            self.folders = ["api", r, "[id]"]
        elif kind == "nested":
            self.folders = ["api", r, "[id]", "items", "[item]"]
        elif kind == "catchall":
            self.folders = ["api", r, "files", "[...path]"]
        elif kind == "optional":
            self.folders = ["api", r, "docs", "[[...slug]]"]
        elif kind == "group":
            self.folders = ["api", f"(g{k % 4})", r, "about"]

    @property
    def ident(self):
        return f"{self.name}_{self.kind}"

    def axum_patterns(self):
        """The patterns a hand-written axum router registers."""
        r = self.name
        return {
            "static": [f"/api/{r}"],
            "dynamic": [f"/api/{r}/{{id}}"],
            "nested": [f"/api/{r}/{{id}}/items/{{item}}"],
            "catchall": [f"/api/{r}/files/{{*path}}"],
            "optional": [f"/api/{r}/docs", f"/api/{r}/docs/{{*slug}}"],
            "group": [f"/api/{r}/about"],
        }[self.kind]

    def handler(self, fn_name, axum_path):
        """The handler's source; identical in every Rust app but for the
        function's name and the path of axum."""
        r = self.name
        use = f"use {axum_path}::extract::Path;\n\n"
        if self.kind in ("static", "group"):
            word = "about" if self.kind == "group" else "index"
            return f'pub async fn {fn_name}() -> &\'static str {{\n    "{r} {word}"\n}}\n'
        if self.kind == "dynamic":
            return use + (f"pub async fn {fn_name}(Path(id): Path<String>) -> String {{\n"
                          f'    format!("{r} id={{id}}")\n}}\n')
        if self.kind == "nested":
            return use + (f"pub async fn {fn_name}(Path((id, item)): Path<(String, String)>) -> String {{\n"
                          f'    format!("{r} id={{id}} item={{item}}")\n}}\n')
        if self.kind == "catchall":
            return use + (f"pub async fn {fn_name}(Path(path): Path<String>) -> String {{\n"
                          f'    format!("{r} files={{path}}")\n}}\n')
        if self.kind == "optional":
            return use + (f"pub async fn {fn_name}(slug: Option<Path<String>>) -> String {{\n"
                          f"    match slug {{\n"
                          f'        Some(Path(slug)) => format!("{r} docs={{slug}}"),\n'
                          f'        None => "{r} docs".to_string(),\n'
                          f"    }}\n}}\n")
        raise ValueError(self.kind)

    def hyper_arms(self):
        """`match` arms over the path's segments (`segs`, a `&[&str]`) for
        the raw hyper server; `rest(s)` is the path from segment `s` on."""
        r = self.name
        if self.kind == "static":
            return [(f'["api", "{r}"]', f'Cow::Borrowed("{r} index")')]
        if self.kind == "group":
            return [(f'["api", "{r}", "about"]', f'Cow::Borrowed("{r} about")')]
        if self.kind == "dynamic":
            return [(f'["api", "{r}", id]', f'Cow::Owned(format!("{r} id={{id}}"))')]
        if self.kind == "nested":
            return [(f'["api", "{r}", id, "items", item]',
                     f'Cow::Owned(format!("{r} id={{id}} item={{item}}"))')]
        if self.kind == "catchall":
            return [(f'["api", "{r}", "files", first, ..]',
                     f'Cow::Owned(format!("{r} files={{}}", rest(path, first)))')]
        if self.kind == "optional":
            return [(f'["api", "{r}", "docs"]', f'Cow::Borrowed("{r} docs")'),
                    (f'["api", "{r}", "docs", first, ..]',
                     f'Cow::Owned(format!("{r} docs={{}}", rest(path, first)))')]
        raise ValueError(self.kind)

    def next_handler(self):
        r = self.name
        head = 'export const dynamic = "force-dynamic";\n\n'
        text = 'new Response(body, { headers: { "content-type": "text/plain; charset=utf-8" } })'
        if self.kind in ("static", "group"):
            word = "about" if self.kind == "group" else "index"
            return head + f'export async function GET() {{\n  const body = "{r} {word}";\n  return {text};\n}}\n'
        if self.kind == "dynamic":
            expr = f'`{r} id=${{params.id}}`'
        elif self.kind == "nested":
            expr = f'`{r} id=${{params.id}} item=${{params.item}}`'
        elif self.kind == "catchall":
            expr = f'`{r} files=${{params.path.join("/")}}`'
        else:
            expr = f'params.slug ? `{r} docs=${{params.slug.join("/")}}` : "{r} docs"'
        return head + (f"export async function GET(request, {{ params }}) {{\n"
                       f"  const body = {expr};\n  return {text};\n}}\n")


def tree(n):
    return [Route(i // len(KINDS), KINDS[i % len(KINDS)]) for i in range(n)]


def rank(route):
    """Static before dynamic before catch-all, segment by segment: the
    order `match` arms need (the first arm that matches wins)."""
    key = []
    for f in route.folders:
        if f.startswith("("):
            continue
        if f.startswith("[[") or f.startswith("[..."):
            key.append((2, ""))
        elif f.startswith("["):
            key.append((1, ""))
        else:
            key.append((0, f))
    return key


WRITTEN = set()


def write(path, text):
    WRITTEN.add(os.path.abspath(path))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path) as f:
            if f.read() == text:
                return  # keep mtimes, so cargo does not rebuild for nothing
    except FileNotFoundError:
        pass
    with open(path, "w") as f:
        f.write(text)


def fresh(path):
    """Marks `path` as written by this run only: whatever this run does not
    write under it is deleted at the end (see `prune`)."""
    FRESH.append(os.path.abspath(path))


FRESH = []


def prune():
    for top in FRESH:
        for dirpath, dirnames, filenames in os.walk(top, topdown=False):
            for f in filenames:
                p = os.path.join(dirpath, f)
                if p not in WRITTEN:
                    os.remove(p)
            if not os.listdir(dirpath):
                os.rmdir(dirpath)


def cargo_toml(name, deps):
    return (f'[package]\nname = "{name}"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
            f"[dependencies]\n" + "\n".join(deps) + "\n")


MAIN_SERVE = """
#[tokio::main]
async fn main() {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_string());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("bind");
    // `into_make_service` turns the routes into services once; a bare
    // Router would be converted again for every connection.
    AXUM::serve(listener, ROUTER.into_make_service()).await.expect("serve");
}
"""


def gen_app(n):
    routes = tree(n)
    # approute: the route files and one line.
    d = os.path.join(BENCH, "apps", f"gen-{n}")
    fresh(os.path.join(d, "app"))
    write(os.path.join(d, "Cargo.toml"), cargo_toml(f"gen-{n}", [
        'approute = { path = "../../../runtime", default-features = false }', TOKIO]))
    write(os.path.join(d, "build.rs"), 'fn main() {\n    println!("cargo:rerun-if-changed=app");\n}\n')
    write(os.path.join(d, "src", "main.rs"),
          f"//! {n} routes, by approute (written by bench/gen.py).\n\napproute::app!();\n"
          + MAIN_SERVE.replace("AXUM", "approute::axum").replace("ROUTER", "app::router()"))
    for r in routes:
        write(os.path.join(d, "app", *r.folders, "route.rs"), r.handler("GET", "approute::axum"))

    # The same tree under approute::serve, as the README's quick start has it.
    d = os.path.join(BENCH, "apps", f"serve-{n}")
    write(os.path.join(d, "Cargo.toml"), cargo_toml(f"serve-{n}", [
        'approute = { path = "../../../runtime" }', TOKIO]))
    write(os.path.join(d, "build.rs"), 'fn main() {\n    println!("cargo:rerun-if-changed=../gen-%d/app");\n}\n' % n)
    write(os.path.join(d, "src", "main.rs"), SERVE_MAIN.replace("N_ROUTES", str(n)))

    # Hand-written axum: the same handlers, one file each, routed by hand.
    d = os.path.join(BENCH, "apps", f"hand-{n}")
    fresh(os.path.join(d, "src", "routes"))
    write(os.path.join(d, "Cargo.toml"), cargo_toml(f"hand-{n}", [AXUM, TOKIO]))
    mods = "".join(f"    pub mod {r.ident};\n" for r in routes)
    regs = "".join(f'        .route("{p}", get(routes::{r.ident}::get))\n'
                   for r in routes for p in r.axum_patterns())
    write(os.path.join(d, "src", "main.rs"),
          f"//! {n} routes, routed by hand with axum (written by bench/gen.py).\n\n"
          f"use axum::{{routing::get, Router}};\n\nmod routes {{\n{mods}}}\n\n"
          f"fn router() -> Router {{\n    Router::new()\n{regs}}}\n"
          + MAIN_SERVE.replace("AXUM", "axum").replace("ROUTER", "router()"))
    for r in routes:
        write(os.path.join(d, "src", "routes", f"{r.ident}.rs"), r.handler("get", "axum"))

    # Raw hyper: the same answers, no framework.
    d = os.path.join(BENCH, "apps", f"hyper-{n}")
    write(os.path.join(d, "Cargo.toml"), cargo_toml(f"hyper-{n}", [
        'hyper = { version = "1.12", default-features = false, features = ["server", "http1"] }',
        'hyper-util = { version = "0.1.21", default-features = false, features = ["tokio"] }',
        'http-body-util = "0.1"', TOKIO]))
    arms = "".join(f"        {pat} => {body},\n"
                   for r in sorted(routes, key=rank) for pat, body in r.hyper_arms())
    write(os.path.join(d, "src", "main.rs"), HYPER_MAIN.replace("N_ROUTES", str(n)).replace("ARMS\n", arms))


SERVE_MAIN = """//! N_ROUTES routes, by approute (written by bench/gen.py), served as the
//! README's quick start serves them, or with `axum` as the first argument by
//! `axum::serve`, so that both servers run the very same router.

approute::app!(dir = "../gen-N_ROUTES/app");

#[tokio::main]
async fn main() -> std::io::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("axum") {
        let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_string());
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
        return approute::axum::serve(listener, app::router().into_make_service()).await;
    }
    let _logs = approute::serve::init_logging();
    approute::serve(app::router()).routes(app::ROUTES).await
}
"""


HYPER_MAIN = """//! N_ROUTES routes, served by hyper 1.x with a plain `match` on the path's
//! segments (written by bench/gen.py). The ceiling: no router, no
//! percent-decoding, no 405/HEAD/OPTIONS handling, no trailing-slash rules.

use std::borrow::Cow;
use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// The path from segment `from` (a slice of `path`) to the end.
fn rest<'a>(path: &'a str, from: &str) -> &'a str {
    &path[from.as_ptr() as usize - path.as_ptr() as usize..]
}

fn answer(path: &str) -> Option<Cow<'static, str>> {
    let mut buf = [""; 16];
    let mut n = 0;
    for s in path.strip_prefix('/')?.split('/') {
        *buf.get_mut(n)? = s;
        n += 1;
    }
    Some(match &buf[..n] {
ARMS
        _ => return None,
    })
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut res = match answer(req.uri().path()) {
        Some(body) => Response::new(Full::new(Bytes::from(body.into_owned()))),
        None => {
            let mut res = Response::new(Full::new(Bytes::new()));
            *res.status_mut() = StatusCode::NOT_FOUND;
            res
        }
    };
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(res)
}

#[tokio::main]
async fn main() {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_string());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("bind");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}
"""


def gen_routing():
    """Trees for the criterion bench: one app! per size, plus the hand
    routers as functions."""
    base = os.path.join(BENCH, "routing")
    for n in ROUTING_SIZES:
        d = os.path.join(base, "trees", f"r{n}")
        fresh(d)
        for r in tree(n):
            write(os.path.join(d, *r.folders, "route.rs"), r.handler("GET", "approute::axum"))
        handlers = "".join("\n" + r.handler(f"{r.ident}", "axum").replace("use axum::extract::Path;\n\n", "")
                           for r in tree(n))
        regs = "".join(f'        .route("{p}", get({r.ident}))\n'
                       for r in tree(n) for p in r.axum_patterns())
        write(os.path.join(base, "src", f"hand_{n}.rs"),
              f"// {n} routes routed by hand (written by bench/gen.py).\n"
              f"use axum::{{extract::Path, routing::get, Router}};\n\n"
              f"pub fn router() -> Router {{\n    Router::new()\n{regs}}}\n{handlers}")
    # Params against Path<HashMap>: two routes, two params each.
    d = os.path.join(base, "trees", "params")
    fresh(d)
    write(os.path.join(d, "params", "[a]", "[b]", "route.rs"),
          "use approute::Params;\n\npub async fn GET(params: Params) -> String {\n"
          '    format!("a={} b={}", params.get("a").unwrap_or(""), params.get("b").unwrap_or(""))\n}\n')
    write(os.path.join(d, "path", "[a]", "[b]", "route.rs"),
          "use std::collections::HashMap;\n\nuse approute::axum::extract::Path;\n\n"
          "pub async fn GET(Path(params): Path<HashMap<String, String>>) -> String {\n"
          '    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");\n'
          '    format!("a={} b={}", get("a"), get("b"))\n}\n')


def gen_next():
    d = os.path.join(BENCH, "next", "app")
    fresh(d)
    for r in tree(NEXT_SIZE):
        write(os.path.join(d, *r.folders, "route.js"), r.next_handler())


def main():
    if len(sys.argv) > 1:
        sys.exit(__doc__)
    for n in APP_SIZES:
        gen_app(n)
    gen_routing()
    gen_next()
    prune()


if __name__ == "__main__":
    main()
