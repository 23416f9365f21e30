//! Splits a Rust file into its top-level items without parsing them all.
//!
//! The pipeline reads a route file's function names, its `use`s and its
//! constants. Building syn's full tree of every function body cost two
//! thirds of the macro's time (rustc parses the file again anyway, and
//! reports any error inside a body itself), so the file is only lexed, cut
//! at item boundaries, and syn parses just the `use` and `const` items.

use std::str::FromStr;

use proc_macro2::{Delimiter, Ident, TokenStream, TokenTree};

/// A file's top-level items, as far as the pipeline reads them.
#[derive(Default)]
pub struct TopItems {
    /// Every `fn`, public or not, in file order.
    pub fns: Vec<TopFn>,
    /// The `use` items, parsed.
    pub uses: Vec<syn::ItemUse>,
    /// The `const` items, parsed.
    pub consts: Vec<syn::ItemConst>,
}

/// A top-level function: its name and whether it is `pub` (in any form).
pub struct TopFn {
    pub ident: Ident,
    pub public: bool,
}

/// The items of `source`, or the first lexing or item syntax error.
pub fn top_items(source: &str) -> Result<TopItems, syn::Error> {
    let tokens =
        TokenStream::from_str(source).map_err(|e| syn::Error::new(e.span(), format!("{e}")))?;
    let mut items = TopItems::default();
    for item in split(tokens) {
        let head = Head::of(&item);
        match head.keyword.as_deref() {
            Some("fn") => {
                if let Some(TokenTree::Ident(ident)) = item.get(head.at + 1) {
                    items.fns.push(TopFn {
                        ident: ident.clone(),
                        public: head.public,
                    });
                }
            }
            Some("use") => items.uses.push(syn::parse2(item.into_iter().collect())?),
            Some("const") => items.consts.push(syn::parse2(item.into_iter().collect())?),
            _ => {}
        }
    }
    Ok(items)
}

/// Cuts the top level into items: an item ends at a `;`, or at its first
/// `{ ... }` unless it is one of the items whose body is an expression or a
/// type (`const`, `static`, `use`, `type`), which end at their `;`.
fn split(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut items = Vec::new();
    let mut item: Vec<TokenTree> = Vec::new();
    for token in tokens {
        let ends = match &token {
            TokenTree::Punct(p) => p.as_char() == ';',
            TokenTree::Group(g) => match g.delimiter() {
                Delimiter::Brace => !Head::of(&item).ends_at_semicolon(),
                // `#![...]`, an attribute of the file: an item of its own.
                Delimiter::Bracket => is_inner_attribute_start(&item),
                _ => false,
            },
            _ => false,
        };
        item.push(token);
        if ends {
            items.push(std::mem::take(&mut item));
        }
    }
    if !item.is_empty() {
        items.push(item);
    }
    items
}

fn is_inner_attribute_start(item: &[TokenTree]) -> bool {
    matches!(item, [TokenTree::Punct(hash), TokenTree::Punct(bang)]
        if hash.as_char() == '#' && bang.as_char() == '!')
}

/// What an item's first tokens say: past its attributes and visibility,
/// the keyword that names its kind, and where that keyword is.
struct Head {
    public: bool,
    keyword: Option<String>,
    at: usize,
}

impl Head {
    fn of(item: &[TokenTree]) -> Head {
        let mut at = 0;
        let mut public = false;
        loop {
            match item.get(at) {
                // `#[...]`, or `#![...]` at the top of the file.
                Some(TokenTree::Punct(p)) if p.as_char() == '#' => {
                    at += 1;
                    if matches!(item.get(at), Some(TokenTree::Punct(p)) if p.as_char() == '!') {
                        at += 1;
                    }
                    at += 1;
                }
                Some(TokenTree::Ident(i)) if i == "pub" => {
                    public = true;
                    at += 1;
                    if matches!(item.get(at), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
                    {
                        at += 1;
                    }
                }
                // Qualifiers of a `fn` (`const fn`, `async`, `unsafe`,
                // `extern "C"`); a `const` not followed by one is an item.
                Some(TokenTree::Ident(i))
                    if Self::is_qualifier(i) && Self::qualifies(&item[at + 1..]) =>
                {
                    at += 1;
                    if matches!(item.get(at), Some(TokenTree::Literal(_))) {
                        at += 1;
                    }
                }
                Some(TokenTree::Ident(i)) => {
                    return Head {
                        public,
                        keyword: Some(i.to_string()),
                        at,
                    }
                }
                _ => {
                    return Head {
                        public,
                        keyword: None,
                        at,
                    }
                }
            }
        }
    }

    /// Whether the tokens after a qualifier go on to a `fn`.
    fn qualifies(rest: &[TokenTree]) -> bool {
        for token in rest {
            match token {
                TokenTree::Ident(i) if i == "fn" => return true,
                TokenTree::Ident(i) if Self::is_qualifier(i) => {}
                TokenTree::Literal(_) => {}
                _ => return false,
            }
        }
        false
    }

    fn is_qualifier(ident: &Ident) -> bool {
        ident == "async" || ident == "unsafe" || ident == "extern" || ident == "const"
    }

    fn ends_at_semicolon(&self) -> bool {
        matches!(
            self.keyword.as_deref(),
            Some("const" | "static" | "use" | "type")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(source: &str) -> Vec<(String, bool)> {
        top_items(source)
            .unwrap()
            .fns
            .iter()
            .map(|f| (f.ident.to_string(), f.public))
            .collect()
    }

    #[test]
    fn finds_every_fn_with_its_visibility() {
        let source = r#"
            #![allow(non_snake_case)]
            use axum::Json;
            /// Lists.
            #[allow(unused)]
            pub async fn GET() -> impl Fn() -> u8 { || 1 }
            pub(crate) fn DELETE() {}
            fn helper() where u8: Copy { let _ = S { a: 1 }; }
            pub const fn c() {}
            pub unsafe extern "C" fn e() {}
            pub const REVALIDATE: u64 = { 60 };
            static S2: S = S { a: 1 };
            struct S { a: u8 }
            struct T(u8);
            impl S { fn inner() {} }
            mod m { pub fn GET() {} }
            macro_rules! m { () => {} }
            m!();
            pub async fn POST() {}
        "#;
        assert_eq!(
            names(source),
            [
                ("GET".into(), true),
                ("DELETE".into(), true),
                ("helper".into(), false),
                ("c".into(), true),
                ("e".into(), true),
                ("POST".into(), true),
            ]
        );
        let items = top_items(source).unwrap();
        assert_eq!(items.uses.len(), 1);
        assert_eq!(items.consts.len(), 1);
        assert_eq!(items.consts[0].ident, "REVALIDATE");
    }

    #[test]
    fn a_body_is_left_to_rustc_but_unbalanced_delimiters_are_errors() {
        assert_eq!(names("pub fn GET() { let x = ; }"), [("GET".into(), true)]);
        assert!(top_items("pub fn GET( {}").is_err());
        assert!(top_items("pub const X: u8 = ;").is_err());
    }
}
