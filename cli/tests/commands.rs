//! `routes` and `check` run as a user runs them, on the UI-test trees and
//! the examples; what they print is pinned in `expected/`.
//!
//! `APPROUTE_BLESS=1 cargo test -p approute-cli --test commands` rewrites
//! the expected files from what the commands print now.

mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use support::approute as run;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Compares `actual` with `expected/<name>`, or writes it when blessing.
fn pinned(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expected")
        .join(name);
    if std::env::var_os("APPROUTE_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (bless with APPROUTE_BLESS=1)", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

/// `check` in a UI case's folder: exit 1, and every problem pointing into
/// the route file.
fn check_case(case: &str) {
    let dir = workspace().join("tests/ui").join(case);
    let out = run(&dir, &["check", "--manifest-path", "."]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    pinned(
        &format!("check-{case}.txt"),
        &String::from_utf8(out.stderr).unwrap(),
    );
}

#[test]
fn check_many_at_once() {
    check_case("many-at-once");
}

#[test]
fn check_config_constants() {
    check_case("config-constants");
}

#[test]
fn check_unparsable_route() {
    check_case("unparsable-route");
}

#[test]
fn check_duplicate_url_groups() {
    check_case("duplicate-url-groups");
}

#[test]
fn check_a_good_tree_says_ok_and_exits_0() {
    let out = run(&workspace().join("examples/hello"), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("approute: 6 routes and 0 public files OK ("),
        "{stdout}"
    );
}

#[test]
fn check_from_another_folder_shows_paths_from_there() {
    let out = run(
        &workspace(),
        &["check", "--manifest-path", "tests/ui/near-miss-names"],
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("  --> tests/ui/near-miss-names/app/route.rs:1:14\n"),
        "{stderr}"
    );
}

#[test]
fn routes_of_the_notes_example() {
    let out = run(
        &workspace(),
        &["routes", "--manifest-path", "examples/notes/Cargo.toml"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    pinned("routes-notes.txt", &String::from_utf8(out.stdout).unwrap());
}

#[test]
fn routes_of_a_broken_tree_are_its_problems() {
    let dir = workspace().join("tests/ui/many-at-once");
    let out = run(&dir, &["routes", "--manifest-path", "."]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.ends_with("error: approute found 3 problems in the route tree\n"));
}

#[test]
fn unknown_commands_and_arguments_are_refused() {
    let out = run(&workspace(), &["serve"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .starts_with("error: unknown command `serve`"));
    let out = run(&workspace(), &["check", "--nope"]);
    assert_eq!(out.status.code(), Some(2));
}

/// 1,000 route files, each with a config constant and two handlers.
#[test]
fn check_of_a_thousand_routes_is_quick() {
    let dir = support::scratch("check-big");
    for i in 0..1000 {
        let folder = dir.join(format!("app/api/g{}/r{i}/[id]", i / 50));
        std::fs::create_dir_all(&folder).unwrap();
        let source = format!(
            "use approute::axum::extract::Path;\n\npub const REVALIDATE: u64 = 60;\n\n\
             pub async fn GET(Path(id): Path<u64>) -> String {{\n    format!(\"route {i} {{id}}\")\n}}\n\n\
             pub async fn POST() -> &'static str {{\n    \"ok\"\n}}\n"
        );
        std::fs::write(folder.join("route.rs"), source).unwrap();
    }
    let started = Instant::now();
    let out = run(&dir, &["check", "--manifest-path", "."]);
    let elapsed = started.elapsed();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // The release build takes well under a second; this bound is for an
    // unoptimised test build on a busy machine.
    assert!(elapsed.as_secs() < 10, "check took {elapsed:?}");
}
