//! Helpers shared by the integration tests: one request in process, one
//! over a real socket, reading a raw HTTP/1.1 response, and the answer
//! reduced to what a comparison with Next.js looks at.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use approute::axum::body::Body;
use approute::axum::http::Request;
use approute::axum::Router;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

/// An answer, headers lower-cased.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}

/// Sends one request through `router` without a socket.
pub async fn call(router: &Router, method: &str, target: &str) -> Answer {
    send(router, method, target, &[]).await
}

/// [`call`] with request headers.
pub async fn send(router: &Router, method: &str, target: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::builder().method(method).uri(target);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    oneshot(router, request.body(Body::empty()).unwrap()).await
}

/// Sends `request` through `router` without a socket.
pub async fn oneshot(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_string(), value)
        })
        .collect();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// Serves `router` on a free loopback port for the rest of the test.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { approute::axum::serve(listener, router).await.unwrap() });
    addr
}

/// Serves `router` with `approute::serve` (the URL rules, a panic as a
/// `500`) on a free loopback port for the rest of the test.
pub async fn serve_approute(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = approute::serve(router)
        .listener(listener)
        .shutdown_on(std::future::pending());
    tokio::spawn(server.run());
    addr
}

/// Writes `METHOD TARGET HTTP/1.1` byte for byte, as `probe.py` does, and
/// reads the answer until the server closes.
pub async fn raw(addr: SocketAddr, method: &str, target: &str) -> Answer {
    raw_with(addr, method, target, &[]).await
}

/// [`raw`] with request headers; a `host` among them replaces the address.
pub async fn raw_with(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {target} HTTP/1.1\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        request.push_str(&format!("host: {addr}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("content-length: 0\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    parse_response(&bytes, true, method == "HEAD").expect("a complete response")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A complete response at the start of `buf`, if there is one yet; `eof`:
/// the connection is closed, so a body without a length ends here.
pub fn parse_response(buf: &[u8], eof: bool, head_request: bool) -> Option<Answer> {
    let end = find(buf, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &buf[end + 4..];
    let body = if head_request || status == 204 || status == 304 {
        Vec::new()
    } else if let Some(len) = headers.get("content-length") {
        let len: usize = len.parse().ok()?;
        if rest.len() < len {
            return None;
        }
        rest[..len].to_vec()
    } else if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
        dechunk(rest)?
    } else if eof {
        rest.to_vec()
    } else {
        return None;
    };
    Some(Answer {
        status,
        headers,
        body,
    })
}

/// The body of a chunked message; `None` until its last chunk is in.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let end = find(data, b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..end]).ok()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        let chunk = data.get(end + 2..end + 2 + size)?;
        out.extend_from_slice(chunk);
        data = data.get(end + 2 + size + 2..)?;
    }
}

/// Each request line of a `requests.txt` with its answer from the
/// matching `golden-next14.jsonl`.
pub fn golden_cases(requests: &str, golden: &str) -> Vec<(String, serde_json::Value)> {
    let golden: Vec<serde_json::Value> = golden
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let requests: Vec<&str> = requests
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(requests.len(), golden.len(), "one golden answer a request");
    requests
        .into_iter()
        .map(|line| {
            let want = golden
                .iter()
                .find(|g| g["req"] == line)
                .unwrap_or_else(|| panic!("no golden answer for {line}"))
                .clone();
            (line.to_string(), want)
        })
        .collect()
}

/// What `probe.py` prints for an answer.
pub fn observe(line: &str, answer: &Answer) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    out.insert("req".into(), line.into());
    out.insert("status".into(), answer.status.into());
    if let Some(allow) = answer.header("allow") {
        let mut methods: Vec<&str> = allow.split(',').map(str::trim).collect();
        methods.sort();
        out.insert("allow".into(), methods.join(",").into());
    }
    for key in ["location", "x-route", "x-method"] {
        if let Some(v) = answer.header(key) {
            out.insert(key.into(), v.into());
        }
    }
    let is_json = answer
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json"));
    if answer.status == 200 && !answer.body.is_empty() && is_json {
        out.insert("params".into(), answer.json()["params"].clone());
    }
    if line.starts_with("HEAD ") {
        out.insert("body_len".into(), answer.body.len().into());
    }
    serde_json::Value::Object(out)
}

/// `compare.py`: the differences that matter between Next.js's answer and ours.
/// A 405 may carry `Allow` though Next.js sends none.
pub fn differences(want: &serde_json::Value, got: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    for key in [
        "status", "location", "x-route", "x-method", "params", "body_len",
    ] {
        if want.get(key) != got.get(key) {
            problems.push(format!(
                "{key}: want {:?} got {:?}",
                want.get(key),
                got.get(key)
            ));
        }
    }
    if want.get("allow").is_some() && want.get("allow") != got.get("allow") {
        problems.push(format!(
            "allow: want {:?} got {:?}",
            want.get("allow"),
            got.get("allow")
        ));
    }
    problems
}

/// Starts `command`, a server binary, on a free loopback port (`PORT=0`,
/// logging at info): the child, and its stderr line by line.
pub fn spawn_server(
    command: &mut std::process::Command,
) -> (
    std::process::Child,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    use std::io::BufRead;
    use std::process::Stdio;

    let mut child = command
        .env("PORT", "0")
        .env("HOST", "127.0.0.1")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, lines)
}
