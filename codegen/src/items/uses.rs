//! Reads a plain `use` item from its bytes: `[pub] use a::{b, c as d};`.
//!
//! Route files start with a `use` or two, and syn (lexing included) took
//! several times as long on one as the scanner on the whole file. The
//! reader accepts only what syn accepts and gives up on anything else
//! (attributes, comments, `pub(in ..)`, raw or non-ASCII names, `_`), so
//! syn still reads those and still words every syntax error.

use super::{line_column, Lines, Name, TopUse, RUST_KEYWORDS};

/// The `use` at `source[start..end]`, or `None` if it is not plain.
pub(super) fn read(lines: &mut Lines, (start, end): (usize, usize)) -> Option<TopUse> {
    let mut reader = Reader {
        source: lines.source,
        lines,
        at: start,
        end,
    };
    let mut found = TopUse {
        public: reader.visibility()?,
        names: Vec::new(),
        globs: Vec::new(),
    };
    if reader.word()?.1 != "use" {
        return None;
    }
    reader.eat("::");
    reader.tree(&mut found)?;
    (reader.eat(";") && reader.at == end).then_some(found)
}

/// The same from syn's tree of the item.
pub(super) fn of_syn(item: &syn::ItemUse) -> TopUse {
    fn walk(tree: &syn::UseTree, found: &mut TopUse) {
        match tree {
            syn::UseTree::Path(p) => walk(&p.tree, found),
            syn::UseTree::Name(n) => found.names.push(Name::of_ident(&n.ident)),
            syn::UseTree::Rename(r) => found.names.push(Name::of_ident(&r.rename)),
            syn::UseTree::Glob(g) => found.globs.push(line_column(g.star_token.span)),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| walk(t, found)),
        }
    }
    let mut found = TopUse {
        public: !matches!(item.vis, syn::Visibility::Inherited),
        names: Vec::new(),
        globs: Vec::new(),
    };
    walk(&item.tree, &mut found);
    found
}

/// An ASCII identifier syn takes as one: not a keyword, not `_`.
pub(super) fn is_plain_ident(text: &str) -> bool {
    let bytes = text.as_bytes();
    let Some(first) = bytes.first() else {
        return false;
    };
    (first.is_ascii_alphabetic() || *first == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        && text != "_"
        && RUST_KEYWORDS.binary_search(&text).is_err()
}

struct Reader<'a, 'l> {
    source: &'a str,
    /// Where the names are, counted on from the items before.
    lines: &'l mut Lines<'a>,
    at: usize,
    end: usize,
}

impl<'a> Reader<'a, '_> {
    /// `pub`, `pub(crate)`, `pub(self)`, `pub(super)`: public; nothing:
    /// private; `None` for anything else.
    fn visibility(&mut self) -> Option<bool> {
        let before = self.at;
        if self.word()?.1 != "pub" {
            self.at = before;
            return Some(false);
        }
        if self.eat("(")
            && (!matches!(self.word()?.1, "crate" | "self" | "super") || !self.eat(")"))
        {
            return None;
        }
        Some(true)
    }

    /// One use tree: `a::tree`, `a`, `a as b`, `*` or `{tree, ...}`.
    fn tree(&mut self, found: &mut TopUse) -> Option<()> {
        self.skip_space();
        if self.next_byte() == Some(b'*') {
            found.globs.push(self.position());
            self.at += 1;
            return Some(());
        }
        if self.eat("{") {
            while !self.eat("}") {
                self.tree(found)?;
                if !self.eat(",") {
                    return self.eat("}").then_some(());
                }
            }
            return Some(());
        }
        let (at, word) = self.word()?;
        let path_only = matches!(word, "self" | "super" | "crate");
        if self.eat("::") {
            return self.tree(found);
        }
        if path_only || !is_plain_ident(word) {
            return None;
        }
        let before = self.at;
        match self.word() {
            Some((_, "as")) => {
                let (at, rename) = self.word()?;
                if !is_plain_ident(rename) {
                    return None;
                }
                found.names.push(self.lines.name(at, rename));
            }
            _ => {
                self.at = before;
                found.names.push(self.lines.name(at, word));
            }
        }
        Some(())
    }

    fn position(&mut self) -> (usize, usize) {
        self.lines.locate(self.at)
    }

    // The helpers below index bytes by hand: this code runs unoptimized in
    // the macro, where `str` patterns and iterator chains cost tens of
    // instructions a byte.

    fn next_byte(&self) -> Option<u8> {
        if self.at < self.end {
            Some(self.source.as_bytes()[self.at])
        } else {
            None
        }
    }

    /// Spaces, tabs and line ends; a comment or other whitespace is not
    /// plain, and stops the reader at the next token.
    fn skip_space(&mut self) {
        let bytes = self.source.as_bytes();
        while self.at < self.end {
            match bytes[self.at] {
                b' ' | b'\t' | b'\n' => self.at += 1,
                b'\r' if self.at + 1 < self.end && bytes[self.at + 1] == b'\n' => self.at += 2,
                _ => break,
            }
        }
    }

    /// Skips space, then takes `token` if it is next.
    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        let token = token.as_bytes();
        let found = self.at + token.len() <= self.end
            && &self.source.as_bytes()[self.at..self.at + token.len()] == token;
        if found {
            self.at += token.len();
        }
        found
    }

    /// Skips space, then takes an ASCII word (identifier or keyword) and
    /// its offset.
    fn word(&mut self) -> Option<(usize, &'a str)> {
        self.skip_space();
        let bytes = self.source.as_bytes();
        let start = self.at;
        let mut end = start;
        while end < self.end && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        if end == start || bytes[start].is_ascii_digit() {
            return None;
        }
        // Part of a non-ASCII or raw identifier, or of a literal: not plain.
        if end < self.end && matches!(bytes[end], 0x80..|b'#'| b'"' | b'\'') {
            return None;
        }
        self.at = end;
        Some((start, &self.source[start..end]))
    }
}
