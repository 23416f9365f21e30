//! Reads one folder name as a URL segment, following Next.js 14's rules.

use crate::model::Segment;

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
/// - `name` -> static, `%5Fname` -> static `_name`
/// - `(name)` -> route group
/// - `[name]`, `[...name]`, `[[...name]]` -> dynamic, catch-all, optional catch-all
pub fn parse_segment(folder: &str) -> Result<Segment, SegmentError> {
    if let Some(inner) = folder.strip_prefix("[[").and_then(|s| s.strip_suffix("]]")) {
        return match inner.strip_prefix("...") {
            Some(name) => param_name(folder, name).map(Segment::OptionalCatchAll),
            None => err(
                format!("`{folder}`: only catch-alls can be optional"),
                format!("write `[[...{inner}]]` for an optional catch-all, or `[{inner}]` for one segment"),
            ),
        };
    }
    if let Some(inner) = folder.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return match inner.strip_prefix("...") {
            Some(name) => param_name(folder, name).map(Segment::CatchAll),
            None => param_name(folder, inner).map(Segment::Dynamic),
        };
    }
    if folder.contains(['[', ']']) {
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
        if inner.is_empty() || inner.contains(['(', ')']) {
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
    Ok(Segment::Static(unescape_static(folder)))
}

/// `%5F` (any case) at the start of a folder name stands for a literal `_`,
/// which would otherwise make the folder private; likewise `%40` for `@`.
fn unescape_static(folder: &str) -> String {
    for (escape, ch) in [("%5F", '_'), ("%40", '@')] {
        if folder.len() >= 3 && folder[..3].eq_ignore_ascii_case(escape) {
            return format!("{ch}{}", &folder[3..]);
        }
    }
    folder.to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_segment_kind() {
        let cases = [
            ("users", Segment::Static("users".into())),
            ("rss.xml", Segment::Static("rss.xml".into())),
            ("%5Funderscore", Segment::Static("_underscore".into())),
            ("%5funderscore", Segment::Static("_underscore".into())),
            ("%40me", Segment::Static("@me".into())),
            ("(marketing)", Segment::Group("marketing".into())),
            ("[id]", Segment::Dynamic("id".into())),
            ("[post-id]", Segment::Dynamic("post-id".into())),
            ("[...path]", Segment::CatchAll("path".into())),
            ("[[...slug]]", Segment::OptionalCatchAll("slug".into())),
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
