//! `public/`: files served as they are at the root URL, `public/logo.png`
//! at `/logo.png`, as Next.js serves them.
//!
//! Next.js serves the files that are in `public/` when it builds, so the
//! scan happens at compile time: each file becomes one route whose bytes are
//! embedded with `include_bytes!` (so cargo rebuilds when a file changes),
//! with its content type, a strong `ETag` and its `Last-Modified` worked
//! out here. The set of URLs is fixed by the build: a request for anything
//! else (`/../Cargo.toml`, `/%2e%2e/x`) matches no route at all.
//!
//! What Next.js 14.2.35 does, measured with `next build && next start` (see
//! [`conflicts`] and the README's `public/` section):
//!
//! - a public file and an `app/` route at the same URL: the build passes and
//!   the public file answers every method (others get 405), whether the
//!   route is static, dynamic or a catch-all: the file system is checked
//!   before any route. approute does the same: the public file's pattern is
//!   registered first, and a static pattern beats `{param}` and `{*rest}`.
//! - a public file and a `pages/api` route at the same URL: the build fails
//!   with "Conflicting public and page file was found". approute refuses it
//!   too, as a compile error naming both files.
//! - `/logo.png/` is a 308 to `/logo.png`; with `trailingSlash: true` a name
//!   with an extension keeps the slash-less URL, one without gets a slash,
//!   and `.well-known/` is never redirected (see
//!   [`crate::patterns::registrations`]).
//! - a hidden file (`.env`) is not served (Next.js answers 400); files in
//!   `.well-known/` are.
//! - symlinks are followed, even out of `public/` (Next.js serves
//!   `public/link -> /etc/hostname`). approute never follows a link out of
//!   the folder: such a link is a compile error naming it.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use walkdir::WalkDir;

use crate::error::{Diagnostic, Location};
use crate::model::{Convention, Route};
use crate::patterns::escape_static;

/// The folder `app!` looks in unless told `public = "..."`.
pub const DEFAULT_DIR: &str = "public";

/// The one hidden folder that is served: RFC 8615 well-known URIs
/// (`security.txt`, ACME challenges) live there.
pub const WELL_KNOWN: &str = ".well-known";

/// A file under `public/`, with what its answers need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicFile {
    /// Path shown to the user, relative to the crate: `public/img/a b.txt`.
    pub display_path: String,
    /// Absolute path, for `include_bytes!`.
    pub abs_path: PathBuf,
    /// The names below `public/`: `["img", "a b.txt"]`.
    pub segments: Vec<String>,
    /// `Content-Type`, from the extension.
    pub content_type: &'static str,
    /// A strong `ETag`, quoted: the length and a 64-bit FNV-1a hash of the
    /// bytes, in hex.
    pub etag: String,
    /// Seconds since the Unix epoch of the file's modification time, when
    /// the file system has one.
    pub modified: Option<u64>,
    /// Size in bytes.
    pub len: u64,
}

impl PublicFile {
    /// The matchit pattern serving the file: each name percent-encoded as a
    /// client sends it (`/img/a%20b.txt`).
    pub fn pattern(&self) -> String {
        self.segments
            .iter()
            .map(|s| format!("/{}", escape_static(s)))
            .collect()
    }

    /// The URL as a client writes it (the pattern without matchit's
    /// doubled braces).
    pub fn url(&self) -> String {
        self.pattern().replace("{{", "{").replace("}}", "}")
    }

    /// The path as Next.js compares it with page names: `/img/a b.txt`.
    pub fn next_path(&self) -> String {
        self.segments.iter().map(|s| format!("/{s}")).collect()
    }

