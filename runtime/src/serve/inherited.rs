//! What a supervisor hands the server: a listening socket it holds (the
//! systemd convention: `LISTEN_FDS=1`, `LISTEN_PID` this process, the socket
//! at fd 3, as systemd socket activation, `systemfd` and `cargo approute
//! dev` pass it), and the `READY=1` it waits for on `$NOTIFY_SOCKET`.
//! Together they let a supervisor start a new server on the socket and stop
//! the old one only once the new one serves, so no connection is refused.

use std::io;

use tokio::net::TcpListener;

/// The listening socket this process was given, if it was given one.
/// `LISTEN_PID` naming another process means the variables were meant for
/// a parent and are ignored; unset, they are taken (`systemfd --no-pid`).
/// Both variables are removed, so processes this one starts do not see them.
pub(super) fn listener() -> io::Result<Option<TcpListener>> {
    // listenfd holds the one unsafe step, turning fd 3 into a socket,
    // after checking that it is a TCP socket.
    let Some(listener) = listenfd::ListenFd::from_env().take_tcp_listener(0)? else {
        return Ok(None);
    };
    listener.set_nonblocking(true)?;
    TcpListener::from_std(listener).map(Some)
}

/// Tells a supervisor watching `$NOTIFY_SOCKET` (systemd's `Type=notify`,
/// `cargo approute dev`) that the server accepts connections now. Best
/// effort: a server nobody watches serves all the same.
pub(super) fn notify_ready() {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    #[cfg(unix)]
    let sent = std::os::unix::net::UnixDatagram::unbound()
        .and_then(|socket| socket.send_to(b"READY=1", &path));
    #[cfg(not(unix))]
    let sent: io::Result<usize> = Err(io::ErrorKind::Unsupported.into());
    if let Err(e) = sent {
        tracing::warn!(target: super::LOG_TARGET, "cannot send READY=1 to NOTIFY_SOCKET={path:?}: {e}");
    }
}
