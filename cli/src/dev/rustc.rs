//! Rebuilding without cargo. Cargo spends ~0.1 s on every build before
//! rustc starts (reading the manifests, checking every unit's fingerprint,
//! running the build script) although a saved route changes none of that:
//! only the app crate's own rustc run is needed. So `dev` gives cargo
//! this binary as `RUSTC_WORKSPACE_WRAPPER`, which records the app's rustc
//! command line and environment ([`record_and_exec`]), and runs that
//! command again itself ([`Recorded::run`]) while only route and source
//! files change. A change to Cargo.toml or build.rs, or a build script that
//! does more than ask to be rerun, goes through cargo again.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, IsTerminal};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::build::string_field;

/// Set for cargo's run: where the wrapper writes what it recorded.
pub const RECORD_TO: &str = "APPROUTE_DEV_RECORD";

/// Cargo's jobserver, which a rustc run outside cargo must not look for.
const JOBSERVER: &[&str] = &["CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"];

/// The wrapper's side: when this process was started by cargo as the
/// rustc wrapper (`cargo-approute /path/to/rustc ARGS...` with
/// [`RECORD_TO`] set), records the command if it builds the app's binary,
/// then becomes rustc. Returns only when not run as the wrapper.
pub fn record_and_exec() -> Option<String> {
    let record = std::env::var_os(RECORD_TO)?;
    let mut args = std::env::args_os().skip(1);
    let rustc = args.next()?;
    if rustc == "approute" {
        return None; // run as `cargo approute`, not by cargo as the wrapper
    }
    let args: Vec<OsString> = args.collect();
    let pair = |flag: &str, value: &dyn Fn(&OsString) -> bool| {
        args.windows(2).any(|w| w[0] == flag && value(&w[1]))
    };
    let builds_the_binary = std::env::var_os("CARGO_PRIMARY_PACKAGE").is_some()
        && pair("--crate-type", &|v| v == "bin")
        && !pair("--crate-name", &|v| {
            v.as_bytes().starts_with(b"build_script_")
        });
    if builds_the_binary {
        // Best effort: without a record `dev` goes on building with cargo.
        let _ = write_record(Path::new(&record), &rustc, &args);
    }
    let error = Command::new(&rustc).args(&args).exec();
    Some(format!("cannot run {}: {error}", rustc.to_string_lossy()))
}

/// The record's file name for the crate in `crate_dir`: its folder name
/// and a hash of the path, so apps sharing a target dir have one each.
pub fn record_name(crate_dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    crate_dir.hash(&mut hasher);
    let name = crate_dir.file_name().unwrap_or_default().to_string_lossy();
    // `v2`: since the record starts with the folder rustc ran in.
    format!("rustc-{name}-{:016x}.v2.record", hasher.finish())
}

/// Whether `a` and `b` are one file: cargo hard-links the binary rustc
/// wrote to the name it reports.
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// The folder rustc runs in (cargo runs a workspace member's rustc in the
/// workspace's root, with paths relative to it), `rustc`, `args` and the
/// environment, NUL-separated, a blank entry before the environment.
fn write_record(path: &Path, rustc: &OsString, args: &[OsString]) -> std::io::Result<()> {
    let dir = std::env::current_dir()?.into_os_string();
    let mut bytes = Vec::new();
    for arg in [&dir, rustc].into_iter().chain(args) {
        bytes.extend_from_slice(arg.as_bytes());
        bytes.push(0);
    }
    bytes.push(0);
    for (name, value) in std::env::vars_os() {
        if name == RECORD_TO || JOBSERVER.iter().any(|j| name == *j) {
            continue;
        }
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(b'=');
        bytes.extend_from_slice(value.as_bytes());
        bytes.push(0);
    }
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes)?;
    std::fs::rename(partial, path)
}

/// Environment variables, as the rustc run was given them.
type Env = Vec<(OsString, OsString)>;

/// The app's rustc run as cargo last made it.
#[derive(Clone)]
pub struct Recorded {
    /// Where cargo ran it: its relative paths start there.
    dir: PathBuf,
    pub(super) rustc: OsString,
    pub(super) args: Vec<OsString>,
    env: Env,
    /// Where rustc writes the binary.
    pub executable: PathBuf,
}

impl Recorded {
    /// Reads what the wrapper wrote.
    pub fn read(path: &Path) -> Option<Recorded> {
        let bytes = std::fs::read(path).ok()?;
        let (mut args, env) = split_record(&bytes)?;
        if args.len() < 2 {
            return None;
        }
        let dir = PathBuf::from(args.remove(0));
        let rustc = args.remove(0);
        if !dir.is_absolute() {
            return None;
        }
        let executable = output_path(&args)?;
        Some(Recorded {
            dir,
            rustc,
            args,
            env,
            executable,
        })
    }

    /// Whether cargo would only have run this again: the build script (if
    /// any) says nothing but when to rerun it and wrote no files, so
    /// running it again could not change the build.
    pub fn replayable(&self) -> bool {
        let Some((_, out_dir)) = self.env.iter().find(|(name, _)| name == "OUT_DIR") else {
            return true;
        };
        let out_dir = Path::new(out_dir);
        let wrote_nothing = std::fs::read_dir(out_dir).is_ok_and(|mut d| d.next().is_none());
        let output = out_dir
            .parent()
            .and_then(|dir| std::fs::read_to_string(dir.join("output")).ok());
        wrote_nothing
            && output.is_some_and(|text| {
                text.lines().all(|line| {
                    let line = line.trim();
                    line.is_empty()
                        || ["cargo:rerun-if-", "cargo::rerun-if-"]
                            .iter()
                            .any(|p| line.starts_with(p))
                })
            })
    }