    /// `Last-Modified`, as an HTTP-date.
    pub fn last_modified(&self) -> Option<String> {
        self.modified.map(http_date)
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
    let mut problems = Vec::new();
    if !dir.is_dir() {
        return (files, problems);
    }
    let root = match dir.canonicalize() {
        Ok(root) => root,
        Err(e) => {
            problems.push(
                Diagnostic::new(
                    format!("approute: cannot read `{display_dir}/`: {e}"),
                    "check the permissions of that folder",
                )
                .at(Location::file(display_dir)),
            );
            return (files, problems);
        }
    };
    // Sorted so the generated code does not depend on the file system's order.
    let mut walker = WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walker.next() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let shown = err
                    .path()
                    .map(|p| display_path(dir, display_dir, p))
                    .unwrap_or_else(|| display_dir.to_string());
                problems.push(
                    Diagnostic::new(
                        format!("approute: cannot read `{shown}`: {err}"),
                        "check the permissions of that path, or remove a symlink that loops",
                    )
                    .at(Location::file(shown)),
                );
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        let is_dir = entry.file_type().is_dir();
        let name = entry.file_name().to_string_lossy();
        if name.starts_with('.') && !(is_dir && entry.depth() == 1 && name == WELL_KNOWN) {
            if is_dir {
                walker.skip_current_dir();
            }
            continue;
        }
        let shown = display_path(dir, display_dir, entry.path());
        // Never out of the folder: whatever links lead here must resolve
        // inside it.
        let inside = entry
            .path()
            .canonicalize()
            .is_ok_and(|real| real.starts_with(&root));
        if !inside {
            let target = std::fs::read_link(entry.path())
                .map(|t| format!(" to `{}`", t.display()))
                .unwrap_or_default();
            problems.push(
                Diagnostic::new(
                    format!("approute: `{shown}` is a symlink{target} that leads out of `{display_dir}/`"),
                    format!(
                        "approute never serves files from outside `{display_dir}/` (Next.js would follow the link); copy the {} into `{display_dir}/`, or delete the link",
                        if is_dir { "folder" } else { "file" }
                    ),
                )
                .at(Location::file(shown)),
            );
            if is_dir {
                walker.skip_current_dir();
            }
            continue;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(rel) = entry
            .path()
            .strip_prefix(dir)
            .ok()
            .and_then(|rel| rel.to_str())
        else {
            problems.push(
                Diagnostic::new(
                    format!("approute: `{shown}` has a name that is not UTF-8"),
                    "rename it; URLs are text",
                )
                .at(Location::file(shown)),
            );
            continue;
        };
        let segments: Vec<String> = Path::new(rel)
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
                continue;
            }
        };
        let modified = entry
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        files.push(PublicFile {
            content_type: content_type(segments.last().map_or("", String::as_str)),
            display_path: shown,
            abs_path: dir.join(rel),
            segments,
            etag: etag(&bytes),
            modified,
            len: bytes.len() as u64,
        });
    }
    (files, problems)
}

/// Public files that Next.js refuses beside the routes: one at the URL of
/// a `pages/api` route ("Conflicting public and page file was found"). Like
/// Next.js, this compares the page's name (`/api/hello`, `/api/[id]`) with
/// the file's path literally. A public file at the URL of an `app/` route
/// is not a conflict: Next.js builds it and serves the file.
pub fn conflicts(files: &[PublicFile], routes: &[Route]) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for route in routes
        .iter()
        .filter(|r| r.file.convention == Convention::Pages)
    {
        let page = route.pattern();
        for file in files.iter().filter(|f| f.next_path() == page) {
            problems.push(
                Diagnostic::new(
                    format!(
                        "approute: conflicting public and page files serve the URL `{page}`"
                    ),
                    format!(
                        "Next.js refuses this too (\"Conflicting public and page file was found\"): only one of them can answer; rename or delete `{}` or `{}`",
                        file.display_path, route.file.display_path
                    ),
                )
                .at(Location::file(file.display_path.clone()))
                .at(Location::file(route.file.display_path.clone())),
            );
        }
    }
    problems
}

/// `Content-Type` for a file name, by its extension (any case); text types
/// carry `charset=utf-8`. Unknown: `application/octet-stream`.
pub fn content_type(name: &str) -> &'static str {
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => return "application/octet-stream",
    };
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json; charset=utf-8",
        "webmanifest" => "application/manifest+json; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "xml" => "application/xml; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// A strong `ETag` for `bytes`: `"<length>-<FNV-1a 64>"` in hex, quoted.
pub fn etag(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("\"{:x}-{hash:016x}\"", bytes.len())
}

