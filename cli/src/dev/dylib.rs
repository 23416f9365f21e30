//! Rebuilds linked against approute as a shared library. A saved route
//! recompiles only the app crate, but linking it statically pulls in
//! approute and everything under it (tokio, hyper, axum...) again, and the
//! app instantiates their generics itself. With approute built once as a
//! dylib (`-C prefer-dynamic`, std shared too), the app's rustc run links
//! only its own code and reuses the generic instances the dylib exports:
//! on the 50-route bench app an edit's rustc run went from 0.31 s to
//! 0.19-0.24 s (link 0.11 -> 0.04 s, codegen 0.12 -> 0.08 s).
//!
//! Only `dev` does this, in its own target dir, into a binary of its own
//! name (`...-dylib`) that finds the libraries by its rpath; what cargo
//! builds is never linked this way. The first such build compiles the
//! whole crate, so it runs in the background ([`warm_up`]) while the
//! statically linked replays serve the saves.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::build::{self, Libraries};
use super::rustc::{output_path, Recorded};

/// The dependency built as a dylib, by the name the app's code uses.
const CRATE: &str = "approute";
/// Suffix of what the dylib-linked build writes: its binary, its
/// incremental cache (apart from cargo's, which its other flags would make
/// rustc drop).
const SUFFIX: &str = "-dylib";

/// Why a warm-up failed, and whether trying again after the next good
/// build could help (a compile error of the moment could; a dependency
/// graph that cannot be linked this way could not).
pub struct WarmUpFailed {
    pub why: String,
    pub may_retry: bool,
}

/// Builds approute as a dylib and the app linked against it once, so the
/// next replays of the returned command are incremental. Quiet: cargo's
/// build has shown the app's diagnostics already.
pub fn warm_up(
    crate_dir: &Path,
    record: &Path,
    recorded: &Recorded,
    libraries: &Libraries,
) -> Result<Recorded, WarmUpFailed> {
    let linked =
        dylib_linked(crate_dir, record, recorded, libraries).map_err(|why| WarmUpFailed {
            why,
            may_retry: false,
        })?;
    // Fails on a compile error of the moment, or on a graph rustc will not
    // link this way after all.
    linked.run_showing(false).map_err(|_| WarmUpFailed {
        why: "the first build linked against it failed".to_string(),
        may_retry: true,
    })?;
    Ok(linked)
}

