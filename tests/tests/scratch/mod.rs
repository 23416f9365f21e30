//! Scratch crates: a throwaway user app under `target/scratch/<name>/`,
//! built by a real `cargo build`, so tests can check what a user sees
//! (compile errors, rebuilds after the `app/` tree changes).
//!
//! Every scratch crate shares one target dir, `target/scratch-target`, so
//! axum, tokio and approute itself compile once for all of them. Builds
//! take a file lock first: cargo would serialise them on that target dir
//! anyway, and this keeps its "Blocking waiting for file lock" notes out of
//! the stderr the tests compare.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `approute` workspace: the parent of the `tests/` crate.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits inside the workspace")
        .to_path_buf()
}

/// The target dir every scratch crate builds into.
pub fn target_dir() -> PathBuf {
    workspace_root().join("target/scratch-target")
}

/// What makes cargo re-run the macro when files under `app/` come or go.
pub const BUILD_RS: &str = "fn main() {\n    println!(\"cargo:rerun-if-changed=app\");\n}\n";

/// A scratch crate on disk. Its files stay after the test, for a look.
pub struct Scratch {
    name: String,
    dir: PathBuf,
    /// Held while the crate lives, so two test runs at once cannot wipe
    /// each other's copy.
    _lock: Lock,
}

impl Scratch {
    /// Wipes `target/scratch/<name>/` and writes `files` there, plus a
    /// `Cargo.toml` (its own workspace, depending on this checkout's
    /// approute, tokio and tower), the workspace's `Cargo.lock` (same
    /// versions, `--offline` works) and the usual `build.rs`. `files` must
    /// hold `src/main.rs`.
    pub fn new(name: &str, files: &[(&str, &str)]) -> Scratch {
        let root = workspace_root();
        let dir = root.join("target/scratch").join(name);
        let lock = Lock::take(&root.join(format!("target/scratch/{name}.lock")));
        if dir.exists() {
            fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("wipe {}: {e}", dir.display()));
        }
        fs::create_dir_all(&dir).unwrap();
        let scratch = Scratch {
            name: name.to_string(),
            dir,
            _lock: lock,
        };
        let runtime = root.join("runtime");
        let manifest = format!(
            r#"[package]
name = "{name}"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
approute = {{ path = {runtime:?} }}
tokio = {{ version = "1", features = ["rt-multi-thread", "macros"] }}
tower = {{ version = "0.5", features = ["util"] }}

[profile.dev]
debug = 0
"#,
            runtime = runtime.to_str().expect("UTF-8 workspace path"),
        );
        scratch.write("Cargo.toml", &manifest);
        fs::copy(root.join("Cargo.lock"), scratch.dir.join("Cargo.lock")).unwrap();
        scratch.write("build.rs", BUILD_RS);
        for (path, contents) in files {
            scratch.write(path, contents);
        }
        scratch
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The crate's folder, absolute.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `contents` to `path` (relative to the crate), creating
    /// folders as needed.
    pub fn write(&self, path: &str, contents: &str) {
        let path = self.dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Removes the file at `path`, relative to the crate.
    pub fn remove(&self, path: &str) {
        let path = self.dir.join(path);
        fs::remove_file(&path).unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    }

    /// Renames a file or folder, paths relative to the crate.
    pub fn rename(&self, from: &str, to: &str) {
        let (from, to) = (self.dir.join(from), self.dir.join(to));
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::rename(&from, &to)
            .unwrap_or_else(|e| panic!("rename {} -> {}: {e}", from.display(), to.display()));
    }

    /// Copies the tree at `from` (anywhere) to `to` (relative to the crate).
    pub fn copy_tree(&self, from: &Path, to: &str) {
        copy_dir(from, &self.dir.join(to));
    }

    /// `cargo build --offline --quiet`, as a user would run it. The status
    /// and stderr are in the result; stdout is empty.
    pub fn build(&self) -> Output {
        let _lock = Lock::take(&workspace_root().join("target/scratch-target.lock"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .args(["build", "--offline", "--quiet", "--color", "never"])
            .current_dir(&self.dir)
            .env("CARGO_TARGET_DIR", target_dir())
            .env("CARGO_TERM_COLOR", "never");
        // What cargo set for the test binary describes the tests crate, not
        // this one; the nested cargo sets its own where it matters.
        for var in [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_PKG_NAME",
            "CARGO_CRATE_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "OUT_DIR",
        ] {
            command.env_remove(var);
        }
        command
            .output()
            .unwrap_or_else(|e| panic!("cannot run cargo: {e}"))
    }

    /// Builds and panics with cargo's stderr if that fails.
    pub fn build_ok(&self) {
        let out = self.build();
        assert!(
            out.status.success(),
            "`cargo build` of scratch crate `{}` failed:\n{}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The binary the last build made.
    pub fn exe(&self) -> PathBuf {
        target_dir()
            .join("debug")
            .join(format!("{}{}", self.name, std::env::consts::EXE_SUFFIX))
    }

    /// Runs the binary the last build made with `args`; its stdout.
    /// Panics if it fails.
    pub fn run(&self, args: &[&str]) -> String {
        let exe = self.exe();
        let out = Command::new(&exe)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
        assert!(
            out.status.success(),
            "{} {args:?} failed ({}):\n{}",
            exe.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 stdout")
    }

    /// Cargo's stderr made the same on every machine and run: the crate's
    /// folder becomes `$DIR`, the workspace `$WORKSPACE`, the registry
    /// sources `$REGISTRY`, and cargo's own progress lines go.
    pub fn normalize(&self, stderr: &str) -> String {
        let dir = self.dir.to_string_lossy().into_owned();
        let workspace = workspace_root().to_string_lossy().into_owned();
        let mut lines = Vec::new();
        for line in stderr.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("Compiling ")
                || trimmed.starts_with("Blocking waiting for file lock")
                || trimmed.starts_with("warning: build failed")
                || trimmed.starts_with("error: could not compile")
            {
                continue;
            }
            let line = line.replace(&dir, "$DIR").replace(&workspace, "$WORKSPACE");
            lines.push(registry(&line).trim_end().to_string());
        }
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let mut out = lines.join("\n");
        out.push('\n');
        out
    }
}

/// `/home/x/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/axum-0.8.4/..`
/// -> `$REGISTRY/axum-0.8.4/..`.
fn registry(line: &str) -> String {
    const MARK: &str = "/registry/src/";
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(MARK) {
        // The path starts after the last space or quote before the mark.
        let start = rest[..at]
            .rfind(|c: char| c.is_whitespace() || c == '`' || c == '\'' || c == '"')
            .map_or(0, |i| i + 1);
        let after = &rest[at + MARK.len()..];
        let index_end = after.find('/').unwrap_or(after.len());
        out.push_str(&rest[..start]);
        out.push_str("$REGISTRY");
        rest = &after[index_end..];
    }
    out.push_str(rest);
    out
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    let mut entries: Vec<_> = fs::read_dir(from)
        .unwrap_or_else(|e| panic!("read {}: {e}", from.display()))
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// An exclusive lock on a file, across threads and processes (nextest runs
/// each test in its own process); released on drop.
struct Lock(fs::File);

impl Lock {
    fn take(path: &Path) -> Lock {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        file.lock()
            .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
        Lock(file)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}
