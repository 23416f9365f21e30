//! Walks `app/` and finds every `route.rs`, in a deterministic order.

use std::path::Path;

use walkdir::WalkDir;

use crate::error::{Diagnostic, Location};
use crate::model::{Convention, RouteFile};

/// The file name that makes a folder a route.
pub const ROUTE_FILE: &str = "route.rs";

/// The file name of a folder's middleware.
pub const MIDDLEWARE_FILE: &str = "middleware.rs";

/// What the scanner found under `app/`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AppFiles {
    pub routes: Vec<RouteFile>,
    pub middleware: Vec<RouteFile>,
}

/// Finds the route files under `app_dir`. `display_dir` is how the user
/// names that folder (`app`), used in every path we show. A missing folder
/// holds no routes.
///
/// `_private` folders and everything below them are skipped, as in Next.js.
/// Files that look like a misspelt route file are reported, not skipped.
pub fn scan(app_dir: &Path, display_dir: &str) -> (AppFiles, Vec<Diagnostic>) {
    let mut files = AppFiles::default();
    let problems = walk(app_dir, display_dir, |rel, shown, problems| {
        let name = file_name(rel);
        let folders = parent_names(rel);
        if name == ROUTE_FILE {
            let file = route_file(Convention::App, app_dir, rel, shown, folders);
            files.routes.push(file);
        } else if name == MIDDLEWARE_FILE {
            let file = route_file(Convention::App, app_dir, rel, shown, folders);
            files.middleware.push(file);
        } else if let Some((fixed, hint)) = misspelt_file(&name) {
            problems.push(
                Diagnostic::new(
                    format!(
                        "approute: `{shown}` is not a {} file",
                        fixed.trim_end_matches(".rs")
                    ),
                    format!("rename it to `{fixed}`{hint}"),
                )
                .at(Location::file(shown)),
            );
        }
    });
    (files, problems)
}

/// Finds the API routes under `pages_dir` (`pages/api/**/*.rs`), the older
/// Next.js convention: `api/hello.rs` is `/api/hello`, `api/users/index.rs`
/// is `/api/users`. `_name.rs` files and `_folders` are private.
pub fn scan_pages(pages_dir: &Path, display_dir: &str) -> (Vec<RouteFile>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let problems = walk(pages_dir, display_dir, |rel, shown, problems| {
        let name = file_name(rel);
        let Some(stem) = name.strip_suffix(".rs") else {
            if is_javascript(&name) && rel.starts_with("api") {
                problems.push(
                    Diagnostic::new(
                        format!("approute: `{shown}` is a JavaScript API route"),
                        format!(
                            "port it to Rust as `{}.rs`: approute serves Rust route handlers only",
                            shown.rsplit_once('.').map_or(shown.as_str(), |(s, _)| s)
                        ),
                    )
                    .at(Location::file(shown)),
                );
            }
            return;
        };
        if stem.starts_with('_') {
            return;
        }
        if !rel.starts_with("api") {
            problems.push(
                Diagnostic::new(
                    format!("approute: `{shown}` is outside `{display_dir}/api`"),
                    format!("files in `{display_dir}/` outside `api/` are pages, which approute does not serve; move it to `{display_dir}/api/`"),
                )
                .at(Location::file(shown)),
            );
            return;
        }
        let mut names = parent_names(rel);
        if stem != "index" {
            names.push(stem.to_string());
        }
        files.push(route_file(Convention::Pages, pages_dir, rel, shown, names));
    });
    (files, problems)
}

fn route_file(
    convention: Convention,
    root: &Path,
    rel: &Path,
    shown: String,
    folders: Vec<String>,
) -> RouteFile {
    RouteFile {
        convention,
        display_path: shown,
        abs_path: root.join(rel),
        folders,
    }
}

/// Visits every non-private file under `root` in sorted order with its
/// path relative to `root` and its path as shown to the user.
fn walk(
    root: &Path,
    display_dir: &str,
    mut visit: impl FnMut(&Path, String, &mut Vec<Diagnostic>),
) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if !root.is_dir() {
        return problems;
    }
    // Sorted so the generated code does not depend on the file system's order.
    let walker = WalkDir::new(root)
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
                    .map(|p| display_path(root, display_dir, p))
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
        let shown = display_path(root, display_dir, entry.path());
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        if rel.to_str().is_none() {
            problems.push(
                Diagnostic::new(
                    format!("approute: `{shown}` has a name that is not UTF-8"),
                    "rename it; URL segments must be text",
                )
                .at(Location::file(shown)),
            );
            continue;
        }
        visit(rel, shown, &mut problems);
    }
    problems
}

