//! Files under `public/`, served at the root URL as Next.js 14 serves them:
//! the fixture `fixtures/public/` has routes beside public files, some at
//! the same URL, and a root `middleware.rs`. In process for the HTTP
//! semantics, over a real socket for what a client can put on the wire
//! (traversal attempts), and through a scratch crate for rebuilds.

mod scratch;
mod support;

use std::net::SocketAddr;

use approute_tests::{public_site, public_site_add};
use support::{call, raw, send, serve, Answer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/public/public");

fn on_disk(path: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURE}/{path}")).unwrap()
}

async fn get(target: &str, headers: &[(&str, &str)]) -> Answer {
    send(&public_site::router(), "GET", target, headers).await
}

#[tokio::test]
async fn files_are_served_at_the_root_url_with_their_content_type() {
    let cases = [
        ("/index.html", "index.html", "text/html; charset=utf-8"),
        ("/style.css", "style.css", "text/css; charset=utf-8"),
        ("/img/logo.png", "img/logo.png", "image/png"),
        ("/img/a%20b.txt", "img/a b.txt", "text/plain; charset=utf-8"),
        ("/data.json", "data.json", "application/json; charset=utf-8"),
        ("/api/noext", "api/noext", "application/octet-stream"),
        (
            "/.well-known/security.txt",
            ".well-known/security.txt",
            "text/plain; charset=utf-8",
        ),
    ];
    for (url, file, content_type) in cases {
        let answer = get(url, &[]).await;
        assert_eq!(answer.status, 200, "{url}");
        assert_eq!(answer.body, on_disk(file), "{url}");
        assert_eq!(answer.header("content-type"), Some(content_type), "{url}");
        let len = answer.body.len().to_string();
        assert_eq!(answer.header("content-length"), Some(len.as_str()), "{url}");
        assert_eq!(answer.header("accept-ranges"), Some("bytes"), "{url}");
        assert_eq!(
            answer.header("cache-control"),
            Some("public, max-age=0"),
            "{url}"
        );
    }
    assert!(on_disk("img/logo.png").starts_with(b"\x89PNG\r\n\x1a\n"));
}

#[tokio::test]
async fn etag_and_last_modified_come_from_the_file() {
    let file = public_site::PUBLIC_FILES
        .iter()
        .find(|f| f.url() == "/style.css")
        .unwrap();
    let answer = get("/style.css", &[]).await;
    let etag = answer.header("etag").unwrap();
    assert_eq!(etag, file.etag());
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    let last_modified = answer.header("last-modified").unwrap();
    assert_eq!(Some(last_modified), file.last_modified());
    let mtime = std::fs::metadata(format!("{FIXTURE}/style.css"))
        .unwrap()
        .modified()
        .unwrap();
    let secs =
        |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(
        secs(httpdate::parse_http_date(last_modified).unwrap()),
        secs(mtime)
    );
    // different bytes, different tags
    let other = get("/index.html", &[]).await;
    assert_ne!(other.header("etag"), Some(etag));
}

