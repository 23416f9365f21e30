//! Compressed answers over a real socket: `fixtures/compression/` served by
//! `approute::serve` (and by `axum::serve` with the layer), read by a raw
//! HTTP/1.1 client, decoded with the flate2 and brotli decoders.

mod support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use approute::axum::Router;
use approute::compress::{Compression, Encoding};
use approute_tests::{compression_fixture, compression_site, Counter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PUBLIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/compression/public");

fn router() -> Router {
    compression_site::router().with_state(Counter::default())
}

async fn serve_with(compression: Compression) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = approute::serve(router())
        .compression(compression)
        .listener(listener)
        .shutdown_on(std::future::pending());
    tokio::spawn(server.run());
    addr
}

/// An answer with every header line kept (`Vary` may come twice).
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.iter().filter(|(n, _)| n == name);
        values.next().map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        let values = self.headers.iter().filter(|(n, _)| n == name);
        values.map(|(_, v)| v.as_str()).collect()
    }

    fn varies_on_encoding(&self) -> bool {
        self.all("vary")
            .iter()
            .flat_map(|v| v.split(','))
            .any(|v| v.trim().eq_ignore_ascii_case("accept-encoding"))
    }

    /// The body decoded as its `Content-Encoding` says.
    fn decoded(&self) -> Vec<u8> {
        decode(self.header("content-encoding"), &self.body)
    }
}

fn decode(encoding: Option<&str>, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        None => return bytes.to_vec(),
        Some("gzip") => flate2::read::GzDecoder::new(bytes).read_to_end(&mut out),
        Some("br") => brotli::Decompressor::new(bytes, 4096).read_to_end(&mut out),
        Some(other) => panic!("unexpected encoding {other}"),
    }
    .unwrap();
    out
}

async fn request(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)]) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let answer = support::parse_response(&bytes, true, method == "HEAD").expect("a response");
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let headers = String::from_utf8_lossy(&bytes[..end])
        .split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status: answer.status,
        headers,
        body: answer.body,
    }
}

async fn get(addr: SocketAddr, target: &str, accept: &str) -> Reply {
    request(addr, "GET", target, &[("accept-encoding", accept)]).await
}

