//! What the CLI's tests share: running the real binary, scratch folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `cargo-approute approute ARGS` in `dir`, as `cargo approute ARGS`
/// would.
pub fn approute(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-approute"))
        .arg("approute")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("cargo-approute runs")
}

/// A folder of its own under the test temp dir, emptied first.
#[allow(dead_code)] // not every test file makes one
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The target dir every app these tests build shares, so the dependencies
/// compile once (the first run takes a minute or two, later ones seconds);
/// `dev` builds in `approute-dev` below it.
#[allow(dead_code)]
pub fn apps_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("approute-apps")
}
