//! `cargo approute check`: every problem in the tree, rustc-style, pointing
//! into the route files themselves (the macro can only point at `app!`).

use std::path::Path;
use std::time::Instant;

use approute_codegen::{Diagnostic, Options, RouteTree};

/// Loads the tree; prints its problems on stderr and returns `Err` with
/// their count if there are any.
pub fn load(options: &Options) -> Result<RouteTree, usize> {
    approute_codegen::load(options).map_err(|problems| {
        eprint!("{}", render(&problems, &options.crate_dir));
        problems.len()
    })
}

/// Runs the check: exit status 0 with one line when the tree is good, 1
/// when it has problems. Unlike the macro it also parses function bodies:
/// it runs before rustc, so it reports their syntax errors itself.
pub fn run(mut options: Options) -> i32 {
    let started = Instant::now();
    options.check_bodies = true;
    match load(&options) {
        Ok(tree) => {
            println!(
                "approute: {} routes and {} public files OK ({} ms)",
                tree.routes.len(),
                tree.public.len(),
                started.elapsed().as_millis()
            );
            0
        }
        Err(_) => 1,
    }
}

/// Each problem as rustc shows its own (`error: ...`, ` --> file:line:col`,
/// the line, a caret, `= help`), paths made relative to the current folder
/// so an editor or terminal can open them, then a count.
pub fn render(problems: &[Diagnostic], crate_dir: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut out = String::new();
    for problem in problems {
        let mut problem = problem.clone();
        for location in &mut problem.locations {
            location.path = shown_path(crate_dir, &location.path, &cwd);
        }
        let text = problem.to_string();
        let text = text.strip_prefix("approute: ").unwrap_or(&text);
        out.push_str(&format!("error: {text}\n\n"));
    }
    let s = if problems.len() == 1 { "" } else { "s" };
    out.push_str(&format!(
        "error: approute found {} problem{s} in the route tree\n",
        problems.len()
    ));
    out
}

/// `path` (relative to the crate) as seen from `cwd`.
fn shown_path(crate_dir: &Path, path: &str, cwd: &Path) -> String {
    let full = crate_dir.join(path);
    match full.strip_prefix(cwd) {
        Ok(relative) => relative.display().to_string(),
        Err(_) => full.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_shown_from_the_current_folder() {
        let cwd = Path::new("/home/me");
        assert_eq!(
            shown_path(Path::new("/home/me/api"), "app/route.rs", cwd),
            "api/app/route.rs"
        );
        assert_eq!(
            shown_path(Path::new("/srv/api"), "app/route.rs", cwd),
            "/srv/api/app/route.rs"
        );
    }
}
