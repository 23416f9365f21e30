//! A TCP proxy in front of a `redis-server` that notes the name of every
//! command a client sends through it: what a request costs in round trips
//! to Redis. (MONITOR and `INFO commandstats` also count the commands a
//! script runs inside Redis, which cost no round trip.)
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The proxy; it stops with the test's runtime.
pub struct CountingProxy {
    pub url: String,
    commands: Arc<Mutex<Vec<String>>>,
}

impl CountingProxy {
    /// A proxy on a free port to the Redis on `port`.
    pub async fn start(port: u16) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}/", listener.local_addr().unwrap());
        let commands = Arc::new(Mutex::new(Vec::new()));
        let noted = commands.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                tokio::spawn(pass(client, server, noted.clone()));
            }
        });
        CountingProxy { url, commands }
    }

    /// The commands sent since the last call, upper-cased, in order.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.commands.lock().unwrap())
    }

    /// [`CountingProxy::take`] once no command came for 100 ms (up to
    /// 5 s): for requests that leave work in the background (a lock's
    /// release, a refresh).
    pub async fn take_when_quiet(&self) -> Vec<String> {
        let quiet = std::time::Duration::from_millis(100);
        let started = std::time::Instant::now();
        let mut seen = usize::MAX;
        loop {
            let now = self.commands.lock().unwrap().len();
            if now == seen || started.elapsed() > std::time::Duration::from_secs(5) {
                return self.take();
            }
            seen = now;
            tokio::time::sleep(quiet).await;
        }
    }
}

/// Copies both ways, noting each command the client sends.
async fn pass(client: TcpStream, server: TcpStream, noted: Arc<Mutex<Vec<String>>>) {
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
    });
    let mut pending = Vec::new();
    let mut chunk = vec![0; 64 * 1024];
    loop {
        let n = match from_client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        pending.extend_from_slice(&chunk[..n]);
        while let Some((name, used)) = command(&pending) {
            noted.lock().unwrap().push(name);
            pending.drain(..used);
        }
        if to_server.write_all(&chunk[..n]).await.is_err() {
            return;
        }
    }
}

/// The name of the first complete command in `bytes` (a RESP array of
/// bulk strings, as every client library sends) and its length.
fn command(bytes: &[u8]) -> Option<(String, usize)> {
    let (count, mut at) = number_after(bytes, 0, b'*')?;
    let mut name = None;
    for _ in 0..count {
        let (len, start) = number_after(bytes, at, b'$')?;
        let end = start + len as usize;
        if bytes.len() < end + 2 {
            return None;
        }
        name.get_or_insert_with(|| String::from_utf8_lossy(&bytes[start..end]).to_uppercase());
        at = end + 2;
    }
    Some((name.unwrap_or_default(), at))
}

/// The number on the line at `at` that starts with `mark`, and where the
/// next line starts.
fn number_after(bytes: &[u8], at: usize, mark: u8) -> Option<(u64, usize)> {
    let rest = bytes.get(at..)?;
    let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
    assert_eq!(
        rest[0],
        mark,
        "not a RESP command: {:?}",
        String::from_utf8_lossy(rest)
    );
    let number = std::str::from_utf8(&rest[1..line_end]).ok()?.parse().ok()?;
    Some((number, at + line_end + 2))
}