#[tokio::test]
async fn the_encoding_follows_accept_encoding_and_its_q_values() {
    let addr = serve_with(Compression::default()).await;
    let page = compression_fixture::page();
    let cases = [
        ("gzip, deflate, br", Some("br")),
        ("gzip", Some("gzip")),
        ("br;q=0.5, gzip;q=0.8", Some("gzip")),
        ("gzip;q=0.5, br;q=0.5", Some("br")),
        ("*", Some("br")),
        ("*;q=0.5, br;q=0", Some("gzip")),
        ("br;q=0, gzip;q=0", None),
        ("gzip;q=0.4, identity", None),
        ("gzip, identity;q=0", Some("gzip")),
        ("identity", None),
        ("deflate", None),
        ("", None),
    ];
    let mut failures = Vec::new();
    for (accept, want) in cases {
        let reply = get(addr, "/page", accept).await;
        let got = reply.header("content-encoding");
        if reply.status != 200 || got != want || reply.decoded() != page.as_bytes() {
            failures.push(format!(
                "{accept:?}: want {want:?}, got {} {got:?}",
                reply.status
            ));
        }
        if !reply.varies_on_encoding() {
            failures.push(format!("{accept:?}: no Vary: Accept-Encoding"));
        }
        if want.is_some()
            && (reply.body.len() * 3 > page.len() || reply.header("content-length").is_some())
        {
            failures.push(format!(
                "{accept:?}: {} bytes, content-length {:?}",
                reply.body.len(),
                reply.header("content-length")
            ));
        }
    }
    let plain = request(addr, "GET", "/page", &[]).await;
    assert_eq!(
        plain.header("content-encoding"),
        None,
        "no Accept-Encoding, no encoding"
    );
    assert!(plain.varies_on_encoding());
    let list = get(addr, "/api/list", "br").await;
    assert_eq!(list.header("content-type"), Some("application/json"));
    assert_eq!(list.header("content-encoding"), Some("br"));
    let json: serde_json::Value = serde_json::from_slice(&list.decoded()).unwrap();
    assert_eq!(json, compression_fixture::list());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn answers_that_are_never_compressed() {
    let addr = serve_with(Compression::default()).await;
    let accept = "gzip, br";
    // (path, extra headers, method, whether it says Vary: Accept-Encoding)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, bool);
    let cases: [Case; 6] = [
        ("/api/small", &[], "GET", false),
        ("/api/png", &[], "GET", false),
        ("/api/no-transform", &[], "GET", false),
        ("/page", &[], "HEAD", true),
        ("/page", &[("range", "bytes=0-99")], "GET", true),
        ("/api/encoded", &[], "GET", false),
    ];
    for (path, extra, method, varies) in cases {
        let mut headers = vec![("accept-encoding", accept)];
        headers.extend_from_slice(extra);
        let reply = request(addr, method, path, &headers).await;
        assert_eq!(reply.status, 200, "{method} {path} {extra:?}");
        let encoding = reply.header("content-encoding");
        let want = (path == "/api/encoded").then_some("x-custom");
        assert_eq!(encoding, want, "{method} {path} {extra:?}");
        assert_eq!(
            reply.varies_on_encoding(),
            varies,
            "{method} {path} {extra:?}"
        );
    }
    let encoded = get(addr, "/api/encoded", accept).await;
    assert_eq!(
        encoded.body,
        "x".repeat(4096).as_bytes(),
        "not compressed twice"
    );
    let head = request(addr, "HEAD", "/page", &[("accept-encoding", accept)]).await;
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn vary_is_added_beside_the_handlers_and_strong_etags_turn_weak() {
    let addr = serve_with(Compression::default()).await;
    let vary = get(addr, "/api/vary", "gzip").await;
    assert_eq!(vary.header("content-encoding"), Some("gzip"));
    assert_eq!(vary.all("vary"), ["accept-language", "accept-encoding"]);
    assert_eq!(vary.decoded(), "hello ".repeat(1000).as_bytes());

    let tagged = get(addr, "/api/etag", "br").await;
    assert_eq!(tagged.header("etag"), Some("W/\"v1\""));
    let plain = get(addr, "/api/etag", "identity").await;
    assert_eq!(plain.header("etag"), Some("\"v1\""));
}

/// Reads from a response that has not ended yet until `done` says what
/// arrived is enough; fails if that takes 5 s (the body pauses for 30).
async fn read_until(
    addr: SocketAddr,
    target: &str,
    accept: &str,
    done: impl Fn(&[u8]) -> bool,
) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head =
        format!("GET {target} HTTP/1.1\r\nhost: {addr}\r\naccept-encoding: {accept}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    let reading = async {
        let mut buf = [0u8; 8192];
        while !done(&bytes) {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the stream ended before its pause");
            bytes.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), reading)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{target}: held back; got {:?}",
                String::from_utf8_lossy(&bytes)
            )
        });
    bytes
}

/// The chunks of a chunked body so far (a stream not finished).
fn chunks_so_far(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let Ok(size) = usize::from_str_radix(std::str::from_utf8(&rest[..end]).unwrap_or("x"), 16)
        else {
            break;
        };
        let Some(chunk) = rest.get(end + 2..end + 2 + size) else {
            break;
        };
        out.extend_from_slice(chunk);
        rest = rest.get(end + 4 + size..).unwrap_or_default();
    }
    out
}

fn split_head(bytes: &[u8]) -> Option<(String, &[u8])> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some((
        String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase(),
        &bytes[end + 4..],
    ))
}

#[tokio::test]
async fn server_sent_events_keep_streaming_uncompressed() {
    let addr = serve_with(Compression::default()).await;
    let bytes = read_until(addr, "/api/events", "gzip, br", |b| {
        split_head(b).is_some_and(|(_, body)| chunks_so_far(body).ends_with(b"\n\n"))
    })
    .await;
    let (head, body) = split_head(&bytes).unwrap();
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert!(!head.contains("content-encoding"), "{head}");
    assert!(chunks_so_far(body).starts_with(b"data: first event"));
}

