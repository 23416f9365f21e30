//! Reads folder names as URL segments, following Next.js 14's rules: one
//! name at a time ([`parse_segment`]), and a route file's whole path
//! ([`file_url`]).

use std::collections::BTreeMap;

use crate::error::{Diagnostic, Location};
use crate::model::{Convention, RouteFile, Segment, UrlSegment};

/// Why a folder name is not a valid segment, and how to fix it.
#[derive(Debug, PartialEq, Eq)]
pub struct SegmentError {
    pub reason: String,
    pub fix: String,
}

fn err(reason: impl Into<String>, fix: impl Into<String>) -> Result<Segment, SegmentError> {
    Err(SegmentError {
        reason: reason.into(),
        fix: fix.into(),
    })
}

/// Parses a folder name. Private folders (`_x`) never reach here: the
/// scanner skips them.
///
/// - `name` -> static, `%5Fname` -> static `_name`, `a%20b` -> static `a b`
/// - `(name)` -> route group
/// - `[name]`, `[...name]`, `[[...name]]` -> dynamic, catch-all, optional catch-all
pub fn parse_segment(folder: &str) -> Result<Segment, SegmentError> {
    if let Some(inner) = folder.strip_prefix("[[").and_then(|s| s.strip_suffix("]]")) {
        return match inner.strip_prefix("...") {
            Some(name) => param_name(folder, name).map(|n| url(UrlSegment::OptionalCatchAll(n))),
            None => err(
                format!("`{folder}`: only catch-alls can be optional"),
                format!("write `[[...{inner}]]` for an optional catch-all, or `[{inner}]` for one segment"),
            ),
        };
    }
    if let Some(inner) = folder.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return match inner.strip_prefix("...") {
            Some(name) => param_name(folder, name).map(|n| url(UrlSegment::CatchAll(n))),
            None => param_name(folder, inner).map(|n| url(UrlSegment::Dynamic(n))),
        };
    }
    if has_byte(folder, b"[]") {
        let name: String = folder.chars().filter(|c| !"[].".contains(*c)).collect();
        return err(
            format!("`{folder}` has unbalanced or misplaced brackets"),
            format!("a dynamic folder is the whole name in brackets: `[{name}]`, `[...{name}]` or `[[...{name}]]`"),
        );
    }
    if let Some(inner) = folder.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
        if inner.starts_with('.') {
            return err(
                format!("`{folder}` is an intercepting route"),
                "intercepting routes only make sense for pages; move this route.rs to a plain folder",
            );
        }
        if inner.is_empty() || has_byte(inner, b"()") {
            return err(
                format!("`{folder}` is not a valid route group"),
                "a route group is a name in parentheses, e.g. `(admin)`",
            );
        }
        return Ok(Segment::Group(inner.to_string()));
    }
    if folder.starts_with('(') || folder.ends_with(')') {
        return err(
            format!("`{folder}` has unbalanced parentheses"),
            "a route group is a whole name in parentheses, e.g. `(admin)`; rename the folder",
        );
    }
    if let Some(slot) = folder.strip_prefix('@') {
        return err(
            format!("`{folder}` is a parallel route slot"),
            format!("slots only make sense for pages; rename the folder (to `%40{slot}` to serve `/@{slot}`)"),
        );
    }
    Ok(url(UrlSegment::Static(unescape_static(folder))))
}

fn url(segment: UrlSegment) -> Segment {
    Segment::Url(segment)
}

/// Whether `text` holds any of the ASCII `bytes`: a plain loop, as
/// `str::contains` with a char pattern costs a hundred times more in the
/// unoptimized macro.
fn has_byte(text: &str, bytes: &[u8]) -> bool {
    for b in text.as_bytes() {
        if bytes.contains(b) {
            return true;
        }
    }
    false
}

/// A static folder name as the text it stands for: every `%XX` escape
/// decoded (`%5Fname` is `_name`, which would otherwise make the folder
/// private; `a%20b` is `a b`). Patterns encode it again the way a client
/// sends it, so `a b` and `a%20b` serve the one URL `/a%20b`, as Next.js
/// matches a folder against the still-encoded request path. A name whose
/// escapes do not decode to UTF-8 is taken as written (`100%` stays).
fn unescape_static(folder: &str) -> String {
    if !has_byte(folder, b"%") {
        return folder.to_string();
    }
    percent_encoding::percent_decode_str(folder)
        .decode_utf8()
        .map_or_else(|_| folder.to_string(), |text| text.into_owned())
}

fn param_name(folder: &str, name: &str) -> Result<String, SegmentError> {
    if name.is_empty() {
        return Err(SegmentError {
            reason: format!("`{folder}` has no parameter name"),
            fix: format!("name the parameter: `{}`", folder.replacen("]", "slug]", 1)),
        });
    }
    if name.starts_with('.') {
        return Err(SegmentError {
            reason: format!("`{folder}`: parameter names may not start with `.`"),
            fix: format!(
                "write `[...{}]` for a catch-all",
                name.trim_start_matches('.')
            ),
        });
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(SegmentError {
            reason: format!("`{folder}`: `{bad}` is not allowed in a parameter name"),
            fix: "use letters, digits, `_` and `-` only, e.g. `[postId]`".to_string(),
        });
    }
    Ok(name.to_string())
}