/// An HTTP-date (RFC 9110 IMF-fixdate): `Wed, 25 Nov 2026 11:36:54 GMT`.
pub fn http_date(unix_seconds: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_seconds / 86_400;
    let secs = unix_seconds % 86_400;
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `public/<relative path>` with `/` separators on every platform.
fn display_path(dir: &Path, display_dir: &str, path: &Path) -> String {
    let rel = path.strip_prefix(dir).unwrap_or(path);
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
            let p = dir.path().join("public").join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, f.as_bytes()).unwrap();
        }
        dir
    }

    fn shown(files: &[PublicFile]) -> Vec<&str> {
        files.iter().map(|f| f.display_path.as_str()).collect()
    }

    #[test]
    fn finds_files_sorted_with_their_urls() {
        let dir = tree(&[
            "robots.txt",
            "img/a b.txt",
            "img/logo.png",
            "_private/x.css",
            "café.txt",
            "{x}.json",
            "a%20b",
        ]);
        let (files, problems) = scan_public(&dir.path().join("public"), "public");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            shown(&files),
            [
                "public/_private/x.css",
                "public/a%20b",
                "public/café.txt",
                "public/img/a b.txt",
                "public/img/logo.png",
                "public/robots.txt",
                "public/{x}.json",
            ]
        );
        let urls: Vec<String> = files.iter().map(PublicFile::url).collect();
        assert_eq!(
            urls,
            [
                "/_private/x.css",
                "/a%2520b",
                "/caf%C3%A9.txt",
                "/img/a%20b.txt",
                "/img/logo.png",
                "/robots.txt",
                "/{x}.json",
            ]
        );
        assert_eq!(
            files[6].pattern(),
            "/{{x}}.json",
            "braces are escaped for matchit"
        );
        assert_eq!(files[3].segments, ["img", "a b.txt"]);
        assert_eq!(files[3].next_path(), "/img/a b.txt");
        assert_eq!(files[3].content_type, "text/plain; charset=utf-8");
        assert_eq!(files[4].content_type, "image/png");
        assert_eq!(files[3].len, "img/a b.txt".len() as u64);
        assert!(files[3].abs_path.is_absolute());
        assert!(files.iter().all(|f| f.modified.is_some()));
    }

    #[test]
    fn hidden_files_are_skipped_but_well_known_is_served() {
        let dir = tree(&[
            ".env",
            ".DS_Store",
            "img/.DS_Store",
            ".git/config",
            ".well-known/security.txt",
            ".well-known/.hidden",
            "a/.well-known/x.txt",
            "ok.txt",
        ]);
        let (files, problems) = scan_public(&dir.path().join("public"), "public");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            shown(&files),
            ["public/.well-known/security.txt", "public/ok.txt"]
        );
        assert_eq!(files[0].url(), "/.well-known/security.txt");
    }

    #[test]
    fn a_missing_folder_holds_no_files() {
        let dir = tree(&[]);
        assert_eq!(
            scan_public(&dir.path().join("nope"), "nope"),
            (vec![], vec![])
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_inside_and_reported_outside() {
        use std::os::unix::fs::symlink;
        let dir = tree(&["real/a.txt", "b.txt"]);
        fs::create_dir_all(dir.path().join("secret")).unwrap();
        fs::write(dir.path().join("secret/key.txt"), "key").unwrap();
        fs::write(dir.path().join("Cargo.toml"), "[package]").unwrap();
        let public = dir.path().join("public");
        symlink("real", public.join("alias")).unwrap();
        symlink("../b.txt", public.join("real/up.txt")).unwrap();
        symlink("../Cargo.toml", public.join("cargo.toml")).unwrap();
        symlink("../secret", public.join("out")).unwrap();
        symlink(dir.path().join("secret/key.txt"), public.join("abs.txt")).unwrap();
        symlink("missing.txt", public.join("dangling.txt")).unwrap();

        let (files, problems) = scan_public(&public, "public");
        assert_eq!(
            shown(&files),
            [
                "public/alias/a.txt",
                "public/alias/up.txt",
                "public/b.txt",
                "public/real/a.txt",
                "public/real/up.txt",
            ]
        );
        assert_eq!(
            files[1].len,
            "b.txt".len() as u64,
            "the link's target bytes"
        );
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "approute: `public/abs.txt` is a symlink to `".to_string()
                    + &dir.path().join("secret/key.txt").display().to_string()
                    + "` that leads out of `public/`",
                "approute: `public/cargo.toml` is a symlink to `../Cargo.toml` that leads out of `public/`".to_string(),
                // a dangling link cannot be read: walkdir reports it
                problems[2].message.clone(),
                "approute: `public/out` is a symlink to `../secret` that leads out of `public/`".to_string(),
            ]
        );
        assert!(
            problems[2].message.contains("public/dangling.txt"),
            "{}",
            problems[2]
        );
        assert!(problems[3].help.contains("copy the folder into `public/`"));
        assert!(problems[1].help.contains("copy the file into `public/`"));
        assert_eq!(problems[1].locations[0].path, "public/cargo.toml");
    }

    #[test]
    fn content_types_by_extension() {
        let cases = [
            ("index.html", "text/html; charset=utf-8"),
            ("a.css", "text/css; charset=utf-8"),
            ("a.js", "text/javascript; charset=utf-8"),
            ("a.mjs", "text/javascript; charset=utf-8"),
            ("a.json", "application/json; charset=utf-8"),
            ("a.js.map", "application/json; charset=utf-8"),
            ("a.txt", "text/plain; charset=utf-8"),
            ("a.xml", "application/xml; charset=utf-8"),
            ("a.svg", "image/svg+xml"),
            ("A.PNG", "image/png"),
            ("a.jpg", "image/jpeg"),
            ("a.jpeg", "image/jpeg"),
            ("a.gif", "image/gif"),
            ("a.webp", "image/webp"),
            ("a.avif", "image/avif"),
            ("favicon.ico", "image/x-icon"),
            ("a.woff", "font/woff"),
            ("a.woff2", "font/woff2"),
            ("a.ttf", "font/ttf"),
            ("a.wasm", "application/wasm"),
            ("a.pdf", "application/pdf"),
            ("a.mp4", "video/mp4"),
            ("a.webm", "video/webm"),
            ("a.mp3", "audio/mpeg"),
            ("hello", "application/octet-stream"),
            ("a.unknown", "application/octet-stream"),
            (".txt", "application/octet-stream"),
        ];
        for (name, want) in cases {
            assert_eq!(content_type(name), want, "{name}");
        }
    }

    #[test]
    fn etags_are_strong_and_depend_on_every_byte() {
        assert_eq!(etag(b""), "\"0-cbf29ce484222325\"");
        assert_eq!(etag(b"a"), "\"1-af63dc4c8601ec8c\"");
        assert_ne!(etag(b"ab"), etag(b"ba"));
        assert!(!etag(b"x").starts_with("W/"));
    }

    #[test]
    fn http_dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(1_795_606_614), "Wed, 25 Nov 2026 11:36:54 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 GMT");
        assert_eq!(http_date(4_107_542_399), "Sun, 28 Feb 2100 23:59:59 GMT");
    }

    #[test]
    fn pages_routes_conflict_with_public_files_literally() {
        let dir = tree(&[
            "api/hello",
            "api/[id]",
            "api/users",
            "api/ok.txt",
            "app.txt",
        ]);
        let (files, _) = scan_public(&dir.path().join("public"), "public");
        let mut routes = crate::build_routes(&["api/hello", "api/[id]", "app.txt"]);
        for r in &mut routes[..2] {
            r.file.convention = Convention::Pages;
            r.file.display_path = format!("pages/{}.rs", r.file.folders.join("/"));
        }
        let mut index = crate::build_routes(&["api/users"]);
        index[0].file.convention = Convention::Pages;
        index[0].file.display_path = "pages/api/users/index.rs".into();
        routes.append(&mut index);

        let p: Vec<String> = conflicts(&files, &routes)
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(
            p,
            [
                "approute: conflicting public and page files serve the URL `/api/hello`\n  --> public/api/hello\n  --> pages/api/hello.rs\n   = help: Next.js refuses this too (\"Conflicting public and page file was found\"): only one of them can answer; rename or delete `public/api/hello` or `pages/api/hello.rs`",
                "approute: conflicting public and page files serve the URL `/api/[id]`\n  --> public/api/[id]\n  --> pages/api/[id].rs\n   = help: Next.js refuses this too (\"Conflicting public and page file was found\"): only one of them can answer; rename or delete `public/api/[id]` or `pages/api/[id].rs`",
                "approute: conflicting public and page files serve the URL `/api/users`\n  --> public/api/users\n  --> pages/api/users/index.rs\n   = help: Next.js refuses this too (\"Conflicting public and page file was found\"): only one of them can answer; rename or delete `public/api/users` or `pages/api/users/index.rs`",
            ],
            "the app route at /app.txt is no conflict: the file wins"
        );
    }
}
