//! Starting and stopping the app's server processes on the listening
//! socket `dev` holds. Each one gets the socket as fd 3 with `LISTEN_FDS=1`
//! and `LISTEN_PID` set to its own pid (systemd's convention, which
//! `approute::serve` follows), and a `NOTIFY_SOCKET` of its own on which it
//! says `READY=1` once it accepts. Only then is the old one told to stop
//! (SIGTERM: it stops accepting and drains), so the socket always has a
//! process accepting on it and no connection is refused.

use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use command_fds::{CommandFdExt, FdMapping};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::timings::Stages;

/// How long a new server may take to say `READY=1`; one that runs longer
/// without saying it is served another way than `approute::serve`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// `sh` sets `LISTEN_PID` to its own pid, which `exec` hands to the server:
/// the pid is not known before the process exists, and setting it after
/// the fork would take unsafe code.
const EXEC_WITH_PID: &str = r#"LISTEN_PID=$$ exec "$0" "$@""#;

/// A running server process.
pub struct Server {
    child: Child,
    /// The copy of the executable it runs (cargo overwrites the build's).
    executable: PathBuf,
}

/// How a new server came up.
pub enum Started {
    /// It said `READY=1` on the socket it was given.
    Ready(Server),
    /// It runs but never said so: not served by `approute::serve`.
    Silent(Server),
    /// It exited before it was ready.
    Exited(ExitStatus),
}

/// Starts servers; `listener` is the socket they share (none for an app
/// served another way, which binds its own).
pub struct Launcher {
    pub listener: Option<TcpListener>,
    run_dir: PathBuf,
    generation: u32,
}

impl Launcher {
    pub fn new(listener: TcpListener, run_dir: PathBuf) -> std::io::Result<Launcher> {
        std::fs::create_dir_all(&run_dir)?;
        Ok(Launcher {
            listener: Some(listener),
            run_dir,
            generation: 0,
        })
    }

    /// Starts `executable` and waits until it is ready, exits, or times out.
    pub fn start(&mut self, executable: &Path, stages: &mut Stages) -> Result<Started, String> {
        self.generation += 1;
        let name = executable.file_name().unwrap_or_default().to_string_lossy();
        let copy = self.run_dir.join(format!("{name}-{}", self.generation));
        std::fs::copy(executable, &copy).map_err(|e| format!("cannot copy the build: {e}"))?;
        stages.mark("copied");
        let Some(listener) = &self.listener else {
            let child = Command::new(&copy)
                .stdin(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start the server: {e}"))?;
            return Ok(Started::Silent(Server {
                child,
                executable: copy,
            }));
        };
        let notify_path = self
            .run_dir
            .join(format!("notify-{}.sock", self.generation));
        let _ = std::fs::remove_file(&notify_path);
        let notify = UnixDatagram::bind(&notify_path).map_err(|e| format!("{e}"))?;
        notify
            .set_read_timeout(Some(Duration::from_millis(20)))
            .map_err(|e| e.to_string())?;
        let socket: OwnedFd = listener
            .try_clone()
            .map_err(|e| format!("cannot share the socket: {e}"))?
            .into();
        let mut command = Command::new("sh");
        command
            .args(["-c", EXEC_WITH_PID])
            .arg(&copy)
            .env("LISTEN_FDS", "1")
            .env("NOTIFY_SOCKET", &notify_path)
            .stdin(Stdio::null());
        command
            .fd_mappings(vec![FdMapping {
                parent_fd: socket,
                child_fd: 3,
            }])
            .map_err(|e| e.to_string())?;
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        stages.mark("spawned");
        let started = Instant::now();
        let mut buf = [0u8; 64];
        let outcome = loop {
            if let Ok(n) = notify.recv(&mut buf) {
                if buf[..n].split(|&b| b == b'\n').any(|l| l == b"READY=1") {
                    stages.mark("ready");
                    break Started::Ready(Server {
                        child,
                        executable: copy,
                    });
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                let _ = std::fs::remove_file(&copy);
                break Started::Exited(status);
            }
            if started.elapsed() > READY_TIMEOUT {
                break Started::Silent(Server {
                    child,
                    executable: copy,
                });
            }
        };
        let _ = std::fs::remove_file(&notify_path);
        Ok(outcome)
    }
}

impl Server {
    /// SIGTERM: `approute::serve` stops accepting and drains its requests.
    /// The process is reaped (and its executable copy removed) in the
    /// background, however long the drain takes.
    pub fn stop(self) {
        let Server {
            mut child,
            executable,
        } = self;
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        std::thread::spawn(move || {
            let _ = child.wait();
            let _ = std::fs::remove_file(executable);
        });
    }

    /// Stops it and waits up to `limit` for it to exit, then kills it.
    pub fn stop_and_wait(mut self, limit: Duration) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.executable);
    }

    /// Its exit status, if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}
