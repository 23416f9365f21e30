//! `cargo approute routes`: the route table, read from the tree by the
//! codegen library (no rustc), in the order the router matches.

use approute_codegen::model::{PublicFile, RouteConfig};
use approute_codegen::patterns::public_url;
use approute_codegen::{Route, RouteTree};

/// One row per route, then one per public file.
pub fn table(tree: &RouteTree) -> String {
    let mut rows = vec![[
        "METHODS".to_string(),
        "URL".to_string(),
        "FILE".to_string(),
        "CACHE".to_string(),
        "LIMITS".to_string(),
    ]];
    rows.extend(tree.routes.iter().map(route_row));
    rows.extend(tree.public.iter().map(public_row));
    let mut widths = [0; 4];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        line.push_str(&row[4]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn route_row(route: &Route) -> [String; 5] {
    let methods = if route.any_method {
        "ANY".to_string()
    } else {
        let names: Vec<&str> = route.methods().iter().map(|m| m.as_str()).collect();
        names.join(",")
    };
    [
        methods,
        route.route_id(),
        route.file.display_path.clone(),
        cache(&route.config),
        limits(&route.config),
    ]
}

fn public_row(file: &PublicFile) -> [String; 5] {
    [
        "GET,HEAD".to_string(),
        public_url(file),
        file.display_path.clone(),
        "-".to_string(),
        "-".to_string(),
    ]
}

/// `revalidate 60s, tags notes,users, credentialed`, or `-`.
fn cache(config: &RouteConfig) -> String {
    let Some(seconds) = config.revalidate else {
        return "-".to_string();
    };
    let mut out = format!("revalidate {seconds}s");
    if !config.cache_tags.is_empty() {
        out.push_str(&format!(", tags {}", config.cache_tags.join(",")));
    }
    if config.cache_credentialed {
        out.push_str(", credentialed");
    }
    out
}

/// `body 1 MiB, max 10s`, or `-` for the server's defaults.
fn limits(config: &RouteConfig) -> String {
    let mut parts = Vec::new();
    if let Some(bytes) = config.body_limit {
        parts.push(format!("body {}", size(bytes)));
    }
    if let Some(seconds) = config.max_duration {
        parts.push(format!("max {seconds}s"));
    }
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(", ")
    }
}

/// Bytes in the largest unit that divides them: `1 MiB`, `64 KiB`, `1000 B`.
fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= 1024 && b % 1024 == 0 => format!("{} KiB", b / 1024),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_the_unit_that_divides_them() {
        assert_eq!(size(1_048_576), "1 MiB");
        assert_eq!(size(65_536), "64 KiB");
        assert_eq!(size(1000), "1000 B");
    }
}
