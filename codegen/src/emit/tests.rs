use super::*;

/// The `pub` items of a module's source, with `router`'s signature, and
/// its `use super::*`.
fn public_items(source: &str) -> Vec<String> {
    let file = syn::parse_file(source).expect("emitted code parses");
    let [syn::Item::Mod(module)] = &file.items[..] else {
        panic!("one module expected");
    };
    let items = &module.content.as_ref().expect("an inline module").1;
    items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Static(s) if matches!(s.vis, syn::Visibility::Public(_)) => {
                Some(format!("static {}: {}", s.ident, s.ty.to_token_stream()))
            }
            syn::Item::Fn(f) if matches!(f.vis, syn::Visibility::Public(_)) => {
                Some(f.sig.to_token_stream().to_string())
            }
            // what lets the state type be named as at the call site
            syn::Item::Use(u) if u.to_token_stream().to_string().contains("super :: *") => {
                Some(u.to_token_stream().to_string())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_stub_has_the_real_modules_public_items() {
    let tree = RouteTree {
        routes: crate::testkit::build_routes(&["a/[id]"]),
        ..RouteTree::default()
    };
    let state = StateType::parse("crate::State<u8>").unwrap();
    for options in [
        EmitOptions::default(),
        EmitOptions {
            state: Some(state),
            trailing_slash: TrailingSlash::Add,
            module: Some("routes".into()),
            openapi: true,
        },
    ] {
        let stub = emit_stub(&options);
        assert_eq!(
            public_items(&stub),
            public_items(&emit(&tree, &options)),
            "{stub}"
        );
        assert!(stub.contains(&format!("pub mod {}", options.module())));
    }
}

#[test]
fn a_state_type_is_checked_when_made() {
    assert_eq!(
        StateType::parse("Arc<AppState>").unwrap().as_str(),
        "Arc<AppState>"
    );
    let e = StateType::parse("not a type").unwrap_err();
    assert!(e.starts_with("`state = not a type` is not a type"), "{e}");
}

#[test]
fn module_names_are_lowercase_ascii_words_one_underscore_per_odd_char() {
    let file = |folders: &[&str]| RouteFile {
        convention: crate::model::Convention::App,
        display_path: String::new(),
        abs_path: std::path::PathBuf::new(),
        folders: folders.iter().map(|f| f.to_string()).collect(),
    };
    let files = [
        file(&["api", "[id]"]),
        file(&["Caf\u{e9}s", "a\u{e9}-b"]),
        file(&["api", "(group)", "[id]"]),
        file(&[]),
        // underscores trimmed from each word's ends, a word of none dropped
        file(&["__a_b__", "(..)", "\u{e9}"]),
        file(&["api", "[id]"]),
    ];
    assert_eq!(
        module_names("route", files.iter()),
        [
            "route_api_id",
            "route_caf_s_a__b",
            "route_api_group_id",
            "route_root",
            "route_a_b",
            "route_api_id_2"
        ]
    );
}

#[test]
fn lit_is_the_debug_form_of_the_string() {
    for s in [
        "",
        "/api/users/{id}",
        "a \"quoted\" \\ back",
        "\\",
        "\"",
        "tab\there",
        "line\nbreak\r\0",
        "\u{1b}esc",
        "caf\u{e9}",
        "e\u{301}",
        "\u{7f}",
        "~ ",
    ] {
        assert_eq!(lit(s).to_string(), format!("{s:?}"), "{s:?}");
    }
}

#[test]
fn each_methods_lowercase_name_is_its_token_lowercased() {
    for m in Method::ALL {
        assert_eq!(m.as_lowercase(), m.as_str().to_ascii_lowercase());
    }
}