#[tokio::test]
async fn revalidation_answers_304() {
    let first = get("/img/logo.png", &[]).await;
    let etag = first.header("etag").unwrap().to_string();
    let last_modified = first.header("last-modified").unwrap().to_string();
    let later = "Fri, 01 Jan 2100 00:00:00 GMT";
    let earlier = "Thu, 01 Jan 1970 00:00:00 GMT";

    let not_modified = get("/img/logo.png", &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
    assert_eq!(
        not_modified.header("last-modified"),
        Some(last_modified.as_str())
    );
    let weak = format!("W/{etag}");
    let list = format!("\"stale\", {etag}");
    for (name, value, want) in [
        ("if-none-match", weak.as_str(), 304),
        ("if-none-match", list.as_str(), 304),
        ("if-none-match", "*", 304),
        ("if-none-match", "\"stale\"", 200),
        ("if-modified-since", last_modified.as_str(), 304),
        ("if-modified-since", later, 304),
        ("if-modified-since", earlier, 200),
        ("if-modified-since", "not a date", 200),
        ("if-match", "\"stale\"", 412),
        ("if-unmodified-since", earlier, 412),
    ] {
        let answer = get("/img/logo.png", &[(name, value)]).await;
        assert_eq!(answer.status, want, "{name}: {value}");
    }
    // If-None-Match takes precedence over If-Modified-Since
    let both = get(
        "/img/logo.png",
        &[("if-none-match", "\"stale\""), ("if-modified-since", later)],
    )
    .await;
    assert_eq!(both.status, 200);
    assert_eq!(both.body, on_disk("img/logo.png"));
}

#[tokio::test]
async fn byte_ranges() {
    let whole = on_disk("img/a b.txt"); // "a file with a space\n", 20 bytes
    let len = whole.len();
    let url = "/img/a%20b.txt";

    let part = get(url, &[("range", "bytes=2-5")]).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &whole[2..=5]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 2-5/{len}").as_str())
    );
    assert_eq!(part.header("content-length"), Some("4"));
    assert_eq!(
        part.header("content-type"),
        Some("text/plain; charset=utf-8")
    );

    let suffix = get(url, &[("range", "bytes=-6")]).await;
    assert_eq!(suffix.status, 206);
    assert_eq!(suffix.body, &whole[len - 6..]);
    assert_eq!(
        suffix.header("content-range"),
        Some(format!("bytes {}-{}/{len}", len - 6, len - 1).as_str())
    );

    let open = get(url, &[("range", "bytes=7-")]).await;
    assert_eq!(open.status, 206);
    assert_eq!(open.body, &whole[7..]);

    let past_end = get(url, &[("range", "bytes=10-999")]).await;
    assert_eq!(past_end.status, 206);
    assert_eq!(past_end.body, &whole[10..]);

    for unsatisfiable in ["bytes=999-", "bytes=20-30", "bytes=-0"] {
        let answer = get(url, &[("range", unsatisfiable)]).await;
        assert_eq!(answer.status, 416, "{unsatisfiable}");
        assert_eq!(
            answer.header("content-range"),
            Some(format!("bytes */{len}").as_str())
        );
        assert!(answer.body.is_empty());
    }

    for whole_file in ["bytes=0-1,4-5", "bytes=5-2", "pages=1-2", "bytes=x-"] {
        let answer = get(url, &[("range", whole_file)]).await;
        assert_eq!((answer.status, &answer.body), (200, &whole), "{whole_file}");
    }

    let etag = part.header("etag").unwrap();
    let last_modified = part.header("last-modified").unwrap();
    for (if_range, want) in [
        (etag, 206),
        (last_modified, 206),
        ("\"stale\"", 200),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 200),
    ] {
        let answer = get(url, &[("range", "bytes=0-0"), ("if-range", if_range)]).await;
        assert_eq!(answer.status, want, "If-Range: {if_range}");
    }
}

#[tokio::test]
async fn head_has_the_headers_of_get_and_no_body() {
    let router = public_site::router();
    let got = send(&router, "GET", "/index.html", &[]).await;
    let head = send(&router, "HEAD", "/index.html", &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    for name in [
        "content-type",
        "content-length",
        "etag",
        "last-modified",
        "accept-ranges",
        "cache-control",
        "x-mw",
    ] {
        assert_eq!(head.header(name), got.header(name), "{name}");
    }
    let etag = got.header("etag").unwrap();
    let head = send(&router, "HEAD", "/index.html", &[("if-none-match", etag)]).await;
    assert_eq!(head.status, 304);
}

#[tokio::test]
async fn other_methods_get_405_with_allow_and_options_204() {
    let router = public_site::router();
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let answer = call(&router, method, "/style.css").await;
        assert_eq!(answer.status, 405, "{method}");
        assert_eq!(answer.header("allow"), Some("GET, HEAD, OPTIONS"));
        assert_eq!(answer.header("x-mw"), Some("root"), "middleware saw it");
    }
    let options = call(&router, "OPTIONS", "/style.css").await;
    assert_eq!(options.status, 204);
    assert_eq!(options.header("allow"), Some("GET, HEAD, OPTIONS"));
}

/// Next.js 14.2.35 with `public/data.json` beside `app/data.json/route.ts`
/// serves the file for GET and answers POST with 405, though the route
/// exports POST; a public file beats a dynamic route too.
#[tokio::test]
async fn a_public_file_beats_an_app_route_at_its_url_as_in_nextjs() {
    let router = public_site::router();
    let data = call(&router, "GET", "/data.json").await;
    assert_eq!(data.body, on_disk("data.json"));
    assert_eq!(call(&router, "POST", "/data.json").await.status, 405);

    assert_eq!(
        call(&router, "GET", "/dyn/file.txt").await.body,
        on_disk("dyn/file.txt")
    );
    assert_eq!(
        call(&router, "GET", "/dyn/other").await.text(),
        "route dyn other"
    );
    assert_eq!(
        call(&router, "GET", "/api/hello").await.text(),
        "route hello"
    );
    // the shadowed route is still listed, with its file
    assert!(public_site::ROUTES
        .iter()
        .any(|r| r.route_id() == "/data.json"));
}

