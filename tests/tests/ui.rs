//! Compile-fail tests: each `ui/<case>/` tree (`app/`, and `pages/` and
//! `public/` when the case has them) is built as a user's crate
//! and cargo's stderr must match `ui/<case>/expected.stderr`, so what users
//! read when their tree is wrong is reviewed like code.
//!
//! `APPROUTE_BLESS=1 cargo nextest run -p approute-tests --test ui` writes
//! the expected files from what the build prints now.

mod scratch;

use std::path::{Path, PathBuf};

use scratch::Scratch;

const MAIN: &str = "approute::app!();\n\nfn main() {\n    let _ = app::router();\n}\n";

macro_rules! ui_cases {
    ($($test:ident => $case:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check($case);
            }
        )*

        const CASES: &[&str] = &[$($case),*];
    };
}

ui_cases! {
    duplicate_url_groups => "duplicate-url-groups",
    param_name_mismatch => "param-name-mismatch",
    catch_all_not_last => "catch-all-not-last",
    optional_catch_all_with_parent => "optional-catch-all-with-parent",
    unparsable_route => "unparsable-route",
    malformed_folders => "malformed-folders",
    near_miss_names => "near-miss-names",
    no_handler => "no-handler",
    private_handler => "private-handler",
    many_at_once => "many-at-once",
    handler_type_error => "handler-type-error",
    not_a_handler => "not-a-handler",
    config_constants => "config-constants",
    rate_limit_mistakes => "rate-limit-mistakes",
    middleware_mistakes => "middleware-mistakes",
    pages_conflicts => "pages-conflicts",
    public_page_conflict => "public-page-conflict",
    href_mistakes => "href-mistakes",
    href_in_a_broken_tree => "href-in-a-broken-tree",
}

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ui")
}

fn check(case: &str) {
    let case_dir = ui_dir().join(case);
    // A case that calls the app's items has its own `main.rs`.
    let main = std::fs::read_to_string(case_dir.join("main.rs")).unwrap_or_else(|_| MAIN.into());
    let app = Scratch::new(&format!("ui-{case}"), &[("src/main.rs", &main)]);
    for folder in ["app", "pages", "public"] {
        if case_dir.join(folder).is_dir() {
            app.copy_tree(&case_dir.join(folder), folder);
        }
    }
    let out = app.build();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "ui case `{case}` built, but it must fail:\n{stderr}"
    );
    let got = app.normalize(&stderr);

    // rustc's own errors carry notes that change with rustc, axum and our
    // runtime; for those cases only the headlines and the places in the
    // user's crate are pinned, in order.
    let lines_path = case_dir.join("expected-lines.txt");
    if lines_path.exists() {
        let pinned: Vec<&str> = got
            .lines()
            .map(str::trim)
            .filter(|l| {
                l.starts_with("error") || l.starts_with("--> $DIR") || l.starts_with("--> src/")
            })
            .collect();
        let pinned = format!("{}\n", pinned.join("\n"));
        if std::env::var_os("APPROUTE_BLESS").is_some_and(|v| v == "1") {
            std::fs::write(&lines_path, &pinned).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&lines_path).unwrap();
        assert_eq!(
            pinned, expected,
            "ui case `{case}`; the build printed:\n{got}"
        );
        return;
    }

    let expected_path = case_dir.join("expected.stderr");
    if std::env::var_os("APPROUTE_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&expected_path, &got).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nrun with APPROUTE_BLESS=1 to write it; the build printed:\n{got}",
            expected_path.display()
        )
    });
    if got != expected {
        panic!(
            "ui case `{case}`: stderr differs from {}\n\
             (APPROUTE_BLESS=1 rewrites it)\n\
             ---- expected ----\n{expected}---- got ----\n{got}---- end ----\n{}",
            expected_path.display(),
            first_difference(&expected, &got),
        );
    }
}

fn first_difference(expected: &str, got: &str) -> String {
    let mut want = expected.lines();
    let mut have = got.lines();
    for n in 1.. {
        match (want.next(), have.next()) {
            (None, None) => break,
            (w, h) if w == h => {}
            (w, h) => {
                return format!(
                    "first difference at line {n}:\n  expected: {w:?}\n  got:      {h:?}"
                )
            }
        }
    }
    "the texts differ only in line endings".to_string()
}

/// Every folder under `ui/` is a case above, so none is silently skipped.
#[test]
fn every_case_folder_is_listed() {
    let mut folders: Vec<String> = std::fs::read_dir(ui_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut listed: Vec<&str> = CASES.to_vec();
    listed.sort();
    assert_eq!(folders, listed);
}