#[tokio::test]
async fn a_compressed_stream_is_flushed_before_each_pause() {
    let addr = serve_with(Compression::default()).await;
    let first = "first part of a long stream ".repeat(100);
    let decoded_so_far = |b: &[u8]| {
        let Some((_, body)) = split_head(b) else {
            return Vec::new();
        };
        let mut decoder = flate2::write::GzDecoder::new(Vec::new());
        let _ = decoder.write_all(&chunks_so_far(body));
        let _ = decoder.flush();
        decoder.get_ref().clone()
    };
    let bytes = read_until(addr, "/api/stream", "gzip", |b| {
        decoded_so_far(b) == first.as_bytes()
    })
    .await;
    let (head, body) = split_head(&bytes).unwrap();
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(chunks_so_far(body).len() < first.len() / 5, "compressed");
}

fn public_file(url: &str) -> &'static approute::PublicFile {
    let files = compression_site::PUBLIC_FILES.iter();
    files.into_iter().find(|f| f.url() == url).unwrap()
}

#[tokio::test]
async fn public_files_are_sent_as_compressed_at_build_time() {
    let addr = serve_with(Compression::default()).await;
    let on_disk = std::fs::read(format!("{PUBLIC}/notes.html")).unwrap();
    let file = public_file("/notes.html");
    assert_eq!(file.variants().len(), 2);
    let mut etags = vec![file.etag().to_string()];
    for (accept, encoding) in [("br, gzip", Encoding::Brotli), ("gzip", Encoding::Gzip)] {
        let variant = file
            .variants()
            .iter()
            .find(|v| v.encoding() == encoding)
            .unwrap();
        let reply = get(addr, "/notes.html", accept).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-encoding"), Some(encoding.as_str()));
        assert_eq!(
            reply.body,
            variant.bytes(),
            "the embedded bytes, as they are"
        );
        assert_eq!(reply.decoded(), on_disk);
        let len = variant.bytes().len().to_string();
        assert_eq!(reply.header("content-length"), Some(len.as_str()));
        assert_eq!(reply.header("etag"), Some(variant.etag()));
        assert!(!variant.etag().starts_with("W/"), "strong");
        assert!(reply.varies_on_encoding());
        etags.push(variant.etag().to_string());

        // 304 against this variant's own tag.
        let again = [
            ("accept-encoding", accept),
            ("if-none-match", variant.etag()),
        ];
        let not_modified = request(addr, "GET", "/notes.html", &again).await;
        assert_eq!(not_modified.status, 304, "{accept}");
        assert_eq!(not_modified.header("etag"), Some(variant.etag()));
        assert!(not_modified.varies_on_encoding());
        let stale = [("accept-encoding", accept), ("if-none-match", file.etag())];
        assert_eq!(
            request(addr, "GET", "/notes.html", &stale).await.status,
            200
        );

        let head = request(addr, "HEAD", "/notes.html", &[("accept-encoding", accept)]).await;
        assert_eq!(head.header("content-length"), Some(len.as_str()));
        assert_eq!(head.header("content-encoding"), Some(encoding.as_str()));
    }
    etags.sort();
    etags.dedup();
    assert_eq!(etags.len(), 3, "one strong ETag per form: {etags:?}");

    // A range is of the file as it is.
    let range = [("accept-encoding", "br, gzip"), ("range", "bytes=10-19")];
    let part = request(addr, "GET", "/notes.html", &range).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-encoding"), None);
    assert_eq!(part.body, on_disk[10..20]);
    assert_eq!(part.header("etag"), Some(file.etag()));
    let if_range = [
        ("accept-encoding", "gzip"),
        ("range", "bytes=0-9"),
        ("if-range", file.etag()),
    ];
    assert_eq!(
        request(addr, "GET", "/notes.html", &if_range).await.status,
        206
    );

    let plain = get(addr, "/notes.html", "identity").await;
    assert_eq!(plain.body, on_disk);
    assert_eq!(plain.header("etag"), Some(file.etag()));
    assert!(plain.varies_on_encoding());

    let js = get(addr, "/app.js", "gzip").await;
    assert_eq!(js.header("content-encoding"), Some("gzip"));
    assert_eq!(
        js.decoded(),
        std::fs::read(format!("{PUBLIC}/app.js")).unwrap()
    );
    for (url, why) in [("/tiny.txt", "under 1 KiB"), ("/photo.png", "not text")] {
        assert!(public_file(url).variants().is_empty(), "{url}: {why}");
        let reply = get(addr, url, "br, gzip").await;
        assert_eq!(reply.header("content-encoding"), None, "{url}: {why}");
        assert!(!reply.varies_on_encoding(), "{url}: {why}");
    }
}

