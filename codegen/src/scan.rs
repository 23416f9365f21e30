//! Walks `app/` and finds every `route.rs`, in a deterministic order.

use std::path::Path;

use walkdir::WalkDir;

use crate::error::{Diagnostic, Location};
use crate::model::RouteFile;

/// The file name that makes a folder a route.
pub const ROUTE_FILE: &str = "route.rs";

/// Finds the route files under `app_dir`. `display_dir` is how the user
/// names that folder (`app`), used in every path we show.
///
/// `_private` folders and everything below them are skipped, as in Next.js.
/// Files that look like a misspelt route file are reported, not skipped.
pub fn scan(app_dir: &Path, display_dir: &str) -> (Vec<RouteFile>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    if !app_dir.is_dir() {
        problems.push(
            Diagnostic::new(
                format!("approute: no `{display_dir}/` folder next to Cargo.toml"),
                format!(
                    "create `{display_dir}/route.rs` with `pub async fn GET() -> &'static str {{ \"hello\" }}`, or pass `dir = \"...\"` to `approute::app!`"
                ),
            )
            .at(Location::file(display_dir)),
        );
        return (files, problems);
    }

    // Sorted so the generated code does not depend on the file system's order.
    let walker = WalkDir::new(app_dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_private(e));
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let path = err
                    .path()
                    .map(|p| display_path(app_dir, display_dir, p))
                    .unwrap_or_else(|| display_dir.to_string());
                problems.push(
                    Diagnostic::new(
                        format!("approute: cannot read `{path}`: {err}"),
                        "check the permissions of that path, or remove a symlink that loops",
                    )
                    .at(Location::file(path)),
                );
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        let shown = display_path(app_dir, display_dir, entry.path());
        if name == ROUTE_FILE {
            let Ok(rel) = entry.path().strip_prefix(app_dir) else {
                continue;
            };
            let mut folders = Vec::new();
            let mut non_utf8 = false;
            for part in rel.parent().into_iter().flat_map(|p| p.components()) {
                match part.as_os_str().to_str() {
                    Some(s) => folders.push(s.to_string()),
                    None => non_utf8 = true,
                }
            }
            if non_utf8 {
                problems.push(
                    Diagnostic::new(
                        format!("approute: `{shown}` is in a folder whose name is not UTF-8"),
                        "rename the folder; URL segments must be text",
                    )
                    .at(Location::file(shown)),
                );
                continue;
            }
            files.push(RouteFile {
                display_path: shown,
                abs_path: entry.path().to_path_buf(),
                folders,
            });
        } else if let Some(hint) = misspelt_route_file(&name) {
            problems.push(
                Diagnostic::new(
                    format!("approute: `{shown}` is not a route file"),
                    format!("rename it to `{ROUTE_FILE}`{hint}"),
                )
                .at(Location::file(shown)),
            );
        }
    }
    (files, problems)
}

fn is_private(entry: &walkdir::DirEntry) -> bool {
    entry.file_type().is_dir() && entry.file_name().to_string_lossy().starts_with('_')
}

/// `Some(extra hint)` for names a user plausibly meant as `route.rs`.
fn misspelt_route_file(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "route.rs" | "routes.rs" | "router.rs" => Some(""),
        "route.ts" | "route.js" | "route.tsx" | "route.jsx" | "route.mjs" => {
            Some(" and port it to Rust: approute serves Rust route handlers only")
        }
        _ => None,
    }
}

/// `app/<relative path>` with `/` separators on every platform.
fn display_path(app_dir: &Path, display_dir: &str, path: &Path) -> String {
    let rel = path.strip_prefix(app_dir).unwrap_or(path);
    let mut out = display_dir.trim_end_matches('/').to_string();
    for part in rel.components() {
        out.push('/');
        out.push_str(&part.as_os_str().to_string_lossy());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree(files: &[&str]) -> crate::tempdir::TempDir {
        let dir = crate::tempdir::TempDir::new();
        for f in files {
            let p = dir.path().join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, "").unwrap();
        }
        dir
    }

    #[test]
    fn finds_route_files_sorted_and_skips_private_folders() {
        let dir = tree(&[
            "route.rs",
            "b/route.rs",
            "a/[id]/route.rs",
            "a/_private/route.rs",
            "_hidden/x/route.rs",
            "a/helper.rs",
            "%5Fkept/route.rs",
        ]);
        let (files, problems) = scan(dir.path(), "app");
        assert!(problems.is_empty(), "{problems:?}");
        let shown: Vec<_> = files.iter().map(|f| f.display_path.as_str()).collect();
        assert_eq!(
            shown,
            [
                "app/%5Fkept/route.rs",
                "app/a/[id]/route.rs",
                "app/b/route.rs",
                "app/route.rs"
            ]
        );
        assert_eq!(files[1].folders, ["a", "[id]"]);
        assert!(files[3].folders.is_empty());
    }

    #[test]
    fn reports_misspelt_route_files() {
        let dir = tree(&["a/routes.rs", "b/Route.rs", "c/route.ts"]);
        let (files, problems) = scan(dir.path(), "app");
        assert!(files.is_empty());
        let paths: Vec<_> = problems
            .iter()
            .map(|p| p.locations[0].path.as_str())
            .collect();
        assert_eq!(
            paths,
            ["app/a/routes.rs", "app/b/Route.rs", "app/c/route.ts"]
        );
        assert!(problems[2].help.contains("port it to Rust"));
    }

    #[test]
    fn reports_a_missing_app_folder() {
        let dir = tree(&[]);
        let (_, problems) = scan(&dir.path().join("app"), "app");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("no `app/` folder"));
    }
}