/// Next.js runs `middleware.ts` for public files too; `app/middleware.rs`
/// plays that part, and deeper middleware stay with their routes.
#[tokio::test]
async fn the_root_middleware_wraps_public_files() {
    let router = public_site::router();
    let file = call(&router, "GET", "/api/notes.txt").await;
    assert_eq!(file.header("x-mw"), Some("root"));
    assert_eq!(file.header("x-api-mw"), None, "app/api/middleware.rs");
    let route = call(&router, "GET", "/api/hello").await;
    assert_eq!(route.header("x-api-mw"), Some("api"));

    let blocked = send(&router, "GET", "/img/logo.png", &[("x-block", "1")]).await;
    assert_eq!(blocked.status, 403);
    assert_eq!(blocked.text(), "blocked by middleware");
}

#[tokio::test]
async fn trailing_slashes_redirect_as_in_nextjs() {
    let router = public_site::router();
    for (url, location) in [
        ("/img/logo.png/", "/img/logo.png"),
        ("/img/a%20b.txt/?v=1", "/img/a%20b.txt?v=1"),
        ("/api/noext/", "/api/noext"),
    ] {
        let answer = call(&router, "GET", url).await;
        assert_eq!(answer.status, 308, "{url}");
        assert_eq!(answer.header("location"), Some(location), "{url}");
    }

    // `trailing_slash = add` is Next.js's `trailingSlash: true`: names with
    // an extension keep the slash-less URL, others get a slash, and
    // `.well-known` is served both ways.
    let add = public_site_add::router();
    let cases = [
        ("/img/logo.png", 200, None),
        ("/img/logo.png/", 308, Some("/img/logo.png")),
        ("/api/noext", 308, Some("/api/noext/")),
        ("/api/noext/", 200, None),
        ("/.well-known/security.txt", 200, None),
        ("/.well-known/security.txt/", 200, None),
        ("/api/hello", 308, Some("/api/hello/")),
    ];
    for (url, status, location) in cases {
        let answer = call(&add, "GET", url).await;
        assert_eq!(
            (answer.status, answer.header("location")),
            (status, location),
            "{url}"
        );
    }
}

#[tokio::test]
async fn hidden_files_and_index_html_at_the_root_are_not_served() {
    let router = public_site::router();
    for url in ["/.env", "/.private/notes.txt", "/", "/img", "/img/"] {
        let answer = call(&router, "GET", url).await;
        assert_eq!(answer.status, 404, "{url}");
    }
    assert!(std::path::Path::new(&format!("{FIXTURE}/.env")).exists());
    let files: Vec<&str> = public_site::PUBLIC_FILES.iter().map(|f| f.file()).collect();
    let pf = "fixtures/public/public";
    assert_eq!(
        files,
        [
            format!("{pf}/.well-known/security.txt"),
            format!("{pf}/api/noext"),
            format!("{pf}/api/notes.txt"),
            format!("{pf}/data.json"),
            format!("{pf}/dyn/file.txt"),
            format!("{pf}/img/a b.txt"),
            format!("{pf}/img/logo.png"),
            format!("{pf}/index.html"),
            format!("{pf}/style.css"),
        ]
    );
}

/// Writes `head` byte for byte and reads the whole answer.
async fn raw_request(addr: SocketAddr, head: &str) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    bytes
}

