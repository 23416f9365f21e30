//! `cargo approute new` as a user runs it: the app it writes builds and
//! answers `GET /api/hello`, and it never writes into a folder in use.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{approute, apps_target_dir, scratch};

/// Waits for `child`, killing it past `limit`.
fn wait_bounded(mut child: Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_new_app_builds_and_says_hello() {
    let dir = scratch("new-builds");
    let out = approute(&dir, &["new", "my-api"]);
    assert!(out.status.success(), "{out:?}");
    let app = dir.join("my-api");
    for file in [
        "Cargo.toml",
        "build.rs",
        "src/main.rs",
        "app/api/hello/route.rs",
        ".gitignore",
    ] {
        assert!(app.join(file).is_file(), "{file} missing");
    }
    let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../runtime")
        .canonicalize()
        .unwrap();
    assert!(
        manifest.contains(&format!(
            "approute = {{ path = \"{}\" }}",
            runtime.display()
        )),
        "{manifest}"
    );

    let build = Command::new(env!("CARGO"))
        .args(["build", "--quiet"])
        .current_dir(&app)
        .env("CARGO_TARGET_DIR", apps_target_dir())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_bounded(build, Duration::from_secs(15 * 60));
    assert!(status.success(), "cargo build of the new app failed");

    let out = approute(&app, &["routes"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "METHODS  URL         FILE                    CACHE  LIMITS\n\
         GET      /api/hello  app/api/hello/route.rs  -      -\n"
    );
}

#[test]
fn git_and_version_sources_are_written_as_asked() {
    let dir = scratch("new-sources");
    assert!(
        approute(&dir, &["new", "a", "--git", "https://example.com/approute"])
            .status
            .success()
    );
    let manifest = std::fs::read_to_string(dir.join("a/Cargo.toml")).unwrap();
    assert!(manifest.contains("approute = { git = \"https://example.com/approute\" }\n"));
    assert!(!dir.join("a/Cargo.lock").exists());
    assert!(approute(&dir, &["new", "b", "--version=0.1"])
        .status
        .success());
    let manifest = std::fs::read_to_string(dir.join("b/Cargo.toml")).unwrap();
    assert!(manifest.contains("approute = \"0.1\"\n"));
    let out = approute(&dir, &["new", "c", "--git", "x", "--version", "1"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_folder_in_use_is_refused_and_nothing_is_written() {
    let dir = scratch("new-refused");
    std::fs::create_dir_all(dir.join("my-api")).unwrap();
    std::fs::write(dir.join("my-api/notes.txt"), "mine").unwrap();
    let out = approute(&dir, &["new", "my-api"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("exists and is not empty; nothing was written"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.join("my-api")).unwrap().collect();
    assert_eq!(left.len(), 1);

    std::fs::create_dir_all(dir.join("empty")).unwrap();
    assert!(approute(&dir, &["new", "empty"]).status.success());

    let out = approute(&dir, &["new", "2fast"]);
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("is not a package name"));
}

#[test]
fn an_app_inside_a_workspace_is_its_own_workspace() {
    let dir = scratch("new-in-workspace");
    std::fs::write(dir.join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
    assert!(approute(&dir, &["new", "inner"]).status.success());
    let manifest = std::fs::read_to_string(dir.join("inner/Cargo.toml")).unwrap();
    assert!(manifest.ends_with("\n[workspace]\n"), "{manifest}");
}
