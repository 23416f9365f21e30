//! What the unit tests share: route trees stated in one line, and
//! temporary folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::model::{Convention, Export, Method, Route, RouteConfig, RouteFile};
use crate::parse::Exports;
use crate::segment;

/// Builds routes from folder paths relative to `app/`, each exporting GET.
pub fn build_routes(folders: &[&str]) -> Vec<Route> {
    let mut bad = BTreeMap::new();
    folders
        .iter()
        .map(|path| {
            let folders: Vec<String> = path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let display_path = if path.is_empty() {
                "app/route.rs".to_string()
            } else {
                format!("app/{path}/route.rs")
            };
            let file = RouteFile {
                convention: Convention::App,
                display_path,
                abs_path: PathBuf::from(format!("/app/{path}/route.rs")),
                folders,
            };
            let url = segment::file_url(&file, &mut bad).expect("well-formed test folders");
            let exports = Exports {
                methods: vec![Export {
                    method: Method::Get,
                    line: 1,
                }],
                any_method: false,
                config: RouteConfig::default(),
                signatures: Vec::new(),
            };
            crate::make_route(file, url, exports)
        })
        .collect()
}

/// A folder under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "approute-codegen-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A crate folder with `files` under `public/`, each holding its own path.
pub fn public_tree(files: &[&str]) -> TempDir {
    let dir = TempDir::new();
    for f in files {
        let p = dir.path().join("public").join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, f.as_bytes()).unwrap();
    }
    dir
}