/// Builds approute as a dylib; the app's command linked against it, if
/// the dylib holds the very libraries the app was built with (`libraries`).
fn dylib_linked(
    crate_dir: &Path,
    record: &Path,
    recorded: &Recorded,
    libraries: &Libraries,
) -> Result<Recorded, String> {
    let rlib = extern_path(&recorded.args, CRATE)
        .ok_or_else(|| format!("the app has no `--extern {CRATE}`"))?;
    let deps = rlib
        .parent()
        .ok_or("the approute library has no folder")?
        .to_path_buf();
    let mut child = build::cargo("rustc", crate_dir, Some(record))
        .args(["-p", CRATE, "--lib", "--crate-type", "dylib", "--quiet"])
        .arg("--message-format=json-render-diagnostics")
        .args(["--", "-C", "prefer-dynamic"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut in_dylib = Libraries::new();
    for line in BufReader::new(child.stdout.take().expect("piped"))
        .lines()
        .map_while(Result::ok)
    {
        build::note_libraries(&line, &mut in_dylib);
    }
    let built = child
        .wait_with_output()
        .map_err(|e| format!("cargo: {e}"))?;
    if !built.status.success() {
        let why = String::from_utf8_lossy(&built.stderr);
        return Err(format!(
            "cargo rustc -p {CRATE} --crate-type dylib failed: {}",
            why.lines().find(|l| !l.trim().is_empty()).unwrap_or("")
        ));
    }
    if let Some(package) = built_otherwise(&in_dylib, libraries) {
        return Err(format!(
            "{package} is built with other features for approute alone than for the app \
             (approute is a member of the app's workspace?), and the two would not be one"
        ));
    }
    let dylib = deps.join(format!(
        "{}{CRATE}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    if !dylib.is_file() {
        return Err(format!("cargo did not write {}", dylib.display()));
    }
    let std_dir = target_libdir(&recorded.rustc)?;
    relinked(recorded, &dylib, &[&deps, &std_dir])
        .ok_or_else(|| "the app's rustc command has no output path".to_string())
}

/// The first package whose libraries in the dylib are not among those the
/// app was built with: linked both ways, the app would hold two copies of
/// it (two tokio runtimes' worth of statics, say), which rustc allows.
fn built_otherwise<'a>(in_dylib: &'a Libraries, app: &Libraries) -> Option<&'a str> {
    in_dylib.iter().find_map(|(package, files)| {
        let same = app.get(package).is_some_and(|built| files.is_subset(built));
        (!same).then_some(package.as_str())
    })
}

/// `recorded`, linked against `dylib` for the crate [`CRATE`], finding
/// shared libraries in `rpath`, with its own binary and incremental cache.
pub fn relinked(recorded: &Recorded, dylib: &Path, rpath: &[&Path]) -> Option<Recorded> {
    let mut args = Vec::with_capacity(recorded.args.len() + 8);
    let mut extra_filename = false;
    for arg in &recorded.args {
        let text = arg.to_string_lossy();
        let arg = if text.starts_with(&format!("{CRATE}=")) {
            OsString::from(format!("{CRATE}={}", dylib.display()))
        } else if text.starts_with("incremental=") || text.starts_with("extra-filename=") {
            extra_filename |= text.starts_with("extra-filename=");
            OsString::from(format!("{text}{SUFFIX}"))
        } else {
            arg.clone()
        };
        args.push(arg);
    }
    if !extra_filename {
        args.extend(["-C".into(), format!("extra-filename={SUFFIX}").into()]);
    }
    args.extend(["-C".into(), "prefer-dynamic".into()]);
    for dir in rpath {
        args.extend([
            "-C".into(),
            format!("link-arg=-Wl,-rpath,{}", dir.display()).into(),
        ]);
    }
    let mut linked = recorded.clone();
    linked.executable = output_path(&args)?;
    linked.args = args;
    Some(linked)
}

/// The path in `--extern NAME=PATH`.
fn extern_path(args: &[OsString], name: &str) -> Option<PathBuf> {
    args.windows(2)
        .filter(|w| w[0] == "--extern")
        .find_map(|w| {
            w[1].to_string_lossy()
                .strip_prefix(&format!("{name}="))
                .map(PathBuf::from)
        })
}

/// Where `rustc`'s own shared std is.
fn target_libdir(rustc: &OsString) -> Result<PathBuf, String> {
    let out = Command::new(rustc)
        .args(["--print", "target-libdir"])
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || dir.is_empty() {
        return Err("rustc --print target-libdir failed".to_string());
    }
    Ok(PathBuf::from(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_built_otherwise_for_the_dylib_is_named() {
        let libraries = |entries: &[(&str, &str)]| {
            let mut found = Libraries::new();
            for (package, file) in entries {
                found
                    .entry(package.to_string())
                    .or_default()
                    .insert(PathBuf::from(file));
            }
            found
        };
        let app = libraries(&[
            ("tokio", "/t/libtokio-1.rlib"),
            ("syn", "/t/libsyn-host.rlib"),
            ("serde", "/t/libserde-1.rlib"),
        ]);
        let same = libraries(&[
            ("tokio", "/t/libtokio-1.rlib"),
            ("syn", "/t/libsyn-host.rlib"),
        ]);
        assert_eq!(built_otherwise(&same, &app), None);
        let other = libraries(&[
            ("syn", "/t/libsyn-host.rlib"),
            ("tokio", "/t/libtokio-2.rlib"),
        ]);
        assert_eq!(built_otherwise(&other, &app), Some("tokio"));
        let unknown = libraries(&[("hyper", "/t/libhyper-1.rlib")]);
        assert_eq!(built_otherwise(&unknown, &app), Some("hyper"));
    }

    #[test]
    fn the_relinked_command_uses_the_dylib_its_own_names_and_an_rpath() {
        let words = |w: &[&str]| w.iter().map(OsString::from).collect::<Vec<_>>();
        let record = std::env::temp_dir().join(format!("dylib-test-{}", std::process::id()));
        let mut bytes = Vec::new();
        for w in [
            "/t",
            "rustc",
            "--crate-name",
            "app",
            "--crate-type",
            "bin",
            "-C",
            "incremental=/t/incremental",
            "-C",
            "extra-filename=-abc",
            "--out-dir",
            "/t/deps",
            "--extern",
            "approute=/t/deps/libapproute-1.rlib",
            "--extern",
            "tokio=/t/deps/libtokio-2.rlib",
        ] {
            bytes.extend_from_slice(w.as_bytes());
            bytes.push(0);
        }
        bytes.push(0);
        std::fs::write(&record, bytes).unwrap();
        let recorded = Recorded::read(&record).unwrap();
        std::fs::remove_file(&record).unwrap();
        let linked = relinked(
            &recorded,
            Path::new("/t/deps/libapproute.so"),
            &[Path::new("/t/deps"), Path::new("/sys/lib")],
        )
        .unwrap();
        assert_eq!(
            linked.args,
            words(&[
                "--crate-name",
                "app",
                "--crate-type",
                "bin",
                "-C",
                "incremental=/t/incremental-dylib",
                "-C",
                "extra-filename=-abc-dylib",
                "--out-dir",
                "/t/deps",
                "--extern",
                "approute=/t/deps/libapproute.so",
                "--extern",
                "tokio=/t/deps/libtokio-2.rlib",
                "-C",
                "prefer-dynamic",
                "-C",
                "link-arg=-Wl,-rpath,/t/deps",
                "-C",
                "link-arg=-Wl,-rpath,/sys/lib",
            ])
        );
        assert_eq!(linked.executable, Path::new("/t/deps/app-abc-dylib"));
        assert_eq!(recorded.executable, Path::new("/t/deps/app-abc"));
    }
}
