//! `cargo approute dev`: builds and serves the app, and on every save
//! rebuilds it and hands the listening socket to the new server, which
//! takes over from the old one with no connection refused (see `server`).
//! A build that fails leaves the last good server answering.

mod build;
mod dylib;
mod rustc;
mod server;
mod timings;
mod watch;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use approute_codegen::RouteTree;

use crate::{check, project};
use rustc::Recorded;
use server::{Launcher, Server, Started};
use timings::Stages;
use watch::{Wake, Watch};

/// Defaults as `approute::serve`'s.
const DEFAULT_HOST: &str = "127.0.0.1";
const DEFAULT_PORT: u16 = 3000;
/// Dylib warm-ups tried before replays link statically for good.
const WARM_UPS_TRIED: u8 = 2;
/// How long the last server may drain when `dev` is stopped.
const EXIT_GRACE: Duration = Duration::from_secs(10);

/// A route as the added/removed lines show it: URL -> (methods, file).
type RouteLines = BTreeMap<String, (String, String)>;

struct Dev {
    crate_dir: PathBuf,
    bin: Option<String>,
    launcher: Launcher,
    current: Option<Server>,
    /// The routes of the build being served.
    routes: Option<RouteLines>,
    /// Show each rebuild's [`Stages`].
    timings: bool,
    /// Where cargo's wrapper records the app's rustc command; none when
    /// the user has a `RUSTC_WORKSPACE_WRAPPER` of their own.
    record: Option<PathBuf>,
    /// The app's rustc command, once cargo has built it.
    recorded: Option<Recorded>,
    /// The libraries cargo's last build linked the app from.
    libraries: build::Libraries,
    /// That command linked against approute as a dylib (see `dylib`),
    /// once its first build is done; replays use it when there is one.
    dylib_linked: Option<Recorded>,
    /// The first dylib-linked build, running in the background.
    warming_up: Option<JoinHandle<Result<Recorded, dylib::WarmUpFailed>>>,
    /// Failed warm-ups (a compile error at the time, or a dependency graph
    /// that cannot link this way); after two, replays link statically.
    warm_ups_failed: u8,
    /// The next build must go through cargo (a manifest or build script
    /// changed, or cargo's last build failed).
    cargo_needed: bool,
}

/// The wrapper's side of `rustc`: runs rustc (and never returns) when cargo
/// started this binary as `RUSTC_WORKSPACE_WRAPPER`.
pub fn wrap_rustc_if_asked() -> Option<String> {
    rustc::record_and_exec()
}

pub fn run(crate_dir: PathBuf, bin: Option<String>, timings: bool) -> Result<i32, String> {
    let host = env_or("HOST", DEFAULT_HOST);
    let port: u16 = env_or("PORT", &DEFAULT_PORT.to_string())
        .parse()
        .map_err(|_| "PORT is not a port number".to_string())?;
    let listener = TcpListener::bind((host.as_str(), port))
        .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let options = project::options(&crate_dir);
    let folders = [
        options.dir.as_str(),
        options.pages_dir.as_str(),
        options.public_dir.as_str(),
        "src",
    ];
    let mut watch = Watch::new(&crate_dir, &folders, &["Cargo.toml", "build.rs"])?;
    let run_dir = build::target_dir(&crate_dir).join("run");
    // Kept between runs: when cargo finds the app fresh, its rustc does
    // not run, and the record of the run that made the binary is used.
    let record = std::env::var_os("RUSTC_WORKSPACE_WRAPPER")
        .is_none()
        .then(|| run_dir.join(rustc::record_name(&crate_dir)));
    let launcher = Launcher::new(listener, run_dir).map_err(|e| e.to_string())?;
    say(&format!(
        "http://{addr}, watching {}, Cargo.toml",
        folders.map(|f| format!("{f}/")).join(", ")
    ));
    let mut dev = Dev {
        crate_dir,
        bin,
        launcher,
        current: None,
        routes: None,
        timings: timings || std::env::var_os("APPROUTE_DEV_TIMINGS").is_some_and(|v| v == "1"),
        record,
        recorded: None,
        libraries: build::Libraries::new(),
        dylib_linked: None,
        warming_up: None,
        // APPROUTE_DEV_DYLIB=0: always link statically, as cargo does.
        warm_ups_failed: if std::env::var_os("APPROUTE_DEV_DYLIB").is_some_and(|v| v == "0") {
            WARM_UPS_TRIED
        } else {
            0
        },
        cargo_needed: true,
    };
    dev.rebuild(Instant::now());
    loop {
        match watch.next() {
            Wake::Stop => {
                if let Some(server) = dev.current.take() {
                    server.stop_and_wait(EXIT_GRACE);
                }
                return Ok(0);
            }
            Wake::Changed(paths, saved) => {
                let shown = paths
                    .first()
                    .map(|p| {
                        p.strip_prefix(&dev.crate_dir)
                            .unwrap_or(p)
                            .display()
                            .to_string()
                    })
                    .unwrap_or_default();
                let more = match paths.len() {
                    0 | 1 => String::new(),
                    n => format!(" and {} more", n - 1),
                };
                say(&format!("{shown}{more} changed, rebuilding"));
                let manifests = [
                    dev.crate_dir.join("Cargo.toml"),
                    dev.crate_dir.join("build.rs"),
                ];
                dev.cargo_needed |= paths.iter().any(|p| manifests.contains(p));
                dev.rebuild(saved);
            }
        }
    }
}