fn file_name(rel: &Path) -> String {
    rel.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn parent_names(rel: &Path) -> Vec<String> {
    rel.parent()
        .into_iter()
        .flat_map(|p| p.components())
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect()
}

fn is_javascript(name: &str) -> bool {
    [".ts", ".js", ".tsx", ".jsx", ".mjs"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

fn is_private(entry: &walkdir::DirEntry) -> bool {
    entry.file_type().is_dir() && entry.file_name().to_string_lossy().starts_with('_')
}

/// `Some((meant name, extra hint))` for names a user plausibly meant as
/// `route.rs` or `middleware.rs`.
fn misspelt_file(name: &str) -> Option<(&'static str, &'static str)> {
    const PORT: &str = " and port it to Rust: approute serves Rust route handlers only";
    let lower = name.to_ascii_lowercase();
    let (stem, ext) = lower.rsplit_once('.')?;
    let meant = match stem {
        "route" | "routes" | "router" => ROUTE_FILE,
        "middleware" | "middlewares" => MIDDLEWARE_FILE,
        _ => return None,
    };
    match ext {
        "rs" => Some((meant, "")),
        "ts" | "js" | "tsx" | "jsx" | "mjs" => Some((meant, PORT)),
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
        let files = files.routes;
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
        let dir = tree(&[
            "a/routes.rs",
            "b/Route.rs",
            "c/route.ts",
            "d/middlewares.rs",
        ]);
        let (files, problems) = scan(dir.path(), "app");
        assert!(files.routes.is_empty());
        let paths: Vec<_> = problems
            .iter()
            .map(|p| p.locations[0].path.as_str())
            .collect();
        assert_eq!(
            paths,
            [
                "app/a/routes.rs",
                "app/b/Route.rs",
                "app/c/route.ts",
                "app/d/middlewares.rs"
            ]
        );
        assert!(problems[2].help.contains("port it to Rust"));
        assert_eq!(problems[3].help, "rename it to `middleware.rs`");
    }

    #[test]
    fn a_missing_folder_holds_no_routes() {
        let dir = tree(&[]);
        assert_eq!(
            scan(&dir.path().join("app"), "app"),
            (AppFiles::default(), vec![])
        );
        assert_eq!(
            scan_pages(&dir.path().join("pages"), "pages"),
            (vec![], vec![])
        );
    }

    #[test]
    fn finds_middleware_files() {
        let dir = tree(&[
            "middleware.rs",
            "api/middleware.rs",
            "api/route.rs",
            "_x/middleware.rs",
        ]);
        let (files, problems) = scan(dir.path(), "app");
        assert!(problems.is_empty());
        let shown: Vec<_> = files
            .middleware
            .iter()
            .map(|f| f.display_path.as_str())
            .collect();
        assert_eq!(shown, ["app/api/middleware.rs", "app/middleware.rs"]);
        assert_eq!(files.middleware[0].folders, ["api"]);
    }

    #[test]
    fn pages_api_files_are_routes_by_file_name() {
        let dir = tree(&[
            "api/hello.rs",
            "api/users/index.rs",
            "api/users/[id].rs",
            "api/docs/[[...slug]].rs",
            "api/_helpers.rs",
            "api/_lib/db.rs",
            "api/notes.md",
        ]);
        let (files, problems) = scan_pages(dir.path(), "pages");
        assert!(problems.is_empty(), "{problems:?}");
        let got: Vec<_> = files
            .iter()
            .map(|f| (f.display_path.as_str(), f.folders.join("/")))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "pages/api/docs/[[...slug]].rs",
                    "api/docs/[[...slug]]".to_string()
                ),
                ("pages/api/hello.rs", "api/hello".to_string()),
                ("pages/api/users/[id].rs", "api/users/[id]".to_string()),
                ("pages/api/users/index.rs", "api/users".to_string()),
            ]
        );
        assert!(files.iter().all(|f| f.convention == Convention::Pages));
    }

    #[test]
    fn pages_outside_api_and_javascript_routes_are_reported() {
        let dir = tree(&["index.rs", "api/old.ts", "about.tsx"]);
        let (files, problems) = scan_pages(dir.path(), "pages");
        assert!(files.is_empty());
        let messages: Vec<_> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "approute: `pages/api/old.ts` is a JavaScript API route",
                "approute: `pages/index.rs` is outside `pages/api`"
            ]
        );
    }
}
