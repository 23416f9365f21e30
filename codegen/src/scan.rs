//! Walks `app/`, `pages/api/` and `public/`, in a deterministic order, and
//! finds the route files, the middleware and the public files.

use std::path::Path;
use std::time::UNIX_EPOCH;

use walkdir::{DirEntry, WalkDir};

use crate::error::{Diagnostic, Location};
use crate::model::{Convention, PublicFile, RouteFile, WELL_KNOWN};
use crate::public;

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
    let problems = walk_code(app_dir, display_dir, |rel, shown, problems| {
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
    let problems = walk_code(pages_dir, display_dir, |rel, shown, problems| {
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

/// Finds the files to serve under `dir`, sorted by path. `display_dir` is
/// how the user names the folder (`public`). A missing folder holds none.
///
/// Hidden files and folders (`.env`, `.DS_Store`, `.git/`) are skipped,
/// except the top-level `.well-known/` folder. A symlink is followed only
/// while it stays inside the folder; one that leads out is reported.
pub fn scan_public(dir: &Path, display_dir: &str) -> (Vec<PublicFile>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    if !dir.is_dir() {
        return (files, Vec::new());
    }
    let root = match dir.canonicalize() {
        Ok(root) => root,
        Err(e) => {
            let problem = Diagnostic::new(
                format!("approute: cannot read `{display_dir}/`: {e}"),
                "check the permissions of that folder",
            )
            .at(Location::file(display_dir));
            return (files, vec![problem]);
        }
    };
    // Never out of the folder: whatever links lead to an entry must
    // resolve inside it.
    let stays_inside = |entry: &DirEntry, problems: &mut Vec<Diagnostic>| {
        let inside = entry
            .path()
            .canonicalize()
            .is_ok_and(|real| real.starts_with(&root));
        if !inside {
            let shown = display_path(dir, display_dir, entry.path());
            let target = std::fs::read_link(entry.path())
                .map(|t| format!(" to `{}`", t.display()))
                .unwrap_or_default();
            let what = if entry.file_type().is_dir() {
                "folder"
            } else {
                "file"
            };
            problems.push(
                Diagnostic::new(
                    format!("approute: `{shown}` is a symlink{target} that leads out of `{display_dir}/`"),
                    format!(
                        "approute never serves files from outside `{display_dir}/` (Next.js would follow the link); copy the {what} into `{display_dir}/`, or delete the link"
                    ),
                )
                .at(Location::file(shown)),
            );
        }
        inside
    };
    let problems = walk(
        dir,
        display_dir,
        &PUBLIC,
        stays_inside,
        |entry, rel, shown, problems| {
            let segments: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let bytes = match std::fs::read(entry.path()) {
                Ok(bytes) => bytes,
                Err(e) => {
                    problems.push(
                        Diagnostic::new(
                            format!("approute: cannot read `{shown}`: {e}"),
                            "make the file readable, or delete it",
                        )
                        .at(Location::file(shown)),
                    );
                    return;
                }
            };
            let modified = entry
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs());
            files.push(PublicFile {
                content_type: public::content_type(segments.last().map_or("", String::as_str)),
                display_path: shown,
                abs_path: dir.join(rel),
                segments,
                etag: public::etag(&bytes),
                modified,
                len: bytes.len() as u64,
                variants: Vec::new(),
            });
        },
    );
    (files, problems)
}

/// What a walk leaves out, and how it words a name that is not UTF-8.
struct Rules {
    /// Entries left out with everything below them.
    skip: fn(&DirEntry) -> bool,
    not_utf8_help: &'static str,
}

/// `app/` and `pages/`: `_private` folders are left out, as in Next.js.
const CODE: Rules = Rules {
    skip: is_private,
    not_utf8_help: "rename it; URL segments must be text",
};

/// `public/`: hidden names are left out, `.well-known/` is served.
const PUBLIC: Rules = Rules {
    skip: is_hidden,
    not_utf8_help: "rename it; URLs are text",
};

/// [`walk`] for `app/` and `pages/`: every folder but a private one is
/// entered.
fn walk_code(
    root: &Path,
    display_dir: &str,
    mut visit: impl FnMut(&Path, String, &mut Vec<Diagnostic>),
) -> Vec<Diagnostic> {
    let admit_all = |_: &DirEntry, _: &mut Vec<Diagnostic>| true;
    walk(
        root,
        display_dir,
        &CODE,
        admit_all,
        |_, rel, shown, problems| visit(rel, shown, problems),
    )
}

/// Visits every file under `root` in sorted order with its path relative
/// to `root` and its path as shown to the user. `admit` sees every entry
/// first, folders too; one it refuses is left out with all below it.
/// Entries that cannot be read and names that are not UTF-8 are reported
/// here, for every tree alike.
fn walk(
    root: &Path,
    display_dir: &str,
    rules: &Rules,
    mut admit: impl FnMut(&DirEntry, &mut Vec<Diagnostic>) -> bool,
    mut visit: impl FnMut(&DirEntry, &Path, String, &mut Vec<Diagnostic>),
) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if !root.is_dir() {
        return problems;
    }
    // Sorted so the generated code does not depend on the file system's order.
    let mut walker = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !(rules.skip)(e));
    while let Some(entry) = walker.next() {
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
        if entry.depth() == 0 {
            continue;
        }
        if !admit(&entry, &mut problems) {
            if entry.file_type().is_dir() {
                walker.skip_current_dir();
            }
            continue;
        }
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
                    rules.not_utf8_help,
                )
                .at(Location::file(shown)),
            );
            continue;
        }
        visit(&entry, rel, shown, &mut problems);
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

fn is_private(entry: &DirEntry) -> bool {
    entry.file_type().is_dir() && entry.file_name().to_string_lossy().starts_with('_')
}

fn is_hidden(entry: &DirEntry) -> bool {
    let name = entry.file_name().to_string_lossy();
    let well_known = entry.file_type().is_dir() && entry.depth() == 1 && name == WELL_KNOWN;
    name.starts_with('.') && !well_known
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
fn display_path(root: &Path, display_dir: &str, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut out = display_dir.trim_end_matches('/').to_string();
    for part in rel.components() {
        out.push('/');
        out.push_str(&part.as_os_str().to_string_lossy());
    }
    out
}

#[cfg(test)]
mod tests;