impl Dev {
    /// Checks the tree, builds, and swaps servers; on any failure the
    /// running server stays.
    fn rebuild(&mut self, saved: Instant) {
        let mut stages = Stages::new(saved, self.timings);
        stages.mark("settled");
        let options = project::options(&self.crate_dir);
        // The macro would stop the build on these; the CLI's own report
        // points into the route files, and costs milliseconds.
        let tree = match check::load(&options) {
            Ok(tree) => tree,
            Err(_) => return self.keep_serving("the route tree has problems"),
        };
        stages.mark("checked");
        self.finish_warm_up();
        let built = match self
            .recorded
            .as_ref()
            .filter(|r| !self.cargo_needed && r.replayable())
        {
            Some(recorded) => {
                let recorded = self.dylib_linked.as_ref().unwrap_or(recorded);
                build::rebuild_with_rustc(recorded, &mut stages)
            }
            None => self.build_with_cargo(&mut stages),
        };
        let built = match built {
            Ok(built) => built,
            Err(e) => return self.keep_serving(&e),
        };
        self.start_warm_up();
        let running = self.current.as_mut().is_some_and(|s| s.exited().is_none());
        if built.fresh && running {
            return say("nothing changed in the build; the server keeps running");
        }
        if self.launcher.listener.is_none() {
            // Served another way: the app binds the port itself, so the old
            // one must let go first.
            if let Some(old) = self.current.take() {
                old.stop_and_wait(EXIT_GRACE);
            }
        }
        match self.launcher.start(&built.executable, &mut stages) {
            Ok(Started::Ready(server)) => self.serve(server, &tree, stages),
            Ok(Started::Silent(server)) => {
                if self.launcher.listener.is_some() {
                    say("the server did not say READY=1 (is it served by approute::serve?); stopping the old one anyway");
                }
                self.serve(server, &tree, stages);
            }
            Ok(Started::Exited(status))
                if self.routes.is_none() && self.launcher.listener.is_some() =>
            {
                say(&format!(
                    "the server exited ({status}) without taking the socket approute dev holds; \
                     if it is not served by approute::serve it binds its own: restarting it plainly, \
                     so connections are refused while it restarts"
                ));
                self.launcher.listener = None;
                self.rebuild(saved);
            }
            Ok(Started::Exited(status)) => self.keep_serving(&format!(
                "the new server exited ({status}) before it was ready"
            )),
            Err(e) => self.keep_serving(&e),
        }
    }

    /// A cargo build, which records the app's rustc command for the next.
    fn build_with_cargo(&mut self, stages: &mut Stages) -> Result<build::Built, String> {
        let record = self.record.as_deref();
        let built = build::build(&self.crate_dir, self.bin.as_deref(), record, stages);
        self.cargo_needed = built.is_err();
        if let Ok(built) = &built {
            // Only the record of the run that made this very binary.
            self.recorded = record
                .and_then(Recorded::read)
                .filter(|r| rustc::same_file(&r.executable, &built.executable));
            self.libraries = built.libraries.clone();
            // Cargo may have rebuilt approute: link against it again.
            self.dylib_linked = None;
            self.warming_up = None;
        }
        built
    }

