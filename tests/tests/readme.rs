//! The README's quick start, built and served exactly as written: a new
//! user who copies those files gets a crate that builds without warnings
//! and answers the URLs the README promises.

mod scratch;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scratch::Scratch;

const README: &str = include_str!("../../README.md");

/// `(file name, code)` for each "`name`" line followed by a fenced block in
/// the Quick start section.
fn quick_start_files() -> Vec<(String, String)> {
    let start = README
        .find("## Quick start")
        .expect("a Quick start section");
    let section = &README[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut files = Vec::new();
    let mut lines = section.lines().peekable();
    let mut name: Option<String> = None;
    while let Some(line) = lines.next() {
        if line.starts_with('`') && !line.starts_with("```") {
            name = line.split('`').nth(1).map(str::to_string);
        } else if line.starts_with("```") {
            let mut code = String::new();
            for l in lines.by_ref() {
                if l.starts_with("```") {
                    break;
                }
                code.push_str(l);
                code.push('\n');
            }
            if let Some(name) = name.take() {
                files.push((name, code));
            }
        }
    }
    files
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split(' ').nth(1).unwrap().parse().unwrap();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

#[test]
fn quick_start_builds_cleanly_and_serves_its_urls() {
    let files = quick_start_files();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Cargo.toml",
            "build.rs",
            "src/main.rs",
            "app/api/hello/route.rs",
            "app/api/users/[id]/route.rs"
        ],
        "the quick start shows exactly these files"
    );
    // The harness writes its own Cargo.toml (path dependency); the README's
    // must ask for no more than approute and tokio.
    let manifest = &files[0].1;
    let deps = &manifest[manifest.find("[dependencies]").unwrap()..];
    let dep_names: Vec<&str> = deps
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .collect();
    assert_eq!(dep_names, ["approute", "tokio"]);

    let sources: Vec<(&str, &str)> = files[1..]
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_str()))
        .collect();
    let app = Scratch::new("readme-quick-start", &sources);
    let out = app.build();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("warning"),
        "the quick start builds with warnings:\n{stderr}"
    );

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new(app.exe())
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the quick start app never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(get(port, "/api/hello"), (200, "hello".to_string()));
    assert_eq!(get(port, "/api/users/42"), (200, "user 42".to_string()));
    assert_eq!(get(port, "/api/users/abc").0, 400);
    assert_eq!(get(port, "/api/hello/").0, 308);
}
