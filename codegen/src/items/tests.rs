use super::*;

fn names(source: &str) -> Vec<(String, bool)> {
    top_items(source)
        .unwrap()
        .fns
        .iter()
        .map(|f| (f.name.text.clone(), f.public))
        .collect()
}

fn error(source: &str) -> (String, usize, usize) {
    let e = top_items(source).err().expect("an error");
    let start = e.span().start();
    (e.to_string(), start.line, start.column + 1)
}

#[test]
fn finds_every_fn_with_its_visibility() {
    let source = r##"
        #![allow(non_snake_case)]
        //! The module.
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
        extern crate alloc;
        pub async fn POST() {}
    "##;
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
fn strings_comments_and_chars_hide_their_delimiters() {
    let source = r###"
        fn a() { let _ = "}"; let _ = '}'; let _ = '\''; let _ = '\\'; }
        fn b() { let _ = r#"}" "#; let _ = br##"}"#"##; let _ = b'}'; let _ = b"\"}"; }
        fn c<'a>(x: &'a str) -> &'a str { /* } /* nested } */ */ x } // }
        fn r#type() { 'outer: loop { break 'outer; } let _ = 'é'; let _ = "é}"; }
        pub fn GET() {}
    "###;
    assert_eq!(
        names(source),
        [
            ("a".into(), false),
            ("b".into(), false),
            ("c".into(), false),
            ("r#type".into(), false),
            ("GET".into(), true),
        ]
    );
}

#[test]
fn names_and_constants_keep_their_file_positions() {
    let source = "use a::b;\n\n  pub async fn GET() {}\n/* é */ pub const X: u8 = 1;\n";
    let items = top_items(source).unwrap();
    assert_eq!((items.fns[0].name.line, items.fns[0].name.column), (3, 16));
    let start = items.consts[0].ident.span().start();
    assert_eq!((start.line, start.column), (4, 18));
}

#[test]
fn a_body_is_left_to_rustc_but_the_structure_is_checked() {
    assert_eq!(names("pub fn GET() { let x = ; }"), [("GET".into(), true)]);
    let (message, line, col) = error("pub fn GET() {\n    let x = (;\n}\n");
    assert!(message.contains("does not close"), "{message}");
    assert_eq!((line, col), (3, 1));
    let (message, line, _) = error("\npub fn GET( {}");
    assert!(message.contains("never closed"), "{message}");
    assert_eq!(line, 2);
    assert!(error("pub fn GET() {}\n}").0.contains("closes nothing"));
    assert!(error("pub fn GET() { \"open }")
        .0
        .contains("string is never closed"));
    assert!(error("/* open").0.contains("comment is never closed"));
    let (message, line, col) = error("pub fn GET() {}\npub const X: u8 = ;");
    assert!(message.contains("expected"), "{message}");
    assert_eq!((line, col), (2, 19));
    assert!(top_items("pub const X: u8 = 1").is_err(), "no `;`");
}

#[test]
fn a_shebang_line_is_skipped() {
    assert_eq!(
        names("#!/usr/bin/env run-cargo-script\npub fn GET() {}"),
        [("GET".into(), true)]
    );
}

#[test]
fn doc_comments_belong_to_their_item() {
    let source = "//! The file.\n//// a comment\n/// Lists.\n/** More. */\npub async fn GET() {}\n/// A constant.\npub const X: u8 = 1;\n";
    let items = top_items(source).unwrap();
    let docs = |attrs: &[syn::Attribute]| attrs.iter().filter(|a| a.path().is_ident("doc")).count();
    let f = parse_fn(source, &items.fns[0]).unwrap();
    assert_eq!(docs(&f.attrs), 2);
    assert_eq!(docs(&items.consts[0].attrs), 1);
    assert_eq!(
        names("/**/ pub fn GET() {}\n/*** x */ fn b() {}"),
        [("GET".into(), true), ("b".into(), false)]
    );
}

#[test]
fn plain_uses_are_read_as_syn_reads_them() {
    // Each item on its own after a line that shifts the positions.
    let read = |item: &str| {
        let source = format!("fn a() {{}}\n  {item}\n");
        let start = source.find(item).unwrap();
        let fast = uses::read(&mut Lines::new(&source), (start, start + item.len()));
        let slow = syn::parse2(lex_at(&source, (start, start + item.len())).unwrap())
            .map(|u| uses::of_syn(&u));
        (fast, slow)
    };
    for plain in [
        "use approute::axum::extract::Path;",
        "pub use crate::handlers::{update as PATCH, other::HEAD};",
        "pub(crate) use self::a::{b::{c, d as e}, *,};",
        "pub ( super ) use ::std::{};",
        "use super::super::x as y;",
        "pub use\n  a::{\r\n  B, C as\tD};",
        "use *;",
    ] {
        let (fast, slow) = read(plain);
        assert_eq!(fast, Some(slow.unwrap()), "{plain}");
    }
    for left_to_syn in [
        "#[cfg(x)] use a::b;",
        "/// Doc.\nuse a::b;",
        "use a::b /* c */;",
        "pub(in crate::x) use a::b;",
        "use a::{self, b};",
        "use a::b as _;",
        "use a::r#type;",
        "use a::é;",
        "use a::{::b};",
        "use a::Self;",
        "use a::fn;",
        "use a::b::;",
        "use a::b",
        "use a::b:c;",
        "use a::{b c};",
        "use crate;",
    ] {
        let (fast, _) = read(left_to_syn);
        assert_eq!(fast, None, "{left_to_syn}");
    }
}

#[test]
fn names_syn_would_refuse_or_rewrite_are_left_to_it() {
    let e = top_items("pub fn fn() {}")
        .err()
        .expect("a keyword is no name");
    assert!(e.to_string().contains("keyword"), "{e}");
    let items = top_items("\n fn é() {}\n fn plain() {}").unwrap();
    let at = |f: &TopFn| (f.name.text.clone(), f.name.line, f.name.column);
    assert_eq!(at(&items.fns[0]), ("é".into(), 2, 5));
    assert_eq!(at(&items.fns[1]), ("plain".into(), 3, 5));
}

#[test]
fn the_keyword_list_is_what_syn_refuses_as_a_name() {
    assert!(RUST_KEYWORDS.windows(2).all(|w| w[0] < w[1]), "sorted");
    for word in RUST_KEYWORDS {
        assert!(syn::parse_str::<syn::Ident>(word).is_err(), "{word}");
        assert!(!uses::is_plain_ident(word), "{word}");
    }
    for word in [
        "gen",
        "union",
        "auto",
        "default",
        "raw",
        "macro_rules",
        "_a",
    ] {
        assert!(syn::parse_str::<syn::Ident>(word).is_ok(), "{word}");
        assert!(uses::is_plain_ident(word), "{word}");
    }
}

#[test]
fn positions_count_on_from_item_to_item_as_rustc_counts_them() {
    let source = "// caf\u{e9} \u{2014} r\u{e9}sum\u{e9}\npub use a::{b, c as d};\n\n  fn \u{e9}t\u{e9}() {}\r\npub fn GET() {}\n/* \u{1f600} */ pub use e::*; fn last() {}\n";
    let items = top_items(source).unwrap();
    let mut got: Vec<(String, usize, usize)> = Vec::new();
    for u in &items.uses {
        got.extend(u.names.iter().map(|n| (n.text.clone(), n.line, n.column)));
        got.extend(u.globs.iter().map(|&(l, c)| ("*".to_string(), l, c)));
    }
    got.extend(
        items
            .fns
            .iter()
            .map(|f| (f.name.text.clone(), f.name.line, f.name.column)),
    );
    let want: Vec<(String, usize, usize)> = [("b", 2, 13), ("d", 2, 21), ("*", 6, 20)]
        .into_iter()
        .chain([("\u{e9}t\u{e9}", 4, 6), ("GET", 5, 8), ("last", 6, 26)])
        .map(|(t, l, c)| (t.to_string(), l, c))
        .collect();
    assert_eq!(got, want);
    // The same places by proc-macro2's own spans.
    let tokens: Vec<(String, usize, usize)> = proc_macro2::TokenStream::from_str(source)
        .unwrap()
        .into_iter()
        .flat_map(|t| match t {
            proc_macro2::TokenTree::Group(g) => g.stream().into_iter().collect::<Vec<_>>(),
            t => vec![t],
        })
        .map(|t| {
            let (line, column) = line_column(t.span());
            (t.to_string(), line, column)
        })
        .collect();
    for w in &want {
        assert!(tokens.contains(w), "{w:?} not in {tokens:?}");
    }
}

#[test]
fn lines_asked_out_of_order_count_again() {
    let mut lines = Lines::new("a\nbc\nd");
    assert_eq!(lines.locate(5), (3, 1));
    assert_eq!(lines.locate(3), (2, 2));
    assert_eq!(lines.locate(0), (1, 1));
}
