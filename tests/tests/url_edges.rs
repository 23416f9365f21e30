//! The odd URLs real Next.js 14.2.35 answered (`conformance/edges/`),
//! replayed over a socket against the same tree served by approute: under
//! `approute::serve`, under `approute::normalize` with `axum::serve`, and
//! the bare router (where only the safety rule holds: no handler gets a dot
//! segment).
//!
//! approute answers as Next.js did, except where it follows the RFCs on
//! purpose (README, "Where approute differs from Next.js"); each such rule
//! is one arm of [`expected`], with its reason.

mod support;

use std::net::SocketAddr;

use approute::axum::Router;
use approute_tests::next14;
use serde_json::{json, Value};
use support::{differences, golden_cases, observe, parse_response, Answer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const REQUESTS: &str = include_str!("../conformance/edges/requests.txt");
const GOLDEN: &str = include_str!("../conformance/edges/golden-next14.jsonl");

/// The methods a route file can export: anything else is unknown to approute.
const KNOWN: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY",
];

fn cases() -> Vec<(String, Value)> {
    golden_cases(REQUESTS, GOLDEN)
}

/// The bytes of a target: `{{0xHH}}` is one raw byte.
fn target_bytes(target: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = target;
    while let Some(start) = rest.find("{{0x") {
        out.extend_from_slice(&rest.as_bytes()[..start]);
        let hex = &rest[start + 4..start + 6];
        out.push(u8::from_str_radix(hex, 16).unwrap());
        rest = &rest[start + 8..];
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

/// One request written byte for byte, as `probe_edges.py` writes it.
async fn send(addr: SocketAddr, method: &str, target: &str) -> Option<Answer> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} ").into_bytes();
    request.extend(target_bytes(target));
    request.extend(
        format!(" HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .bytes(),
    );
    stream.write_all(&request).await.unwrap();
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut bytes),
    );
    match read.await {
        Ok(Ok(_)) => parse_response(&bytes, true, method == "HEAD"),
        _ => None,
    }
}

/// The path and query of a target; a fragment is not sent on (hyper drops it).
fn split_target(target: &str) -> (&str, Option<&str>) {
    let target = target.split('#').next().unwrap_or_default();
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

/// Dot segments resolved by an implementation nobody here wrote (the
/// WHATWG URL parser of the `url` crate, which counts `%2e` as `.`), the
/// trailing slash a final dot segment leaves dropped, as Next.js serves it.
fn resolved_by_url_crate(path: &str) -> String {
    let base = url::Url::parse("http://h").unwrap();
    let mut out = base.join(path).unwrap().path().to_string();
    let last = path
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let ends_in_dots = matches!(
        last.as_str(),
        "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."
    );
    if ends_in_dots && out.len() > 1 {
        out.pop();
    }
    out
}

fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|s| {
        matches!(
            s.to_ascii_lowercase().as_str(),
            "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."
        )
    })
}

fn with_query(path: &str, query: Option<&str>) -> String {
    match query.filter(|q| !q.is_empty()) {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    }
}

/// What approute must answer for `line`, given what Next.js answered:
/// Next.js's answer, or the rule approute follows instead and why.
enum Expect {
    /// The same as Next.js (status, location, route, params, `Allow`).
    Nextjs(Value),
    /// The answer approute gives for another target: the resolved path.
    SameAs(String),
    /// A status alone (and a location where given).
    Status(u16, Option<String>),
    /// This status where a route is at the path, 404 where none is.
    RouteOr(u16),
}

