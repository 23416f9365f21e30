//! One `cargo build` of the app, in a target dir of its own with a profile
//! tuned for the edit loop, set with `--config` so the user's Cargo.toml is
//! left alone.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::rustc::{self, Recorded};
use super::timings::Stages;

/// The profile settings `dev` builds with. No debug info: linking the
/// dependencies' debug sections is most of a rebuild's link time.
pub const PROFILE: &[&str] = &["profile.dev.debug=0"];

/// What a good build made.
pub struct Built {
    pub executable: PathBuf,
    /// True when cargo rebuilt nothing: the running server is still current.
    pub fresh: bool,
    /// The libraries cargo built the binary from (none for a replay).
    pub libraries: Libraries,
}

/// The `.rlib`s of a cargo build, by cargo's package id: a package built
/// with other features (or for the host too) has several.
pub type Libraries = BTreeMap<String, BTreeSet<PathBuf>>;

/// Adds the `.rlib`s of one line of cargo's JSON, if it is an artifact.
pub fn note_libraries(line: &str, libraries: &mut Libraries) {
    if !line.contains(r#""reason":"compiler-artifact""#) {
        return;
    }
    let Some(package) = string_field(line, "package_id") else {
        return;
    };
    for file in string_array(line, "filenames") {
        if file.ends_with(".rlib") {
            libraries
                .entry(package.clone())
                .or_default()
                .insert(PathBuf::from(file));
        }
    }
}

/// `$CARGO_TARGET_DIR/approute-dev`, else `target/approute-dev` in the
/// crate: apart from plain `cargo build`'s, so neither invalidates the
/// other's fingerprints.
pub fn target_dir(crate_dir: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir.join("target"))
        .join("approute-dev")
}

/// `cargo SUBCOMMAND` for the crate as `dev` builds it: its target dir,
/// its profile, and (with `record`) this binary as the rustc wrapper,
/// the same for every cargo run so none invalidates another's fingerprints.
pub fn cargo(subcommand: &str, crate_dir: &Path, record: Option<&Path>) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg(subcommand)
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir(crate_dir));
    for setting in PROFILE {
        command.args(["--config", setting]);
    }
    if let (Some(record), Ok(me)) = (record, std::env::current_exe()) {
        command
            .env("RUSTC_WORKSPACE_WRAPPER", me)
            .env(rustc::RECORD_TO, record);
    }
    command
}

/// Builds the app's binary; cargo's own progress and errors go to stderr.
/// With `record`, the app's rustc command is written there (see `rustc`).
pub fn build(
    crate_dir: &Path,
    bin: Option<&str>,
    record: Option<&Path>,
    stages: &mut Stages,
) -> Result<Built, String> {
    let mut command = cargo("build", crate_dir, record);
    command.arg("--message-format=json-render-diagnostics");
    if let Some(bin) = bin {
        command.args(["--bin", bin]);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    stages.mark("cargo started");
    let mut executables = Vec::new();
    let mut libraries = Libraries::new();
    let mut fresh = true;
    let mut first_message = true;
    // The last build script cargo ran: the app's own runs just before rustc.
    let mut build_script_ran = None;
    let stdout = child.stdout.take().expect("piped");
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if std::mem::take(&mut first_message) {
            stages.mark("cargo's first message");
        }
        if line.contains(r#""reason":"build-script-executed""#) {
            build_script_ran = Some(Instant::now());
        }
        if !line.contains(r#""reason":"compiler-artifact""#) {
            continue;
        }
        note_libraries(&line, &mut libraries);
        fresh &= line.contains(r#""fresh":true"#);
        if line.contains(r#""kind":["bin"]"#) {
            if let Some(path) = string_field(&line, "executable") {
                if let Some(at) = build_script_ran.take() {
                    stages.mark_at("build script ran", at);
                }
                stages.mark("linked");
                executables.push(PathBuf::from(path));
            }
        }
    }
    let status = child.wait().map_err(|e| format!("cargo: {e}"))?;
    stages.mark("cargo exited");
    if !status.success() {
        return Err("the build failed".to_string());
    }
    match executables.as_slice() {
        [one] => Ok(Built {
            executable: one.clone(),
            fresh,
            libraries,
        }),
        [] => Err("the crate has no binary to serve".to_string()),
        _ => Err("the crate has several binaries: pass --bin NAME".to_string()),
    }
}

/// Runs the app's rustc command as cargo last ran it, without cargo.
pub fn rebuild_with_rustc(recorded: &Recorded, stages: &mut Stages) -> Result<Built, String> {
    stages.mark("rustc started (no cargo)");
    let built = recorded.run();
    stages.mark("rustc exited");
    built.map(|()| Built {
        executable: recorded.executable.clone(),
        fresh: false,
        libraries: Libraries::new(),
    })
}

/// The string value of `"name":"..."` in one line of cargo's JSON.
pub fn string_field(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!("\"{name}\":\""))? + name.len() + 4;
    json_string(&line[start..]).map(|(value, _)| value)
}

/// The strings of `"name":["...","..."]` in one line of cargo's JSON.
fn string_array(line: &str, name: &str) -> Vec<String> {
    let mut values = Vec::new();
    let Some(start) = line.find(&format!("\"{name}\":[")) else {
        return values;
    };
    let mut rest = &line[start + name.len() + 4..];
    while let Some(after_quote) = rest.strip_prefix('"') {
        let Some((value, used)) = json_string(after_quote) else {
            break;
        };
        values.push(value);
        rest = after_quote[used..].trim_start_matches(',');
    }
    values
}

/// A JSON string's value, from just after its opening quote, and how many
/// bytes it took with its closing quote.
fn json_string(text: &str) -> Option<(String, usize)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, at + 1)),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_escaped_strings_from_cargo_json() {
        let line =
            r#"{"reason":"compiler-artifact","executable":"/t/a \"b\"\\c\u00e9","fresh":false}"#;
        assert_eq!(
            string_field(line, "executable").as_deref(),
            Some("/t/a \"b\"\\cé")
        );
        assert_eq!(string_field(r#"{"executable":null}"#, "executable"), None);
    }

    #[test]
    fn notes_each_packages_rlibs() {
        let mut libraries = Libraries::new();
        let line = r#"{"reason":"compiler-artifact","package_id":"registry+x#tokio@1.0.0","filenames":["/t/libtokio-1.rlib","/t/libtokio-1.rmeta"],"fresh":true}"#;
        note_libraries(line, &mut libraries);
        note_libraries(&line.replace("-1.", "-2."), &mut libraries);
        note_libraries(
            r#"{"reason":"build-script-executed","package_id":"p"}"#,
            &mut libraries,
        );
        assert_eq!(libraries.len(), 1);
        assert_eq!(
            libraries["registry+x#tokio@1.0.0"],
            BTreeSet::from([
                PathBuf::from("/t/libtokio-1.rlib"),
                PathBuf::from("/t/libtokio-2.rlib")
            ])
        );
        assert_eq!(
            string_array(r#"{"filenames":["a\"b",""]}"#, "filenames"),
            ["a\"b", ""]
        );
    }
}
