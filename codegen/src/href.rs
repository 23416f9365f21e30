//! `app::href!`: a link to a route, checked against the tree when the
//! crate compiles. The generated module hands the route ids to the
//! `href` proc macro; this module plans the URL or says what is wrong.
//!
//! - `("/api/users/[id]", id = 42)` -> `/api/users/` then `id` encoded;
//! - `("/api/files/[...path]", path = ["a b", "c"])` -> `/api/files`,
//!   then each item as `/` and the item encoded: `/api/files/a%20b/c`;
//! - `("/docs/[[...slug]]")` -> `/docs`: an optional catch-all may be
//!   left out;
//! - `("/api/user/[id]", id = 1)` -> "no route ... did you mean
//!   `/api/users/[id]`?"; `("/api/users/[id]")` -> "needs `id`".

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::suggest::edit_distance;

/// A folder name's characters kept as they are in a link: RFC 3986's
/// unreserved ones (the runtime's `href_segment` also keeps sub-delims).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One step of building the URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Literal text, already encoded.
    Text(String),
    /// `/` and the encoded value of the argument at this index.
    Segment(usize),
    /// `/` and each encoded item of the argument at this index.
    Rest(usize),
}

/// A route id's segment, as `href!` needs it.
enum Part<'a> {
    Static(&'a str),
    Dynamic(&'a str),
    CatchAll(&'a str),
    Optional(&'a str),
}

fn parts(route: &str) -> Vec<Part<'_>> {
    route
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if let Some(name) = s.strip_prefix("[[...").and_then(|s| s.strip_suffix("]]")) {
                Part::Optional(name)
            } else if let Some(name) = s.strip_prefix("[...").and_then(|s| s.strip_suffix(']')) {
                Part::CatchAll(name)
            } else if let Some(name) = s.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                Part::Dynamic(name)
            } else {
                Part::Static(s)
            }
        })
        .collect()
}

/// The parameters of a route id: `[id, path]`.
pub fn params(route: &str) -> Vec<&str> {
    parts(route)
        .into_iter()
        .filter_map(|p| match p {
            Part::Static(_) => None,
            Part::Dynamic(n) | Part::CatchAll(n) | Part::Optional(n) => Some(n),
        })
        .collect()
}

/// The mistake in an `href!`, to show at the route (`None`) or at the
/// argument with that index.
#[derive(Debug, PartialEq, Eq)]
pub struct HrefError {
    pub argument: Option<usize>,
    pub message: String,
}

/// Plans `route` with the arguments named `given`, against `routes` (every
/// route id in the tree); `add_slash` for `trailing_slash = add`. The
/// caller pushes the pieces in order, then makes an empty URL `/`.
pub fn plan(
    routes: &[&str],
    add_slash: bool,
    route: &str,
    given: &[&str],
) -> Result<Vec<Piece>, HrefError> {
    if !routes.contains(&route) {
        return Err(HrefError {
            argument: None,
            message: unknown(routes, route),
        });
    }
    let wanted = params(route);
    let listed = || match wanted.is_empty() {
        true => "it has no parameters".to_string(),
        false => format!("its parameters: {}", quoted(&wanted)),
    };
    for (i, name) in given.iter().enumerate() {
        if !wanted.contains(name) {
            return Err(HrefError {
                argument: Some(i),
                message: format!(
                    "approute: the route `{route}` has no parameter `{name}`; {}",
                    listed()
                ),
            });
        }
        if given[..i].contains(name) {
            return Err(HrefError {
                argument: Some(i),
                message: format!("approute: `{name}` is given twice"),
            });
        }
    }
    let mut pieces = Vec::new();
    let mut text = String::new();
    for part in parts(route) {
        let (name, rest) = match part {
            Part::Static(s) => {
                text.push('/');
                text.extend(utf8_percent_encode(s, UNRESERVED));
                continue;
            }
            Part::Dynamic(n) => (n, false),
            Part::CatchAll(n) | Part::Optional(n) => (n, true),
        };
        let index = given.iter().position(|g| *g == name);
        let index = match (index, &part) {
            (Some(i), _) => i,
            (None, Part::Optional(_)) => continue,
            (None, _) => {
                let missing: Vec<&str> = wanted
                    .iter()
                    .copied()
                    .filter(|w| !given.contains(w) && !route.contains(&format!("[[...{w}]]")))
                    .collect();
                return Err(HrefError {
                    argument: None,
                    message: format!(
                        "approute: the route `{route}` needs {} {}; {}",
                        if missing.len() == 1 {
                            "the parameter"
                        } else {
                            "the parameters"
                        },
                        quoted(&missing),
                        listed()
                    ),
                });
            }
        };
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        pieces.push(if rest {
            Piece::Rest(index)
        } else {
            Piece::Segment(index)
        });
    }
    // `trailing_slash = add` serves `/a/`, and `/` as itself.
    if add_slash && !(pieces.is_empty() && text.is_empty()) {
        text.push('/');
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn quoted(names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    names.join(", ")
}

/// "No route `x`", with the closest routes: those the text matches as a
/// URL (`/api/users/42`), then those a few edits away.
fn unknown(routes: &[&str], route: &str) -> String {
    let mut close: Vec<&str> = routes
        .iter()
        .copied()
        .filter(|r| matches_url(r, route))
        .collect();
    let mut by_distance: Vec<(usize, &str)> = routes
        .iter()
        .map(|r| (edit_distance(r, route), *r))
        .filter(|(d, _)| *d <= 3.max(route.len() / 3))
        .collect();
    by_distance.sort();
    for (_, r) in by_distance {
        if !close.contains(&r) {
            close.push(r);
        }
    }
    close.truncate(3);
    let help = match close.as_slice() {
        [] => "the first argument is a route as `app::ROUTES` lists it, e.g. `/api/users/[id]`"
            .to_string(),
        [one] => format!("did you mean `{one}`?"),
        many => format!("did you mean one of {}?", quoted(many)),
    };
    format!("approute: no route `{route}` in the app folder\n  = help: {help}")
}

/// `/api/users/42` against `/api/users/[id]`: the URL that route serves.
fn matches_url(route: &str, url: &str) -> bool {
    // A `(group)` folder adds nothing to the URL.
    let in_url = |s: &&str| !(s.is_empty() || s.starts_with('(') && s.ends_with(')'));
    let segments: Vec<&str> = url.split('/').filter(in_url).collect();
    let parts = parts(route);
    let mut i = 0;
    for part in &parts {
        match part {
            Part::Static(s) if segments.get(i) == Some(s) => i += 1,
            Part::Static(_) => return false,
            Part::Dynamic(_) if i < segments.len() => i += 1,
            Part::Dynamic(_) => return false,
            Part::CatchAll(_) => return i < segments.len(),
            Part::Optional(_) => return true,
        }
    }
    i == segments.len()
}

#[cfg(test)]
mod tests;