    /// Runs rustc as cargo would, with the same flags (its JSON
    /// diagnostics too: other flags than cargo's would make rustc drop the
    /// incremental cache and rebuild the crate whole); each diagnostic is
    /// shown as rustc rendered it, as cargo shows it.
    pub fn run(&self) -> Result<(), String> {
        self.run_showing(true)
    }

    /// [`Recorded::run`], with its diagnostics shown or not.
    pub fn run_showing(&self, shown: bool) -> Result<(), String> {
        let mut child = Command::new(&self.rustc)
            .args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(n, v)| (n, v)))
            .current_dir(&self.dir)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run rustc: {e}"))?;
        let stderr = child.stderr.take().expect("piped");
        let colour = std::io::stderr().is_terminal();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !shown {
                continue;
            }
            if !line.starts_with('{') {
                eprintln!("{line}");
            } else if line.contains(r#""$message_type":"diagnostic""#) {
                if let Some(rendered) = string_field(&line, "rendered") {
                    eprint!(
                        "{}",
                        if colour {
                            rendered
                        } else {
                            without_colour(&rendered)
                        }
                    );
                }
            }
        }
        let status = child.wait().map_err(|e| format!("rustc: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err("the build failed".to_string())
        }
    }
}

/// `text` without its ANSI colour codes (`ESC [ ... m`), as cargo shows a
/// diagnostic when stderr is not a terminal.
fn without_colour(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

fn split_record(bytes: &[u8]) -> Option<(Vec<OsString>, Env)> {
    let mut entries = bytes.split(|&b| b == 0);
    let args: Vec<OsString> = entries
        .by_ref()
        .take_while(|e| !e.is_empty())
        .map(|e| OsString::from_vec(e.to_vec()))
        .collect();
    let env = entries
        .filter(|e| !e.is_empty())
        .filter_map(|e| {
            let eq = e.iter().position(|&b| b == b'=')?;
            Some((
                OsString::from_vec(e[..eq].to_vec()),
                OsString::from_vec(e[eq + 1..].to_vec()),
            ))
        })
        .collect();
    (!args.is_empty()).then_some((args, env))
}

/// `--out-dir D --crate-name N -C extra-filename=X` -> `D/NX`.
pub(super) fn output_path(args: &[OsString]) -> Option<PathBuf> {
    let after = |flag: &str| {
        args.windows(2)
            .find(|w| w[0] == flag)
            .map(|w| w[1].to_string_lossy().into_owned())
    };
    let extra = args
        .windows(2)
        .filter(|w| w[0] == "-C")
        .find_map(|w| {
            w[1].to_string_lossy()
                .strip_prefix("extra-filename=")
                .map(str::to_string)
        })
        .unwrap_or_default();
    Some(Path::new(&after("--out-dir")?).join(format!("{}{extra}", after("--crate-name")?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_record_reads_back_with_the_binary_it_makes() {
        let dir = std::env::temp_dir().join(format!("approute-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rustc.args");
        let args = words(&[
            "--crate-name",
            "my_app",
            "--out-dir",
            "/t/debug/deps",
            "-C",
            "extra-filename=-0a1b",
        ]);
        write_record(&path, &"/bin/rustc".into(), &args).unwrap();
        let recorded = Recorded::read(&path).unwrap();
        assert_eq!(recorded.dir, std::env::current_dir().unwrap());
        assert_eq!(recorded.rustc, "/bin/rustc");
        assert_eq!(
            recorded.args,
            words(&[
                "--crate-name",
                "my_app",
                "--out-dir",
                "/t/debug/deps",
                "-C",
                "extra-filename=-0a1b"
            ])
        );
        assert_eq!(recorded.executable, Path::new("/t/debug/deps/my_app-0a1b"));
        assert!(recorded.env.iter().any(|(n, _)| n == "PATH"));
        assert!(!recorded.env.iter().any(|(n, _)| n == RECORD_TO));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn colour_codes_are_left_out_of_diagnostics() {
        assert_eq!(
            without_colour("\u{1b}[1m\u{1b}[91merror\u{1b}[0m: mismatched types"),
            "error: mismatched types"
        );
    }

    #[test]
    fn a_build_script_that_only_asks_to_rerun_can_be_skipped() {
        let dir = std::env::temp_dir().join(format!("approute-script-{}", std::process::id()));
        let out = dir.join("out");
        std::fs::create_dir_all(&out).unwrap();
        let recorded = |env: Env| Recorded {
            dir: dir.clone(),
            rustc: "rustc".into(),
            args: Vec::new(),
            env,
            executable: PathBuf::new(),
        };
        let with_out_dir = recorded(vec![("OUT_DIR".into(), out.clone().into())]);
        std::fs::write(dir.join("output"), "cargo:rerun-if-changed=app\n").unwrap();
        assert!(with_out_dir.replayable());
        std::fs::write(dir.join("output"), "cargo:rustc-env=X=1\n").unwrap();
        assert!(
            !with_out_dir.replayable(),
            "it may say something else next time"
        );
        std::fs::write(dir.join("output"), "cargo:rerun-if-changed=app\n").unwrap();
        std::fs::write(out.join("generated.rs"), "").unwrap();
        assert!(!with_out_dir.replayable(), "it writes files");
        assert!(recorded(Vec::new()).replayable(), "no build script");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