/// A route file's URL, read from its folder names.
#[derive(Debug, PartialEq, Eq)]
pub struct FileUrl {
    pub url: Vec<UrlSegment>,
    /// Some folder on the way is a `(group)`.
    pub in_group: bool,
}

/// The URL `file`'s folders make, or `None` when a folder name is
/// malformed (the problem is recorded once per folder in `bad_folders`,
/// however many files sit below it).
pub fn file_url(
    file: &RouteFile,
    bad_folders: &mut BTreeMap<String, Diagnostic>,
) -> Option<FileUrl> {
    let mut out = FileUrl {
        url: Vec::new(),
        in_group: false,
    };
    let mut ok = true;
    // The path of each name as the user sees it: `app/a/[id` or `pages/api/[id.rs`.
    let (root, _) = file
        .display_path
        .split_once('/')
        .unwrap_or((&file.display_path, ""));
    let mut shown = root.to_string();
    let last = file.folders.len().saturating_sub(1);
    for (i, folder) in file.folders.iter().enumerate() {
        shown.push('/');
        shown.push_str(folder);
        let is_file_stem = file.convention == Convention::Pages
            && i == last
            && !file.display_path.ends_with("/index.rs");
        let parsed = parse_segment(folder).and_then(|seg| match seg {
            Segment::Group(_) if file.convention == Convention::Pages => Err(SegmentError {
                reason: format!("`{folder}`: route groups are an App Router feature"),
                fix: "move the route to `app/` as a `route.rs`, or rename the folder".into(),
            }),
            seg => Ok(seg),
        });
        match parsed {
            Ok(Segment::Url(seg)) => out.url.push(seg),
            Ok(Segment::Group(_)) => out.in_group = true,
            Err(e) => {
                ok = false;
                let where_ = if is_file_stem {
                    format!("{shown}.rs")
                } else {
                    shown.clone()
                };
                bad_folders.entry(where_.clone()).or_insert_with(|| {
                    let what = if is_file_stem { "file" } else { "folder" };
                    Diagnostic::new(
                        format!("approute: malformed {what} name {}", e.reason),
                        e.fix,
                    )
                    .at(Location::file(where_.clone()))
                });
            }
        }
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_segment_kind() {
        let cases = [
            ("users", url(UrlSegment::Static("users".into()))),
            ("rss.xml", url(UrlSegment::Static("rss.xml".into()))),
            (
                "%5Funderscore",
                url(UrlSegment::Static("_underscore".into())),
            ),
            (
                "%5funderscore",
                url(UrlSegment::Static("_underscore".into())),
            ),
            ("%40me", url(UrlSegment::Static("@me".into()))),
            ("a%20b", url(UrlSegment::Static("a b".into()))),
            ("a b", url(UrlSegment::Static("a b".into()))),
            ("100%", url(UrlSegment::Static("100%".into()))),
            ("%zz", url(UrlSegment::Static("%zz".into()))),
            ("%FF", url(UrlSegment::Static("%FF".into()))),
            ("(marketing)", Segment::Group("marketing".into())),
            ("[id]", url(UrlSegment::Dynamic("id".into()))),
            ("[post-id]", url(UrlSegment::Dynamic("post-id".into()))),
            ("[...path]", url(UrlSegment::CatchAll("path".into()))),
            (
                "[[...slug]]",
                url(UrlSegment::OptionalCatchAll("slug".into())),
            ),
        ];
        for (folder, want) in cases {
            assert_eq!(parse_segment(folder), Ok(want), "{folder}");
        }
    }

    #[test]
    fn rejects_malformed_names_with_a_fix() {
        let cases = [
            ("[id", "unbalanced"),
            ("id]", "unbalanced"),
            ("a[id]", "misplaced"),
            ("[]", "no parameter name"),
            ("[...]", "no parameter name"),
            ("[[...]]", "no parameter name"),
            ("[[x]]", "only catch-alls can be optional"),
            ("[..x]", "may not start with `.`"),
            ("[a b]", "` ` is not allowed"),
            ("[a/b]", "`/` is not allowed"),
            ("()", "not a valid route group"),
            ("(admin", "unbalanced parentheses"),
            ("(.)photo", "unbalanced parentheses"),
            ("(.)", "intercepting"),
            ("@modal", "parallel route slot"),
        ];
        for (folder, want) in cases {
            let e = parse_segment(folder).expect_err(folder);
            assert!(e.reason.contains(want), "{folder}: {}", e.reason);
            assert!(!e.fix.is_empty());
        }
    }
}
