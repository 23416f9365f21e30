//! `cargo approute new NAME`: writes a small app that answers
//! `GET /api/hello`, and nothing else: an existing folder that is not empty
//! is refused, and no file is ever overwritten.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the app's `approute` dependency comes from.
pub enum Source {
    /// The checkout this CLI was built from (the default): builds with no
    /// network beyond the package registries. A CLI installed from
    /// crates.io has none and depends on its own version instead.
    Checkout,
    Git(String),
    Version(String),
}

/// Watches the app's folders that exist: a missing path would make cargo
/// rebuild every time. One made later is picked up by `dev`.
const BUILD_RS: &str = r#"fn main() { for dir in ["app", "pages", "public"] { if std::path::Path::new(dir).exists() { println!("cargo:rerun-if-changed={dir}"); } } }
"#;

const MAIN_RS: &str = "\
approute::app!(); // defines `mod app` with `app::router()` and `app::ROUTES`

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let _logs = approute::serve::init_logging();
    approute::serve(app::router()).routes(app::ROUTES).await
}
";

const HELLO_ROUTE: &str = "pub async fn GET() -> &'static str {\n    \"hello\"\n}\n";

const GITIGNORE: &str = "/target\n";

/// The runtime crate of the checkout this binary was built from.
fn checkout_runtime() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime")
}

/// Writes the app into `path` (its last component is the package name)
/// and returns what to tell the user.
pub fn run(path: &str, source: &Source) -> Result<String, String> {
    let dir = Path::new(path);
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("`{path}` does not end in a folder name"))?;
    check_name(name)?;
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read `{path}`: {e}"))?
            .next()
            .is_none();
        if !empty {
            return Err(format!(
                "`{path}` exists and is not empty; nothing was written (pick a new name, or empty it)"
            ));
        }
    }
    let (dependency, lockfile) = match source {
        // Installed from crates.io there is no checkout: the published
        // approute of the same version is the one it was built with.
        Source::Checkout if !checkout_runtime().join("Cargo.toml").is_file() => {
            (toml_string(env!("CARGO_PKG_VERSION")), None)
        }
        Source::Checkout => {
            let runtime = checkout_runtime()
                .canonicalize()
                .map_err(|e| format!("cannot resolve {}: {e}", checkout_runtime().display()))?;
            let dependency = format!("{{ path = {} }}", toml_string(&runtime.to_string_lossy()));
            // The versions the checkout is tested with, so the first build
            // needs no registry look-up; cargo drops the entries it does not use.
            let lockfile = std::fs::read_to_string(runtime.join("../Cargo.lock")).ok();
            (dependency, lockfile)
        }
        Source::Git(url) => (format!("{{ git = {} }}", toml_string(url)), None),
        Source::Version(version) => (toml_string(version), None),
    };
    let mut manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\napproute = {dependency}\n\
         tokio = {{ version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }}\n"
    );
    if let Some(outer) = enclosing_workspace(dir) {
        manifest.push_str(&format!(
            "\n# Its own workspace, not a member of the one in {}.\n[workspace]\n",
            outer.display()
        ));
    }
    let mut files = vec![
        ("Cargo.toml", manifest.as_str()),
        ("build.rs", BUILD_RS),
        ("src/main.rs", MAIN_RS),
        ("app/api/hello/route.rs", HELLO_ROUTE),
        (".gitignore", GITIGNORE),
    ];
    if let Some(lockfile) = &lockfile {
        files.push(("Cargo.lock", lockfile));
    }
    for (file, content) in files {
        write_new(&dir.join(file), content)?;
    }
    Ok(format!(
        "Created the app `{name}` in {path}:\n  cd {path}\n  cargo approute dev\n  curl localhost:3000/api/hello"
    ))
}

/// Cargo's rule for package names, said the way cargo says it.
fn check_name(name: &str) -> Result<(), String> {
    let valid = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !valid {
        return Err(format!(
            "`{name}` is not a package name: use letters, digits, `-` and `_`, starting with a letter"
        ));
    }
    // The names `cargo new` refuses, so that the app it writes builds.
    let why = if approute_codegen::items::RUST_KEYWORDS.contains(&name) {
        "it is a Rust keyword"
    } else if name == "test" {
        "it conflicts with Rust's built-in test library"
    } else if ["deps", "examples", "build", "incremental"].contains(&name) {
        "it conflicts with cargo's build directory names"
    } else {
        return Ok(());
    };
    Err(format!("`{name}` cannot be a package name: {why}"))
}

/// Creates `path` and its folders; fails rather than replace a file.
fn write_new(path: &Path, content: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| format!("cannot create `{}`: {e}", path.display()))?;
    file.write_all(content.as_bytes())
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

/// A folder above `dir` whose Cargo.toml is a workspace: cargo would
/// refuse to build an app inside it that the workspace does not list.
fn enclosing_workspace(dir: &Path) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    let dir = cwd.join(dir);
    dir.ancestors().skip(1).find_map(|folder| {
        let manifest = std::fs::read_to_string(folder.join("Cargo.toml")).ok()?;
        manifest
            .lines()
            .any(|line| line.trim() == "[workspace]")
            .then(|| folder.to_path_buf())
    })
}

/// A TOML basic string.
fn toml_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_cargo() {
        assert!(check_name("my-api").is_ok());
        assert!(check_name("my_api2").is_ok());
        assert!(check_name("2api").is_err());
        assert!(check_name("my api").is_err());
        assert!(check_name("").is_err());
        for refused in ["self", "crate", "fn", "test", "build", "deps"] {
            let error = check_name(refused).unwrap_err();
            assert!(error.contains("cannot be a package name"), "{error}");
        }
        assert!(check_name("tests").is_ok());
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_string(r#"C:\a "b""#), r#""C:\\a \"b\"""#);
    }
}
