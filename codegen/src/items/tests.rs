use super::*;

fn names(source: &str) -> Vec<(String, bool)> {
    top_items(source)
        .unwrap()
        .fns
        .iter()
        .map(|f| (f.ident.to_string(), f.public))
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
    let start = items.fns[0].ident.span().start();
    assert_eq!((start.line, start.column), (3, 15));
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
