//! Splits a Rust file into its top-level items without parsing them all.
//!
//! The pipeline reads a route file's function names, its `use`s and its
//! constants. Building syn's tree of every function body, and even lexing
//! them with proc-macro2 (which the macro runs unoptimized), was most of
//! the macro's time; rustc parses the file again anyway and reports any
//! error inside a body itself. So a small scanner walks the bytes, skipping
//! strings, comments and nested groups, and cuts the top level at item
//! boundaries. A function's name and a plain `use` are read from the bytes
//! too ([`uses`]): proc-macro2 lexing even one of them took longer than the
//! scan of the whole file. syn parses the constants, and any `use` or name
//! the byte readers do not vouch for, so its errors stay the ones reported.

use std::fmt;
use std::str::FromStr;

use proc_macro2::{Span, TokenStream};

mod uses;

/// Rust's strict and reserved keywords (edition 2021), which neither syn
/// takes as an identifier nor cargo as a package name. Sorted, for a
/// binary search: a scan of the list per name cost the macro 1% of its time.
pub const RUST_KEYWORDS: &[&str] = &[
    "Self", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
    "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// A file's top-level items, as far as the pipeline reads them.
#[derive(Default)]
pub struct TopItems {
    /// Every `fn`, public or not, in file order.
    pub fns: Vec<TopFn>,
    /// The `use` items, in file order.
    pub uses: Vec<TopUse>,
    /// The `const` items, parsed.
    pub consts: Vec<syn::ItemConst>,
}

/// A name declared in a file and where: the line and column (in chars,
/// from 1) that rustc and proc-macro2's span locations report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub text: String,
    pub line: usize,
    pub column: usize,
}

/// Lines and columns of byte offsets of one source, asked in file order:
/// each answer counts on from the last, so a file is counted through once
/// however many names it has.
struct Lines<'a> {
    source: &'a str,
    at: usize,
    line: usize,
    column: usize,
}

