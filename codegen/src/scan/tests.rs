use super::*;
use crate::patterns::{public_pattern, public_url};
use crate::testkit::public_tree;
use std::fs;

fn tree(files: &[&str]) -> crate::testkit::TempDir {
    let dir = crate::testkit::TempDir::new();
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

fn shown(files: &[PublicFile]) -> Vec<&str> {
    files.iter().map(|f| f.display_path.as_str()).collect()
}

#[test]
fn finds_files_sorted_with_their_urls() {
    let dir = public_tree(&[
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
    let urls: Vec<String> = files.iter().map(public_url).collect();
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
        public_pattern(&files[6]),
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
    let dir = public_tree(&[
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
    assert_eq!(public_url(&files[0]), "/.well-known/security.txt");
}

#[test]
fn a_missing_folder_holds_no_files() {
    let dir = public_tree(&[]);
    assert_eq!(
        scan_public(&dir.path().join("nope"), "nope"),
        (vec![], vec![])
    );
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_inside_and_reported_outside() {
    use std::os::unix::fs::symlink;
    let dir = public_tree(&["real/a.txt", "b.txt"]);
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