#[tokio::test]
async fn cached_answers_are_kept_compressed_and_not_split_by_accept_encoding() {
    let addr = serve_with(Compression::default()).await;
    let cases = [
        ("gzip", Some("gzip"), "MISS"),
        ("br", Some("br"), "HIT"),
        ("identity", None, "HIT"),
        ("deflate, gzip;q=0.9", Some("gzip"), "HIT"),
        ("gzip, deflate, br", Some("br"), "HIT"),
    ];
    let mut bodies = Vec::new();
    for (accept, encoding, state) in cases {
        let reply = get(addr, "/api/cached", accept).await;
        assert_eq!(reply.header("content-encoding"), encoding, "{accept}");
        assert_eq!(reply.header("x-approute-cache"), Some(state), "{accept}");
        assert!(reply.varies_on_encoding(), "{accept}");
        let json: serde_json::Value = serde_json::from_slice(&reply.decoded()).unwrap();
        assert_eq!(json["run"], 1, "{accept}: one run for every encoding");
        bodies.push((encoding, reply.body));
    }
    // Each hit sends the bytes stored, the same every time.
    let (_, first_br) = bodies.iter().find(|(e, _)| *e == Some("br")).unwrap();
    assert!(bodies
        .iter()
        .filter(|(e, _)| *e == Some("br"))
        .all(|(_, b)| b == first_br));

    // The handler's own `Vary: Accept-Encoding` does not split the entry.
    for (accept, state) in [
        ("gzip", "MISS"),
        ("br", "HIT"),
        ("gzip, br", "HIT"),
        ("", "HIT"),
    ] {
        let reply = get(addr, "/api/cached-vary", accept).await;
        assert_eq!(reply.header("x-approute-cache"), Some(state), "{accept:?}");
        // The routes share one run counter: this one's first run is the 2nd.
        let text = String::from_utf8(reply.decoded()).unwrap();
        assert!(text.starts_with("run 2 "), "{accept:?}: {}", &text[..10]);
        assert_eq!(reply.all("vary"), ["Accept-Encoding"], "{accept:?}");
    }
}

#[tokio::test]
async fn the_server_can_turn_it_off_or_pick_the_encodings() {
    let off = serve_with(Compression::off()).await;
    for path in ["/page", "/notes.html", "/api/cached"] {
        let reply = get(off, path, "gzip, br").await;
        assert_eq!(reply.header("content-encoding"), None, "{path}");
        assert!(!reply.varies_on_encoding(), "{path}");
    }
    let gzip_only = serve_with(
        Compression::default()
            .encodings([Encoding::Gzip])
            .gzip_level(1),
    )
    .await;
    for path in ["/page", "/notes.html", "/api/cached"] {
        let reply = get(gzip_only, path, "br, gzip;q=0.5").await;
        assert_eq!(reply.header("content-encoding"), Some("gzip"), "{path}");
        assert!(reply.varies_on_encoding(), "{path}");
    }
    assert_eq!(
        get(gzip_only, "/page", "br")
            .await
            .header("content-encoding"),
        None
    );
    let big = serve_with(Compression::default().min_size(100_000)).await;
    assert_eq!(
        get(big, "/page", "br").await.header("content-encoding"),
        None
    );
}

#[tokio::test]
async fn the_layer_compresses_under_axum_serve() {
    let addr = support::serve(router().layer(Compression::default().layer())).await;
    let reply = get(addr, "/page", "gzip, br").await;
    assert_eq!(reply.header("content-encoding"), Some("br"));
    assert_eq!(reply.decoded(), compression_fixture::page().as_bytes());
    // Without the layer only what is compressed already is: public files.
    let bare = support::serve(router()).await;
    assert_eq!(
        get(bare, "/page", "br").await.header("content-encoding"),
        None
    );
    assert_eq!(
        get(bare, "/notes.html", "br")
            .await
            .header("content-encoding"),
        Some("br")
    );
}

#[test]
#[should_panic(expected = "gzip level 10 is not in 1..=9")]
fn a_gzip_level_out_of_range_is_refused() {
    let _ = Compression::default().gzip_level(10);
}

#[test]
#[should_panic(expected = "brotli quality 12 is not in 0..=11")]
fn a_brotli_quality_out_of_range_is_refused() {
    let _ = Compression::default().brotli_quality(12);
}