/// Nothing outside the files listed at build time can be reached: no
/// request path is ever turned into a file system path, so every attempt
/// to climb out (or to reach a hidden file) matches no route: 404.
#[tokio::test]
async fn no_way_out_of_the_folder_over_a_real_socket() {
    let addr = serve(public_site::router()).await;
    let targets = [
        "/../Cargo.toml",
        "/../../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/%2E%2E/Cargo.toml",
        "/..%2fCargo.toml",
        "/%2e%2e%2fCargo.toml",
        "/img/../../Cargo.toml",
        "/img/..%2f..%2fCargo.toml",
        "/img/%2e%2e/%2e%2e/Cargo.toml",
        "/img/..%5c..%5cCargo.toml",
        "/img/..\\..\\Cargo.toml",
        "/fixtures/public/public/style.css",
        "/public/style.css",
        "/img/../style.css",
        "/./style.css",
        "/img/a%20b.txt%00",
        "/img/a%2520b.txt",
        "/.env",
        "/%2eenv",
        "/.private/notes.txt",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "http://localhost/../Cargo.toml",
    ];
    for target in targets {
        let answer = raw(addr, "GET", target).await;
        assert_eq!(answer.status, 404, "{target}: {}", answer.text());
        assert!(!answer.text().contains("[package]"), "{target}");
    }
    // A raw space cannot even be sent as a path: hyper refuses the request.
    let bytes = raw_request(
        addr,
        "GET /img/a b.txt HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(
        bytes.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&bytes)
    );

    // ...while the real files answer on the same server.
    let ok = raw(addr, "GET", "/img/a%20b.txt").await;
    assert_eq!((ok.status, ok.body), (200, on_disk("img/a b.txt")));
}

#[tokio::test]
async fn head_and_ranges_over_a_real_socket() {
    let addr = serve(public_site::router()).await;
    let head = raw(addr, "HEAD", "/img/logo.png").await;
    assert_eq!(head.status, 200);
    let len = on_disk("img/logo.png").len().to_string();
    assert_eq!(head.header("content-length"), Some(len.as_str()));
    assert!(head.body.is_empty());

    let bytes = raw_request(
        addr,
        "GET /img/logo.png HTTP/1.1\r\nhost: x\r\nrange: bytes=-4\r\nconnection: close\r\n\r\n",
    )
    .await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 206"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("content-length: 4\r\n"),
        "{text}"
    );
    assert!(bytes.ends_with(&on_disk("img/logo.png")[66..]), "{text}");
}

/// A scratch crate: an edited file is served with its new bytes and ETag
/// after a plain `cargo build` (`include_bytes!` makes cargo track it), and
/// added or removed files after one too (`rerun-if-changed=public`).
#[test]
fn cargo_rebuilds_when_public_files_change() {
    const MAIN: &str = r#"approute::app!();

use approute::axum::body::{to_bytes, Body};
use approute::axum::http::Request;
use tower::ServiceExt;

#[tokio::main]
async fn main() {
    for path in std::env::args().skip(1) {
        let request = Request::builder().uri(&path).body(Body::empty()).unwrap();
        let response = app::router().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_string());
        let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        println!("{path} {status} {} {}", etag.unwrap_or_default(), String::from_utf8_lossy(&body).trim_end());
    }
}
"#;
    const BUILD_RS: &str = "fn main() {\n    println!(\"cargo:rerun-if-changed=app\");\n    println!(\"cargo:rerun-if-changed=public\");\n}\n";
    let app = scratch::Scratch::new(
        "public-rebuild",
        &[
            ("src/main.rs", MAIN),
            ("build.rs", BUILD_RS),
            (
                "app/route.rs",
                "pub async fn GET() -> &'static str {\n    \"root\"\n}\n",
            ),
            ("public/a.txt", "one\n"),
        ],
    );
    app.build_ok();
    let first = app.run(&["/a.txt", "/b.txt"]);
    let lines: Vec<&str> = first.lines().collect();
    assert!(
        lines[0].starts_with("/a.txt 200 \"") && lines[0].ends_with(" one"),
        "{first}"
    );
    assert_eq!(lines[1], "/b.txt 404  ");

    // Let the file system clock move on, so cargo sees a newer file.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    app.write("public/a.txt", "two\n");
    app.write("public/b.txt", "bee\n");
    app.build_ok();
    let second = app.run(&["/a.txt", "/b.txt"]);
    let lines2: Vec<&str> = second.lines().collect();
    assert!(lines2[0].ends_with(" two"), "{second}");
    assert_ne!(
        lines[0].split(' ').nth(2),
        lines2[0].split(' ').nth(2),
        "a new ETag"
    );
    assert!(
        lines2[1].starts_with("/b.txt 200 ") && lines2[1].ends_with(" bee"),
        "{second}"
    );

    app.remove("public/b.txt");
    app.build_ok();
    assert!(app.run(&["/b.txt"]).starts_with("/b.txt 404"));
}