impl<'a> Lines<'a> {
    fn new(source: &'a str) -> Lines<'a> {
        Lines {
            source,
            at: 0,
            line: 1,
            column: 1,
        }
    }

    /// The line and column of byte offset `at`.
    fn locate(&mut self, at: usize) -> (usize, usize) {
        if at < self.at {
            *self = Lines::new(self.source); // asked out of order: count again
        }
        // By hand, as in `Scanner`: unoptimized iterator chains cost more.
        for &b in &self.source.as_bytes()[self.at..at] {
            if b == b'\n' {
                self.line += 1;
                self.column = 1;
            } else if b & 0xC0 != 0x80 {
                // Not a UTF-8 continuation byte: a char starts here.
                self.column += 1;
            }
        }
        self.at = at;
        (self.line, self.column)
    }

    /// The name `text` at byte offset `at`.
    fn name(&mut self, at: usize, text: &str) -> Name {
        let (line, column) = self.locate(at);
        Name {
            text: text.to_string(),
            line,
            column,
        }
    }
}

impl Name {
    fn of_ident(ident: &proc_macro2::Ident) -> Name {
        let (line, column) = line_column(ident.span());
        Name {
            text: ident.to_string(),
            line,
            column,
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A span's start as a 1-based line and column.
fn line_column(span: Span) -> (usize, usize) {
    let start = span.start();
    (start.line, start.column + 1)
}

/// A top-level function: its name and whether it is `pub` (in any form).
pub struct TopFn {
    pub name: Name,
    pub public: bool,
    /// Its bytes in the file, attributes and body included.
    span: (usize, usize),
}

/// A top-level `use`: whether it is `pub` (in any form), the names it
/// brings in (`b` of `a::b`, `c` of `a::b as c`) and where its `*`s are.
#[derive(Debug, PartialEq, Eq)]
pub struct TopUse {
    pub public: bool,
    pub names: Vec<Name>,
    pub globs: Vec<(usize, usize)>,
}

/// The whole function `f` of `source`, body included, parsed by syn; `None`
/// if it does not parse (rustc will say why).
pub fn parse_fn(source: &str, f: &TopFn) -> Option<syn::ItemFn> {
    syn::parse2(lex_at(source, f.span).ok()?).ok()
}

/// The items of `source`, or the first syntax error the scan or syn sees.
pub fn top_items(source: &str) -> Result<TopItems, syn::Error> {
    let mut items = TopItems::default();
    let mut lines = Lines::new(source);
    for item in Scanner::new(source).items()? {
        let head = Head::of(&item.tokens, source);
        match head.keyword {
            Some("fn") => {
                if let Some(&Token::Ident(start, end)) = item.tokens.get(head.at + 1) {
                    items.fns.push(TopFn {
                        name: name_at(&mut lines, start, end)?,
                        public: head.public,
                        span: item.span,
                    });
                }
            }
            Some("use") => items.uses.push(match uses::read(&mut lines, item.span) {
                Some(read) => read,
                None => uses::of_syn(&syn::parse2(lex_at(source, item.span)?)?),
            }),
            Some("const") => items.consts.push(syn::parse2(lex_at(source, item.span)?)?),
            _ => {}
        }
    }
    Ok(items)
}

/// `source[start..end]` lexed so that its spans are positions in `source`:
/// what precedes it is blanked, not dropped, so lines and columns match.
fn lex_at(source: &str, (start, end): (usize, usize)) -> Result<TokenStream, syn::Error> {
    let before = &source[..start];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let mut text = "\n".repeat(before.matches('\n').count());
    text.extend(before[line_start..].chars().map(|_| ' '));
    text.push_str(&source[start..end]);
    TokenStream::from_str(&text).map_err(|e| syn::Error::new(e.span(), e))
}

/// The identifier at `source[start..end]`, with its position. A plain
/// ASCII one is read as it is; syn judges the rest (raw, non-ASCII, a
/// keyword), as it did before the scanner read any.
fn name_at(lines: &mut Lines, start: usize, end: usize) -> Result<Name, syn::Error> {
    let source = lines.source;
    let text = &source[start..end];
    if uses::is_plain_ident(text) {
        return Ok(lines.name(start, text));
    }
    let ident: proc_macro2::Ident = syn::parse2(lex_at(source, (start, end))?)?;
    Ok(Name::of_ident(&ident))
}

/// A top-level token of an item: enough to tell what the item is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Token {
    /// An identifier or keyword, as a byte range.
    Ident(usize, usize),
    Punct(u8),
    /// A whole `(...)`, `[...]` or `{...}`, by its opening delimiter.
    Group(u8),
    Literal,
    /// `/// ...` or `/** ... */`.
    Doc,
}

/// One top-level item: its byte range and its top-level tokens.
struct Item {
    span: (usize, usize),
    tokens: Vec<Token>,
}

/// Walks the bytes of a file, keeping only the top level.
struct Scanner<'a> {
    source: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn new(source: &'a str) -> Scanner<'a> {
        Scanner {
            source,
            bytes: source.as_bytes(),
            at: 0,
        }
    }

    fn items(mut self) -> Result<Vec<Item>, syn::Error> {
        let mut items = Vec::new();
        let mut tokens = Vec::new();
        let mut start = None;
        if self.bytes.starts_with(b"#!") && !self.bytes.starts_with(b"#![") {
            self.skip_line(); // a shebang line
        }
        while let Some(token_start) = self.skip_trivia()? {
            let item_start = *start.get_or_insert(token_start);
            let token = self.token()?;
            tokens.push(token);
            let ends = match token {
                Token::Punct(b';') => true,
                Token::Group(b'{') => !Head::of(&tokens, self.source).ends_at_semicolon(),
                // `#![...]`, an attribute of the file: an item of its own.
                Token::Group(b'[') => {
                    matches!(tokens[..], [Token::Punct(b'#'), Token::Punct(b'!'), _])
                }
                _ => false,
            };
            if ends {
                items.push(Item {
                    span: (item_start, self.at),
                    tokens: std::mem::take(&mut tokens),
                });
                start = None;
            }
        }
        // An unfinished last item, for syn to say what it lacks.
        if let Some(item_start) = start {
            items.push(Item {
                span: (item_start, self.at),
                tokens,
            });
        }
        Ok(items)
    }

    /// Skips whitespace and comments; the offset of the next token, if any.
    fn skip_trivia(&mut self) -> Result<Option<usize>, syn::Error> {
        while self.at < self.bytes.len() {
            match self.bytes[self.at] {
                b' ' | b'\t' | b'\n' | b'\x0C' | b'\r' => self.at += 1,
                b'/' if !self.at_outer_doc() => match self.bytes.get(self.at + 1) {
                    Some(b'/') => self.skip_line(),
                    Some(b'*') => self.skip_block_comment()?,
                    _ => return Ok(Some(self.at)),
                },
                _ => return Ok(Some(self.at)),
            }
        }
        Ok(None)
    }

    /// At `/// ...` or `/** ... */`: an outer doc comment is an attribute
    /// of the item after it (its summary, for `app::openapi()`), not trivia.
    fn at_outer_doc(&self) -> bool {
        let rest = &self.bytes[self.at..];
        (rest.starts_with(b"///") && !rest.starts_with(b"////"))
            || (rest.starts_with(b"/**")
                && !rest.starts_with(b"/***")
                && !rest.starts_with(b"/**/"))
    }

    fn skip_line(&mut self) {
        while self.at < self.bytes.len() && self.bytes[self.at] != b'\n' {
            self.at += 1;
        }
    }

    fn skip_block_comment(&mut self) -> Result<(), syn::Error> {
        let start = self.at;
        let mut depth = 0;
        while self.at < self.bytes.len() {
            match self.bytes.get(self.at..self.at + 2) {
                Some(b"/*") => {
                    depth += 1;
                    self.at += 2;
                }
                Some(b"*/") => {
                    depth -= 1;
                    self.at += 2;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => self.at += 1,
            }
        }
        Err(self.error(start, "this block comment is never closed"))
    }

    /// Reads one token at the current offset (past any trivia).
    fn token(&mut self) -> Result<Token, syn::Error> {
        let start = self.at;
        if self.at_outer_doc() {
            if self.bytes[self.at + 2] == b'/' {
                self.skip_line();
            } else {
                self.skip_block_comment()?;
            }
            return Ok(Token::Doc);
        }
        let b = self.bytes[self.at];
        match b {
            b'(' | b'[' | b'{' => {
                self.skip_group()?;
                Ok(Token::Group(b))
            }
            b')' | b']' | b'}' => Err(self.error(start, "this delimiter closes nothing")),
            b'"' => {
                self.skip_string()?;
                Ok(Token::Literal)
            }
            b'\'' => {
                self.skip_quote()?;
                Ok(Token::Literal)
            }
            b'0'..=b'9' => {
                self.skip_ident_chars();
                Ok(Token::Literal)
            }
            _ if is_ident_byte(b) => {
                self.skip_ident_chars();
                if self.skip_prefixed_literal(start)? {
                    return Ok(Token::Literal);
                }
                Ok(Token::Ident(start, self.at))
            }
            _ => {
                self.at += 1;
                Ok(Token::Punct(b))
            }
        }
    }

    /// After an identifier: a raw string (`r"..."`, `br#"..."#`), a byte,
    /// C or raw-identifier prefix (`b"..."`, `c"..."`, `b'x'`, `r#x`).
    fn skip_prefixed_literal(&mut self, start: usize) -> Result<bool, syn::Error> {
        let prefix = &self.bytes[start..self.at];
        match (prefix, self.bytes.get(self.at)) {
            (b"r" | b"br" | b"cr", Some(b'"' | b'#')) => {
                let hashes = self.bytes[self.at..]
                    .iter()
                    .take_while(|&&c| c == b'#')
                    .count();
                if self.bytes.get(self.at + hashes) != Some(&b'"') {
                    // `r#ident`, a raw identifier.
                    self.at += hashes;
                    self.skip_ident_chars();
                    return Ok(false);
                }
                self.at += hashes + 1;
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                match self.bytes[self.at..]
                    .windows(close.len())
                    .position(|w| w == close)
                {
                    Some(i) => self.at += i + close.len(),
                    None => return Err(self.error(start, "this raw string is never closed")),
                }
                Ok(true)
            }
            (b"b" | b"c", Some(b'"')) => self.skip_string().map(|()| true),
            (b"b", Some(b'\'')) => self.skip_quote().map(|()| true),
            _ => Ok(false),
        }
    }

    fn skip_ident_chars(&mut self) {
        while self.at < self.bytes.len() && is_ident_byte(self.bytes[self.at]) {
            self.at += 1;
        }
    }

    /// From an opening delimiter to its matching close, checking the nesting.
    /// Function bodies are most of a file's bytes, so this loop reads them
    /// one byte at a time, calling out only for literals and comments; what
    /// it skips over is what [`Self::token`] would have read.
    fn skip_group(&mut self) -> Result<(), syn::Error> {
        let bytes = self.bytes;
        let mut open = vec![(bytes[self.at], self.at)];
        self.at += 1;
        while let Some(&(delimiter, opened)) = open.last() {
            if self.at >= bytes.len() {
                return Err(self.error(opened, "this delimiter is never closed"));
            }
            let b = bytes[self.at];
            let next = if self.at + 1 < bytes.len() {
                bytes[self.at + 1]
            } else {
                0
            };
            match b {
                b'(' | b'[' | b'{' => {
                    open.push((b, self.at));
                    self.at += 1;
                }
                b')' | b']' | b'}' => {
                    if closing(delimiter) != b {
                        return Err(self.error(
                            self.at,
                            &format!(
                                "this `{}` does not close the `{}` opened before it",
                                b as char, delimiter as char
                            ),
                        ));
                    }
                    open.pop();
                    self.at += 1;
                }
                b'/' if next == b'/' => self.skip_line(),
                b'/' if next == b'*' => self.skip_block_comment()?,
                b'"' => self.skip_string()?,
                b'\'' => self.skip_quote()?,
                b'0'..=b'9' => self.skip_ident_chars(),
                _ if is_ident_byte(b) => {
                    let start = self.at;
                    self.skip_ident_chars();
                    // Only `r`, `b`, `c`, `br` and `cr` can prefix a literal.
                    if self.at - start <= 2 {
                        self.skip_prefixed_literal(start)?;
                    }
                }
                _ => self.at += 1,
            }
        }
        Ok(())
    }

    fn skip_string(&mut self) -> Result<(), syn::Error> {
        let start = self.at;
        self.at += 1;
        while self.at < self.bytes.len() {
            let b = self.bytes[self.at];
            self.at += if b == b'\\' { 2 } else { 1 };
            if b == b'"' {
                return Ok(());
            }
        }
        Err(self.error(start, "this string is never closed"))
    }

    /// A character literal (`'a'`, `'\n'`, `'\u{1F600}'`), or the quote of
    /// a lifetime or label (`'a`), which is skipped alone.
    fn skip_quote(&mut self) -> Result<(), syn::Error> {
        let start = self.at;
        self.at += 1;
        if self.bytes.get(self.at) == Some(&b'\\') {
            while let Some(&b) = self.bytes.get(self.at) {
                self.at += 1;
                if b == b'\'' && self.at > start + 3 {
                    return Ok(());
                }
            }
            return Err(self.error(start, "this character literal is never closed"));
        }
        let next = self.source[self.at..]
            .chars()
            .next()
            .map_or(0, char::len_utf8);
        if self.bytes.get(self.at + next) == Some(&b'\'') {
            self.at += next + 1;
        }
        Ok(())
    }

    fn error(&self, at: usize, message: &str) -> syn::Error {
        syn::Error::new(span_at(self.source, at), message)
    }
}

/// A span for the byte offset `at` of `source`, for errors.
fn span_at(source: &str, at: usize) -> Span {
    let mut at = at.min(source.len());
    while !source.is_char_boundary(at) {
        at -= 1;
    }
    let marked = format!("{}x", &source[..at]);
    lex_at(&marked, (at, at + 1))
        .ok()
        .and_then(|tokens| tokens.into_iter().next())
        .map_or_else(Span::call_site, |token| token.span())
}

fn is_ident_byte(b: u8) -> bool {
    matches!(b, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | 0x80..)
}

fn closing(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

/// What an item's first tokens say: past its attributes and visibility,
/// the keyword that names its kind, and where that keyword is.
struct Head<'a> {
    public: bool,
    keyword: Option<&'a str>,
    at: usize,
}

impl<'a> Head<'a> {
    fn of(tokens: &[Token], source: &'a str) -> Head<'a> {
        let word = |token: Option<&Token>| match token {
            Some(&Token::Ident(start, end)) => Some(&source[start..end]),
            _ => None,
        };
        let mut at = 0;
        let mut public = false;
        loop {
            match (tokens.get(at), word(tokens.get(at))) {
                (Some(Token::Doc), _) => at += 1,
                // `#[...]`, or `#![...]` at the top of the file.
                (Some(Token::Punct(b'#')), _) => {
                    at += 1;
                    if tokens.get(at) == Some(&Token::Punct(b'!')) {
                        at += 1;
                    }
                    at += 1;
                }
                (_, Some("pub")) => {
                    public = true;
                    at += 1;
                    if tokens.get(at) == Some(&Token::Group(b'(')) {
                        at += 1;
                    }
                }
                // Qualifiers of a `fn` (`const fn`, `async`, `unsafe`,
                // `extern "C"`); a `const` not followed by one is an item.
                (_, Some(w)) if is_qualifier(w) && qualifies(&tokens[at + 1..], source) => {
                    at += 1;
                    if tokens.get(at) == Some(&Token::Literal) {
                        at += 1;
                    }
                }
                (_, keyword) => {
                    return Head {
                        public,
                        keyword,
                        at,
                    }
                }
            }
        }
    }

    fn ends_at_semicolon(&self) -> bool {
        matches!(self.keyword, Some("const" | "static" | "use" | "type"))
    }
}

fn is_qualifier(word: &str) -> bool {
    matches!(word, "async" | "unsafe" | "extern" | "const")
}

/// Whether the tokens after a qualifier go on to a `fn`.
fn qualifies(rest: &[Token], source: &str) -> bool {
    for token in rest {
        match *token {
            Token::Ident(start, end) if &source[start..end] == "fn" => return true,
            Token::Ident(start, end) if is_qualifier(&source[start..end]) => {}
            Token::Literal => {}
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests;
