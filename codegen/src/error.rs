//! Problems found in the `app/` tree, rendered the way rustc renders its own:
//! a headline, each file involved (with line and a snippet when there is
//! one), and the fix.

use std::fmt;

/// A place in a route file the user should look at.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// Path relative to the crate, as the user wrote it: `app/api/route.rs`.
    pub path: String,
    /// 1-based line, 0 when the problem is the file or folder as a whole.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// The source line, shown under the location with a caret.
    pub snippet: Option<String>,
}

impl Location {
    pub fn file(path: impl Into<String>) -> Location {
        Location {
            path: path.into(),
            line: 0,
            column: 0,
            snippet: None,
        }
    }

    /// A position inside `source`; `column` is 1-based.
    pub fn at(path: impl Into<String>, source: &str, line: usize, column: usize) -> Location {
        let snippet = source
            .lines()
            .nth(line.saturating_sub(1))
            .map(|l| l.trim_end().to_string());
        Location {
            path: path.into(),
            line,
            column,
            snippet,
        }
    }
}

/// One mistake in the tree. Every stage returns all it finds, so the user
/// fixes everything in one round.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub locations: Vec<Location>,
    pub message: String,
    pub help: String,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, help: impl Into<String>) -> Diagnostic {
        Diagnostic {
            locations: Vec::new(),
            message: message.into(),
            help: help.into(),
        }
    }

    pub fn at(mut self, location: Location) -> Diagnostic {
        self.locations.push(location);
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.message)?;
        for loc in &self.locations {
            match (loc.line, loc.column) {
                (0, _) => writeln!(f, "  --> {}", loc.path)?,
                (line, 0) => writeln!(f, "  --> {}:{line}", loc.path)?,
                (line, col) => writeln!(f, "  --> {}:{line}:{col}", loc.path)?,
            }
            if let Some(snippet) = &loc.snippet {
                let gutter = loc.line.to_string();
                let pad = " ".repeat(gutter.len());
                writeln!(f, "   {pad} |")?;
                writeln!(f, "   {gutter} | {snippet}")?;
                if loc.column > 0 {
                    let caret_pad = " ".repeat(loc.column - 1);
                    writeln!(f, "   {pad} | {caret_pad}^")?;
                }
            }
        }
        write!(f, "   = help: {}", self.help)
    }
}

/// Sorts by first file and line so the output is the same on every machine.
pub fn sorted(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diagnostics.sort();
    diagnostics.dedup();
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_snippet_caret_and_help() {
        let source = "use axum::Json;\npub async fn Get() {}\n";
        let d = Diagnostic::new("`Get` is not a method name", "did you mean `GET`?")
            .at(Location::at("app/route.rs", source, 2, 14));
        assert_eq!(
            d.to_string(),
            "`Get` is not a method name\n  --> app/route.rs:2:14\n     |\n   2 | pub async fn Get() {}\n     |              ^\n   = help: did you mean `GET`?"
        );
    }

    #[test]
    fn renders_whole_file_locations_without_snippet() {
        let d = Diagnostic::new("two files serve /a", "rename one")
            .at(Location::file("app/(x)/a/route.rs"))
            .at(Location::file("app/(y)/a/route.rs"));
        assert_eq!(
            d.to_string(),
            "two files serve /a\n  --> app/(x)/a/route.rs\n  --> app/(y)/a/route.rs\n   = help: rename one"
        );
    }
}