fn expected(line: &str, golden: &Value) -> (Expect, &'static str) {
    let (method, target) = line.split_once(' ').unwrap();
    let (path, query) = split_target(target);
    let bytes = target_bytes(target);
    if bytes.iter().any(|b| *b == b' ' || *b >= 0x80) || !target.starts_with('/') {
        // hyper refuses these request lines, as Node's parser does.
        return (Expect::Status(400, None), "not a valid request target");
    }
    if !KNOWN.contains(&method) {
        // Decided after routing: 501 where a route is, 404 elsewhere.
        return (
            Expect::RouteOr(501),
            "RFC 9110 9.1: 501 for a method the server does not know (Next.js: 400)",
        );
    }
    if path.contains("//") || path.contains('\\') {
        let location = golden["location"].as_str().unwrap_or_default();
        let (next_path, _) = split_target(location);
        let want = with_query(&resolved_by_url_crate(next_path), query);
        return (
            Expect::Status(308, Some(want)),
            "one hop: the slashes collapsed and the dots resolved together",
        );
    }
    if has_dot_segment(path) {
        return (
            Expect::SameAs(with_query(&resolved_by_url_crate(path), query)),
            "RFC 3986 5.2.4: dot segments resolved before routing (Next.js 404s some)",
        );
    }
    if golden["status"] == 308 && path.len() > 1 && path.ends_with('/') {
        let location = golden["location"].as_str().unwrap_or_default();
        let (next_path, _) = split_target(location);
        return (
            Expect::Status(308, Some(with_query(next_path, query))),
            "the query kept byte for byte (Next.js re-encodes it)",
        );
    }
    if method == "QUERY" || target.starts_with("/api/query") {
        let want = if method == "QUERY" && path == "/api/query" {
            json!({"req": line, "status": 200, "x-route": "api/query", "x-method": "QUERY", "params": {}})
        } else if method == "QUERY" {
            return (Expect::RouteOr(405), "QUERY on a route without it is a 405");
        } else {
            let mut want = golden.clone();
            if want.get("allow").is_some() {
                want["allow"] = "GET,HEAD,OPTIONS,QUERY".into();
                want["allow_raw"] = "GET, HEAD, OPTIONS, QUERY".into();
            }
            want
        };
        return (
            Expect::Nextjs(want),
            "QUERY is a method like the others (Next.js 14: 400)",
        );
    }
    if method == "TRACE" {
        return (Expect::RouteOr(501), "TRACE is not a method approute knows");
    }
    if encoded_dot_component(path) {
        return (
            Expect::Status(404, None),
            "a parameter holding `..` through an encoded slash is refused (Next.js passes it)",
        );
    }
    if path == "/api/sp/a%20b" {
        return (
            Expect::Nextjs(
                json!({"req": line, "status": 200, "x-route": "api/sp/a b", "x-method": method, "params": {}}),
            ),
            "a folder `a b` serves the URL a client sends for it (Next.js: unreachable)",
        );
    }
    (Expect::Nextjs(golden.clone()), "as Next.js")
}

/// Whether a segment decodes to something with a `.` or `..` part between
/// (encoded) slashes or backslashes: `a%2f..%2fb`, `..%5cb`.
fn encoded_dot_component(path: &str) -> bool {
    path.split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .any(|s| {
            s.split(['/', '\\']).count() > 1 && s.split(['/', '\\']).any(|p| p == "." || p == "..")
        })
}

/// Every element of every parameter: none may be `.` or `..`.
fn dot_params(got: &Value) -> bool {
    let Some(params) = got.get("params").and_then(Value::as_object) else {
        return false;
    };
    params.values().any(|v| {
        let values: Vec<&str> = match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        values
            .iter()
            .flat_map(|s| s.split(['/', '\\']))
            .any(|s| s == "." || s == "..")
    })
}

async fn answer(addr: SocketAddr, line: &str) -> Value {
    let (method, target) = line.split_once(' ').unwrap();
    match send(addr, method, target).await {
        Some(answer) => {
            let mut got = observe(line, &answer);
            if let Some(allow) = answer.header("allow") {
                got["allow_raw"] = allow.into();
            }
            got
        }
        None => json!({"req": line, "error": "no answer"}),
    }
}

