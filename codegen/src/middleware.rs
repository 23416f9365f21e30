//! Which `middleware.rs` files wrap which routes: a folder's middleware
//! wraps every route in that folder and below, as Next.js's one
//! `middleware.ts` wraps everything.

use crate::error::{Diagnostic, Location};
use crate::model::{Convention, Middleware, Route};

/// The middleware wrapping public files: `app/middleware.rs` alone (Next.js
/// runs its one `middleware.ts` for public files too; a deeper folder's
/// middleware belongs to the routes in that folder).
pub fn for_public_files(middleware: &[Middleware], any_public: bool) -> Vec<usize> {
    if !any_public {
        return Vec::new();
    }
    (0..middleware.len())
        .filter(|&i| middleware[i].file.folders.is_empty())
        .collect()
}

/// Gives each route the middleware of its folder and every folder above,
/// outermost first. `app/middleware.rs` also wraps `pages/api` routes and
/// public files (`public_middleware`). A middleware that wraps nothing is
/// a mistake, not a silent no-op.
pub fn assign(
    routes: &mut [Route],
    middleware: &[Middleware],
    public_middleware: &[usize],
) -> Vec<Diagnostic> {
    let mut used = vec![false; middleware.len()];
    for &i in public_middleware {
        used[i] = true;
    }
    let mut order: Vec<usize> = (0..middleware.len()).collect();
    order.sort_by_key(|&i| middleware[i].file.folders.len());
    for route in routes.iter_mut() {
        route.middleware = order
            .iter()
            .copied()
            .filter(|&i| {
                let folders = &middleware[i].file.folders;
                match route.file.convention {
                    Convention::App => route.file.folders.starts_with(folders),
                    Convention::Pages => folders.is_empty(),
                }
            })
            .collect();
        for &i in &route.middleware {
            used[i] = true;
        }
    }
    middleware
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|(m, _)| {
            Diagnostic::new(
                format!("approute: `{}` wraps no route", m.file.display_path),
                "a middleware.rs wraps the route.rs files in its folder and below; add one there, or delete the middleware",
            )
            .at(Location::file(m.file.display_path.clone()))
        })
        .collect()
}