    /// Starts the first dylib-linked build in the background, unless one
    /// is done, running, or has failed too often.
    fn start_warm_up(&mut self) {
        if self.dylib_linked.is_some()
            || self.warming_up.is_some()
            || self.warm_ups_failed >= WARM_UPS_TRIED
        {
            return;
        }
        let (Some(record), Some(recorded)) = (self.record.clone(), self.recorded.clone()) else {
            return;
        };
        let crate_dir = self.crate_dir.clone();
        let libraries = self.libraries.clone();
        self.warming_up = Some(std::thread::spawn(move || {
            let linked = dylib::warm_up(&crate_dir, &record, &recorded, &libraries);
            match &linked {
                Ok(_) => say("the next rebuilds link against approute as a shared library"),
                Err(failed) => say(&format!("rebuilds link statically ({})", failed.why)),
            }
            linked
        }));
    }

    /// Takes the warm-up's result if it has finished.
    fn finish_warm_up(&mut self) {
        if !self.warming_up.as_ref().is_some_and(|w| w.is_finished()) {
            return;
        }
        match self.warming_up.take().expect("checked").join() {
            Ok(Ok(linked)) => self.dylib_linked = Some(linked),
            Ok(Err(failed)) if !failed.may_retry => self.warm_ups_failed = WARM_UPS_TRIED,
            Ok(Err(_)) | Err(_) => self.warm_ups_failed += 1,
        }
    }

    /// Makes `server` the current one, stops the old, says what changed.
    fn serve(&mut self, server: Server, tree: &RouteTree, mut stages: Stages) {
        if let Some(old) = self.current.replace(server) {
            old.stop();
            stages.mark("old told to stop");
        }
        let routes = route_lines(tree);
        let before = self.routes.replace(routes.clone()).unwrap_or_default();
        for line in route_changes(&before, &routes) {
            println!("  {line}");
        }
        say(&format!(
            "serving the new build, {:.2} s after the change",
            stages.elapsed()
        ));
        if let Some(line) = stages.line() {
            say(&line);
        }
    }

    fn keep_serving(&self, why: &str) {
        if self.current.is_some() {
            say(&format!("{why}; still serving the last good build"));
        } else {
            say(&format!("{why}; waiting for a change"));
        }
    }
}

fn say(line: &str) {
    println!("approute dev: {line}");
}

fn env_or(name: &str, default: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value.trim().to_string(),
        _ => default.to_string(),
    }
}

fn route_lines(tree: &RouteTree) -> RouteLines {
    tree.routes
        .iter()
        .map(|route| {
            let methods: Vec<&str> = route.methods().iter().map(|m| m.as_str()).collect();
            let methods = if route.any_method {
                "ANY".to_string()
            } else {
                methods.join(",")
            };
            (route.route_id(), (methods, route.file.display_path.clone()))
        })
        .collect()
}

/// `+ GET /api/new  app/api/new/route.rs`, `- ...`, and `~` for a route
/// whose methods changed; nothing on the first build.
fn route_changes(before: &RouteLines, after: &RouteLines) -> Vec<String> {
    if before.is_empty() {
        return Vec::new();
    }
    let line = |mark: char, url: &str, (methods, file): &(String, String)| {
        format!("{mark} {methods} {url}  {file}")
    };
    let mut lines = Vec::new();
    for (url, now) in after {
        match before.get(url) {
            None => lines.push(line('+', url, now)),
            Some(was) if was.0 != now.0 => lines.push(line('~', url, now)),
            Some(_) => {}
        }
    }
    for (url, was) in before {
        if !after.contains_key(url) {
            lines.push(line('-', url, was));
        }
    }
    lines
}

/// The crate's folder, for the command line.
pub fn crate_dir(manifest: Option<&str>) -> Result<PathBuf, String> {
    let dir = project::crate_dir(manifest)?;
    if !Path::new(&dir).join("Cargo.toml").is_file() {
        return Err(format!("no Cargo.toml in {}", dir.display()));
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_changes_name_added_removed_and_changed_routes() {
        let lines = |rows: &[(&str, &str)]| -> RouteLines {
            rows.iter()
                .map(|(url, methods)| {
                    (
                        url.to_string(),
                        (methods.to_string(), format!("app{url}/route.rs")),
                    )
                })
                .collect()
        };
        let before = lines(&[("/a", "GET"), ("/b", "GET")]);
        let after = lines(&[("/a", "GET,POST"), ("/c", "GET")]);
        assert_eq!(
            route_changes(&before, &after),
            [
                "~ GET,POST /a  app/a/route.rs",
                "+ GET /c  app/c/route.rs",
                "- GET /b  app/b/route.rs"
            ]
        );
        assert!(route_changes(&RouteLines::new(), &after).is_empty());
    }
}