async fn check_against_nextjs(addr: SocketAddr) {
    let cases = cases();
    let mut failures = Vec::new();
    for (line, golden) in &cases {
        let (method, target) = line.split_once(' ').unwrap();
        let got = answer(addr, line).await;
        if dot_params(&got) {
            failures.push(format!("{line}: a handler got a dot segment: {got}"));
        }
        let (expect, why) = expected(line, golden);
        let problems = match expect {
            Expect::Nextjs(want) => {
                let mut problems = differences(&want, &got);
                if want.get("allow_raw").is_some() && want.get("allow_raw") != got.get("allow_raw")
                {
                    problems.push(format!(
                        "allow_raw: want {} got {}",
                        want["allow_raw"], got["allow_raw"]
                    ));
                }
                problems
            }
            Expect::SameAs(other) => {
                let mut want = answer(addr, &format!("{method} {other}")).await;
                want["req"] = line.as_str().into();
                differences(&want, &got)
            }
            Expect::RouteOr(status) => {
                let (path, _) = split_target(target);
                let plain = answer(addr, &format!("GET {path}")).await;
                let want = if plain["status"] == 404 { 404 } else { status };
                if got["status"] == want {
                    vec![]
                } else {
                    vec![format!("status: want {want} got {}", got["status"])]
                }
            }
            Expect::Status(status, location) => {
                let mut problems = Vec::new();
                if got["status"] != status {
                    problems.push(format!("status: want {status} got {}", got["status"]));
                }
                if location.is_some()
                    && got.get("location").and_then(Value::as_str) != location.as_deref()
                {
                    problems.push(format!(
                        "location: want {location:?} got {:?}",
                        got.get("location")
                    ));
                }
                problems
            }
        };
        if !problems.is_empty() {
            failures.push(format!("{line} ({why}): {}", problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} edge requests answered wrongly:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

async fn free_port() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[tokio::test]
async fn approute_serve_answers_odd_urls_as_nextjs_or_the_rfcs() {
    let (listener, addr) = free_port().await;
    let server = approute::serve(next14::router())
        .listener(listener)
        .shutdown_on(std::future::pending());
    tokio::spawn(server.run());
    check_against_nextjs(addr).await;
}

#[tokio::test]
async fn normalize_gives_axum_serve_the_same_rules() {
    let (listener, addr) = free_port().await;
    let app = approute::normalize(next14::router()).into_make_service();
    tokio::spawn(async move { approute::axum::serve(listener, app).await.unwrap() });
    check_against_nextjs(addr).await;
}

#[tokio::test]
async fn the_bare_router_never_hands_a_handler_a_dot_segment() {
    let (listener, addr) = free_port().await;
    let app: Router = next14::router();
    tokio::spawn(async move {
        approute::axum::serve(listener, app.into_make_service())
            .await
            .unwrap()
    });
    let mut failures = Vec::new();
    for (line, _) in cases() {
        let got = answer(addr, &line).await;
        if got["status"] == 200 && dot_params(&got) {
            failures.push(format!("{line}: {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Hostile targets: every mix of slashes, backslashes, dots and a foreign
/// host in front of, inside and after paths the fixture routes answer.
fn hostile_targets() -> Vec<String> {
    let fronts = [
        "/", "//", "/\\", "///", "/\\/", "/%2f", "/%5c", "/./", "/../",
    ];
    let hosts = ["", "evil.example", "evil.example/", "evil.example\\"];
    let paths = [
        "",
        "x/1",
        "x/1/",
        "x/a/b/",
        "z/",
        "z/q/",
        "explicit/",
        "rss.xml/",
        "grouped//",
    ];
    let ends = ["", "/", "?q=//evil", "/?", "\\"];
    let mut out = Vec::new();
    for front in fronts {
        for host in hosts {
            for path in paths {
                for end in ends {
                    out.push(format!("{front}{host}{path}{end}"));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn no_location_the_framework_writes_leaves_the_site_in_any_mode() {
    let modes = [
        ("redirect", approute_tests::rules::router()),
        ("add", approute_tests::rules_add::router()),
        ("both", approute_tests::rules_both::router()),
        (
            "redirect, root catch-all",
            approute_tests::root_catch_all::router(),
        ),
        (
            "add, root catch-all",
            approute_tests::root_catch_all_add::router(),
        ),
    ];
    let targets = hostile_targets();
    let mut redirects = 0;
    let mut failures = Vec::new();
    for (mode, router) in modes {
        // Under approute::serve, and the bare router under axum::serve: the
        // route-level redirects must be safe without the URL rules too.
        let (listener, served) = free_port().await;
        let server = approute::serve(router.clone())
            .listener(listener)
            .shutdown_on(std::future::pending());
        tokio::spawn(server.run());
        let (listener, bare) = free_port().await;
        tokio::spawn(async move {
            approute::axum::serve(listener, router.into_make_service())
                .await
                .unwrap()
        });
        for addr in [served, bare] {
            for target in &targets {
                let Some(answer) = send(addr, "GET", target).await else {
                    continue;
                };
                let Some(location) = answer.header("location") else {
                    continue;
                };
                redirects += 1;
                let second = location.as_bytes().get(1);
                if !location.starts_with('/') || matches!(second, Some(b'/' | b'\\')) {
                    failures.push(format!("{mode} {addr}: {target} -> {location}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(redirects > 300, "only {redirects} redirects were checked");
}
